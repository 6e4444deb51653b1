"""Verification for banks and auditors: note, invoice, member and order state read straight from the chain at one
pinned block, with proofs, and a member's holdings from the read model, checked against the chain on request.

Every chain read goes through `chain.node.reader.ChainReader` (typed results, JSON-RPC batches at the pinned
block); who may see what, and the answers' shape, are decided here. The routes parse the request and call these.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from api.deps import Principal, key_principal_with
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
from api.services.common import iso_date, iso_time, sees_everything
from api.services.holdings import BUCKETS, held_notes, holdings_at
from api.services.members import profile_out
from api.services.provenance import indexed_block
from api.services.shares import has_active_grant
from api.services.visibility import Visibility, for_order, for_slot
from api.settings import Settings
from api.tables import MemberProfile
from chain.node.contracts import Receivable as ChainReceivable
from chain.node.proofs import ProofError
from chain.node.reader import BlockHeader, ChainReader, ChainReadError
from chain.node.revert import ContractRevertError
from chain.node.roles import Roles
from chain.readmodel.indexer import CHECKPOINT
from chain.readmodel.projections import ORDER_STATUS, SLOT_STATUS
from chain.readmodel.store import Checkpoint, Loan, Member, Note, Order, Purchase, end_read, table

_BLOCK = re.compile(r"^(latest|[0-9]{1,18})$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
LOAN_STATUS = {1: "active", 2: "repaid", 3: "foreclosed"}
MAX_CHECKED_NOTES = 10_000
INDEXER_WAIT = 10.0  # seconds /holdings waits for the read model to reach the asked block
# /holdings names as `chain_block` (and measures its buckets from) the head this process read at most this long ago:
# requests within it share one eth_getBlockByNumber (a read of the head was a tenth of the route's Python, profiled)
HEAD_MAX_AGE = 0.25


@dataclass(frozen=True)
class Verification:
    """What a verification works with: the caller, the read model, the ledger, the node's reader."""

    session: Session
    principal: Principal
    ledger: LedgerHandle
    settings: Settings
    secret: bytes  # the pseudonym key (`api.services.visibility.request_secret`)
    reader: ChainReader

    @property
    def privileged(self) -> bool:
        """Who verifies anything: auditors, the operator and financiers."""
        return sees_everything(self.principal) or self.principal.has_role(Roles.FINANCIER)


# ------------------------------------------------------------------------------------------ reading


@contextmanager
def _reading() -> Iterator[None]:
    """A read's failure as problem+json: no answer from the node 503, another node error 502 (a block whose state
    is gone raises HistoricalStateUnavailableError, answered 410 by its handler)."""
    try:
        yield
    except OSError as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.read-unanswered", {"reason": str(exc)}) from exc
    except ChainReadError as exc:
        raise catalogued(502, "chain-error", "chain-error.node-refused-read", {"message": str(exc)}) from exc


def _after_deployment(ledger: LedgerHandle, number: int) -> None:
    """Before the ledger's deployment block its contracts have no code: nothing there to verify (a read would come
    back empty, which cannot be decoded)."""
    deployed = ledger.deployment.block
    if number < deployed:
        params = {"block": number, "deployed": deployed}
        raise catalogued(404, "unknown-block", "unknown-block.before-deployment", params)


def pin(v: Verification, block: str, *, reads_state: bool = True) -> BlockHeader:
    """Pins `latest` (or a number) to one concrete block, so every read after it sees the same state: its header.
    With `reads_state`, a block before the deployment is refused (there is no ledger there to read)."""
    if not _BLOCK.fullmatch(block):
        raise catalogued(422, "validation-error", "validation-error.block-must-be")
    if block != "latest" and reads_state:
        _after_deployment(v.ledger, int(block))
    try:
        header = v.reader.header("latest" if block == "latest" else int(block))
    except (OSError, ChainReadError) as exc:
        raise catalogued(
            503, "chain-unavailable", "chain-unavailable.reading-block-failed", {"block": block, "exc": exc}
        ) from exc
    if header is None:
        with _reading():
            head = v.reader.head()
        raise catalogued(404, "unknown-block", "unknown-block.block-past-chain", {"block": block, "head": head})
    return header


