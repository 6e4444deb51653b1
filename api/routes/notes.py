"""Notes (ERC-3525 tokens of a receivable): list mine, split, transfer, merge, lock and release."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.amounts import format_amount
from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Principal, Writes
from api.problems import Problem, catalogued
from api.schemas import (
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
from api.services.common import (
    acting_account,
    event_args,
    iso_time,
    maturity_within,
    member_or_404,
    sees_everything,
)
from api.services.visibility import Views, Visibility, display_names, for_slot, request_secret
from api.strict import IsoDate
from api.writes import WriteContext
from chain.readmodel.store import Member, Note, Receivable, table

router = APIRouter(prefix="/v1/notes", tags=["notes"])


@dataclass(frozen=True)
class NoteView:
    """A note as the read model has it, with its receivable's obligor and maturity (None while the receivable is
    not known): what the note routes check and answer, read in one statement (`note_views`)."""

    id: int
    slot_id: int | None
    holder_id: int
    value: int
    parent_id: int | None
    lienholder_id: int
    live: bool
    created_tx: str
    obligor_id: int | None
    maturity: int | None

    @property
    def receivable_known(self) -> bool:
        return self.obligor_id is not None

    @classmethod
    def of(cls, note: Note, receivable: Receivable | None) -> NoteView:
        return cls(
            note.id,
            note.slot_id,
            note.holder_id,
            note.value,
            note.parent_id,
            note.lienholder_id,
            note.live,
            note.created_tx,
            receivable.obligor_id if receivable else None,
            receivable.maturity if receivable else None,
        )


_notes = table(Note)
_receivables = table(Receivable)
# Built once (Core, no ORM identity map): a write's checks and its answer were six `Session.get` loads, the largest
# share of a split's Python time after the transaction itself (py-spy, 32 clients).
_NOTE_VIEWS = (
    select(
        _notes.c.id,
        _notes.c.slot_id,
        _notes.c.holder_id,
        _notes.c.value,
        _notes.c.parent_id,
        _notes.c.lienholder_id,
        _notes.c.live,
        _notes.c.created_tx,
        _receivables.c.obligor_id,
        _receivables.c.maturity,
    )
    .select_from(_notes.outerjoin(_receivables, _receivables.c.id == _notes.c.slot_id))
    .where(_notes.c.id.in_(bindparam("ids", expanding=True)))
)


def note_views(session: Session, note_ids: Sequence[int]) -> dict[int, NoteView]:
    """The notes among `note_ids` the read model knows, by id, with their receivable's terms."""
    return {int(row.id): NoteView(**row._mapping) for row in session.execute(_NOTE_VIEWS, {"ids": list(note_ids)})}


def note_out(
    note: NoteView, currency: str, vis: Visibility | None = None, names: dict[int, str] | None = None
) -> NoteOut:
    """A note as the caller may see it (`vis`: its view of the note's receivable; None for the answer of a write,
    whose caller is the note's holder or lienholder, with `names` of the members it shows)."""
    if vis is not None:
        holder_name, lien_name = vis.name_of(note.holder_id), vis.name_of(note.lienholder_id)
        obligor_name = vis.name_of(note.obligor_id)  # the obligor is always shown
    else:
        known = names or {}
        holder_name, lien_name = known.get(note.holder_id), known.get(note.lienholder_id or 0)
        obligor_name = known.get(note.obligor_id or 0)
    return NoteOut(
        id=note.id,
        receivable_id=note.slot_id,
        holder_id=vis.ref(note.holder_id) if vis is not None else note.holder_id,
        value=note.value,
        currency=currency,
        parent_id=note.parent_id or None,
        lienholder_id=vis.optional(note.lienholder_id) if vis is not None else (note.lienholder_id or None),
        live=note.live,
        obligor_id=note.obligor_id,
        maturity=iso_time(note.maturity) if note.maturity is not None else None,
        created_tx=note.created_tx,
        holder_name=holder_name,
        lienholder_name=lien_name,
        obligor_name=obligor_name,
    )


def _load(session: Session, note_id: int) -> NoteView:
    found = note_views(session, [note_id]).get(note_id)
    if found is None:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
    return found


def visible_note(session: Session, principal: Principal, note_id: int) -> NoteView:
    note = _load(session, note_id)
    parties = {note.holder_id, note.lienholder_id}
    if note.obligor_id is not None:
        parties.add(note.obligor_id)
    if not sees_everything(principal) and principal.member_id not in parties:
        raise catalogued(403, "forbidden", "forbidden.note-yours-see", {"note_id": note_id})
    return note


