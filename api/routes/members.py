"""Members: the operator admits and administers them; anyone authenticated reads `me`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from eth_account.signers.local import LocalAccount
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.logs import DISCARD

from api.deps import CurrentPrincipal, CustodyDep, DbSession, Ledger, Operator, Principal, Writes
from api.hexes import prefixed
from api.ledger import LedgerHandle
from api.problems import catalogued
from api.profiles import MemberProfileIn, MemberProfileOut, profile_hash
from api.schemas import MAX_ID, AdmitMemberIn, AdmittedMemberOut, MemberOut, Page
from api.schemas_cash import CreditLimitIn, RotatedKeyOut
from api.selfcustody import check_challenge, hold_address, use_challenge
from api.services.common import sees_everything
from api.tables import ApiKey, CustodyAccount, MemberProfile, SelfCustodyAccount, hash_api_key, new_api_key
from api.writes import WriteContext, WriteExecutor
from chain.node.client import MEMBER_GAS_WEI, fund_on_devchain, is_devchain
from chain.node.contracts import ContractCall, MemberRegistry
from chain.node.errors import TransactionError
from chain.node.roles import ROLE_BITS, Roles, role_names
from chain.readmodel.store import Member, Note, Order

router = APIRouter(prefix="/v1/members", tags=["members"])


def _self_custody_ids(session: Session, ids: list[int]) -> set[int]:
    rows = session.scalars(select(SelfCustodyAccount.member_id).where(SelfCustodyAccount.member_id.in_(ids)))
    return {int(i) for i in rows if i is not None}


def _profiles(session: Session, ids: list[int]) -> dict[int, MemberProfile]:
    rows = session.scalars(select(MemberProfile).where(MemberProfile.member_id.in_(ids)))
    return {row.member_id: row for row in rows}


def profile_out(row: MemberProfile) -> MemberProfileOut:
    return MemberProfileOut(
        legal_name_zh=row.legal_name_zh,
        legal_name_en=row.legal_name_en,
        display_name=row.display_name,
        uscc=row.uscc,
        lei=row.lei,
        contact=row.contact,
        profile_hash=row.profile_hash,
    )


def _out(
    member: Member, self_custody: bool = False, profile: MemberProfile | None = None, full: bool = False
) -> MemberOut:
    """`full`: the whole profile (operator, auditors, the member itself); the display name is the directory's."""
    return MemberOut(
        custody="self" if self_custody else "service",
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
        name=profile.display_name if profile is not None else None,
        profile=profile_out(profile) if profile is not None and full else None,
    )


def _operator_out(engine: Any, member: Member, self_custody: bool = False) -> MemberOut:
    """A member as the operator sees it (the answer of its writes): with its whole profile."""
    with Session(engine) as session:
        profile = session.get(MemberProfile, member.id)
        if profile is not None:
            session.expunge(profile)
    return _out(member, self_custody, profile, full=True)


def _outs(session: Session, members: list[Member], principal: Principal) -> list[MemberOut]:
    ids = [m.id for m in members]
    own = _self_custody_ids(session, ids)
    profiles = _profiles(session, ids)
    everything = sees_everything(principal)
    return [_out(m, m.id in own, profiles.get(m.id), everything or m.id == principal.member_id) for m in members]