def _point(header: BlockHeader) -> ChainPoint:
    return ChainPoint(number=header.number, hash=header.hash)


def source_node(settings: Settings, point: ChainPoint) -> SourceNodeOut:
    """The node this service read `point` (and any proof at it) from: a bank re-checks the proof on its own node."""
    kind, name = settings.source_node
    return SourceNodeOut(name=name, kind=kind, block=point)


def _forbidden(what: str, ident: object) -> Problem:
    return catalogued(403, "forbidden", "forbidden.object-yours-verify", {"what_term": what, "ident": ident})


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


# ------------------------------------------------------------------------------------------ notes


def verify_note(
    v: Verification, note_id: int, block: str, proof: bool, indexed: tuple[Any, ...]
) -> NoteVerificationOut:
    """A note's holder, value and receivable terms at the block, and with `proof` its eth_getProof bundle.
    `indexed`: the read model's block, the note's receivable and holder in it and that holder's display name, as the
    route read them with the caller's key (`NOTE_WITH_CALLER`)."""
    if note_id < 1 or note_id >= 2**48:
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": note_id})
    # two JSON-RPC requests over a keep-alive connection: the block, then the note at it with the receivable and
    # holder the read model gives it, in one batch; only when the chain's note has another receivable or holder
    # (the read model is behind, or the block is older) a third reads the chain's (web3 contract calls cost several
    # times more: bench/reads.py). Everything answered is the chain's at the block.
    if block == "latest":
        # the read model's block and its receivable and holder for the note (read with the caller's key); `latest` is
        # then the head this process read at most HEAD_MAX_AGE ago when that is at or past the read model's block
        # (every write this service answered is indexed, so it is seen: read-your-writes), else the head read again
        checkpoint, slot_id, holder_id = indexed[:3]
        # a note the read model does not have yet (minted past the indexer): the head is read again
        header = _latest(v, int(checkpoint or 0)) if slot_id else _latest(v, 0, max_age=0.0)
    else:
        header = pin(v, block)
        slot_id, holder_id = indexed[1:3]
    point = _point(header)
    ledger = v.ledger
    expected = (int(slot_id), int(holder_id)) if slot_id else None
    try:
        try:
            note, terms = v.reader.note_and_terms(ledger.notes, ledger.members, note_id, expected, point.number)
        except ContractRevertError as exc:
            if exc.error == "UnknownNote":
                params = {"note_id": note_id, "number": point.number}
                raise catalogued(404, "not-found", "not-found.no-note-at", params) from exc
            raise
        if not v.privileged and v.principal.member_id != note.holder_id:
            raise _forbidden("note", note_id)
        receivable, holder = terms or v.reader.note_terms(ledger.notes, ledger.members, note, point.number)
    except (OSError, ChainReadError) as exc:
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reading-note-failed", {"exc": exc}) from exc
    vis = for_slot(v.session, v.principal, v.secret, note.slot_id)
    if holder_id == note.holder_id:  # the holder's name was read with the caller's key
        vis.know_names([(note.holder_id, indexed[3])])
    bundle: dict[str, Any] | None = None
    if proof and not vis.shows(note.holder_id):
        raise catalogued(403, "forbidden", "forbidden.proof-shows-holder", {"note_id": note_id})
    if proof:
        layout = ledger.artifacts["ReceivableNotes"].storage_layout
        try:
            with _reading():
                bundle = v.reader.note_proof(ledger.notes.address, note_id, layout, header)
        except ProofError as exc:
            raise catalogued(502, "proof-unavailable", "proof-unavailable.reason", {"reason": str(exc)}) from exc
    answer = NoteVerificationOut(
        note_id=note_id,
        contract=ledger.notes.address,
        block=point,
        holder=HolderOut(
            member_id=vis.ref(note.holder_id),
            account=vis.account(note.holder_id, holder.account),
            name=vis.name_of(note.holder_id),
        ),
        value=note.value,
        currency=v.settings.currency,
        lienholder_id=vis.optional(note.lienholder_id),
        parent_id=note.parent_id or None,
        receivable=_terms(note.slot_id, receivable, vis),
        proof=bundle,
        node=source_node(v.settings, point),
    )
    end_read(v.session)  # a COMMIT: its statement stays prepared on PostgreSQL
    return answer


