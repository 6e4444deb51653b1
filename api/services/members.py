"""Members: how a member is answered (the directory, the operator's view), and the operator's workflows: admit,
suspend, reinstate, lift an issuance block, set a credit limit or a profile, rotate a custodial key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session
from web3 import Web3
from web3.logs import DISCARD

from api.deps import Principal, WriteDeps
from api.hexes import prefixed
from api.ledger import LedgerHandle
from api.problems import catalogued
from api.profiles import MemberProfileIn, MemberProfileOut, profile_hash
from api.schemas.cash import CreditLimitIn, RotatedKeyOut
from api.schemas.core import AdmitMemberIn, AdmittedMemberOut, MemberOut
from api.schemas.selfcustody import OwnKeyRotationIn
from api.selfcustody import check_challenge, check_signature, hold_address, use_challenge
from api.services.common import sees_everything
from api.tables import ApiKey, CustodyAccount, MemberProfile, SelfCustodyAccount, hash_api_key, new_api_key
from api.writes import WriteContext, WriteExecutor
from chain.node.client import MEMBER_GAS_WEI, fund_on_devchain, is_devchain
from chain.node.contracts import ContractCall, MemberRegistry
from chain.node.errors import TransactionError
from chain.node.roles import ROLE_BITS, Roles, role_names
from chain.readmodel.store import Member, Note, Order

RegistryCall = Callable[[MemberRegistry, int], ContractCall]


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


def member_out(
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
    return member_out(member, self_custody, profile, full=True)


def members_out(session: Session, members: list[Member], principal: Principal) -> list[MemberOut]:
    ids = [m.id for m in members]
    own = _self_custody_ids(session, ids)
    profiles = _profiles(session, ids)
    everything = sees_everything(principal)
    return [member_out(m, m.id in own, profiles.get(m.id), everything or m.id == principal.member_id) for m in members]


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


def _role_mask(names: list[str]) -> int:
    unknown = sorted(set(names) - set(ROLE_BITS))
    if unknown:
        params = {"unknown": str(unknown), "roles": str(sorted(ROLE_BITS))}
        raise catalogued(422, "validation-error", "validation-error.unknown-roles", params)
    mask = 0
    for name in names:
        mask |= ROLE_BITS[name]
    return mask


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


def _member_now(ctx: WriteContext, member_id: int) -> Member:
    def build(session: Session, member: Member) -> Member:
        session.expunge(member)
        return member

    return ctx.indexed(Member, member_id, "member-indexed-yet", {"member_id": member_id}, build)


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


def members_query(principal: Principal, q: str | None) -> Select[Member]:
    """Every member (the directory); `q` searches names and codes, for the operator and auditors only."""
    query = select(Member)
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
    return query


def admit_member(w: WriteDeps, body: AdmitMemberIn) -> JSONResponse:
    """The operator admits a member: its key in custody (or, self-custody, the address it proved it controls),
    its admission on chain, its API key (201, shown once)."""
    mask = _role_mask(body.roles)
    if body.mint_ceiling and not mask & Roles.FINANCIER:
        raise catalogued(422, "validation-error", "validation-error.mint-ceiling-financiers")
    engine, ledger, custody = w.engine, w.ledger, w.custody
    kyc_hash = _admission_kyc_hash(body)
    if body.profile is not None and not w.started(body):
        with Session(engine) as session:
            _uscc_free(session, body.profile.uscc, None)
    own = _self_custody_proof(body, w.request, w.principal, w.writes)

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

        def build(_session: Session, member: Member) -> tuple[int, Any]:
            out = AdmittedMemberOut(
                member=_operator_out(engine, member, own is not None),
                api_key=api_key,
                tx_hash=prefixed(receipt["transactionHash"]),
            )
            return 201, out.model_dump(mode="json")

        return ctx.indexed(Member, member_id, "member-indexed-yet", {"member_id": member_id}, build)

    return w.run(body, workflow)


def change_status(w: WriteDeps, member_id: int, path: str, function: RegistryCall) -> JSONResponse:
    """The operator suspends or reinstates a member, or lifts its issuance block (`path`: which)."""
    member = _existing_member(w.session, member_id)
    needed = _NEEDS_STATUS.get(path)
    retry = w.started(f"{path}:{member_id}")  # replays its answer
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
        ctx.transact(w.custody.operator(), function(w.ledger.members, member_id))
        return 200, _operator_out(w.engine, _member_now(ctx, member_id)).model_dump(mode="json")

    return w.run(f"{path}:{member_id}", workflow)


def set_credit_limit(w: WriteDeps, member_id: int, body: CreditLimitIn) -> JSONResponse:
    """The operator sets an obligor's credit limit."""
    _existing_member(w.session, member_id)

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(w.custody.operator(), w.ledger.members.set_credit_limit(member_id, body.credit_limit))
        return 200, _operator_out(w.engine, _member_now(ctx, member_id)).model_dump(mode="json")

    return w.run(f"{member_id}:" + body.model_dump_json(), workflow)


