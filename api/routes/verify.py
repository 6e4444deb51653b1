"""Verification for banks and auditors: note and invoice state read straight from the chain, with proofs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from web3.types import BlockIdentifier

from api.deps import CurrentPrincipal, Ledger, Principal
from api.ledger import LedgerHandle
from api.problems import Problem
from api.schemas_verify import ChainPoint, HolderOut, InvoiceVerificationOut, NoteVerificationOut, ReceivableTermsOut
from api.services.common import iso_time, sees_everything
from chain.projections import SLOT_STATUS
from chain.proofs import ProofError, fetch_note_proof
from chain.revert import ContractRevertError

router = APIRouter(prefix="/v1/verify", tags=["verify"])

FINANCIER = 4
_BLOCK = re.compile(r"^(latest|[0-9]{1,18})$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _privileged(principal: Principal) -> bool:
    return sees_everything(principal) or principal.has_role(FINANCIER)


def _block(ledger: LedgerHandle, block: str) -> ChainPoint:
    """Pins `latest` (or a number) to one concrete block so every read below sees the same state."""
    if not _BLOCK.match(block):
        raise Problem(422, "validation-error", "Invalid request", "block must be `latest` or a block number")
    identifier: BlockIdentifier = "latest" if block == "latest" else int(block)
    head = int(ledger.w3.eth.block_number)
    if isinstance(identifier, int) and identifier > head:
        raise Problem(404, "unknown-block", "Unknown block", f"block {identifier} is past the chain head {head}")
    header = ledger.w3.eth.get_block(identifier)
    return ChainPoint(number=int(header["number"]), hash="0x" + bytes(header["hash"]).hex())


def _forbidden(what: str) -> Problem:
    return Problem(403, "forbidden", "Forbidden", f"{what} is not yours to verify")


@router.get("/notes/{note_id}", summary="A note's holder, value and receivable terms, read from the chain")
def verify_note(
    note_id: int,
    request: Request,
    principal: CurrentPrincipal,
    ledger: Ledger,
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
    proof: Annotated[bool, Query(description="include an eth_getProof bundle of the note's storage word")] = False,
) -> NoteVerificationOut:
    if note_id < 1 or note_id >= 2**48:
        raise Problem(404, "not-found", "Not found", f"no note {note_id}")
    point = _block(ledger, block)
    try:
        note = ledger.notes.note(note_id, block=point.number)
    except ContractRevertError as exc:
        if exc.error == "UnknownNote":
            raise Problem(404, "not-found", "Not found", f"no note {note_id} at block {point.number}") from exc
        raise
    if not _privileged(principal) and principal.member_id != note.holder_id:
        raise _forbidden(f"note {note_id}")
    receivable = ledger.notes.receivable(note.slot_id, block=point.number)
    holder_account = ledger.members.member(note.holder_id, block=point.number).account
    bundle: dict[str, Any] | None = None
    if proof:
        layout = ledger.artifacts["ReceivableNotes"].storage_layout
        try:
            bundle = fetch_note_proof(ledger.w3, ledger.notes.address, note_id, layout, point.number)
        except ProofError as exc:
            raise Problem(502, "proof-unavailable", "Proof unavailable", str(exc)) from exc
    return NoteVerificationOut(
        note_id=note_id,
        contract=ledger.notes.address,
        block=point,
        holder=HolderOut(member_id=note.holder_id, account=holder_account),
        value=note.value,
        currency=request.app.state.settings.currency,
        lienholder_id=note.lienholder_id or None,
        parent_id=note.parent_id or None,
        receivable=ReceivableTermsOut(
            slot_id=note.slot_id,
            obligor_id=receivable.obligor_id,
            creditor_id=receivable.creditor_id,
            face_value=receivable.face_value,
            maturity=iso_time(receivable.maturity),
            invoice_hash="0x" + bytes(receivable.invoice_hash).hex(),
            order_id=receivable.order_id or None,
            status=SLOT_STATUS.get(receivable.status, str(receivable.status)),
        ),
        proof=bundle,
    )


@router.get("/invoice", summary="Whether an invoice hash is tokenised, and by which receivable")
def verify_invoice(
    principal: CurrentPrincipal,
    ledger: Ledger,
    hash: Annotated[str, Query(description="the invoice hash, 0x + 64 hex digits")],
    block: Annotated[str, Query(description="a block number, or latest")] = "latest",
) -> InvoiceVerificationOut:
    if not _HASH.match(hash):
        raise Problem(422, "validation-error", "Invalid request", "hash must be 0x followed by 64 hex digits")
    point = _block(ledger, block)
    invoice = bytes.fromhex(hash[2:])
    function = ledger.notes.handle.get_function_by_signature("slotOfInvoice(bytes32)")(invoice)
    slot_id = int(function.call(block_identifier=point.number))
    normalised = "0x" + invoice.hex()
    if slot_id == 0:
        if not _privileged(principal):
            raise _forbidden(f"invoice {normalised}")
        return InvoiceVerificationOut(invoice_hash=normalised, tokenised=False, block=point)
    receivable = ledger.notes.receivable(slot_id, block=point.number)
    parties = {receivable.obligor_id, receivable.creditor_id}
    if not _privileged(principal) and principal.member_id not in parties:
        raise _forbidden(f"invoice {normalised}")
    return InvoiceVerificationOut(
        invoice_hash=normalised,
        tokenised=True,
        block=point,
        slot_id=slot_id,
        obligor_id=receivable.obligor_id,
        creditor_id=receivable.creditor_id,
    )