# the read model's block, and the receivable and holder it gives a note: what verify_note reads beside the chain's
# note; one row always (NULLs for a note or a checkpoint it does not have)
_NOTE_PARTIES_INDEXED_COLUMNS = (
    select(Checkpoint.block_number).where(Checkpoint.name == CHECKPOINT).scalar_subquery(),
    select(Note.slot_id).where(Note.id == bindparam("note_id")).scalar_subquery(),
    select(Note.holder_id).where(Note.id == bindparam("note_id")).scalar_subquery(),
)
# with the caller's key (api.deps.principal_with): GET /v1/verify/notes/{id}'s statements before the chain's
# reads in one round trip, `indexed` for verify_note
_NOTES, _PROFILES = table(Note), table(MemberProfile)
NOTE_WITH_CALLER = key_principal_with(
    *_NOTE_PARTIES_INDEXED_COLUMNS,
    select(_PROFILES.c.display_name)
    .select_from(_NOTES.join(_PROFILES, _PROFILES.c.member_id == _NOTES.c.holder_id))
    .where(_NOTES.c.id == bindparam("note_id"))
    .scalar_subquery(),
)


# ------------------------------------------------------------------------------------------ invoices


def verify_invoice(v: Verification, invoice_hash: str, block: str) -> InvoiceVerificationOut:
    """Whether the invoice hash is tokenised at the block, by which receivable, and its pledges and sales."""
    if not _HASH.fullmatch(invoice_hash):
        raise catalogued(422, "validation-error", "validation-error.hash-must-be")
    point = _point(pin(v, block))
    invoice = bytes.fromhex(invoice_hash[2:])
    normalised = "0x" + invoice.hex()
    with _reading():
        slot_id = v.reader.slot_of_invoice(v.ledger.notes, invoice, point.number)
    if slot_id == 0:
        if not v.privileged:
            raise _forbidden("invoice", normalised)
        return InvoiceVerificationOut(invoice_hash=normalised, tokenised=False, block=point)
    with _reading():
        receivable = v.reader.receivable(v.ledger.notes, slot_id, point.number)
    parties = {receivable.obligor_id, receivable.creditor_id}
    if not v.privileged and v.principal.member_id not in parties:
        raise _forbidden("invoice", normalised)
    vis = for_slot(v.session, v.principal, v.secret, slot_id)
    return InvoiceVerificationOut(
        invoice_hash=normalised,
        tokenised=True,
        block=point,
        slot_id=slot_id,
        obligor_id=receivable.obligor_id,
        creditor_id=vis.ref(receivable.creditor_id),
        financing=receivable_financing(v, slot_id, point.number, vis),
    )


def receivable_financing(v: Verification, slot_id: int, block: int, vis: Visibility) -> ReceivableFinancingOut:
    """Pledges and sales of a receivable's notes at `block`, read from the chain.

    The chain has no index of a slot's notes or purchases, so the candidate ids come from the read model;
    each is then read from the chain at `block` (the notes in JSON-RPC batches) and only the chain's answer
    is reported.
    """
    session = v.session
    note_ids = list(session.scalars(select(Note.id).where(Note.slot_id == slot_id).order_by(Note.id)))
    try:
        on_chain = v.reader.notes_at(v.ledger.notes.address, note_ids, block)
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
            with _reading():
                bought = v.reader.purchase(v.ledger.financing, int(purchase_id), block)
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


# ------------------------------------------------------------------------------------------- members


