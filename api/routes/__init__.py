"""One router per resource: paths and parameters; each write route is one call to its service."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel
from sqlalchemy.orm import Session


def prepared(model: BaseModel, session: Session | None = None) -> Response:
    """A read's answer, serialised once: the route declares `response_model` (the OpenAPI schema) and returns this.

    A route that returns the model itself has FastAPI validate it against `response_model` again (on a worker
    thread for a `def` route: one more hop there and back) and then serialise it; the answer is the same JSON
    (`model_dump_json`, by alias, as FastAPI writes it). With the request's `session`, its connection goes back to
    the pool here, on the route's worker thread (`api.deps.db_session` then has nothing left to close: no hop)."""
    if session is not None:
        session.close()
    return Response(model.__pydantic_serializer__.to_json(model, by_alias=True), media_type="application/json")
