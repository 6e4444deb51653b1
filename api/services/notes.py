"""Notes (ERC-3525 tokens of a receivable): who sees and may move a note, how a note is answered, and the
workflows that split, transfer, merge, lock and release it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Select, bindparam, select
from sqlalchemy.orm import Session

from api.amounts import format_amount
from api.deps import Principal, WriteDeps, key_principal_with
from api.problems import Problem, catalogued
from api.schemas.core import (
    LockNoteIn,
    MergeNoteIn,
    NoteOut,
    PayFromNoteIn,
    PaymentsResultOut,
    SplitNoteIn,
    SplitResultOut,
    TransferNoteIn,
)
from api.services.common import ByIds, event_args, iso_time, maturity_within, member_or_404, sees_everything
from api.services.visibility import Visibility
from api.tables import CustodyAccount, MemberProfile
from api.writes import WriteContext
from chain.readmodel.store import Member, Note, Receivable, table


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
_members = table(Member)
_custody = table(CustodyAccount)
# Built once (Core, no ORM identity map): a write's checks and its answer were six `Session.get` loads, the largest
# share of a split's Python time after the transaction itself (py-spy, 32 clients).
_NOTE_VIEW_COLUMNS = select(
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
).select_from(_notes.outerjoin(_receivables, _receivables.c.id == _notes.c.slot_id))
# one to three ids (a write's checks and answers) with plain parameters (`ByIds`)
_NOTE_VIEWS = ByIds(_NOTE_VIEW_COLUMNS, _notes.c.id)


# A write's answer: its notes with the display names of their holder, lienholder and obligor, in one statement
# (were two: `note_views`, then `display_names`, 4-6% of a split's CPU together, py-spy at 32 clients)
_holder_profile, _lien_profile, _obligor_profile = (
    table(MemberProfile).alias(name) for name in ("holder_profile", "lienholder_profile", "obligor_profile")
)
_NAMED_NOTE_VIEW_COLUMNS = select(
    *_NOTE_VIEW_COLUMNS.selected_columns,
    _holder_profile.c.display_name.label("holder_name"),
    _lien_profile.c.display_name.label("lienholder_name"),
    _obligor_profile.c.display_name.label("obligor_name"),
).select_from(
    _notes.outerjoin(_receivables, _receivables.c.id == _notes.c.slot_id)
    .outerjoin(_holder_profile, _holder_profile.c.member_id == _notes.c.holder_id)
    .outerjoin(_lien_profile, _lien_profile.c.member_id == _notes.c.lienholder_id)
    .outerjoin(_obligor_profile, _obligor_profile.c.member_id == _receivables.c.obligor_id)
)
_NAMED_NOTE_VIEWS = ByIds(_NAMED_NOTE_VIEW_COLUMNS, _notes.c.id)
_NAME_COLUMNS = (("holder_id", "holder_name"), ("lienholder_id", "lienholder_name"), ("obligor_id", "obligor_name"))


def named_note_views(
    session: Session | Connection, note_ids: Sequence[int]
) -> tuple[dict[int, NoteView], dict[int, str]]:
    """`note_views` and the `display_names` of the notes' holders, lienholders and obligors, in one statement (Core:
    on a session or a plain connection)."""
    rows = _NAMED_NOTE_VIEWS.execute(session, note_ids)
    views: dict[int, NoteView] = {}
    names: dict[int, str] = {}
    for row in rows:
        values = dict(row._mapping)
        for member_column, name_column in _NAME_COLUMNS:
            member_id, name = values[member_column], values.pop(name_column)
            if member_id and name is not None:
                names[int(member_id)] = str(name)
        views[int(row.id)] = NoteView(**values)
    return views, names


def note_views(session: Session, note_ids: Sequence[int]) -> dict[int, NoteView]:
    """The notes among `note_ids` the read model knows, by id, with their receivable's terms."""
    rows = _NOTE_VIEWS.execute(session, note_ids)
    return {int(row.id): NoteView(**row._mapping) for row in rows}


def note_out(
    note: NoteView, currency: str, vis: Visibility | None = None, names: dict[int, str] | None = None
) -> NoteOut:
    """A note as the caller may see it (`vis`: its view of the note's receivable; None for the answer of a write,
    whose caller is the note's holder or lienholder, with `names` of the members it shows)."""
    if vis is not None:
        vis.load_names((note.holder_id, note.lienholder_id, note.obligor_id))  # one statement for the three
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


