"""Verification for banks and auditors: note and invoice state read straight from the chain, with proofs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentPrincipal, DbSession, Ledger, Principal
from api.ledger import LedgerHandle
from api.problems import Problem, catalogued
from api.profiles import profile_hash
from api.schemas.provenance import (
    BucketTotalOut,
    ChainCheckOut,
    HoldingGroupOut,
    HoldingsOut,
    HoldingTotalsOut,
    LoanOnChainOut,
    NoteMismatchOut,
    OrderVerificationOut,
    PledgeTotalOut,
)
from api.schemas.verify import (
    ChainPoint,
    HolderOut,
    InvoiceVerificationOut,
    MemberVerificationOut,
    NoteVerificationOut,
    PledgedNoteOut,
    ReceivableFinancingOut,
    ReceivableTermsOut,
    SaleOut,
    SourceNodeOut,
)
from api.services.chainread import ChainReadError, ViewCall, chain_reader
from api.services.common import iso_date, iso_time, sees_everything
from api.services.holdings import BUCKETS, held_notes, holdings_at, read_notes_batched
from api.services.members import profile_out
from api.services.provenance import indexed_block
from api.services.shares import has_active_grant
from api.services.visibility import Visibility, for_order, for_slot, request_secret
from api.tables import MemberProfile
from chain.node.contracts import Member as ChainMember
from chain.node.contracts import Note as ChainNote
from chain.node.contracts import Receivable as ChainReceivable
from chain.node.proofs import ProofError, fetch_note_proof
from chain.node.revert import ContractRevertError
from chain.node.roles import Roles
from chain.readmodel.projections import ORDER_STATUS, SLOT_STATUS
from chain.readmodel.store import Loan, Member, Note, Order, Purchase

router = APIRouter(prefix="/v1/verify", tags=["verify"])

_BLOCK = re.compile(r"^(latest|[0-9]{1,18})$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _privileged(principal: Principal) -> bool:
    return sees_everything(principal) or principal.has_role(Roles.FINANCIER)


def _after_deployment(ledger: LedgerHandle, number: int) -> None:
    """Before the ledger's deployment block its contracts have no code: nothing there to verify (a read would come
    back empty, which web3 cannot decode)."""
    deployed = ledger.deployment.block
    if number < deployed:
        params = {"block": number, "deployed": deployed}
        raise catalogued(404, "unknown-block", "unknown-block.before-deployment", params)


def _pin(
    request: Request, ledger: LedgerHandle, block: str, *, reads_state: bool = True
) -> tuple[ChainPoint, dict[str, Any]]:
    """Pins `latest` (or a number) to one concrete block, so every read after it sees the same state: the point and
    its header (hex strings, as sent), over one plain JSON-RPC request. With `reads_state`, a block before the
    deployment is refused (there is no ledger there to read)."""
    if not _BLOCK.fullmatch(block):
        raise catalogued(422, "validation-error", "validation-error.block-must-be")
    if block != "latest" and reads_state:
        _after_deployment(ledger, int(block))
    reader = chain_reader(request.app.state.settings.effective_rpc_url)
    try:
        header = reader.block("latest" if block == "latest" else int(block))
    except (OSError, ChainReadError) as exc:
        raise catalogued(
            503, "chain-unavailable", "chain-unavailable.reading-block-failed", {"block": block, "exc": exc}
        ) from exc
    if header is None:
        head = int(ledger.w3.eth.block_number)
        raise catalogued(404, "unknown-block", "unknown-block.block-past-chain", {"block": block, "head": head})
    return ChainPoint(number=int(header["number"], 16), hash=str(header["hash"])), header


def _forbidden(what: str, ident: object) -> Problem:
    return catalogued(403, "forbidden", "forbidden.object-yours-verify", {"what_term": what, "ident": ident})


@router.get("/notes/{note_id}", summary="A note's holder, value and receivable terms, read from the chain")
def verify_note(
    note_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
    proof: Annotated[bool, Query(description="include an eth_getProof bundle of the note's storage word")] = False,
) -> NoteVerificationOut:
    if note_id < 1 or note_id >= 2**48:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
    # three JSON-RPC requests over a keep-alive connection: the block, the note at it, then its receivable and
    # holder at it in one batch (web3 contract calls cost several times more: bench/reads.py)
    point, _header = _pin(request, ledger, block)
    reader = chain_reader(request.app.state.settings.effective_rpc_url)
    try:
        (found,) = reader.calls([ViewCall(ledger.notes, "note(uint256)", (note_id,))], point.number)
        if isinstance(found, ContractRevertError):
            if found.error == "UnknownNote":
                raise catalogued(404, "not-found", "not-found.no-note-at", {"note_id": note_id, "number": point.number})
            raise found
        note = ChainNote(*found)
        if not _privileged(principal) and principal.member_id != note.holder_id:
            raise _forbidden("note", note_id)
        terms, member = reader.calls(
            [
                ViewCall(ledger.notes, "receivable(uint256)", (note.slot_id,)),
                ViewCall(ledger.members, "member(uint32)", (note.holder_id,)),
            ],
            point.number,
        )
    except (OSError, ChainReadError) as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reading-note-failed", {"exc": exc}) from exc
    if isinstance(terms, ContractRevertError):
        raise terms
    if isinstance(member, ContractRevertError):
        raise member
    receivable = ChainReceivable(*terms)
    holder_account = ChainMember(*member).account
    vis = for_slot(session, principal, request_secret(request), note.slot_id)
    bundle: dict[str, Any] | None = None
    if proof and not vis.shows(note.holder_id):
        raise catalogued(403, "forbidden", "forbidden.proof-shows-holder", {"note_id": note_id})
    if proof:
        layout = ledger.artifacts["ReceivableNotes"].storage_layout
        try:
            bundle = fetch_note_proof(ledger.w3, ledger.notes.address, note_id, layout, point.number)
        except ProofError as exc:
            raise catalogued(502, "proof-unavailable", "proof-unavailable.reason", {"reason": str(exc)}) from exc
    return NoteVerificationOut(
        note_id=note_id,
        contract=ledger.notes.address,
        block=point,
        holder=HolderOut(
            member_id=vis.ref(note.holder_id),
            account=vis.account(note.holder_id, holder_account),
            name=vis.name_of(note.holder_id),
        ),
        value=note.value,
        currency=request.app.state.settings.currency,
        lienholder_id=vis.optional(note.lienholder_id),
        parent_id=note.parent_id or None,
        receivable=ReceivableTermsOut(
            slot_id=note.slot_id,
            obligor_id=receivable.obligor_id,
            creditor_id=vis.ref(receivable.creditor_id),
            face_value=receivable.face_value,
            maturity=iso_time(receivable.maturity),
            invoice_hash="0x" + bytes(receivable.invoice_hash).hex(),
            order_id=receivable.order_id or None,
            status=SLOT_STATUS.get(receivable.status, str(receivable.status)),
        ),
        proof=bundle,
        node=source_node(request, point),
    )


def source_node(request: Request, point: ChainPoint) -> SourceNodeOut:
    """The node this service read `point` (and any proof at it) from: a bank re-checks the proof on its own node."""
    kind, name = request.app.state.settings.source_node
    return SourceNodeOut(name=name, kind=kind, block=point)


@router.get("/invoice", summary="Whether an invoice hash is tokenised, and by which receivable")
def verify_invoice(
    principal: CurrentPrincipal,
    ledger: Ledger,
    session: DbSession,
    request: Request,
    hash: Annotated[str, Query(description="the invoice hash, 0x + 64 hex digits")],
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
) -> InvoiceVerificationOut:
    if not _HASH.fullmatch(hash):
        raise catalogued(422, "validation-error", "validation-error.hash-must-be")
    point, _header = _pin(request, ledger, block)
    invoice = bytes.fromhex(hash[2:])
    function = ledger.notes.handle.get_function_by_signature("slotOfInvoice(bytes32)")(invoice)
    slot_id = int(function.call(block_identifier=point.number))
    normalised = "0x" + invoice.hex()
    if slot_id == 0:
        if not _privileged(principal):
            raise _forbidden("invoice", normalised)
        return InvoiceVerificationOut(invoice_hash=normalised, tokenised=False, block=point)
    receivable = ledger.notes.receivable(slot_id, block=point.number)
    parties = {receivable.obligor_id, receivable.creditor_id}
    if not _privileged(principal) and principal.member_id not in parties:
        raise _forbidden("invoice", normalised)
    vis = for_slot(session, principal, request_secret(request), slot_id)
    return InvoiceVerificationOut(
        invoice_hash=normalised,
        tokenised=True,
        block=point,
        slot_id=slot_id,
        obligor_id=receivable.obligor_id,
        creditor_id=vis.ref(receivable.creditor_id),
        financing=receivable_financing(request, session, ledger, slot_id, point.number, vis),
    )


# ------------------------------------------------------------------------------------- financing summary
def receivable_financing(
    request: Request, session: Session, ledger: LedgerHandle, slot_id: int, block: int, vis: Visibility
) -> ReceivableFinancingOut:
    """Pledges and sales of a receivable's notes at `block`, read from the chain.

    The chain has no index of a slot's notes or purchases, so the candidate ids come from the read model;
    each is then read from the chain at `block` (the notes in JSON-RPC batches) and only the chain's answer
    is reported.
    """
    note_ids = list(session.scalars(select(Note.id).where(Note.slot_id == slot_id).order_by(Note.id)))
    rpc_url = request.app.state.settings.effective_rpc_url
    try:
        on_chain = read_notes_batched(rpc_url, ledger.notes.address, note_ids, block)
    except (OSError, ValueError, ChainReadError) as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reading-notes-failed", {"exc": exc}) from exc
    pledged = [
        PledgedNoteOut(note_id=i, holder_id=vis.ref(n.holder_id), lienholder_id=vis.ref(n.lienholder_id), value=n.value)
        for i, n in sorted(on_chain.items())
        if n is not None and n.slot_id == slot_id and n.lienholder_id
    ]
    purchase_ids = session.scalars(
        select(Purchase.id).join(Note, Note.id == Purchase.note_id).where(Note.slot_id == slot_id).order_by(Purchase.id)
    )
    sales: list[SaleOut] = []
    for purchase_id in purchase_ids:
        try:
            bought = ledger.financing.purchase(int(purchase_id), block=block)
        except ContractRevertError as exc:
            if exc.error == "UnknownPurchase":  # made after `block`
                continue
            raise
        sales.append(
            SaleOut(
                purchase_id=int(purchase_id),
                note_id=bought.note_id,
                seller_id=vis.ref(bought.seller_id),
                financier_id=vis.ref(bought.financier_id),
                value=bought.value,
                price=bought.price,
            )
        )
    return ReceivableFinancingOut(
        slot_id=slot_id,
        pledged=bool(pledged),
        pledged_notes=pledged,
        pledged_value=sum(p.value for p in pledged),
        sold=bool(sales),
        sales=sales,
        sold_value=sum(s.value for s in sales),
        candidates_indexed_block=indexed_block(session),
    )


def _terms(slot_id: int, receivable: ChainReceivable, vis: Visibility) -> ReceivableTermsOut:
    return ReceivableTermsOut(
        slot_id=slot_id,
        obligor_id=receivable.obligor_id,
        creditor_id=vis.ref(receivable.creditor_id),
        face_value=receivable.face_value,
        maturity=iso_time(receivable.maturity),
        invoice_hash="0x" + bytes(receivable.invoice_hash).hex(),
        order_id=receivable.order_id or None,
        status=SLOT_STATUS.get(receivable.status, str(receivable.status)),
    )


# ------------------------------------------------------------------------------------------- members
@router.get(
    "/members/{member_id}",
    summary="A member's profile beside its on-chain KYC hash: whether the name and codes belong to the member",
)
def verify_member(
    member_id: int,
    request: Request,
    session: DbSession,
    _principal: CurrentPrincipal,
    ledger: Ledger,
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
) -> MemberVerificationOut:
    if not 1 <= member_id < 2**32:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    point, _header = _pin(request, ledger, block)
    try:
        member = ledger.members.member(member_id, block=point.number)
    except ContractRevertError as exc:
        if exc.error == "UnknownMember":
            raise catalogued(
                404, "not-found", "not-found.no-member-at", {"member_id": member_id, "number": point.number}
            ) from exc
        raise
    on_chain = "0x" + bytes(member.kyc_hash).hex()
    row = session.get(MemberProfile, member_id)
    digest = profile_hash(profile_out(row).model_dump()) if row is not None else None
    return MemberVerificationOut(
        member_id=member_id,
        contract=ledger.members.address,
        block=point,
        account=member.account,
        profile=profile_out(row) if row is not None else None,
        profile_hash=digest,
        kyc_hash=on_chain,
        matches=digest == on_chain,
    )


# ------------------------------------------------------------------------------------------- orders
LOAN_STATUS = {1: "active", 2: "repaid", 3: "foreclosed"}


def _order_visibility(
    request: Request, session: Session, principal: Principal, order_id: int, slot_id: int
) -> Visibility:
    """The caller's view of the order: its receivable's once tokenised (on chain at the block, or in the read
    model), else the order's own (from the read model; an order it does not know yet shows only the caller)."""
    secret = request_secret(request)
    if slot_id:
        return for_slot(session, principal, secret, slot_id)
    stored = session.get(Order, order_id)
    if stored is not None:
        return for_order(session, principal, secret, stored)
    return for_slot(session, principal, secret, None)


