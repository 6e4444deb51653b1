"""Member routes: the operator admits and administers members; anyone authenticated reads `me`.

The rules and answers are in api/services/members.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import CurrentPrincipal, DbSession, OperatorWrite
from api.problems import catalogued
from api.profiles import MemberProfileIn
from api.schemas.cash import CreditLimitIn, RotatedKeyOut
from api.schemas.core import MAX_ID, AdmitMemberIn, AdmittedMemberOut, MemberOut, Page
from api.services import members
from api.services.common import paginate
from api.services.members import RegistryCall, members_out
from chain.node.contracts import MemberRegistry
from chain.readmodel.store import Member

router = APIRouter(prefix="/v1/members", tags=["members"])


@router.get(
    "",
    summary="List members (directory: every member sees ids, roles, status and display names); `q` searches "
    "names and codes (operator, auditors)",
)
def list_members(
    session: DbSession,
    principal: CurrentPrincipal,
    cursor: Annotated[int, Query(ge=0, le=MAX_ID, description="member id to start after")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="part of a legal name (Chinese or English) or display name, or a unified social credit "
            "code or LEI (operator, auditors)",
        ),
    ] = None,
) -> Page[MemberOut]:
    query = members.members_query(principal, q)
    page = paginate(session, query, Member.id, cursor, limit)
    return Page[MemberOut](items=members_out(session, page.rows, principal), next_cursor=page.next_cursor)


@router.get("/me", summary="The calling member")
def me(session: DbSession, principal: CurrentPrincipal) -> MemberOut:
    if principal.is_operator:
        raise catalogued(404, "not-a-member", "not-a-member.operator-key-does")
    member = session.get(Member, principal.member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.member-on-ledger", {"member_id": principal.member_id})
    return members_out(session, [member], principal)[0]


@router.get("/{member_id}", summary="One member")
def get_member(member_id: int, session: DbSession, principal: CurrentPrincipal) -> MemberOut:
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    return members_out(session, [member], principal)[0]


@router.post(
    "",
    status_code=201,
    response_model=AdmittedMemberOut,
    summary="Admit a member (operator): creates its key in custody (or, self-custody, takes the address it proved "
    "it controls), admits it on chain, returns its API key",
)
def admit_member(body: AdmitMemberIn, w: OperatorWrite) -> JSONResponse:
    return members.admit_member(w, body)


def _admin_action(path: str, function: RegistryCall, summary: str) -> None:
    @router.post(f"/{{member_id}}/{path}", response_model=MemberOut, summary=summary)
    def action(member_id: int, w: OperatorWrite) -> JSONResponse:
        return members.change_status(w, member_id, path, function)

    action.__name__ = f"{path.replace('-', '_')}_member"  # the audit log's `action`


_admin_action(
    "suspend",
    MemberRegistry.suspend,
    "Suspend a member (operator): it can no longer hold, receive, move or issue notes, orders or cash, nor make "
    "offers; it can still pay what it owes (repay, fund) and is still paid what it is owed",
)
_admin_action("reinstate", MemberRegistry.reinstate, "Reinstate a suspended member (operator)")
_admin_action(
    "clear-default-block", MemberRegistry.clear_default_block, "Lift the issuance block left by a default (operator)"
)


@router.post("/{member_id}/credit-limit", response_model=MemberOut, summary="Set an obligor's credit limit (operator)")
def set_credit_limit(member_id: int, body: CreditLimitIn, w: OperatorWrite) -> JSONResponse:
    return members.set_credit_limit(w, member_id, body)


@router.post(
    "/{member_id}/profile",
    response_model=MemberOut,
    summary="Set or replace a member's profile (operator): the profile is stored and its hash put on chain as the "
    "member's KYC hash",
)
def update_member_profile(member_id: int, body: MemberProfileIn, w: OperatorWrite) -> JSONResponse:
    return members.update_member_profile(w, member_id, body)


@router.post(
    "/{member_id}/rotate-key",
    response_model=RotatedKeyOut,
    summary="Replace a member's custodial key (operator): new account on chain, cash moved; API keys unchanged",
)
def rotate_key(member_id: int, w: OperatorWrite) -> JSONResponse:
    return members.rotate_key(w, member_id)
