"""Verification for banks and auditors: note and invoice state read straight from the chain, with proofs.

Each route parses its request and calls `api.services.verify`, which reads the chain through
`chain.node.reader` at one pinned block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Executable
from sqlalchemy.orm import Session

from api.deps import _bearer, _scheme_key, connected_ledger, key_principal_with, principal_with, request_session
from api.routes import prepared
from api.schemas.provenance import HoldingsOut, OrderVerificationOut
from api.schemas.verify import InvoiceVerificationOut, MemberVerificationOut, NoteVerificationOut
from api.services import verify
from api.services.verify import Verification
from api.services.visibility import request_secret
from chain.node.reader import chain_reader

router = APIRouter(prefix="/v1/verify", tags=["verify"])

Block = Annotated[str, Query(description="a block number, or latest")]


@dataclass(frozen=True)
class Caller:
    """The request's parts a verification starts from; `verification()` looks the caller up (blocking: call it on
    the route's worker thread, first)."""

    request: Request
    session: Session
    credentials: HTTPAuthorizationCredentials | None

    def verification(self) -> Verification:
        """Who calls (401 first), then the ledger (503 while the chain is down): what `CurrentPrincipal` and `Ledger`
        give, looked up on the route's own worker thread: a `def` dependency would cost a hop to a thread of its
        own and back (the principal's query and a first connection to the ledger do I/O)."""
        return self.verification_with(_CALLER_ONLY, {})[0]

    def verification_with(self, statement: Executable, params: dict[str, Any]) -> tuple[Verification, tuple[Any, ...]]:
        """`verification`, and the values of the route's first statement read in the same round trip as the
        caller's key (`api.deps.principal_with`): the 401s come first as they did."""
        request = self.request
        principal, first = principal_with(self.session, *_scheme_key(self.credentials), statement, params)
        ledger = connected_ledger(request.app.state.ledger)
        settings = request.app.state.settings
        reader = chain_reader(settings.effective_rpc_url)
        return Verification(self.session, principal, ledger, settings, request_secret(request), reader), first


_CALLER_ONLY = key_principal_with()


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:  # no I/O: `async`, no worker-thread hop; the session taken here, not a dependency of its own
    return Caller(request, request_session(request), credentials)


Verifier = Annotated[Caller, Depends(caller)]


@router.get(
    "/notes/{note_id}",
    response_model=NoteVerificationOut,
    summary="A note's holder, value and receivable terms, read from the chain",
)
def verify_note(
    note_id: int,
    c: Verifier,
    block: Block = "latest",
    proof: Annotated[bool, Query(description="include an eth_getProof bundle of the note's storage word")] = False,
) -> Response:
    v, indexed = c.verification_with(verify.NOTE_WITH_CALLER, {"note_id": note_id})
    return prepared(verify.verify_note(v, note_id, block, proof, indexed), v.session)


@router.get(
    "/invoice",
    response_model=InvoiceVerificationOut,
    summary="Whether an invoice hash is tokenised, and by which receivable",
)
def verify_invoice(
    c: Verifier,
    hash: Annotated[str, Query(description="the invoice hash, 0x + 64 hex digits")],
    block: Block = "latest",
) -> Response:
    v = c.verification()
    return prepared(verify.verify_invoice(v, hash, block), v.session)


@router.get(
    "/members/{member_id}",
    response_model=MemberVerificationOut,
    summary="A member's profile beside its on-chain KYC hash: whether the name and codes belong to the member",
)
def verify_member(member_id: int, c: Verifier, block: Block = "latest") -> Response:
    v = c.verification()
    return prepared(verify.verify_member(v, member_id, block), v.session)


@router.get(
    "/orders/{order_id}",
    response_model=OrderVerificationOut,
    summary="An order's state read from the chain: tokenised or not, pledged to whom, loans, notes sold",
)
def verify_order(order_id: int, c: Verifier, block: Block = "latest") -> Response:
    v = c.verification()
    return prepared(verify.verify_order(v, order_id, block), v.session)


@router.get(
    "/holdings/{member_id}",
    response_model=HoldingsOut,
    summary="A member's live notes by obligor and maturity bucket (the member, financiers it shares with)",
)
def verify_holdings(
    member_id: int,
    c: Verifier,
    block: Annotated[
        str, Query(description="latest, or a block number the read model must have reached (it waits up to 10 s)")
    ] = "latest",
    check: Annotated[
        str | None, Query(pattern="^chain$", description="chain: re-read every listed note from the chain")
    ] = None,
) -> Response:
    v, (found,) = c.verification_with(verify.HOLDINGS_WITH_CALLER, {"member_id": member_id})
    return prepared(verify.verify_holdings(v, member_id, block, check is not None, found is not None), v.session)
