"""Applies decoded events to the projection tables. Pure function of the event sequence.

Handlers are keyed by (contract, event). Events a handler does not know are kept in the event log
only. Rows are created on first sight, so the order of the ERC-3525 events within one transaction
(Transfer / SlotChanged / TransferValue / NoteSplit) does not matter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.store import (
    CashMove,
    EventRecord,
    Funding,
    Loan,
    Member,
    Note,
    Offer,
    Order,
    Purchase,
    Receivable,
    ValueMove,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_AMOUNT = 2**63 - 1
ORDER_STATUS = {1: "proposed", 2: "confirmed", 3: "delivered", 4: "invoiced", 5: "cancelled"}
SLOT_STATUS = {1: "active", 2: "settled", 3: "defaulted"}

Handler = Callable[["Projector", EventRecord, dict[str, Any]], None]
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


class Projector:
    def __init__(self, session: Session) -> None:
        self.session = session

    def apply(self, record: EventRecord) -> None:
        handler = HANDLERS.get((record.contract, record.name))
        if handler is not None:
            handler(self, record, record.args)

    # helpers
    def member_id_of(self, account: str) -> int:
        if account == ZERO_ADDRESS:
            return 0
        found = self.session.scalar(select(Member.id).where(Member.account == account))
        return int(found) if found is not None else 0

    def member(self, member_id: int) -> Member | None:
        return self.session.get(Member, member_id)

    def note(self, note_id: int, record: EventRecord) -> Note:
        note = self.session.get(Note, note_id)
        if note is None:
            note = Note(
                id=note_id,
                holder_id=0,
                value=0,
                lienholder_id=0,
                live=True,
                created_block=record.block_number,
                created_tx=record.tx_hash,
            )
            self.session.add(note)
            self.session.flush()
        return note

    def move(self, record: EventRecord, kind: str, from_note: int, to_note: int, value: int) -> None:
        from_member = self.session.get(Note, from_note).holder_id if from_note else 0  # type: ignore[union-attr]
        to_member = self.session.get(Note, to_note).holder_id if to_note else 0  # type: ignore[union-attr]
        self.session.add(
            ValueMove(
                event_id=record.id,
                kind=kind,
                from_note_id=from_note,
                to_note_id=to_note,
                from_member_id=from_member,
                to_member_id=to_member,
                value=_amount(value),
                block_number=record.block_number,
                tx_hash=record.tx_hash,
            )
        )


# ------------------------------------------------------------------------------ MemberRegistry
@on("MemberRegistry", "MemberAdmitted")
def _admitted(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
    def handler(p: Projector, _r: EventRecord, a: dict[str, Any]) -> None:
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
def _default(p: Projector, _r: EventRecord, a: dict[str, Any]) -> None:
    member = p.member(a["obligorId"])
    if member is not None:
        member.default_count = a["defaultCount"]
        member.issuance_blocked = a["issuanceBlocked"]


# ------------------------------------------------------------------------------ OrderBook
@on("OrderBook", "OrderProposed")
def _proposed(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
    def handler(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
def _order_pledged(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["orderId"])
    if order is not None:
        order.lienholder_id = a["lienholderId"]
        order.updated_block = r.block_number


@on("OrderBook", "OrderReleased")
def _order_released(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["orderId"])
    if order is not None:
        order.lienholder_id = 0
        order.updated_block = r.block_number


@on("OrderBook", "Transfer")
def _order_transfer(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    order = p.session.get(Order, a["tokenId"])
    if order is not None and a["to"] != ZERO_ADDRESS:
        order.holder_id = p.member_id_of(a["to"])
        order.updated_block = r.block_number


# ------------------------------------------------------------------------------ ReceivableNotes
@on("ReceivableNotes", "ReceivableIssued")
def _issued(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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


@on("ReceivableNotes", "SlotStatusChanged")
def _slot_status(p: Projector, _r: EventRecord, a: dict[str, Any]) -> None:
    receivable = p.session.get(Receivable, a["slotId"])
    if receivable is not None:
        receivable.status = SLOT_STATUS.get(a["status"], str(a["status"]))


@on("ReceivableNotes", "Transfer")
def _note_transfer(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    note = p.note(a["tokenId"], r)
    if a["to"] == ZERO_ADDRESS:
        note.live = False
        return
    to_member = p.member_id_of(a["to"])
    if a["from"] != ZERO_ADDRESS:
        p.session.add(
            ValueMove(
                event_id=r.id,
                kind="transfer",
                from_note_id=note.id,
                to_note_id=note.id,
                from_member_id=note.holder_id,
                to_member_id=to_member,
                value=note.value,
                block_number=r.block_number,
                tx_hash=r.tx_hash,
            )
        )
    note.holder_id = to_member


@on("ReceivableNotes", "SlotChanged")
def _slot_changed(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    p.note(a["tokenId"], r).slot_id = a["newSlot"]


@on("ReceivableNotes", "TransferValue")
def _transfer_value(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    src, dst, value = a["fromTokenId"], a["toTokenId"], a["value"]
    if src:
        p.note(src, r).value -= _amount(value)
    if dst:
        p.note(dst, r).value += _amount(value)
    kind = "mint" if not src else "burn" if not dst else "move"
    p.move(r, kind, src, dst, value)


@on("ReceivableNotes", "NoteSplit")
def _split(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    note = p.note(a["noteId"], r)
    note.parent_id = a["parentId"]
    note.slot_id = a["slotId"]


@on("ReceivableNotes", "NoteLocked")
def _locked(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    p.note(a["noteId"], r).lienholder_id = a["lienholderId"]


@on("ReceivableNotes", "NoteReleased")
def _released(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    p.note(a["noteId"], r).lienholder_id = 0


# ------------------------------------------------------------------------------ Financing
@on("Financing", "OfferMade")
def _offer_made(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
def _offer_cancelled(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    offer = p.session.get(Offer, a["offerId"])
    if offer is not None:
        offer.status = "cancelled"
        offer.updated_block = r.block_number


@on("Financing", "OfferAccepted")
def _offer_accepted(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
def _recourse_claimed(p: Projector, _r: EventRecord, a: dict[str, Any]) -> None:
    purchase = p.session.get(Purchase, a["purchaseId"])
    if purchase is not None:
        purchase.recourse_status = "claimed"
        purchase.recourse_amount = _amount(a["amount"])


@on("Financing", "RecoursePaid")
def _recourse_paid(p: Projector, _r: EventRecord, a: dict[str, Any]) -> None:
    purchase = p.session.get(Purchase, a["purchaseId"])
    if purchase is not None:
        purchase.recourse_status = "paid"


@on("Financing", "LoanOpened")
def _loan_opened(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
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
def _loan_repaid(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    loan = p.session.get(Loan, a["loanId"])
    if loan is not None:
        loan.status = "repaid"
        loan.interest_paid = _amount(a["interest"])
        loan.updated_block = r.block_number


@on("Financing", "LoanForeclosed")
def _loan_foreclosed(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    loan = p.session.get(Loan, a["loanId"])
    if loan is not None:
        loan.status = "foreclosed"
        loan.foreclosed_value = _amount(a["value"])
        loan.taken_note_id = a["takenNoteId"]
        loan.updated_block = r.block_number


# ------------------------------------------------------------------------------ Settlement
def _funding(p: Projector, slot_id: int, r: EventRecord) -> Funding:
    funding = p.session.get(Funding, slot_id)
    if funding is None:
        funding = Funding(slot_id=slot_id, funded=0, paid=0, unpaid_at_default=0, updated_block=r.block_number)
        p.session.add(funding)
        p.session.flush()
    funding.updated_block = r.block_number
    return funding


@on("Settlement", "SlotFunded")
def _slot_funded(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    _funding(p, a["slotId"], r).funded = _amount(a["funded"])


@on("Settlement", "NotesPaid")
def _notes_paid(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    funding = _funding(p, a["slotId"], r)
    funding.paid += _amount(a["amount"])


@on("Settlement", "DefaultClaimsPaid")
def _default_claims_paid(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    funding = _funding(p, a["slotId"], r)
    funding.paid += _amount(a["amount"])


@on("Settlement", "SlotDefaulted")
def _slot_defaulted(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    _funding(p, a["slotId"], r).unpaid_at_default = _amount(a["unpaid"])


# ------------------------------------------------------------------------------ CashToken
@on("CashToken", "Transfer")
def _cash_transfer(p: Projector, r: EventRecord, a: dict[str, Any]) -> None:
    kind = "mint" if a["from"] == ZERO_ADDRESS else "burn" if a["to"] == ZERO_ADDRESS else "transfer"
    p.session.add(
        CashMove(
            event_id=r.id,
            kind=kind,
            from_account=a["from"],
            to_account=a["to"],
            amount=_amount(a["value"]),
            block_number=r.block_number,
            tx_hash=r.tx_hash,
        )
    )