def verify_member(v: Verification, member_id: int, block: str) -> MemberVerificationOut:
    """The member's profile beside its on-chain KYC hash at the block: whether the profile is the member's."""
    if not 1 <= member_id < 2**32:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    point = _point(pin(v, block))
    try:
        with _reading():
            member = v.reader.member(v.ledger.members, member_id, point.number)
    except ContractRevertError as exc:
        if exc.error == "UnknownMember":
            params = {"member_id": member_id, "number": point.number}
            raise catalogued(404, "not-found", "not-found.no-member-at", params) from exc
        raise
    on_chain = "0x" + bytes(member.kyc_hash).hex()
    row = v.session.get(MemberProfile, member_id)
    digest = profile_hash(profile_out(row).model_dump()) if row is not None else None
    return MemberVerificationOut(
        member_id=member_id,
        contract=v.ledger.members.address,
        block=point,
        account=member.account,
        profile=profile_out(row) if row is not None else None,
        profile_hash=digest,
        kyc_hash=on_chain,
        matches=digest == on_chain,
    )


# ------------------------------------------------------------------------------------------- orders


def _order_visibility(v: Verification, order_id: int, slot_id: int) -> Visibility:
    """The caller's view of the order: its receivable's once tokenised (on chain at the block, or in the read
    model), else the order's own (from the read model; an order it does not know yet shows only the caller)."""
    if slot_id:
        return for_slot(v.session, v.principal, v.secret, slot_id)
    stored = v.session.get(Order, order_id)
    if stored is not None:
        return for_order(v.session, v.principal, v.secret, stored)
    return for_slot(v.session, v.principal, v.secret, None)