def _check_value(note: NoteView, value: int) -> None:
    if value > note.value:
        params = {"note_id": note.id, "held": format_amount(note.value), "requested": format_amount(value)}
        raise catalogued(422, "insufficient-value", "insufficient-value.note-holds-less", params)


def _own_note(session: Session, principal: Principal, note_id: int) -> NoteView:
    note = visible_note(session, principal, note_id)
    if note.holder_id != principal.member_id:
        raise catalogued(403, "forbidden", "forbidden.note-held-another", {"note_id": note_id})
    if not note.live:
        raise catalogued(409, "note-not-live", "note-not-live.note-was-settled", {"note_id": note_id})
    return note


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
    query = select(Note, Receivable).join(Receivable, Receivable.id == Note.slot_id).where(Note.id > cursor)
    if not sees_everything(principal):
        query = query.where((Note.holder_id == principal.member_id) | (Note.lienholder_id == principal.member_id))
    if status == "live":
        query = query.where(Note.live.is_(True))
    if obligor_id is not None:
        query = query.where(Receivable.obligor_id == obligor_id)
    query = query.where(*maturity_within(Receivable.maturity, maturity_from, maturity_to))
    rows = session.execute(query.order_by(Note.id).limit(limit + 1)).all()
    currency = request.app.state.settings.currency
    more = len(rows) > limit
    rows = rows[:limit]
    views = Views(session, principal, request_secret(request))
    items = [note_out(NoteView.of(n, r), currency, views.slot(n.slot_id)) for n, r in rows]
    return Page[NoteOut](items=items, next_cursor=str(items[-1].id) if more else None)


@router.get("/{note_id}", summary="One note")
def get_note(note_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> NoteOut:
    note = visible_note(session, principal, note_id)
    vis = for_slot(session, principal, request_secret(request), note.slot_id)
    return note_out(note, request.app.state.settings.currency, vis)


def _note_response(request: Request, ctx: WriteContext, *note_ids: int) -> list[NoteOut]:
    ctx.settle_reads()
    currency = request.app.state.settings.currency
    with Session(request.app.state.engine) as session:
        found = note_views(session, note_ids)
        names = display_names(
            session, [m for n in found.values() for m in (n.holder_id, n.lienholder_id, n.obligor_id)]
        )
    missing = [i for i in note_ids if i not in found]
    if missing:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": missing[0]})
    return [note_out(found[i], currency, names=names) for i in note_ids]


def _run(
    request: Request, principal: Principal, ledger: Any, writes: Any, body: BaseModel | str, workflow: Any
) -> JSONResponse:
    raw = body.encode() if isinstance(body, str) else body.model_dump_json().encode()
    result: JSONResponse = writes.run(request, principal.member_id, raw, ledger, workflow)
    return result


@router.post("/{note_id}/split", status_code=201, response_model=SplitResultOut, summary="Split value off to a member")
def split_note(
    note_id: int,
    body: SplitNoteIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    note = _own_note(session, principal, note_id)
    _check_value(note, body.value)
    if body.to == principal.member_id:  # as a transfer to oneself (the contract's SelfTransfer): value stays put
        raise catalogued(422, "self-transfer", "self-transfer.split-to-self", {"note_id": note_id})
    recipient = member_or_404(session, body.to, "recipient")
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, ledger.notes.split(note_id, recipient.account, body.value))
        new_id = int(event_args(ledger, receipt, "ReceivableNotes", "NoteSplit")["noteId"])
        parent, child = _note_response(request, ctx, note_id, new_id)
        return 201, SplitResultOut(note=parent, new_note=child).model_dump(mode="json")

    return _run(request, principal, ledger, writes, f"{note_id}:" + body.model_dump_json(), workflow)


def _payment_refused(problem: Problem, payments: Sequence[tuple[int, str]]) -> Problem:
    """The contract's refusal of a bulk payment, naming the payment it is about when its arguments tell (the
    payment's index, or the recipient's account or member id): `payment: {index, to}` and a detail that names it.
    Any other refusal (the note, the sum, the cap) stays as the contract gave it."""
    error = problem.extra.get("contractError")
    args = error.get("args", {}) if isinstance(error, dict) else {}
    accounts = [account.lower() for _, account in payments]
    index: int | None = None
    if isinstance(args.get("index"), int) and 0 <= args["index"] < len(payments):
        index = args["index"]
    else:
        for name, value in args.items():
            if name in ("account", "to") and isinstance(value, str) and value.lower() in accounts:
                index = accounts.index(value.lower())
                break
            if name == "memberId" and value in [member for member, _ in payments]:
                index = [member for member, _ in payments].index(value)
                break
    if index is None:
        return problem
    params = {"index": index, "member_id": payments[index][0], "call": problem.params.get("call", problem.detail)}
    extra = {**problem.extra, "payment": {"index": index, "to": payments[index][0]}}
    return catalogued(
        problem.status, problem.slug, "payment-refused.named", params, title_key=problem.title_key, **extra
    )


@router.post(
    "/{note_id}/payments",
    status_code=201,
    response_model=PaymentsResultOut,
    summary="Bulk payment: new notes for up to 100 members out of one note, all or nothing",
)
def pay_from_note(
    note_id: int,
    body: PayFromNoteIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    fingerprint = f"{note_id}:" + body.model_dump_json()
    if not writes.started(request, principal.member_id, fingerprint.encode()):  # a retry: the note may be burned
        note = _own_note(session, principal, note_id)
        _check_value(note, sum(p.value for p in body.payments))
    wanted = {p.to for p in body.payments}
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(wanted)))}
    for index, payment in enumerate(body.payments):
        params = {"index": index, "member_id": payment.to, "note_id": note_id}
        if payment.to == principal.member_id:  # as a split to oneself (refused by the split route too)
            raise catalogued(422, "self-transfer", "self-transfer.payment-to-self", params, payment={"index": index})
        if payment.to not in members:
            raise catalogued(404, "not-found", "not-found.payment-recipient", params, payment={"index": index})
    payments = [(p.to, members[p.to].account) for p in body.payments]
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.notes.split_batch(note_id, [a for _, a in payments], [p.value for p in body.payments])
        try:
            receipt = ctx.transact(account, call)
        except Problem as refused:
            raise _payment_refused(refused, payments) from refused
        first = int(event_args(ledger, receipt, "ReceivableNotes", "NoteSplit")["noteId"])
        source, *created = _note_response(request, ctx, note_id, *range(first, first + len(payments)))
        return 201, PaymentsResultOut(note=source, new_notes=created).model_dump(mode="json")

    return _run(request, principal, ledger, writes, fingerprint, workflow)


