"""Settlement routes: the obligor funds a receivable; at maturity its notes are paid (or, after default, claimed).

The rules and answers are in api/services/settlement.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, Write
from api.schemas.cash import FundIn, FundingOut, NoteBatchIn, SettlementResultOut
from api.services import settlement
from api.services.receivables import visible_receivable
from api.services.settlement import BatchCall
from chain.node.contracts import Settlement

router = APIRouter(prefix="/v1/settlement", tags=["settlement"])


@router.get("/receivables/{slot_id}", summary="Funding and settlement state of a receivable")
def get_funding(slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> FundingOut:
    receivable = visible_receivable(session, principal, slot_id)
    return settlement.funding_out(session, receivable, request.app.state.settings.currency)


@router.post("/receivables/{slot_id}/fund", response_model=FundingOut, summary="Obligor pays towards a receivable")
def fund(slot_id: int, body: FundIn, w: Write) -> JSONResponse:
    return settlement.fund(w, slot_id, body)


def _batch_action(function: BatchCall, path: str, summary: str) -> None:
    @router.post(f"/receivables/{{slot_id}}/{path}", response_model=SettlementResultOut, summary=summary)
    def action(slot_id: int, w: Write, body: NoteBatchIn | None = None) -> JSONResponse:
        return settlement.pay_notes(w, slot_id, body, function)

    action.__name__ = f"{path.replace('-', '_')}_receivable"  # the audit log's `action`


_batch_action(Settlement.settle, "settle", "Pay out the notes of a matured, fully funded receivable (any member)")
_batch_action(Settlement.claim_defaulted, "claim-default", "Pay a defaulted receivable's funds pro rata to its notes")


@router.post(
    "/receivables/{slot_id}/mark-default",
    response_model=FundingOut,
    summary="Mark an underfunded receivable defaulted after maturity and the grace period (any member)",
)
def mark_default(slot_id: int, w: Write) -> JSONResponse:
    return settlement.mark_default(w, slot_id)


@router.post("/notes/{note_id}/redeem", response_model=SettlementResultOut, summary="The holder redeems its note")
def redeem(note_id: int, w: Write) -> JSONResponse:
    return settlement.redeem(w, note_id)