# GET /v1/notes/{id}: the caller's key, the note and the display names of its holder, lienholder and obligor in one
# round trip (api.deps.principal_with); the note's columns are NULL when the read model does not have it (`note_of`)
_NAMED = (_holder_profile, _lien_profile, _obligor_profile)  # the aliases of a write's answer (above)
NOTE_WITH_CALLER = (
    key_principal_with(*_NOTE_VIEW_COLUMNS.selected_columns, *(profile.c.display_name for profile in _NAMED))
    .outerjoin(_notes, _notes.c.id == bindparam("note_id"))
    .outerjoin(_receivables, _receivables.c.id == _notes.c.slot_id)
    .outerjoin(_NAMED[0], _NAMED[0].c.member_id == _notes.c.holder_id)
    .outerjoin(_NAMED[1], _NAMED[1].c.member_id == _notes.c.lienholder_id)
    .outerjoin(_NAMED[2], _NAMED[2].c.member_id == _receivables.c.obligor_id)
)
_NOTE_VIEW_FIELDS = tuple(column.name for column in _NOTE_VIEW_COLUMNS.selected_columns)


def note_of(values: Sequence[Any]) -> tuple[NoteView | None, list[tuple[int | None, str | None]]]:
    """The note in the values `NOTE_WITH_CALLER` gave beside the key's (None when the read model does not have
    it), and its members' display names (for `Visibility.know_names`)."""
    if values[0] is None:
        return None, []
    note = NoteView(**dict(zip(_NOTE_VIEW_FIELDS, values[: len(_NOTE_VIEW_FIELDS)], strict=True)))
    holder_name, lien_name, obligor_name = values[len(_NOTE_VIEW_FIELDS) :]
    return note, [(note.holder_id, holder_name), (note.lienholder_id, lien_name), (note.obligor_id, obligor_name)]


def load_note(session: Session, note_id: int) -> NoteView:
    return _found(note_id, note_views(session, [note_id]).get(note_id))


def _found(note_id: int, note: NoteView | None) -> NoteView:
    if note is None:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
    return note


def visible_note(session: Session, principal: Principal, note_id: int) -> NoteView:
    return shown_note(principal, note_id, note_views(session, [note_id]).get(note_id))


def shown_note(principal: Principal, note_id: int, found: NoteView | None) -> NoteView:
    """`found` (the note `note_id` as read) if the caller may see it: 404 when there is none, 403 for a caller who
    is none of its holder, lienholder or obligor (auditors and the operator see every note)."""
    note = _found(note_id, found)
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


def own_note(session: Session, principal: Principal, note_id: int) -> NoteView:
    return held_note(principal, note_id, note_views(session, [note_id]).get(note_id))


def held_note(principal: Principal, note_id: int, found: NoteView | None) -> NoteView:
    """`found` (the note `note_id` as read) if the caller may move it: `shown_note`'s refusals, then 403 for a note
    held by another and 409 for one no longer live."""
    note = shown_note(principal, note_id, found)
    if note.holder_id != principal.member_id:
        raise catalogued(403, "forbidden", "forbidden.note-held-another", {"note_id": note_id})
    if not note.live:
        raise catalogued(409, "note-not-live", "note-not-live.note-was-settled", {"note_id": note_id})
    return note


def notes_query(
    principal: Principal, obligor_id: int | None, first: date | None, last: date | None, status: str
) -> Select[Note, Receivable]:
    """Notes the caller holds or that are pledged to it (all for auditors and the operator), with their receivable."""
    query = select(Note, Receivable).join(Receivable, Receivable.id == Note.slot_id)
    if not sees_everything(principal):
        query = query.where((Note.holder_id == principal.member_id) | (Note.lienholder_id == principal.member_id))
    if status == "live":
        query = query.where(Note.live.is_(True))
    if obligor_id is not None:
        query = query.where(Receivable.obligor_id == obligor_id)
    return query.where(*maturity_within(Receivable.maturity, first, last))


def _notes_now(w: WriteDeps, ctx: WriteContext, *note_ids: int) -> list[NoteOut]:
    """The notes a write changed, once the indexer has its block (404 for one the read model no longer has)."""

    found, names = ctx.read_rows(lambda conn: named_note_views(conn, note_ids))
    missing = [i for i in note_ids if i not in found]
    if missing:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": missing[0]})
    return [note_out(found[i], w.currency, names=names) for i in note_ids]


# A split's checks in one statement: its note (as `note_views`), the recipient's account (NULL for no such member)
# and the caller's custodial keystore (NULL for none: `WriteDeps.account` then looks for a self-custody key)
_NOTE_AND_RECIPIENT = _NOTE_VIEW_COLUMNS.add_columns(
    select(_members.c.account).where(_members.c.id == bindparam("to")).scalar_subquery(),
    select(_custody.c.keystore).where(_custody.c.member_id == bindparam("caller")).scalar_subquery(),
).where(_notes.c.id == bindparam("id"))