@router.post("/{note_id}/transfer", response_model=NoteOut, summary="Transfer the whole note to a member")
def transfer_note(
    note_id: int,
    body: TransferNoteIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    fingerprint = f"{note_id}:" + body.model_dump_json()
    if not writes.started(request, principal.member_id, fingerprint.encode()):  # a retry: the note may be gone
        _own_note(session, principal, note_id)
    recipient = member_or_404(session, body.to, "recipient")
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.notes.transfer_whole(account.address, recipient.account, note_id))
        return 200, _note_response(request, ctx, note_id)[0].model_dump(mode="json")

    return _run(request, principal, ledger, writes, fingerprint, workflow)


@router.post("/{note_id}/merge", response_model=NoteOut, summary="Move value into another note of the same receivable")
def merge_note(
    note_id: int,
    body: MergeNoteIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    note = _own_note(session, principal, note_id)
    _check_value(note, body.value)
    _load(session, body.into)
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.notes.merge(note_id, body.into, body.value))
        return 200, _note_response(request, ctx, body.into)[0].model_dump(mode="json")

    return _run(request, principal, ledger, writes, f"{note_id}:" + body.model_dump_json(), workflow)


@router.post("/{note_id}/lock", response_model=NoteOut, summary="Pledge the note to a financier")
def lock_note(
    note_id: int,
    body: LockNoteIn,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    _own_note(session, principal, note_id)
    lienholder = member_or_404(session, body.lienholder_id, "lienholder")
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.notes.lock(note_id, lienholder.account))
        return 200, _note_response(request, ctx, note_id)[0].model_dump(mode="json")

    return _run(request, principal, ledger, writes, f"{note_id}:" + body.model_dump_json(), workflow)


@router.post("/{note_id}/release", response_model=NoteOut, summary="Lienholder releases its pledge on the note")
def release_note(
    note_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    visible_note(session, principal, note_id)
    account = acting_account(custody, session, principal)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, ledger.notes.release(note_id))
        return 200, _note_response(request, ctx, note_id)[0].model_dump(mode="json")

    return _run(request, principal, ledger, writes, f"release:{note_id}", workflow)
