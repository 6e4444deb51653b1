"""Evidence export: one member's orders, notes, value moves, financings and alerts within a span of days."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, DbSession, Ledger
from api.hexes import TxHash
from api.problems import catalogued
from api.schemas.core import MemberOut, MemberRef
from api.services.common import member_or_404, sees_everything
from api.services.export import block_range, export_sections
from api.services.visibility import Views, display_names, request_secret
from api.strict import IsoDate
from chain.node.roles import role_names

router = APIRouter(prefix="/v1/export", tags=["export"])

MAX_MEMBER_ID = 2**32 - 1


class ExportRange(BaseModel):
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    from_block: int = Field(description="first block whose time is on or after `from` 00:00:00 UTC")
    to_block: int = Field(description="last block whose time is on or before `to` 23:59:59 UTC (< from_block: none)")


class OrderEventRow(BaseModel):
    order_id: int
    event: str
    supplier_id: int
    buyer_id: int
    supplier_name: str | None = Field(None, description="display names beside the ids (null: no profile)")
    buyer_name: str | None = None
    amount: str
    due_date: str
    status: str = Field(description="the order's current status")
    receivable_id: int | None
    block_number: int
    tx_hash: TxHash
    at: str


class NoteRow(BaseModel):
    note_id: int
    receivable_id: int | None
    holder_id: MemberRef
    holder_name: str | None = Field(None, description="null where the holder is a pseudonym or has no profile")
    value: str
    live: bool
    lienholder_id: MemberRef | None
    lienholder_name: str | None = None
    parent_id: int | None
    obligor_id: int | None
    obligor_name: str | None = None
    maturity: str | None
    block_number: int = Field(description="block the note was created in")
    tx_hash: TxHash = Field(description="transaction that created the note")
    at: str


class TransferRow(BaseModel):
    kind: str = Field(description="mint | move (split or merge) | transfer (whole note) | burn")
    from_note_id: int | None
    to_note_id: int | None
    from_member_id: int | None
    to_member_id: int | None
    from_member_name: str | None = None
    to_member_name: str | None = None
    value: str
    block_number: int
    tx_hash: TxHash
    at: str


class FinancingRow(BaseModel):
    kind: str = Field(description="offer | purchase | loan")
    id: int
    event: str
    financier_id: int
    client_id: MemberRef | None = Field(description="the note's holder or seller, or the borrower")
    financier_name: str | None = None
    client_name: str | None = Field(None, description="null where the client is a pseudonym or has no profile")
    note_id: int | None
    order_id: int | None
    value: str
    price: str | None
    rate_bps: int | None
    recourse: bool | None
    status: str = Field(description="the current status")
    block_number: int
    tx_hash: TxHash
    at: str


class AlertRow(BaseModel):
    id: int
    rule: str
    severity: str
    members: list[MemberRef]
    member_names: list[str | None] = Field(
        default_factory=list, description="display names beside `members` (null: a pseudonym or no profile)"
    )
    evidence: list[str]
    block_number: int
    created: str


class EvidenceBundle(BaseModel):
    member: MemberOut
    range: ExportRange
    generated_at: str
    indexed_block: int
    orders: list[OrderEventRow]
    notes: list[NoteRow]
    transfers: list[TransferRow]
    financings: list[FinancingRow]
    alerts: list[AlertRow]


@router.get(
    "/members/{member_id}",
    summary="Evidence bundle of a member within a date range (auditors, the operator, the member itself)",
    response_model_by_alias=True,
    responses={403: {}, 404: {}, 422: {"description": "bad dates, or `from` after `to`"}},
)
def export_member(
    member_id: int,
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    ledger: Ledger,
    from_: Annotated[IsoDate, Query(alias="from", description="first day, YYYY-MM-DD (UTC)")],
    to: Annotated[IsoDate, Query(description="last day, YYYY-MM-DD (UTC), inclusive")],
) -> EvidenceBundle:
    if not (sees_everything(principal) or principal.member_id == member_id):
        raise catalogued(403, "forbidden", "forbidden.member-evidence-auditors")
    if from_ > to:
        raise catalogued(422, "invalid-date-range", "invalid-date-range.from-after", {"from_": from_, "to": to})
    if not 1 <= member_id <= MAX_MEMBER_ID:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    member = member_or_404(session, member_id)
    blocks, head = block_range(session, ledger.w3, from_, to)
    views = Views(session, principal, request_secret(request))
    sections = export_sections(session, ledger.w3, member_id, blocks, views)
    return EvidenceBundle.model_validate(
        {
            "member": MemberOut(
                id=member.id,
                account=member.account,
                roles=role_names(member.roles),
                status=member.status,
                kyc_hash=member.kyc_hash,
                group_id=member.group_id,
                credit_limit=member.credit_limit,
                outstanding=member.outstanding,
                default_count=member.default_count,
                issuance_blocked=member.issuance_blocked,
                name=display_names(session, [member.id]).get(member.id),
            ),
            "range": {"from": from_, "to": to, "from_block": blocks.first, "to_block": blocks.last},
            "generated_at": datetime.now(UTC).isoformat(),
            "indexed_block": head,
            **sections,
        }
    )