def fund_gas(ledger: LedgerHandle, operator: LocalAccount, address: str) -> None:
    """Gas money for a member's new account: anvil sets a balance; on a network (geth Clique, Besu) the operator
    sends MEMBER_GAS_WEI from its prefunded account, unless the account holds half of that already (a retry)."""
    if is_devchain(ledger.w3):
        fund_on_devchain(ledger.w3, address)
        return
    target = Web3.to_checksum_address(address)
    if ledger.w3.eth.get_balance(target) >= MEMBER_GAS_WEI // 2:
        return
    try:
        ledger.signer.queue(operator).send_and_wait(
            {"to": target, "value": MEMBER_GAS_WEI, "gas": 21_000}, simulate=False
        )
    except TransactionError as exc:
        raise catalogued(
            503, "transaction-failed", "transaction-failed.funding", {"target": target, "exc": exc}
        ) from exc


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
    query = select(Member).where(Member.id > cursor).order_by(Member.id).limit(limit + 1)
    if q is not None:
        if not sees_everything(principal):
            raise catalogued(403, "forbidden", "forbidden.member-search")
        if any(ord(c) < 32 or ord(c) == 127 for c in q):
            raise catalogued(422, "validation-error", "validation-error.q-must-hold")
        needle = q.strip()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        code = needle.upper()
        query = query.join(MemberProfile, MemberProfile.member_id == Member.id).where(
            or_(
                MemberProfile.legal_name_zh.like(pattern, escape="\\"),
                func.lower(MemberProfile.legal_name_en).like(pattern.lower(), escape="\\"),
                func.lower(MemberProfile.display_name).like(pattern.lower(), escape="\\"),
                MemberProfile.uscc == code,
                MemberProfile.lei == code,
            )
        )
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[MemberOut](items=_outs(session, rows, principal), next_cursor=str(rows[-1].id) if more else None)