def split_note(w: WriteDeps, note_id: int, body: SplitNoteIn) -> JSONResponse:
    """The holder splits value off its note to a member (201, both notes)."""
    row = w.session.execute(
        _NOTE_AND_RECIPIENT, {"id": note_id, "to": body.to, "caller": w.principal.member_id}
    ).first()
    found = NoteView(*row[: len(_NOTE_VIEW_FIELDS)]) if row is not None else None
    note = held_note(w.principal, note_id, found)
    _check_value(note, body.value)
    if body.to == w.principal.member_id:  # as a transfer to oneself (the contract's SelfTransfer): value stays put
        raise catalogued(422, "self-transfer", "self-transfer.split-to-self", {"note_id": note_id})
    recipient, keystore = (row[-2], row[-1]) if row is not None else (None, None)
    if recipient is None:
        recipient = member_or_404(w.session, body.to, "recipient").account  # the refusal, as every route gives it
    account = w.account(keystore)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        receipt = ctx.transact(account, w.ledger.notes.split(note_id, recipient, body.value))
        new_id = int(event_args(w.ledger, receipt, "ReceivableNotes", "NoteSplit")["noteId"])
        parent, child = _notes_now(w, ctx, note_id, new_id)
        return 201, SplitResultOut(note=parent, new_note=child).model_dump(mode="json")

    return w.run(f"{note_id}:" + body.model_dump_json(), workflow)


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


def pay_from_note(w: WriteDeps, note_id: int, body: PayFromNoteIn) -> JSONResponse:
    """Bulk payment: the holder pays up to 100 members out of one note in one transaction (`splitBatch`), all or
    nothing; a refusal names the payment it is about (201, the note and the new notes)."""
    fingerprint = f"{note_id}:" + body.model_dump_json()
    if not w.started(fingerprint):  # a retry: the note may be burned
        note = own_note(w.session, w.principal, note_id)
        _check_value(note, sum(p.value for p in body.payments))
    wanted = {p.to for p in body.payments}
    members = {m.id: m for m in w.session.scalars(select(Member).where(Member.id.in_(wanted)))}
    for index, payment in enumerate(body.payments):
        params = {"index": index, "member_id": payment.to, "note_id": note_id}
        if payment.to == w.principal.member_id:  # as a split to oneself (refused by the split route too)
            raise catalogued(422, "self-transfer", "self-transfer.payment-to-self", params, payment={"index": index})
        if payment.to not in members:
            raise catalogued(404, "not-found", "not-found.payment-recipient", params, payment={"index": index})
    payments = [(p.to, members[p.to].account) for p in body.payments]
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = w.ledger.notes.split_batch(note_id, [a for _, a in payments], [p.value for p in body.payments])
        try:
            receipt = ctx.transact(account, call)
        except Problem as refused:
            raise _payment_refused(refused, payments) from refused
        first = int(event_args(w.ledger, receipt, "ReceivableNotes", "NoteSplit")["noteId"])
        source, *created = _notes_now(w, ctx, note_id, *range(first, first + len(payments)))
        return 201, PaymentsResultOut(note=source, new_notes=created).model_dump(mode="json")

    return w.run(fingerprint, workflow)


def transfer_note(w: WriteDeps, note_id: int, body: TransferNoteIn) -> JSONResponse:
    """The holder transfers the whole note to a member."""
    fingerprint = f"{note_id}:" + body.model_dump_json()
    if not w.started(fingerprint):  # a retry: the note may be gone
        own_note(w.session, w.principal, note_id)
    recipient = member_or_404(w.session, body.to, "recipient")
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.notes.transfer_whole(account.address, recipient.account, note_id))
        return 200, _notes_now(w, ctx, note_id)[0].model_dump(mode="json")

    return w.run(fingerprint, workflow)


def merge_note(w: WriteDeps, note_id: int, body: MergeNoteIn) -> JSONResponse:
    """The holder moves value into another note of the same receivable (the answer: that note)."""
    note = own_note(w.session, w.principal, note_id)
    _check_value(note, body.value)
    load_note(w.session, body.into)
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.notes.merge(note_id, body.into, body.value))
        return 200, _notes_now(w, ctx, body.into)[0].model_dump(mode="json")

    return w.run(f"{note_id}:" + body.model_dump_json(), workflow)


def lock_note(w: WriteDeps, note_id: int, body: LockNoteIn) -> JSONResponse:
    """The holder pledges the note to a financier."""
    own_note(w.session, w.principal, note_id)
    lienholder = member_or_404(w.session, body.lienholder_id, "lienholder")
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.notes.lock(note_id, lienholder.account))
        return 200, _notes_now(w, ctx, note_id)[0].model_dump(mode="json")

    return w.run(f"{note_id}:" + body.model_dump_json(), workflow)


def release_note(w: WriteDeps, note_id: int) -> JSONResponse:
    """The lienholder releases its pledge on the note."""
    visible_note(w.session, w.principal, note_id)
    account = w.account()

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(account, w.ledger.notes.release(note_id))
        return 200, _notes_now(w, ctx, note_id)[0].model_dump(mode="json")

    return w.run(f"release:{note_id}", workflow)