@router.get(
    "/orders/{order_id}",
    summary="An order's state read from the chain: tokenised or not, pledged to whom, loans, notes sold",
)
def verify_order(
    order_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
) -> OrderVerificationOut:
    if order_id < 1 or order_id >= 2**63:  # the read model (loans, notes) stores ids below 2**63
        raise catalogued(404, "not-found", "not-found.no-order", {"order_id": order_id})
    point, _header = _pin(request, ledger, block)
    try:
        order = ledger.orders.order(order_id, block=point.number)
    except ContractRevertError as exc:
        if exc.error == "UnknownOrder":
            raise catalogued(
                404, "not-found", "not-found.no-order-at", {"order_id": order_id, "number": point.number}
            ) from exc
        raise
    holder_of = ledger.orders.handle.get_function_by_signature("holderOf(uint256)")(order_id)
    holder_id = int(holder_of.call(block_identifier=point.number))
    parties = {order.supplier_id, order.buyer_id, holder_id, order.lienholder_id} - {0}
    if not _privileged(principal) and principal.member_id not in parties:
        raise _forbidden("order", order_id)
    vis = _order_visibility(request, session, principal, order_id, order.slot_id)

    loan_ids = set(session.scalars(select(Loan.id).where(Loan.order_id == order_id)))
    loan_of = ledger.financing.handle.get_function_by_signature("loanOfOrder(uint256)")(order_id)
    loan_ids.add(int(loan_of.call(block_identifier=point.number)))
    loans: list[LoanOnChainOut] = []
    for loan_id in sorted(loan_ids - {0}):
        try:
            loan = ledger.financing.loan(loan_id, block=point.number)
        except ContractRevertError as exc:
            if exc.error == "UnknownLoan":  # opened after `block`
                continue
            raise
        loans.append(
            LoanOnChainOut(
                loan_id=loan_id,
                financier_id=vis.ref(loan.financier_id),
                borrower_id=vis.ref(loan.borrower_id),
                principal=loan.principal,
                rate_bps=loan.rate_bps,
                due_date=iso_time(loan.due_date),
                status=LOAN_STATUS.get(loan.status, str(loan.status)),
            )
        )

    slot_id = order.slot_id or None
    terms = None
    financing = None
    if slot_id is not None:
        terms = _terms(slot_id, ledger.notes.receivable(slot_id, block=point.number), vis)
        financing = receivable_financing(request, session, ledger, slot_id, point.number, vis)
    return OrderVerificationOut(
        order_id=order_id,
        contract=ledger.orders.address,
        block=point,
        status=ORDER_STATUS.get(order.status, str(order.status)),
        supplier_id=vis.ref(order.supplier_id),
        buyer_id=order.buyer_id,
        holder_id=vis.ref(holder_id),
        amount=order.amount,
        currency=request.app.state.settings.currency,
        due_date=iso_date(order.due_date),
        document_hash="0x" + bytes(order.document_hash).hex(),
        pledged=order.lienholder_id != 0,
        lienholder_id=vis.optional(order.lienholder_id),
        tokenised=slot_id is not None,
        slot_id=slot_id,
        tokenised_by=terms.obligor_id if terms is not None else None,
        receivable=terms,
        loans=loans,
        financing=financing,
    )


