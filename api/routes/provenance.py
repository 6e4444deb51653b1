"""Provenance of a note and the note tree of a receivable, built from the read model's event log
(`api.services.history`; block times the read model lacks come from the node through `chain.node.reader`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CurrentPrincipal, DbSession
from api.schemas.provenance import ProvenanceOut, ReceivableTreeOut
from api.services import history
from api.services.visibility import request_secret
from chain.node.reader import chain_reader

router = APIRouter(tags=["provenance"])


@router.get(
    "/v1/notes/{note_id}/provenance",
    summary="A note's full history: order, issue, and every movement of the note and its ancestors",
    tags=["notes"],
)
def note_provenance(note_id: int, session: DbSession, principal: CurrentPrincipal, request: Request) -> ProvenanceOut:
    settings = request.app.state.settings
    reader = chain_reader(settings.effective_rpc_url)
    return history.note_provenance(session, principal, request_secret(request), reader, settings.currency, note_id)


@router.get(
    "/v1/receivables/{slot_id}/tree",
    summary="Every note of a receivable and every value movement between them",
    tags=["receivables"],
)
def receivable_tree(
    slot_id: int, session: DbSession, principal: CurrentPrincipal, request: Request
) -> ReceivableTreeOut:
    currency = request.app.state.settings.currency
    return history.receivable_tree(session, principal, request_secret(request), currency, slot_id)