def update_member_profile(w: WriteDeps, member_id: int, body: MemberProfileIn) -> JSONResponse:
    """The operator sets or replaces a member's profile; its hash goes on chain as the member's KYC hash."""
    _existing_member(w.session, member_id)
    profile = body.checked()
    digest = profile_hash(profile.model_dump())
    raw = f"profile:{member_id}:" + body.model_dump_json()
    if not w.started(raw):
        _uscc_free(w.session, profile.uscc, member_id)
    engine = w.engine

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        ctx.transact(w.custody.operator(), w.ledger.members.set_kyc_hash(member_id, bytes.fromhex(digest[2:])))
        with Session(engine) as s, s.begin():
            store_profile(s, member_id, profile)
        return 200, _operator_out(engine, _member_now(ctx, member_id)).model_dump(mode="json")

    return w.run(raw, workflow)


def rotate_key(w: WriteDeps, member_id: int) -> JSONResponse:
    """The operator replaces a member's custodial key: a new account on chain, its cash moved."""
    current = _existing_member(w.session, member_id)
    if w.custody.account_of_member(w.session, member_id) is None:
        raise catalogued(409, "not-in-custody", "not-in-custody.not-held-here", {"member_id": member_id})
    engine, ledger, custody, request = w.engine, w.ledger, w.custody, w.request
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
        return _rotation_answer(w, ctx, member_id, old_account, self_custody=False)

    return w.run(f"rotate-key:{member_id}", workflow)


def _rotation_answer(
    w: WriteDeps, ctx: WriteContext, member_id: int, old_account: str, *, self_custody: bool
) -> tuple[int, Any]:
    """The last step of a key rotation, custodial or self-custody: the old account's cash is moved to the new
    one, and the answer is the member as the read model has it then."""
    ledger = w.ledger
    receipt = ctx.transact(w.custody.operator(), ledger.cash.recover_rotated_balance(old_account))
    events = ledger.contract("CashToken").events.RotatedBalanceRecovered().process_receipt(receipt, errors=DISCARD)
    recovered = int(events[0]["args"]["amount"]) if events else 0
    member = _member_now(ctx, member_id)
    out = RotatedKeyOut(member=member_out(member, self_custody), old_account=old_account, recovered_cash=recovered)
    return 200, out.model_dump(mode="json")


def self_custody_member(session: Session, principal: Principal, member_id: int) -> tuple[Member, SelfCustodyAccount]:
    """A self-custody member, for itself or the operator: 403 for anyone else, 404, 409 for a custodial member."""
    if not principal.is_operator and principal.member_id != member_id:
        raise catalogued(403, "forbidden", "forbidden.only-member-itself")
    member = session.get(Member, member_id)
    if member is None:
        raise catalogued(404, "not-found", "not-found.no-member-id", {"member_id": member_id})
    own = session.scalar(select(SelfCustodyAccount).where(SelfCustodyAccount.member_id == member_id))
    if own is None:
        raise catalogued(409, "not-self-custody", "not-self-custody.member-key-in", {"member_id": member_id})
    return member, own


def rotate_own_key(w: WriteDeps, member_id: int, body: OwnKeyRotationIn) -> JSONResponse:
    """A self-custody member rotates its account, proved by signatures of its current and its new key."""
    member, _ = self_custody_member(w.session, w.principal, member_id)
    engine, ledger, custody, request = w.engine, w.ledger, w.custody, w.request
    new_address = Web3.to_checksum_address(body.new_address)
    old_address = Web3.to_checksum_address(member.account)
    if not w.started(body):  # a retry finds the challenge used and the key moved
        challenge = check_challenge(engine, body.challenge_id, new_address, body.new_signature, "rotate", member_id)
        check_signature(challenge.message, body.old_signature, old_address, "current key")

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        old: str = ctx.once("old_account", lambda: old_address)

        def take_challenge() -> bool:
            return use_challenge(engine, body.challenge_id)

        ctx.once("challenge", take_challenge)
        if is_devchain(ledger.w3):
            fund_on_devchain(ledger.w3, new_address)
        ctx.transact(custody.operator(), ledger.members.rotate_account(member_id, new_address))
        # the same Transfer announcements and finish as a custodial rotation: a member holding tokens is frozen
        # (MemberRotating) until every note and order moved to the new account was announced
        announce_rotation(request, ctx, ledger, custody.operator(), member_id)

        def move_record() -> bool:
            with Session(engine) as s, s.begin():
                for row in s.scalars(select(SelfCustodyAccount).where(SelfCustodyAccount.member_id == member_id)):
                    row.member_id = None
                s.flush()
                hold_address(s, new_address, member_id)
            return True

        ctx.once("self_custody", move_record)
        return _rotation_answer(w, ctx, member_id, old, self_custody=True)

    return w.run(body, workflow)
