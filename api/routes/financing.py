"""Financing endpoints (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/financing", tags=["financing"])