@router.get("/me", summary="The calling member")
def me(session: DbSession, principal: CurrentPrincipal) -> MemberOut:
    if principal.is_operator:
        raise catalogued(404, "not-a-member", "not-a-member.operator-key-does")
    member = session.get(Member, principal.member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.member-on-ledger", {"member_id": principal.member_id})
    return _outs(session, [member], principal)[0]


@router.get("/{member_id}", summary="One member")
def get_member(member_id: int, session: DbSession, principal: CurrentPrincipal) -> MemberOut:
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    return _outs(session, [member], principal)[0]


def _role_mask(names: list[str]) -> int:
    unknown = sorted(set(names) - set(ROLE_BITS))
    if unknown:
        params = {"unknown": str(unknown), "roles": str(sorted(ROLE_BITS))}
        raise catalogued(422, "validation-error", "validation-error.unknown-roles", params)
    mask = 0
    for name in names:
        mask |= ROLE_BITS[name]
    return mask


@router.post(
    "",
    status_code=201,
    response_model=AdmittedMemberOut,
    summary="Admit a member (operator): creates its key in custody (or, self-custody, takes the address it proved "
    "it controls), admits it on chain, returns its API key",
)
def admit_member(
    body: AdmitMemberIn, request: Request, principal: Operator, ledger: Ledger, writes: Writes, custody: CustodyDep
) -> JSONResponse:
    mask = _role_mask(body.roles)
    if body.mint_ceiling and not mask & Roles.FINANCIER:
        raise catalogued(422, "validation-error", "validation-error.mint-ceiling-financiers")
    engine = request.app.state.engine
    kyc_hash = _admission_kyc_hash(body)
    if body.profile is not None and not writes.started(request, principal.member_id, body.model_dump_json().encode()):
        with Session(engine) as session:
            _uscc_free(session, body.profile.uscc, None)
    own = _self_custody_proof(body, request, principal, writes)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        def create_account() -> str:
            with Session(engine) as session, session.begin():
                if own is not None:  # self-custody: no key is made; only the proved address is kept
                    use_challenge(engine, own[1])
                    hold_address(session, own[0], None)
                    return own[0]
                return custody.new_account(session).address

        address: str = ctx.once("account", create_account)
        fund_gas(ledger, custody.operator(), address)
        call = ledger.members.admit(address, mask, bytes.fromhex(kyc_hash[2:]), body.group_id, body.credit_limit)
        receipt = ctx.transact(custody.operator(), call)
        events = ledger.contract("MemberRegistry").events.MemberAdmitted().process_receipt(receipt, errors=DISCARD)
        member_id = int(events[0]["args"]["memberId"])
        if body.mint_ceiling:  # financiers: the ceiling in the same write, so it can mint as soon as it is admitted
            ctx.transact(custody.operator(), ledger.cash.set_mint_ceiling(member_id, body.mint_ceiling))

        def create_api_key() -> str:
            key = new_api_key()
            with Session(engine) as session, session.begin():
                session.add(ApiKey(member_id=member_id, key_hash=hash_api_key(key), hint=key[:8], label=body.label))
                row = session.get(CustodyAccount, address)
                if row is not None:
                    row.member_id = member_id
                own_row = session.get(SelfCustodyAccount, address)
                if own_row is not None:
                    own_row.member_id = member_id
                if body.profile is not None:
                    store_profile(session, member_id, body.profile)
            return key

        api_key: str = ctx.once("api_key", create_api_key, secret=True)
        ctx.settle_reads()
        with Session(engine) as session:
            member = session.get(Member, member_id)
            if member is None:
                raise catalogued(503, "indexer-lagging", "indexer-lagging.member-indexed-yet", {"member_id": member_id})
            out = AdmittedMemberOut(
                member=_operator_out(engine, member, own is not None),
                api_key=api_key,
                tx_hash=prefixed(receipt["transactionHash"]),
            )
        return 201, out.model_dump(mode="json")

    return writes.run(request, principal.member_id, body.model_dump_json().encode(), ledger, workflow)


def _admission_kyc_hash(body: AdmitMemberIn) -> str:
    """The KYC hash to put on chain: the profile's hash when a profile is given (a `kyc_hash` beside it must be
    that hash), else the given `kyc_hash` (one of the two is required)."""
    if body.profile is None:
        if body.kyc_hash is None:
            raise catalogued(422, "validation-error", "validation-error.profile-or-kyc")
        return body.kyc_hash
    digest = profile_hash(body.profile.checked().model_dump())
    if body.kyc_hash is not None and body.kyc_hash.lower() != digest:
        params = {"kyc_hash": body.kyc_hash, "digest": digest}
        raise catalogued(422, "validation-error", "validation-error.kyc-not-profile-hash", params)
    return digest


def _uscc_free(session: Session, uscc: str, member_id: int | None) -> None:
    taken = session.scalar(select(MemberProfile.member_id).where(MemberProfile.uscc == uscc))
    if taken is not None and taken != member_id:
        params = {"uscc": uscc, "member_id": taken}
        raise catalogued(409, "uscc-in-use", "uscc-in-use.already-member", params, memberId=taken)


def store_profile(session: Session, member_id: int, profile: MemberProfileIn) -> MemberProfile:
    """Writes (or replaces) a member's profile row in `session`."""
    fields = profile.model_dump()
    row = session.get(MemberProfile, member_id)
    if row is None:
        row = MemberProfile(member_id=member_id)
        session.add(row)
    for name, value in fields.items():
        setattr(row, name, value)
    row.profile_hash = profile_hash(fields)
    return row


def _self_custody_proof(
    body: AdmitMemberIn, request: Request, principal: Principal, writes: WriteExecutor
) -> tuple[str, str] | None:
    """(address, challenge id) of a self-custody admission whose signature is valid; None for a custodial one."""
    given = [body.address, body.challenge_id, body.signature]
    if all(v is None for v in given):
        return None
    if body.address is None or body.challenge_id is None or body.signature is None:
        raise catalogued(422, "validation-error", "validation-error.self-custody-fields")
    address = Web3.to_checksum_address(body.address)
    raw = body.model_dump_json().encode()
    if not writes.started(request, principal.member_id, raw):  # a retry finds its challenge used by itself
        engine = request.app.state.engine
        with Session(engine) as session:
            taken = session.scalar(select(Member.id).where(func.lower(Member.account) == address.lower()))
            custodial = session.get(CustodyAccount, address) is not None
        if taken is not None or custodial:
            if taken:
                params = {"address": address, "member_id": taken}
                raise catalogued(409, "address-in-use", "address-in-use.member-account", params)
            raise catalogued(409, "address-in-use", "address-in-use.custodial-key", {"address": address})
        check_challenge(engine, body.challenge_id, address, body.signature, "admit")
    return address, body.challenge_id


# ------------------------------------------------------------------------- operator administration


def _member_now(request: Request, ctx: WriteContext, member_id: int) -> Member:
    ctx.settle_reads()
    with Session(request.app.state.engine) as session:
        member = session.get(Member, member_id)
        if member is None:
            raise catalogued(503, "indexer-lagging", "indexer-lagging.member-indexed-yet", {"member_id": member_id})
        session.expunge(member)
        return member


def _existing_member(session: Session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    return member


# The status a member must have for an action (checked before anything is sent): suspending a suspended member
# and reinstating an active one are the same mistake and answer alike, 409 with the state the member is in.
_NEEDS_STATUS = {
    "suspend": ("active", "suspended", "member-already-suspended", "Member already suspended"),
    "reinstate": ("suspended", "reinstated", "member-not-suspended", "Member not suspended"),
}


def _admin_action(path: str, function: Callable[[MemberRegistry, int], ContractCall], summary: str) -> None:
    @router.post(f"/{{member_id}}/{path}", response_model=MemberOut, summary=summary)
    def action(
        member_id: int,
        request: Request,
        session: DbSession,
        principal: Operator,
        ledger: Ledger,
        writes: Writes,
        custody: CustodyDep,
    ) -> JSONResponse:
        member = _existing_member(session, member_id)
        needed = _NEEDS_STATUS.get(path)
        retry = writes.started(request, principal.member_id, f"{path}:{member_id}".encode())  # replays its answer
        if needed is not None and member.status != needed[0] and not retry:
            status, done, slug, _title = needed
            params = {
                "member_id": member_id,
                "status_term": member.status,
                "needed_term": status,
                "done_term": f"{done}-action",
            }
            raise catalogued(409, slug, "member-status.only-when", params, memberStatus=member.status)

        def workflow(ctx: WriteContext) -> tuple[int, Any]:
            ctx.transact(custody.operator(), function(ledger.members, member_id))
            return 200, _operator_out(request.app.state.engine, _member_now(request, ctx, member_id)).model_dump(
                mode="json"
            )

        return writes.run(request, principal.member_id, f"{path}:{member_id}".encode(), ledger, workflow)

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
def set_credit_limit(
    member_id: int,
    body: CreditLimitIn,
    request: Request,
    session: DbSession,
    principal: Operator,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    _existing_member(session, member_id)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(custody.operator(), ledger.members.set_credit_limit(member_id, body.credit_limit))
        return 200, _operator_out(request.app.state.engine, _member_now(request, ctx, member_id)).model_dump(
            mode="json"
        )

    raw = f"{member_id}:".encode() + body.model_dump_json().encode()
    return writes.run(request, principal.member_id, raw, ledger, workflow)


@router.post(
    "/{member_id}/profile",
    response_model=MemberOut,
    summary="Set or replace a member's profile (operator): the profile is stored and its hash put on chain as the "
    "member's KYC hash",
)
def update_member_profile(
    member_id: int,
    body: MemberProfileIn,
    request: Request,
    session: DbSession,
    principal: Operator,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    _existing_member(session, member_id)
    profile = body.checked()
    digest = profile_hash(profile.model_dump())
    raw = f"profile:{member_id}:".encode() + body.model_dump_json().encode()
    if not writes.started(request, principal.member_id, raw):
        _uscc_free(session, profile.uscc, member_id)
    engine = request.app.state.engine

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(custody.operator(), ledger.members.set_kyc_hash(member_id, bytes.fromhex(digest[2:])))
        with Session(engine) as s, s.begin():
            store_profile(s, member_id, profile)
        return 200, _operator_out(engine, _member_now(request, ctx, member_id)).model_dump(mode="json")

    return writes.run(request, principal.member_id, raw, ledger, workflow)


ROTATION_BATCH = 100  # tokens per emitRotationTransfers transaction (about 3M gas)


def announce_rotation(
    request: Request, ctx: WriteContext, ledger: LedgerHandle, operator: LocalAccount, member_id: int
) -> None:
    """ERC-721 wants a `Transfer` for every change of ownership: the rotation froze the member (it holds
    tokens), so its notes and orders are announced in batches, then the rotation is finished. The token lists
    come from the read model once it has the rotation's block (the frozen member's holdings can only shrink) and
    are kept in the request's record, so a retried request sends the same batches."""
    ctx.settle_reads()

    def held() -> dict[str, list[int]]:
        if not ledger.members.rotation_of(member_id).rotating:
            return {"notes": [], "orders": [], "finish": []}
        with Session(request.app.state.engine) as s:
            notes = s.scalars(
                select(Note.id).where(Note.holder_id == member_id, Note.live.is_(True)).order_by(Note.id)
            ).all()
            orders = s.scalars(select(Order.id).where(Order.holder_id == member_id).order_by(Order.id)).all()
        return {"notes": list(notes), "orders": list(orders), "finish": [member_id]}

    tokens: dict[str, list[int]] = ctx.once("rotation_tokens", held)
    for name, contract in (("notes", ledger.notes), ("orders", ledger.orders)):
        ids = tokens[name]
        for start in range(0, len(ids), ROTATION_BATCH):
            ctx.transact(operator, contract.emit_rotation_transfers(member_id, ids[start : start + ROTATION_BATCH]))
    if tokens["finish"]:
        ctx.transact(operator, ledger.members.finish_rotation(member_id))


@router.post(
    "/{member_id}/rotate-key",
    response_model=RotatedKeyOut,
    summary="Replace a member's custodial key (operator): new account on chain, cash moved; API keys unchanged",
)
def rotate_key(
    member_id: int,
    request: Request,
    session: DbSession,
    principal: Operator,
    ledger: Ledger,
    writes: Writes,
    custody: CustodyDep,
) -> JSONResponse:
    current = _existing_member(session, member_id)
    if custody.account_of_member(session, member_id) is None:
        raise catalogued(409, "not-in-custody", "not-in-custody.not-held-here", {"member_id": member_id})
    engine = request.app.state.engine
    known_account = current.account

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        old_account: str = ctx.once("old_account", lambda: known_account)

        def create_account() -> str:
            with Session(engine) as s, s.begin():
                return custody.new_account(s).address

        new_account: str = ctx.once("account", create_account)
        fund_gas(ledger, custody.operator(), new_account)
        ctx.transact(custody.operator(), ledger.members.rotate_account(member_id, new_account))
        announce_rotation(request, ctx, ledger, custody.operator(), member_id)

        def move_custody() -> bool:
            with Session(engine) as s, s.begin():
                for row in s.scalars(select(CustodyAccount).where(CustodyAccount.member_id == member_id)):
                    row.member_id = None
                s.flush()
                fresh = s.get(CustodyAccount, new_account)
                if fresh is not None:
                    fresh.member_id = member_id
            return True

        ctx.once("custody", move_custody)
        receipt = ctx.transact(custody.operator(), ledger.cash.recover_rotated_balance(old_account))
        events = ledger.contract("CashToken").events.RotatedBalanceRecovered().process_receipt(receipt, errors=DISCARD)
        recovered = int(events[0]["args"]["amount"]) if events else 0
        member = _member_now(request, ctx, member_id)
        out = RotatedKeyOut(member=_out(member), old_account=old_account, recovered_cash=recovered)
        return 200, out.model_dump(mode="json")

    return writes.run(request, principal.member_id, f"rotate-key:{member_id}".encode(), ledger, workflow)
