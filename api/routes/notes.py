"""Note routes (ERC-3525 tokens of a receivable): list mine, split, transfer, merge, lock and release.

The rules and answers are in api/services/notes.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.deps import CurrentPrincipal, DbSession, Write, _bearer, _scheme_key, principal_with
from api.routes import prepared
from api.schemas.core import (
    LockNoteIn,
    MergeNoteIn,
    NoteOut,
    Page,
    PayFromNoteIn,
    PaymentsResultOut,
    SplitNoteIn,
    SplitResultOut,
    TransferNoteIn,
)
from api.services import notes
from api.services.common import paginate
from api.services.notes import NoteView
from api.services.visibility import Views, for_slot, request_secret
from api.strict import IsoDate
from api.threads import run_blocking
from chain.readmodel.store import Note, end_read

router = APIRouter(prefix="/v1/notes", tags=["notes"])


@router.get("", summary="My notes (held, or pledged to me), with filters")
def list_notes(
    session: DbSession,
    principal: CurrentPrincipal,
    request: Request,
    obligor_id: Annotated[int | None, Query(ge=1)] = None,
    maturity_from: Annotated[IsoDate | None, Query(description="ISO date, inclusive")] = None,
    maturity_to: Annotated[IsoDate | None, Query(description="ISO date, inclusive")] = None,
    status: Annotated[str, Query(pattern="^(live|all)$", description="live (default) or all")] = "live",
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[NoteOut]:
    query = notes.notes_query(principal, obligor_id, maturity_from, maturity_to, status)
    page = paginate(session, query, Note.id, cursor, limit)
    currency = request.app.state.settings.currency
    views = Views(session, principal, request_secret(request))
    items = [notes.note_out(NoteView.of(n, r), currency, views.slot(n.slot_id)) for n, r in page.rows]
    return Page[NoteOut](items=items, next_cursor=page.next_cursor)


@router.get("/{note_id}", response_model=NoteOut, summary="One note")
def get_note(
    note_id: int,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    request: Request,
) -> Response:
    # the principal looked up here, not by `CurrentPrincipal`: one worker-thread hop for the request, not two; and
    # with the note, in one round trip (its 401s first, as `CurrentPrincipal`'s)
    params = {"note_id": note_id}
    principal, found = principal_with(session, *_scheme_key(credentials), notes.NOTE_WITH_CALLER, params)
    found_note, names = notes.note_of(found)
    note = notes.shown_note(principal, note_id, found_note)
    vis = for_slot(session, principal, request_secret(request), note.slot_id)
    vis.know_names(names)
    answer = notes.note_out(note, request.app.state.settings.currency, vis)
    end_read(session)  # a COMMIT: its statements stay prepared on PostgreSQL (reads round 5)
    return prepared(answer, session)


# The writes of notes (a split is the busiest request) are `async` routes that run their service on api.threads'
# executor: one trip to a worker thread as a `def` route takes, without anyio's per-trip bookkeeping.


@router.post("/{note_id}/split", status_code=201, response_model=SplitResultOut, summary="Split value off to a member")
async def split_note(note_id: int, body: SplitNoteIn, w: Write) -> JSONResponse:
    return await run_blocking(notes.split_note, w, note_id, body)


@router.post(
    "/{note_id}/payments",
    status_code=201,
    response_model=PaymentsResultOut,
    summary="Bulk payment: new notes for up to 100 members out of one note, all or nothing",
)
async def pay_from_note(note_id: int, body: PayFromNoteIn, w: Write) -> JSONResponse:
    return await run_blocking(notes.pay_from_note, w, note_id, body)


@router.post("/{note_id}/transfer", response_model=NoteOut, summary="Transfer the whole note to a member")
async def transfer_note(note_id: int, body: TransferNoteIn, w: Write) -> JSONResponse:
    return await run_blocking(notes.transfer_note, w, note_id, body)


@router.post("/{note_id}/merge", response_model=NoteOut, summary="Move value into another note of the same receivable")
async def merge_note(note_id: int, body: MergeNoteIn, w: Write) -> JSONResponse:
    return await run_blocking(notes.merge_note, w, note_id, body)


@router.post("/{note_id}/lock", response_model=NoteOut, summary="Pledge the note to a financier")
async def lock_note(note_id: int, body: LockNoteIn, w: Write) -> JSONResponse:
    return await run_blocking(notes.lock_note, w, note_id, body)


@router.post("/{note_id}/release", response_model=NoteOut, summary="Lienholder releases its pledge on the note")
async def release_note(note_id: int, w: Write) -> JSONResponse:
    return await run_blocking(notes.release_note, w, note_id)
