"""Applies decoded events to the projection tables. Pure function of the event sequence.

Handlers are keyed by (contract, event). Events a handler does not know are kept in the event log
only. Rows are created on first sight, so the order of the ERC-3525 events within one transaction
(Transfer / SlotChanged / TransferValue / NoteSplit) does not matter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from chain.readmodel.store import (
    CashMove,
    Funding,
    HoldingTotal,
    Loan,
    Member,
    Note,
    Offer,
    Order,
    Purchase,
    Receivable,
    ValueMove,
    bulk_insert,
    table,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_AMOUNT = 2**63 - 1
ORDER_STATUS = {1: "proposed", 2: "confirmed", 3: "delivered", 4: "invoiced", 5: "cancelled"}
SLOT_STATUS = {1: "active", 2: "settled", 3: "defaulted"}
_NOTE_ARGS = ("tokenId", "fromTokenId", "toTokenId", "noteId", "parentId")


class Record(Protocol):
    """What a handler reads of an event: a stored `EventRecord` or the indexer's plain `Event` before storing."""

    id: int
    block_number: int
    tx_hash: str
    contract: str
    name: str
    args: dict[str, Any]


@dataclass(slots=True)
class Event:
    """An event as the indexer hands it to the projections (cheaper to build than an ORM row)."""

    id: int
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    contract: str
    name: str
    args: dict[str, Any]


_NOTE_STATE = ("slot_id", "holder_id", "value", "parent_id", "lienholder_id", "live")  # what events change
_NOTE_COLUMNS = ("id", *_NOTE_STATE, "created_block", "created_tx")


@dataclass(slots=True)
class NoteRow:
    """A note as the projector changes it: a plain object (an ORM `Note` costs ~10x more to build and flush),
    written to `notes` in bulk by `Projector.flush()`."""

    id: int
    slot_id: int | None
    holder_id: int
    value: int
    parent_id: int | None
    lienholder_id: int
    live: bool
    created_block: int
    created_tx: str

    def state(self) -> tuple[Any, ...]:
        return (self.slot_id, self.holder_id, self.value, self.parent_id, self.lienholder_id, self.live)


Handler = Callable[["Projector", Record, dict[str, Any]], None]
HANDLERS: dict[tuple[str, str], Handler] = {}


