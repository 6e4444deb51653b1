"""Token metadata (ERC-721 metadata and the ERC-3525 metadata extension), served under the base URI that
ReceivableNotes fixes at deploy (`SCF_METADATA_BASE_URI`, by default this service's `/v1/metadata/`):

- `tokenURI(noteId)` is `<base>notes/<noteId>`: a note's value, slot and receivable;
- `slotURI(slotId)` is `<base>receivables/<slotId>`: the receivable's obligor, face value, currency, maturity
  and status;
- `contractURI()` is `<base>contract`: the collection.

Why served and not on-chain `data:` URIs: ReceivableNotes is within a few hundred bytes of the 24,576-byte code
limit, and JSON assembly on chain (amount formatting, dates, Base64) would not fit; the API already has every
field in its read model. The notes and receivables answer with the same key and visibility as
`GET /v1/notes/{id}` and `GET /v1/receivables/{id}`: the ledger is permissioned, so its metadata is too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.amounts import AmountOut
from api.deps import CurrentPrincipal, DbSession
from api.services.common import iso_time
from api.services.notes import visible_note
from api.services.receivables import visible_receivable

router = APIRouter(prefix="/v1/metadata", tags=["metadata"])

COLLECTION = "SCF Receivable Notes"  # ReceivableNotes.name()
VALUE_DECIMALS = 2  # ReceivableNotes.valueDecimals()


class NotePropertiesOut(BaseModel):
    receivable_id: int | None = Field(description="the note's slot: the receivable it is a share of")
    value: AmountOut
    currency: str
    live: bool


class NoteMetadataOut(BaseModel):
    """EIP-3525 token metadata: `balance` is the value in minor units (`valueDecimals` 2), `slot` the receivable."""

    name: str
    description: str
    balance: int
    slot: int | None
    properties: NotePropertiesOut


class ReceivablePropertiesOut(BaseModel):
    obligor_id: int = Field(description="the member who owes the receivable")
    face_value: AmountOut
    currency: str
    maturity: str
    status: str


class ReceivableMetadataOut(BaseModel):
    """EIP-3525 slot metadata: the receivable its notes share."""

    name: str
    description: str
    properties: ReceivablePropertiesOut


class ContractMetadataOut(BaseModel):
    """EIP-3525 contract metadata."""

    name: str
    description: str
    valueDecimals: int  # the EIP spells it so


@router.get("/notes/{note_id}", summary="A note's token metadata (its tokenURI)")
def note_metadata(note_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> NoteMetadataOut:
    note = visible_note(session, principal, note_id)
    currency = request.app.state.settings.currency
    return NoteMetadataOut(
        name=f"SCF note {note.id}",
        description=f"A share of receivable {note.slot_id}, worth its value at maturity.",
        balance=note.value,
        slot=note.slot_id,
        properties=NotePropertiesOut(receivable_id=note.slot_id, value=note.value, currency=currency, live=note.live),
    )


@router.get("/receivables/{slot_id}", summary="A receivable's slot metadata (its slotURI)")
def receivable_metadata(
    slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request
) -> ReceivableMetadataOut:
    receivable = visible_receivable(session, principal, slot_id)
    return ReceivableMetadataOut(
        name=f"SCF receivable {receivable.id}",
        description=f"A receivable owed by member {receivable.obligor_id}; its notes share its face value.",
        properties=ReceivablePropertiesOut(
            obligor_id=receivable.obligor_id,
            face_value=receivable.face_value,
            currency=request.app.state.settings.currency,
            maturity=iso_time(receivable.maturity),
            status=receivable.status,
        ),
    )


@router.get("/contract", summary="The notes' contract metadata (its contractURI)")
def contract_metadata(principal: CurrentPrincipal) -> ContractMetadataOut:
    del principal  # members only, like the rest of the ledger
    return ContractMetadataOut(
        name=COLLECTION,
        description="Supply-chain receivables as ERC-3525 notes: each receivable is a slot, each note a share of it.",
        valueDecimals=VALUE_DECIMALS,
    )