# ------------------------------------------------------------------------------------------- holdings
MAX_CHECKED_NOTES = 10_000


def _may_see_holdings(session: Session, principal: Principal, member_id: int) -> bool:
    if sees_everything(principal) or principal.member_id == member_id:
        return True
    return principal.has_role(Roles.FINANCIER) and has_active_grant(session, member_id, principal.member_id)


@router.get(
    "/holdings/{member_id}",
    summary="A member's live notes by obligor and maturity bucket (the member, financiers it shares with)",
)
def verify_holdings(
    member_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    block: Annotated[
        str, Query(description="latest, or a block number the read model must have reached (it waits up to 10 s)")
    ] = "latest",
    check: Annotated[
        str | None, Query(pattern="^chain$", description="chain: re-read every listed note from the chain")
    ] = None,
) -> HoldingsOut:
    if not 1 <= member_id < 2**32 or session.scalar(select(Member.id).where(Member.id == member_id)) is None:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    if not _may_see_holdings(session, principal, member_id):
        raise catalogued(403, "forbidden", "forbidden.member-has-shared", {"member_id": member_id})
    point, header = _pin(request, ledger, block, reads_state=False)  # a floor for the read model, no state read
    if not ledger.reads.wait_for_block(point.number, timeout=10):  # shares the background indexer's pass
        raise catalogued(503, "indexer-lagging", "indexer-lagging.block-indexed-yet", {"block": point.number})
    session.commit()  # end the read transaction: see what the indexer wrote meanwhile
    head = header if block == "latest" else _pin(request, ledger, "latest")[1]
    now = int(head["timestamp"], 16)
    result, reflected = holdings_at(session, member_id, now)  # one statement: the totals and their block
    checked = _check_against_chain(request, session, ledger, member_id, reflected) if check else None
    by_bucket = {name: [0, 0] for name in BUCKETS}
    for g in result.groups:
        by_bucket[g.bucket][0] += g.count
        by_bucket[g.bucket][1] += g.total
    total = sum(g.total for g in result.groups)
    pledged_total = sum(g.pledged_total for g in result.groups)
    return HoldingsOut(
        member_id=member_id,
        currency=request.app.state.settings.currency,
        as_of=iso_time(now),
        chain_block=int(head["number"], 16),
        indexed_block=reflected,
        groups=[HoldingGroupOut(**g.__dict__) for g in result.groups],
        buckets=[BucketTotalOut(bucket=b, count=c, total=t) for b, (c, t) in by_bucket.items() if c],
        totals=HoldingTotalsOut(
            count=sum(g.count for g in result.groups),
            total=total,
            pledged_count=sum(g.pledged_count for g in result.groups),
            pledged_total=pledged_total,
            free_total=total - pledged_total,
        ),
        pledged=[PledgeTotalOut(lienholder_id=lien, count=c, total=t) for lien, c, t in result.pledged],
        check=checked,
    )