def verify_order(v: Verification, order_id: int, block: str) -> OrderVerificationOut:
    """The order at the block: tokenised or not, pledged to whom, its loans, its receivable's pledges and sales."""
    if order_id < 1 or order_id >= 2**63:  # the read model (loans, notes) stores ids below 2**63
        raise catalogued(404, "not-found", "not-found.no-order", {"order_id": order_id})
    point = _point(pin(v, block))
    ledger, reader, number = v.ledger, v.reader, point.number
    try:
        with _reading():
            order = reader.order(ledger.orders, order_id, number)
    except ContractRevertError as exc:
        if exc.error == "UnknownOrder":
            params = {"order_id": order_id, "number": number}
            raise catalogued(404, "not-found", "not-found.no-order-at", params) from exc
        raise
    with _reading():
        holder_id = reader.holder_of_order(ledger.orders, order_id, number)
    parties = {order.supplier_id, order.buyer_id, holder_id, order.lienholder_id} - {0}
    if not v.privileged and v.principal.member_id not in parties:
        raise _forbidden("order", order_id)
    vis = _order_visibility(v, order_id, order.slot_id)

    loan_ids = set(v.session.scalars(select(Loan.id).where(Loan.order_id == order_id)))
    with _reading():
        loan_ids.add(reader.loan_of_order(ledger.financing, order_id, number))
    loans: list[LoanOnChainOut] = []
    for loan_id in sorted(loan_ids - {0}):
        try:
            with _reading():
                loan = reader.loan(ledger.financing, loan_id, number)
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
        with _reading():
            receivable = reader.receivable(ledger.notes, slot_id, number)
        terms = _terms(slot_id, receivable, vis)
        financing = receivable_financing(v, slot_id, number, vis)
    return OrderVerificationOut(
        order_id=order_id,
        contract=ledger.orders.address,
        block=point,
        status=ORDER_STATUS.get(order.status, str(order.status)),
        supplier_id=vis.ref(order.supplier_id),
        buyer_id=order.buyer_id,
        holder_id=vis.ref(holder_id),
        amount=order.amount,
        currency=v.settings.currency,
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


def _latest(v: Verification, at_least: int = 0, max_age: float = HEAD_MAX_AGE) -> BlockHeader:
    """The chain's latest header as this process read it at most `max_age` seconds ago, and block `at_least` or
    later (`ChainReader.latest`): what holdings measure their buckets from and name as `chain_block`, and the block
    `verify_note` reads `latest` at."""
    try:
        return v.reader.latest(max_age, at_least)
    except (OSError, ChainReadError) as exc:
        params = {"block": "latest", "exc": exc}
        raise catalogued(503, "chain-unavailable", "chain-unavailable.reading-block-failed", params) from exc


def _head(v: Verification) -> int:
    return _latest(v).number


# Built once (its cache key memoised): a request only binds the id. With the caller's key (api.deps.principal_with):
# one round trip for both, `exists` for verify_holdings
# (the member under a name of its own: the caller's lookup joins `members` for the caller)
_TARGET = table(Member).alias("target_member")
HOLDINGS_WITH_CALLER = key_principal_with(
    select(_TARGET.c.id).where(_TARGET.c.id == bindparam("member_id")).correlate(None).scalar_subquery()
)


def _may_see_holdings(session: Session, principal: Principal, member_id: int) -> bool:
    if sees_everything(principal) or principal.member_id == member_id:
        return True
    return principal.has_role(Roles.FINANCIER) and has_active_grant(session, member_id, principal.member_id)


def verify_holdings(v: Verification, member_id: int, block: str, check: bool, exists: bool) -> HoldingsOut:
    """The member's live notes by obligor and maturity bucket once the read model has `block`; with `check`,
    every listed note re-read from the chain at the read model's block. `exists`: whether the read model has the
    member, as the route read it with the caller's key (`HOLDINGS_WITH_CALLER`)."""
    session = v.session
    if not 1 <= member_id < 2**32 or not exists:
        raise catalogued(404, "not-found", "not-found.no-member", {"member_id": member_id})
    if not _may_see_holdings(session, v.principal, member_id):
        raise catalogued(403, "forbidden", "forbidden.member-has-shared", {"member_id": member_id})
    # a floor for the read model, no state read: `latest` is the head this process read at most HEAD_MAX_AGE ago
    floor = _head(v) if block == "latest" else pin(v, block, reads_state=False).number
    if not v.ledger.reads.wait_for_block(floor, timeout=INDEXER_WAIT):  # shares the indexer's pass
        raise catalogued(503, "indexer-lagging", "indexer-lagging.block-indexed-yet", {"block": floor})
    # no commit needed to see what the indexer wrote meanwhile: each statement reads the latest committed state (a
    # SELECT on SQLite opens no transaction; PostgreSQL runs READ COMMITTED)
    head = _latest(v, floor)
    result, reflected = holdings_at(session, member_id, head.timestamp)  # one statement: the totals, their block
    if reflected > head.number:  # the indexer is past the head read: read the head again, measure from it
        head = _latest(v, reflected)
        result, reflected = holdings_at(session, member_id, head.timestamp)
    now = head.timestamp
    checked = _check_against_chain(v, member_id, reflected) if check else None
    by_bucket = {name: [0, 0] for name in BUCKETS}
    for g in result.groups:
        by_bucket[g.bucket][0] += g.count
        by_bucket[g.bucket][1] += g.total
    total = sum(g.total for g in result.groups)
    pledged_total = sum(g.pledged_total for g in result.groups)
    answer = HoldingsOut(
        member_id=member_id,
        currency=v.settings.currency,
        as_of=iso_time(now),
        chain_block=head.number,
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
    end_read(session)  # a COMMIT: its statements stay prepared on PostgreSQL
    return answer


def _check_against_chain(v: Verification, member_id: int, block: int) -> ChainCheckOut:
    """Re-reads every note the read model lists for the member, at the read model's block."""
    notes = held_notes(v.session, member_id, MAX_CHECKED_NOTES + 1)
    if len(notes) > MAX_CHECKED_NOTES:
        params = {"member_id": member_id, "max": MAX_CHECKED_NOTES}
        raise catalogued(422, "check-too-large", "check-too-large.max-notes", params)
    try:
        on_chain = v.reader.notes_at(v.ledger.notes.address, [n.id for n in notes], block)
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
    point = _point(pin(v, str(block), reads_state=False))
    return ChainCheckOut(block=point, checked=len(notes), mismatches=mismatches)
