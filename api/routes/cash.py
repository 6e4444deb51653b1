"""Cash endpoints (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/cash", tags=["cash"])