def _check_against_chain(
    request: Request, session: Session, ledger: LedgerHandle, member_id: int, block: int
) -> ChainCheckOut:
    """Re-reads every note the read model lists for the member, at the read model's block."""
    notes = held_notes(session, member_id, MAX_CHECKED_NOTES + 1)
    if len(notes) > MAX_CHECKED_NOTES:
        params = {"member_id": member_id, "max": MAX_CHECKED_NOTES}
        raise catalogued(422, "check-too-large", "check-too-large.max-notes", params)
    rpc_url = request.app.state.settings.effective_rpc_url
    try:
        on_chain = read_notes_batched(rpc_url, ledger.notes.address, [n.id for n in notes], block)
    except (OSError, ValueError, ChainReadError) as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reading-notes-failed", {"exc": exc}) from exc
    mismatches: list[NoteMismatchOut] = []
    for note in notes:
        chain_note = on_chain.get(note.id)
        if chain_note is None:
            mismatches.append(NoteMismatchOut(note_id=note.id, field="exists", read_model="true", chain="false"))
            continue
        for name, mine, theirs in (
            ("holder_id", note.holder_id, chain_note.holder_id),
            ("value", note.value, chain_note.value),
            ("lienholder_id", note.lienholder_id, chain_note.lienholder_id),
        ):
            if mine != theirs:
                mismatches.append(NoteMismatchOut(note_id=note.id, field=name, read_model=str(mine), chain=str(theirs)))
    header = ledger.w3.eth.get_block(block)
    point = ChainPoint(number=block, hash="0x" + bytes(header["hash"]).hex())
    return ChainCheckOut(block=point, checked=len(notes), mismatches=mismatches)