def on(contract: str, name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[(contract, name)] = fn
        return fn

    return register


def _amount(value: int) -> int:
    if not 0 <= value <= MAX_AMOUNT:
        raise ValueError(f"amount {value} is outside the read model's range")
    return value


TotalKey = tuple[int, int, int]  # (holder id, slot id or 0, lienholder id or 0)

# A pass's statements, built once and of table columns (Core): built per pass from the models' attributes, each went
# through SQLAlchemy's statement building and the ORM's compile steps on every pass (the members' map: 91 -> 23 us,
# in-process on SQLite). The lists of ids are expanding parameters.
_NOTES, _TOTALS, _RECEIVABLES, _MEMBERS = table(Note), table(HoldingTotal), table(Receivable), table(Member)
_VALUE_MOVES = table(ValueMove)
_LOAD_NOTES = select(*(_NOTES.c[name] for name in _NOTE_COLUMNS)).where(
    _NOTES.c.id.in_(bindparam("ids", expanding=True))
)
_UPDATE_NOTES = update(_NOTES).where(_NOTES.c.id == bindparam("b_id"))
_TOTAL_IS_KEY = (
    _TOTALS.c.holder_id == bindparam("b_holder"),
    _TOTALS.c.slot_id == bindparam("b_slot"),
    _TOTALS.c.lienholder_id == bindparam("b_lien"),
)
_DELETE_TOTALS = delete(_TOTALS).where(*_TOTAL_IS_KEY)
_UPDATE_TOTALS = update(_TOTALS).where(*_TOTAL_IS_KEY)
_STORED_TOTALS = select(
    _TOTALS.c.holder_id, _TOTALS.c.slot_id, _TOTALS.c.lienholder_id, _TOTALS.c.count, _TOTALS.c.value
).where(
    _TOTALS.c.holder_id.in_(bindparam("holders", expanding=True)),
    _TOTALS.c.slot_id.in_(bindparam("slots", expanding=True)),
)
_TERMS = select(_RECEIVABLES.c.id, _RECEIVABLES.c.obligor_id, _RECEIVABLES.c.maturity).where(
    _RECEIVABLES.c.id.in_(bindparam("ids", expanding=True))
)
_MEMBER_ACCOUNTS = select(_MEMBERS.c.account, _MEMBERS.c.id)


def _share(note: NoteRow) -> tuple[TotalKey, int] | None:
    """What a note contributes to `holding_totals`: its key and value (None: not live or held by nobody)."""
    if not note.live or not note.holder_id:
        return None
    return (note.holder_id, note.slot_id or 0, note.lienholder_id or 0), note.value


class Projector:
    """Applies events within one session; call `flush()` after the last one (and before anything reads the
    notes, value moves, cash moves or holding totals with SQL).

    Notes are plain `NoteRow`s, cached for the projector's life: loaded in bulk (`prefetch`) or one by one,
    created on first sight, and written with one executemany each of inserts and updates by `flush()`; value
    and cash moves are buffered and inserted the same way. Every note a handler touches goes through `note()`,
    which records the note's contribution to `holding_totals` before its first change; `flush()` applies the
    difference to the aggregate (rows reaching zero notes are deleted), so the aggregate always equals a
    GROUP BY over the live notes (it depends on each note's first and last state only)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._before: dict[int, tuple[NoteRow, tuple[TotalKey, int] | None]] = {}
        # caches for one session: what was read or created, so a range of events costs a few queries
        self._notes: dict[int, NoteRow | None] = {}  # None: known not to exist
        self._stored: dict[int, tuple[Any, ...]] = {}  # note id -> state as in the database (absent: new)
        self._rows: dict[Table, list[dict[str, Any]]] = {}  # buffered inserts (value and cash moves)
        self._accounts: dict[str, int] | None = None  # member account -> id (reloaded after registry events)
        self._slot_terms: dict[int, tuple[int, int]] = {}  # receivable -> (obligor, maturity), for new totals rows
        self.value_moves: list[dict[str, Any]] = []  # every `value_moves` row flushed, in order (the alert rules')

    def _load(self, ids: Sequence[int]) -> None:
        for row in self.session.execute(_LOAD_NOTES, {"ids": list(ids)}):
            note = NoteRow(*row)
            self._notes[note.id] = note
            self._stored[note.id] = note.state()
        for note_id in ids:
            self._notes.setdefault(note_id, None)

    def prefetch(self, records: Sequence[Record]) -> None:
        """Loads the notes the records name in a few queries (those not found are known to be new)."""
        ids: set[int] = set()
        for record in records:
            if record.contract == "ReceivableNotes":
                for name in _NOTE_ARGS:
                    value = record.args.get(name)
                    if isinstance(value, int) and 0 < value <= MAX_AMOUNT and value not in self._notes:
                        ids.add(value)
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            self._load(wanted[start : start + 500])

    def apply(self, record: Record) -> None:
        handler = HANDLERS.get((record.contract, record.name))
        if handler is not None:
            handler(self, record, record.args)
            if record.contract == "MemberRegistry":
                self._accounts = None

    def add_row(self, target: Table, row: dict[str, Any]) -> None:
        """An insert into `target`, buffered until `flush()` (in order)."""
        self._rows.setdefault(target, []).append(row)

    def flush(self) -> None:
        """Settles `holding_totals` and writes the changed notes and the buffered rows."""
        if self._before:
            self._settle_totals()
        new: list[dict[str, Any]] = []
        changed: list[dict[str, Any]] = []
        for note in self._notes.values():
            if note is None:
                continue
            state = note.state()
            stored = self._stored.get(note.id)
            if stored == state:
                continue
            if stored is None:
                new.append({c: getattr(note, c) for c in _NOTE_COLUMNS})
            else:
                changed.append({"b_id": note.id, **dict(zip(_NOTE_STATE, state, strict=True))})
            self._stored[note.id] = state
        bulk_insert(self.session, table(Note), new)
        if changed:
            self.session.execute(_UPDATE_NOTES, changed)
        rows, self._rows = self._rows, {}
        for target, values in rows.items():
            bulk_insert(self.session, target, values)
        self.value_moves.extend(rows.get(_VALUE_MOVES, ()))

    # holding totals
    def _settle_totals(self) -> None:
        """Applies the touched notes' change of contribution to `holding_totals` (Core, a few statements a pass).

        Per key the net change of count and value is summed first (the aggregate depends on each note's first and
        last state only), then the rows of those keys are read in one query and written with one executemany each
        of inserts, updates and deletes (a row reaching zero notes is deleted). It was the ORM, a row object per
        total of every holder touched and a unit-of-work flush: the indexer's largest share of a split's CPU."""
        touched, self._before = self._before, {}
        deltas: dict[TotalKey, list[int]] = {}
        for note, before in touched.values():
            after = _share(note)
            if after == before:
                continue
            for share, sign in ((before, -1), (after, 1)):
                if share is not None:
                    delta = deltas.setdefault(share[0], [0, 0])
                    delta[0] += sign
                    delta[1] += sign * share[1]
        changed = {key: delta for key, delta in deltas.items() if delta != [0, 0]}
        if not changed:
            return
        stored = self._stored_totals(list(changed))
        terms = self._terms_of({key[1] for key in changed if key not in stored})
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        deletes: list[dict[str, Any]] = []
        for key, (count, value) in changed.items():
            where = {"b_holder": key[0], "b_slot": key[1], "b_lien": key[2]}
            found = stored.get(key)
            if found is not None:
                count, value = found[0] + count, found[1] + value
                if count == 0:
                    deletes.append(where)
                else:
                    updates.append({**where, "count": count, "value": value})
            elif count != 0:
                obligor_id, maturity = terms.get(key[1], (None, None))
                inserts.append(
                    {
                        "holder_id": key[0],
                        "slot_id": key[1],
                        "lienholder_id": key[2],
                        "count": count,
                        "value": value,
                        "obligor_id": obligor_id,
                        "maturity": maturity,
                    }
                )
        if deletes:
            self.session.execute(_DELETE_TOTALS, deletes)
        if updates:
            self.session.execute(_UPDATE_TOTALS, updates)
        bulk_insert(self.session, _TOTALS, inserts)

    def _stored_totals(self, keys: Sequence[TotalKey]) -> dict[TotalKey, tuple[int, int]]:
        """(count, value) of the `holding_totals` rows of `keys` that exist."""
        wanted = set(keys)
        found: dict[TotalKey, tuple[int, int]] = {}
        holders = sorted({key[0] for key in keys})
        slots = sorted({key[1] for key in keys})
        for start in range(0, len(holders), 250):
            for slot_start in range(0, len(slots), 250):
                chunk = {"holders": holders[start : start + 250], "slots": slots[slot_start : slot_start + 250]}
                for holder, slot, lien, count, value in self.session.execute(_STORED_TOTALS, chunk):
                    key = (int(holder), int(slot), int(lien))
                    if key in wanted:
                        found[key] = (int(count), int(value))
        return found

    def _terms_of(self, slot_ids: set[int]) -> dict[int, tuple[int, int]]:
        """The (obligor, maturity) of the receivables among `slot_ids` that are known, copied into their new
        `holding_totals` rows (a receivable's terms never change)."""
        missing = sorted(slot for slot in slot_ids if slot and slot not in self._slot_terms)
        for start in range(0, len(missing), 500):
            for slot, obligor_id, maturity in self.session.execute(_TERMS, {"ids": missing[start : start + 500]}):
                self._slot_terms[int(slot)] = (int(obligor_id), int(maturity))
        return {slot: self._slot_terms[slot] for slot in slot_ids if slot in self._slot_terms}

    def receivable_issued(self, slot_id: int, obligor_id: int, maturity: int) -> None:
        """Records the receivable's terms for the `holding_totals` rows made for it by `flush()` (same transaction:
        the mint's events come before ReceivableIssued)."""
        self._slot_terms[slot_id] = (obligor_id, maturity)

    # helpers
    def member_id_of(self, account: str) -> int:
        if account == ZERO_ADDRESS:
            return 0
        if self._accounts is None:
            self._accounts = {a: int(i) for a, i in self.session.execute(_MEMBER_ACCOUNTS).all()}
        return self._accounts.get(account, 0)

    def member(self, member_id: int) -> Member | None:
        return self.session.get(Member, member_id)

    def note(self, note_id: int, record: Record) -> NoteRow:
        """The note to change (created on first sight); its share of `holding_totals` is noted first."""
        touched = self._before.get(note_id)
        if touched is not None:
            return touched[0]
        note = self.known_note(note_id)
        if note is None:
            note = NoteRow(
                id=note_id,
                slot_id=None,
                holder_id=0,
                value=0,
                parent_id=None,
                lienholder_id=0,
                live=True,
                created_block=record.block_number,
                created_tx=record.tx_hash,
            )
            self._notes[note_id] = note
        self._before[note_id] = (note, _share(note))
        return note

    def known_note(self, note_id: int) -> NoteRow | None:
        if note_id not in self._notes:
            self._load([note_id])
        return self._notes[note_id]

    def move(self, record: Record, kind: str, from_note: int, to_note: int, value: int) -> None:
        from_member = self.known_note(from_note).holder_id if from_note else 0  # type: ignore[union-attr]
        to_member = self.known_note(to_note).holder_id if to_note else 0  # type: ignore[union-attr]
        self.add_row(
            table(ValueMove),
            {
                "event_id": record.id,
                "kind": kind,
                "from_note_id": from_note,
                "to_note_id": to_note,
                "from_member_id": from_member,
                "to_member_id": to_member,
                "value": _amount(value),
                "block_number": record.block_number,
                "tx_hash": record.tx_hash,
            },
        )


# ------------------------------------------------------------------------------ MemberRegistry
@on("MemberRegistry", "MemberAdmitted")
def _admitted(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.session.add(
        Member(
            id=a["memberId"],
            account=a["account"],
            roles=a["roles"],
            status="active",
            kyc_hash=a["kycHash"],
            group_id=a["groupId"],
            credit_limit=0,
            outstanding=0,
            default_count=0,
            issuance_blocked=False,
            admitted_block=r.block_number,
            admitted_tx=r.tx_hash,
        )
    )
    p.session.flush()


def _set_member(field: str, value_of: Callable[[dict[str, Any]], Any]) -> Handler:
    def handler(p: Projector, _r: Record, a: dict[str, Any]) -> None:
        member = p.member(a.get("memberId", a.get("obligorId", 0)))
        if member is not None:
            setattr(member, field, value_of(a))

    return handler


on("MemberRegistry", "MemberSuspended")(_set_member("status", lambda a: "suspended"))
on("MemberRegistry", "MemberReinstated")(_set_member("status", lambda a: "active"))
on("MemberRegistry", "MemberRolesChanged")(_set_member("roles", lambda a: a["roles"]))
on("MemberRegistry", "MemberKycUpdated")(_set_member("kyc_hash", lambda a: a["kycHash"]))
on("MemberRegistry", "MemberGroupChanged")(_set_member("group_id", lambda a: a["groupId"]))
on("MemberRegistry", "MemberAccountRotated")(_set_member("account", lambda a: a["newAccount"]))
on("MemberRegistry", "CreditLimitSet")(_set_member("credit_limit", lambda a: _amount(a["creditLimit"])))
on("MemberRegistry", "OutstandingChanged")(_set_member("outstanding", lambda a: _amount(a["outstanding"])))
on("MemberRegistry", "DefaultBlockCleared")(_set_member("issuance_blocked", lambda a: False))


@on("MemberRegistry", "DefaultRecorded")
def _default(p: Projector, _r: Record, a: dict[str, Any]) -> None:
    member = p.member(a["obligorId"])
    if member is not None:
        member.default_count = a["defaultCount"]
        member.issuance_blocked = a["issuanceBlocked"]


# ------------------------------------------------------------------------------ OrderBook
@on("OrderBook", "OrderProposed")
def _proposed(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.session.add(
        Order(
            id=a["orderId"],
            supplier_id=a["supplierId"],
            buyer_id=a["buyerId"],
            holder_id=a["supplierId"],
            lienholder_id=0,
            status="proposed",
            amount=_amount(a["amount"]),
            cash_token=a["cashToken"],
            document_hash=a["documentHash"],
            due_date=a["dueDate"],
            proposed_tx=r.tx_hash,
            updated_block=r.block_number,
        )
    )
    p.session.flush()


def _order_status(status: str) -> Handler:
    def handler(p: Projector, r: Record, a: dict[str, Any]) -> None:
        order = p.session.get(Order, a["orderId"])
        if order is not None:
            order.status = status
            order.updated_block = r.block_number
            if "slotId" in a:
                order.slot_id = a["slotId"]

    return handler


on("OrderBook", "OrderConfirmed")(_order_status("confirmed"))
on("OrderBook", "OrderDelivered")(_order_status("delivered"))
on("OrderBook", "OrderAccepted")(_order_status("invoiced"))
on("OrderBook", "OrderCancelled")(_order_status("cancelled"))


@on("OrderBook", "OrderPledged")
def _order_pledged(p: Projector, r: Record, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["orderId"])
    if order is not None:
        order.lienholder_id = a["lienholderId"]
        order.updated_block = r.block_number


@on("OrderBook", "OrderReleased")
def _order_released(p: Projector, r: Record, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["orderId"])
    if order is not None:
        order.lienholder_id = 0
        order.updated_block = r.block_number


@on("OrderBook", "Transfer")
def _order_transfer(p: Projector, r: Record, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["tokenId"])
    if order is not None and a["to"] != ZERO_ADDRESS:
        order.holder_id = p.member_id_of(a["to"])
        order.updated_block = r.block_number


# ------------------------------------------------------------------------------ ReceivableNotes
@on("ReceivableNotes", "ReceivableIssued")
def _issued(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.session.add(
        Receivable(
            id=a["slotId"],
            obligor_id=a["obligorId"],
            creditor_id=a["creditorId"],
            face_value=_amount(a["faceValue"]),
            cash_token=a["cashToken"],
            maturity=a["maturity"],
            invoice_hash=a["invoiceHash"],
            order_id=a["orderId"] or None,
            status="active",
            first_note_id=a["noteId"],
            issued_block=r.block_number,
            issued_tx=r.tx_hash,
        )
    )
    p.session.flush()
    p.receivable_issued(a["slotId"], a["obligorId"], a["maturity"])


@on("ReceivableNotes", "SlotStatusChanged")
def _slot_status(p: Projector, _r: Record, a: dict[str, Any]) -> None:
    receivable = p.session.get(Receivable, a["slotId"])
    if receivable is not None:
        receivable.status = SLOT_STATUS.get(a["status"], str(a["status"]))


@on("ReceivableNotes", "Transfer")
def _note_transfer(p: Projector, r: Record, a: dict[str, Any]) -> None:
    note = p.note(a["tokenId"], r)
    if a["to"] == ZERO_ADDRESS:
        note.live = False
        return
    to_member = p.member_id_of(a["to"])
    if a["from"] != ZERO_ADDRESS and to_member != note.holder_id:  # same member: a key rotation, no move
        p.add_row(
            table(ValueMove),
            {
                "event_id": r.id,
                "kind": "transfer",
                "from_note_id": note.id,
                "to_note_id": note.id,
                "from_member_id": note.holder_id,
                "to_member_id": to_member,
                "value": note.value,
                "block_number": r.block_number,
                "tx_hash": r.tx_hash,
            },
        )
    note.holder_id = to_member


@on("ReceivableNotes", "SlotChanged")
def _slot_changed(p: Projector, r: Record, a: dict[str, Any]) -> None:
    if a["newSlot"] == 0:  # a burn (EIP-3525): the burned note keeps its slot here, Transfer marks it not live
        return
    p.note(a["tokenId"], r).slot_id = a["newSlot"]


@on("ReceivableNotes", "TransferValue")
def _transfer_value(p: Projector, r: Record, a: dict[str, Any]) -> None:
    src, dst, value = a["fromTokenId"], a["toTokenId"], a["value"]
    if src:
        p.note(src, r).value -= _amount(value)
    if dst:
        p.note(dst, r).value += _amount(value)
    kind = "mint" if not src else "burn" if not dst else "move"
    p.move(r, kind, src, dst, value)


@on("ReceivableNotes", "NoteSplit")
def _split(p: Projector, r: Record, a: dict[str, Any]) -> None:
    note = p.note(a["noteId"], r)
    note.parent_id = a["parentId"]
    note.slot_id = a["slotId"]


@on("ReceivableNotes", "NoteLocked")
def _locked(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.note(a["noteId"], r).lienholder_id = a["lienholderId"]


@on("ReceivableNotes", "NoteReleased")
def _released(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.note(a["noteId"], r).lienholder_id = 0


# ------------------------------------------------------------------------------ Financing
@on("Financing", "OfferMade")
def _offer_made(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.session.add(
        Offer(
            id=a["offerId"],
            note_id=a["noteId"],
            financier_id=a["financierId"],
            value=_amount(a["value"]),
            rate_bps=a["rateBps"],
            recourse=a["recourse"],
            expiry=a["expiry"],
            status="open",
            created_tx=r.tx_hash,
            updated_block=r.block_number,
        )
    )


@on("Financing", "OfferCancelled")
def _offer_cancelled(p: Projector, r: Record, a: dict[str, Any]) -> None:
    offer = p.session.get(Offer, a["offerId"])
    if offer is not None:
        offer.status = "cancelled"
        offer.updated_block = r.block_number


@on("Financing", "OfferAccepted")
def _offer_accepted(p: Projector, r: Record, a: dict[str, Any]) -> None:
    offer = p.session.get(Offer, a["offerId"])
    if offer is not None:
        offer.status = "accepted"
        offer.purchase_id = a["purchaseId"]
        offer.updated_block = r.block_number
    p.session.add(
        Purchase(
            id=a["purchaseId"],
            offer_id=a["offerId"],
            note_id=a["boughtNoteId"],
            seller_id=a["sellerId"],
            financier_id=offer.financier_id if offer is not None else 0,
            value=_amount(a["value"]),
            price=_amount(a["price"]),
            recourse_status="none",
            recourse_amount=0,
            tx_hash=r.tx_hash,
            block_number=r.block_number,
        )
    )


@on("Financing", "RecourseClaimed")
def _recourse_claimed(p: Projector, _r: Record, a: dict[str, Any]) -> None:
    purchase = p.session.get(Purchase, a["purchaseId"])
    if purchase is not None:
        purchase.recourse_status = "claimed"
        purchase.recourse_amount = _amount(a["amount"])


@on("Financing", "RecoursePaid")
def _recourse_paid(p: Projector, _r: Record, a: dict[str, Any]) -> None:
    purchase = p.session.get(Purchase, a["purchaseId"])
    if purchase is not None:
        purchase.recourse_status = "paid"


@on("Financing", "LoanOpened")
def _loan_opened(p: Projector, r: Record, a: dict[str, Any]) -> None:
    p.session.add(
        Loan(
            id=a["loanId"],
            order_id=a["orderId"],
            financier_id=a["financierId"],
            borrower_id=a["borrowerId"],
            principal=_amount(a["principal"]),
            rate_bps=a["rateBps"],
            due_date=a["dueDate"],
            status="active",
            opened_tx=r.tx_hash,
            updated_block=r.block_number,
        )
    )


@on("Financing", "LoanRepaid")
def _loan_repaid(p: Projector, r: Record, a: dict[str, Any]) -> None:
    loan = p.session.get(Loan, a["loanId"])
    if loan is not None:
        loan.status = "repaid"
        loan.interest_paid = _amount(a["interest"])
        loan.updated_block = r.block_number


@on("Financing", "LoanForeclosed")
def _loan_foreclosed(p: Projector, r: Record, a: dict[str, Any]) -> None:
    loan = p.session.get(Loan, a["loanId"])
    if loan is not None:
        loan.status = "foreclosed"
        loan.foreclosed_value = _amount(a["value"])
        loan.taken_note_id = a["takenNoteId"]
        loan.updated_block = r.block_number


# ------------------------------------------------------------------------------ Settlement
def _funding(p: Projector, slot_id: int, r: Record) -> Funding:
    funding = p.session.get(Funding, slot_id)
    if funding is None:
        funding = Funding(slot_id=slot_id, funded=0, paid=0, unpaid_at_default=0, updated_block=r.block_number)
        p.session.add(funding)
        p.session.flush()
    funding.updated_block = r.block_number
    return funding


@on("Settlement", "SlotFunded")
def _slot_funded(p: Projector, r: Record, a: dict[str, Any]) -> None:
    _funding(p, a["slotId"], r).funded = _amount(a["funded"])


@on("Settlement", "NotesPaid")
def _notes_paid(p: Projector, r: Record, a: dict[str, Any]) -> None:
    funding = _funding(p, a["slotId"], r)
    funding.paid += _amount(a["amount"])


@on("Settlement", "DefaultClaimsPaid")
def _default_claims_paid(p: Projector, r: Record, a: dict[str, Any]) -> None:
    funding = _funding(p, a["slotId"], r)
    funding.paid += _amount(a["amount"])


@on("Settlement", "SlotDefaulted")
def _slot_defaulted(p: Projector, r: Record, a: dict[str, Any]) -> None:
    _funding(p, a["slotId"], r).unpaid_at_default = _amount(a["unpaid"])


# ------------------------------------------------------------------------------ CashToken
@on("CashToken", "Transfer")
def _cash_transfer(p: Projector, r: Record, a: dict[str, Any]) -> None:
    kind = "mint" if a["from"] == ZERO_ADDRESS else "burn" if a["to"] == ZERO_ADDRESS else "transfer"
    p.add_row(
        table(CashMove),
        {
            "event_id": r.id,
            "kind": kind,
            "from_account": a["from"],
            "to_account": a["to"],
            "amount": _amount(a["value"]),
            "block_number": r.block_number,
            "tx_hash": r.tx_hash,
        },
    )
