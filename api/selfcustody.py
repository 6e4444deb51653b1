"""Self-custody members: the service prepares each transaction, the member signs it, the service checks and sends it.

A write route runs as for any member until the workflow would sign (`WriteContext.transact`): for a `MemberKey`
it calls `prepare_for_member`, which stores the transaction to sign (a `PreparedTransaction` row, and its id in
the request's idempotency record at the step that needs it) and raises `SignatureRequired`: the answer is 202
with the transaction and a human summary, rendered from the decoded call in the language of the request's
`Accept-Language` (`CallSummary`, catalogue keys `custody.*`; the `summary` column keeps the English). The
idempotency record stays in flight.

`POST /v1/transactions` takes the signed raw transaction: `accept_signed` decodes it, checks that it is the
prepared one (sender, to, data, value, chain id, nonce; gas and fees within bounds), stores it in the record as
a signed step *before* it is broadcast (the custodial path's crash rule), and `redispatch` runs the original
request again inside the app with the same Idempotency-Key: the workflow finds the signed step, broadcasts it
through the signer's queue and waits for its receipt (`WriteContext._resume`), then the indexer, and answers
exactly as a custodial write (same body, status, problem+json for a revert), in the language of the request
that submitted the signed transaction. A second prepared transaction of
the same request (a workflow of two transactions) is answered 202 again. The same signed transaction submitted
twice is one write: a nonce executes once, and the finished record replays its answer.

Admission and key rotation prove control of an address by an EIP-191 `personal_sign` of a server-issued,
single-use, expiring challenge naming the address and the chain id (`issue_challenge`, `use_challenge`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import rlp
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.messages import encode_defunct
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from hexbytes import HexBytes
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from web3 import Web3

from api import i18n
from api.amounts import display_amount
from api.faults import kill_point
from api.ledger import LedgerHandle
from api.problems import INNER_REQUEST, Problem, catalogued, problem_response
from api.tables import (
    CustodyChallenge,
    IdempotencyRecord,
    MemberProfile,
    PreparedTransaction,
    SelfCustodyAccount,
    now,
)
from chain.node.signer import SignedTx, TransactionQueue
from chain.readmodel.store import Member, durable_begin

CHALLENGE_TTL = timedelta(minutes=10)
GAS_BOUNDS = (0.5, 2.0)  # the signed gas limit may be this fraction/multiple of the prepared one
FEE_CAP_FACTOR = 10  # the signed maxFeePerGas (gasPrice) at most this many times the prepared one, plus 10 gwei
FEE_CAP_EXTRA = 10 * 10**9
_AMOUNT_ARGS = {"value", "amount", "faceValue", "price", "creditLimit", "principal"}
_KEPT_HEADERS = ("content-type", "accept-language")


# ----------------------------------------------------------------------------------- the request being served


@dataclass
class _Captured:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytearray


_REQUEST: ContextVar[_Captured | None] = ContextVar("scf_selfcustody_request", default=None)


class CaptureRequest:
    """ASGI middleware: keeps the method, path, kept headers and body of each POST in a context variable, so that
    a prepared transaction can name the request to run again once the member has signed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        captured = _Captured(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode("latin-1"),
            headers={k: headers[k] for k in _KEPT_HEADERS if k in headers},
            body=bytearray(),
        )
        token = _REQUEST.set(captured)

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                captured.body.extend(message.get("body", b""))
            return message

        try:
            await self.app(scope, receive_and_keep, send)
        finally:
            _REQUEST.reset(token)


# ----------------------------------------------------------------------------------------- preparing


class SignatureRequired(Exception):
    """Raised by the write path for a self-custody member: answered 202 with the transaction to sign, its summary
    and instructions in the language of the request's `Accept-Language` (rendered by the handler)."""

    def __init__(self, payload: dict[str, Any], described: CallSummary) -> None:
        super().__init__(described.text(i18n.DEFAULT))
        self.payload = payload
        self.described = described

    def body(self, language: str) -> dict[str, Any]:
        """The 202 answer: the payload with the summary and the instructions in `language` (the stored row's
        `summary` is the English record, never sent)."""
        payload = dict(self.payload)
        return {
            **{k: payload.pop(k) for k in ("status", "prepared_id")},
            "summary": self.described.text(language),
            **payload,
            "detail": i18n.text(language, "custody.sign_detail"),
        }


class StillOpen(Exception):
    """A problem answered without finishing the request's idempotency record (a `Problem` raised in a workflow
    would store it as the request's final answer): its signed transaction may still finish it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.detail)
        self.problem = problem


def install(app: FastAPI) -> None:
    async def _signature_required(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SignatureRequired)
        language = i18n.negotiate(request.headers.get("accept-language"))
        headers = {"Content-Language": language, "Vary": "Accept-Language"}
        return JSONResponse(exc.body(language), status_code=202, headers=headers)

    async def _still_open(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StillOpen)
        return problem_response(exc.problem, request.url.path)

    app.add_exception_handler(SignatureRequired, _signature_required)
    app.add_exception_handler(StillOpen, _still_open)
    app.add_middleware(CaptureRequest)


def _required(row: PreparedTransaction, described: CallSummary) -> SignatureRequired:
    payload = {
        "status": "signature-required",
        "prepared_id": row.id,
        "transaction": {"from": row.sender, **row.fields},
        "submit": "/v1/transactions",
    }
    return SignatureRequired(payload, described)


def prepare_for_member(ctx: Any, step: int, queue: TransactionQueue, tx: Mapping[str, Any], contract: str) -> Exception:
    """The transaction `ctx` (a `WriteContext`) would send at `step`, prepared for the member to sign: returns
    `SignatureRequired` (to raise), after storing it. Reverts are found here, before anything is prepared."""
    captured = _REQUEST.get()
    if ctx.record_id is None or captured is None:
        return catalogued(428, "idempotency-key-required", "idempotency-key-required.self-custody")
    engine: Engine = ctx.engine
    ledger: LedgerHandle = ctx.ledger
    prior = ctx.prior_steps[step] if step < len(ctx.prior_steps) else {}
    if "prepared" in prior and "signed" not in prior:
        with Session(engine) as session:
            row = session.get(PreparedTransaction, prior["prepared"])
        if row is not None:
            mined = int(queue.rpc.call("eth_getTransactionCount", queue.address, "latest"), 16)
            if mined <= row.nonce:
                described = describe(ledger, engine, contract, row.fields["data"], row.sender, row.method, row.path)
                return _required(row, described)  # the same transaction to sign again, in this request's language
            return StillOpen(
                catalogued(
                    409,
                    "prepared-nonce-used",
                    "prepared-nonce-used.finish-or-new-key",
                    {"nonce": row.nonce, "sender": row.sender, "id": row.id},
                )
            )
    fields = queue._base_fields(tx)
    queue._preflight(fields, contract)  # gas estimate; a revert raises ContractRevertError here
    latest = queue.rpc.call("eth_getBlockByNumber", "latest", False) or {}
    if latest.get("baseFeePerGas") is None:  # a node without EIP-1559: a legacy transaction
        fields.pop("type", None)
        fields["gasPrice"] = int(queue.rpc.call("eth_gasPrice"), 16)
    else:
        fields.update(queue._fees())
    fields["nonce"] = int(queue.rpc.call("eth_getTransactionCount", queue.address, "pending"), 16)
    described = describe(ledger, engine, contract, fields["data"], queue.address, captured.method, captured.path)
    row = PreparedTransaction(
        id=uuid.uuid4().hex,
        principal=ctx.record_id[0],
        idempotency_key=ctx.record_id[1],
        step=step,
        method=captured.method,
        path=captured.path,
        query=captured.query,
        headers=captured.headers,
        body=bytes(captured.body).hex(),
        sender=queue.address,
        nonce=fields["nonce"],
        fields=fields,
        summary=described.text(i18n.DEFAULT),  # the record's; each answer renders it in its caller's language
        state="prepared",
    )
    with Session(engine) as session, session.begin():
        session.add(row)
        session.flush()
        session.expunge(row)
    ctx._store_step(step, {"prepared": row.id})
    return _required(row, described)


@dataclass(frozen=True)
class Party:
    """An address a transaction names: a member (with its display name where it has a profile) or a bare address."""

    address: str
    member_id: int | None = None
    name: str | None = None

    def text(self, language: str) -> str:
        if self.member_id is None:
            return self.address
        if self.name is None:
            return i18n.text(language, "custody.member", id=self.member_id)
        return i18n.text(language, "custody.member_named", name=self.name, id=self.member_id)


@dataclass(frozen=True)
class CallSummary:
    """What a prepared transaction does, decoded once and rendered in any catalogue language: the function and
    argument names are the contract's (code) and stay as they are; the words around them and "member N" are the
    catalogue's (`custody.*`)."""

    method: str
    path: str
    contract: str
    signer: Party
    function: str | None  # None: the data does not decode as a call of `contract`
    args: tuple[tuple[str, str | Party], ...] = ()

    def text(self, language: str) -> str:
        """'POST /v1/notes/12/split: ReceivableNotes.split(fromTokenId=12, to=恒通车桥 (member 7), value=300,000.00)
        signed by 浦江商业 (member 4)' in English; the Chinese template puts the same call in Chinese words
        (`custody.summary`: 签名方, 成员 7, full-width punctuation)."""
        signer = self.signer.text(language)
        where = {"method": self.method, "path": self.path, "contract": self.contract, "signer": signer}
        if self.function is None:
            return i18n.text(language, "custody.summary_undecoded", **where)
        separator = i18n.text(language, "custody.args_separator")
        args = separator.join(
            f"{name}={value.text(language) if isinstance(value, Party) else value}" for name, value in self.args
        )
        return i18n.text(language, "custody.summary", function=self.function, args=args, **where)


def describe(
    ledger: LedgerHandle, engine: Engine, contract: str, data: str, sender: str, method: str, path: str
) -> CallSummary:
    """The call `data` makes to `contract`, signed by `sender`, for the request `method path`: addresses named as
    members (the signer may see every counterparty of its own transaction: it names them in the request), amounts
    in the ledger's display form."""
    with Session(engine) as session:

        def who(address: str) -> Party:
            member = session.scalar(select(Member).where(func.lower(Member.account) == address.lower()))
            if member is None:
                return Party(address)
            profile = session.get(MemberProfile, member.id)
            return Party(address, member.id, profile.display_name if profile is not None else None)

        signer = who(sender)
        try:
            function, decoded = ledger.contract(contract).decode_function_input(data)
        except ValueError:
            return CallSummary(method, path, contract, signer, None)
        args: list[tuple[str, str | Party]] = []
        for name, value in decoded.items():
            if isinstance(value, str) and Web3.is_address(value):
                args.append((name, who(value)))
            elif isinstance(value, int) and not isinstance(value, bool) and name in _AMOUNT_ARGS:
                args.append((name, display_amount(value)))
            elif isinstance(value, bytes):
                args.append((name, f"0x{value.hex()}"))
            else:
                args.append((name, str(value)))
        return CallSummary(method, path, contract, signer, function.fn_name, tuple(args))


# -------------------------------------------------------------------------------------- submitting


@dataclass(frozen=True)
class Decoded:
    sender: str
    tx_hash: str
    raw: str
    fields: dict[str, Any]


def decode_signed(raw: str) -> Decoded:
    """Sender and fields of a raw signed transaction (EIP-1559 or legacy); 422 when it is not one."""
    try:
        data = HexBytes(raw)
        if data and data[0] <= 0x7F:
            typed = TypedTransaction.from_bytes(data).as_dict()
            if int(typed.get("type", 0)) != 2:
                raise ValueError("only EIP-1559 (type 2) and legacy transactions are accepted")
            fields: dict[str, Any] = {
                "type": 2,
                "chainId": int(typed["chainId"]),
                "maxFeePerGas": int(typed["maxFeePerGas"]),
                "maxPriorityFeePerGas": int(typed["maxPriorityFeePerGas"]),
            }
        else:
            typed = rlp.decode(bytes(data), LegacyTransaction).as_dict()
            v = int(typed["v"])
            if v < 35:
                raise ValueError("a legacy transaction must name its chain id (EIP-155)")
            fields = {"chainId": (v - 35) // 2, "gasPrice": int(typed["gasPrice"])}
        to = bytes(typed["to"])
        fields.update(
            to=Web3.to_checksum_address(to) if to else None,
            data=HexBytes(typed["data"]).to_0x_hex(),
            value=int(typed["value"]),
            gas=int(typed["gas"]),
            nonce=int(typed["nonce"]),
        )
        sender = Account.recover_transaction(data)
        tx_hash = Web3.keccak(data).to_0x_hex()
    except Exception as exc:
        raise catalogued(
            422, "invalid-signed-transaction", "invalid-signed-transaction.cannot-decode", {"exc": exc}
        ) from exc
    return Decoded(sender=sender, tx_hash=tx_hash, raw=data.to_0x_hex(), fields=fields)


def mismatches(prepared: PreparedTransaction, signed: Decoded) -> list[str]:
    """How a signed transaction differs from the prepared one beyond the allowed bounds (empty: it is the one)."""
    want = prepared.fields
    out = []
    if signed.sender.lower() != prepared.sender.lower():
        out.append(f"signed by {signed.sender}, prepared for {prepared.sender}")
    for name in ("to", "data", "value", "chainId", "nonce"):
        mine, theirs = want.get(name), signed.fields.get(name)
        if isinstance(mine, str) and isinstance(theirs, str):
            mine, theirs = mine.lower(), theirs.lower()
        if mine != theirs:
            out.append(f"{name} is {signed.fields.get(name)!r}, prepared {want.get(name)!r}")
    low, high = (int(want["gas"] * bound) for bound in GAS_BOUNDS)
    if not low <= signed.fields["gas"] <= high:
        out.append(f"gas {signed.fields['gas']} outside [{low}, {high}]")
    prepared_fee = int(want.get("maxFeePerGas", want.get("gasPrice", 0)))
    fee = int(signed.fields.get("maxFeePerGas", signed.fields.get("gasPrice", 0)))
    cap = prepared_fee * FEE_CAP_FACTOR + FEE_CAP_EXTRA
    if fee > cap:
        out.append(f"fee cap {fee} above {cap}")
    return out


@dataclass(frozen=True)
class Redispatch:
    row: PreparedTransaction
    done: IdempotencyRecord | None = None  # the request was answered: replay that answer


def accept_signed(engine: Engine, principal: int, raw: str, prepared_id: str | None) -> Redispatch:
    """Checks a signed transaction against its prepared one and stores it; returns the request to run again.
    Nothing is stored or sent when it is not the prepared transaction."""
    signed = decode_signed(raw)
    with Session(engine) as session:
        if prepared_id is not None:
            row = session.get(PreparedTransaction, prepared_id)
        else:
            row = session.scalars(
                select(PreparedTransaction)
                .where(
                    PreparedTransaction.principal == principal,
                    func.lower(PreparedTransaction.sender) == signed.sender.lower(),
                    PreparedTransaction.nonce == signed.fields["nonce"],
                )
                .order_by(PreparedTransaction.created_at.desc())
            ).first()
        if row is None or row.principal != principal:
            raise catalogued(404, "not-found", "not-found.no-prepared-transaction")
        record = session.get(IdempotencyRecord, (row.principal, row.idempotency_key))
        session.expunge(row)
    differences = mismatches(row, signed)
    if differences:
        params = {"id": row.id, "differences": "; ".join(differences)}
        raise catalogued(422, "transaction-mismatch", "transaction-mismatch.differences", params)
    if record is None:
        raise catalogued(410, "prepared-transaction-gone", "prepared-transaction-gone.request-no-longer")
    if record.state == "done":
        return Redispatch(row, done=record)  # answered before: its answer is replayed
    steps = list(record.steps or [])
    if row.step >= len(steps) or steps[row.step].get("prepared") != row.id:
        raise catalogued(
            409, "prepared-transaction-replaced", "prepared-transaction-replaced.sign-other", {"id": row.id}
        )
    earlier = SignedTx.from_json(steps[row.step]["signed"]) if "signed" in steps[row.step] else None
    superseded: tuple[str, ...] = ()
    if earlier is not None and earlier.tx_hash.lower() != signed.tx_hash.lower():
        superseded = earlier.hashes  # re-signed (say, with higher fees): either version may be the one that mines
    elif earlier is not None:
        superseded = earlier.superseded
    version = SignedTx(
        sender=Web3.to_checksum_address(signed.sender),
        nonce=signed.fields["nonce"],
        tx_hash=signed.tx_hash,
        raw=signed.raw,
        fields=signed.fields,
        superseded=superseded,
    )
    steps[row.step] = {"prepared": row.id, "signed": version.to_json(), "tx_hash": version.tx_hash}
    with durable_begin(engine) as conn:  # on disk before it is broadcast, as every custodial transaction
        conn.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.principal == row.principal, IdempotencyRecord.key == row.idempotency_key)
            .values(steps=steps)
        )
        conn.execute(
            update(PreparedTransaction)
            .where(PreparedTransaction.id == row.id)
            .values(state="signed", tx_hash=version.tx_hash, raw=version.raw)
        )
    kill_point("before-send")  # stored, not broadcast: the request's retry (below) broadcasts it
    return Redispatch(row)


async def redispatch(request: Request, target: Redispatch) -> Response:
    """Runs the prepared transaction's request again inside the app, with the caller's credentials and the
    request's Idempotency-Key: it resumes at the signed step (broadcasts the stored transaction, waits for its
    receipt and the indexer) and answers as the custodial write would. A request already answered replays its
    stored answer (its route's checks would now see the state after the write)."""
    if target.done is not None:
        replayed: Response = request.app.state.writes._replay(target.done)
        return replayed
    row = target.row
    kept_headers = dict(row.headers or {})
    language = request.headers.get("accept-language")
    if language is not None:  # answered in the language of whoever submits the signed transaction
        kept_headers["accept-language"] = language
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept_headers.items()]
    body = bytes.fromhex(row.body)
    headers.append((b"idempotency-key", row.idempotency_key.encode("latin-1")))
    headers.append((b"content-length", str(len(body)).encode()))
    authorization = request.headers.get("authorization")
    if authorization is not None:
        headers.append((b"authorization", authorization.encode("latin-1")))
    scope: dict[str, Any] = {
        k: v for k, v in request.scope.items() if k not in {"route", "endpoint", "path_params", "router", "app"}
    }
    scope[INNER_REQUEST] = True  # its problems are localized once, by this request's ProblemLanguage
    scope.update(
        method=row.method,
        path=row.path,
        raw_path=row.path.encode(),
        query_string=(row.query or "").encode("latin-1"),
        headers=headers,
    )
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    status = 500
    out_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    app: Callable[[Scope, Receive, Send], Awaitable[None]] = request.app
    await app(scope, receive, send)
    kept = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in out_headers
        if k.lower() in {b"content-type", b"content-language", b"vary", b"idempotent-replayed", b"location"}
    }
    return Response(b"".join(chunks), status_code=status, headers=kept)


# ---------------------------------------------------------------------------------------- challenges


def issue_challenge(
    engine: Engine,
    chain_id: int,
    address: str,
    purpose: str,
    member_id: int | None = None,
    *,
    old_address: str | None = None,
) -> dict[str, Any]:
    """A message for `address` to sign (EIP-191 personal_sign), usable once before it expires."""
    if not Web3.is_address(address):
        raise catalogued(422, "invalid-address", "invalid-address.ethereum-address", {"address": address})
    checksum = Web3.to_checksum_address(address)
    challenge_id = uuid.uuid4().hex
    expires = datetime.now(UTC) + CHALLENGE_TTL
    if purpose == "admit":
        action = "be admitted as a self-custody member"
    else:  # rotate: the current key signs this text too
        action = f"replace {old_address} as the key of member {member_id}"
    message = (
        f"SCF Chain: the holder of {checksum} asks to {action}.\n"
        f"Chain id: {chain_id}\nChallenge: {challenge_id}\nExpires: {expires.isoformat(timespec='seconds')}"
    )
    with Session(engine) as session, session.begin():
        session.add(
            CustodyChallenge(
                id=challenge_id,
                address=checksum,
                purpose=purpose,
                member_id=member_id,
                message=message,
                expires_at=expires,
            )
        )
    return {"challenge_id": challenge_id, "address": checksum, "message": message, "expires_at": expires.isoformat()}


def check_challenge(
    engine: Engine, challenge_id: str, address: str, signature: str, purpose: str, member_id: int | None = None
) -> CustodyChallenge:
    """The challenge, when `signature` by `address` over it is valid, unused and unexpired; else 422/409."""
    with Session(engine) as session:
        challenge = session.get(CustodyChallenge, challenge_id)
        if challenge is not None:
            session.expunge(challenge)
    if challenge is None or challenge.purpose != purpose or challenge.address.lower() != address.lower():
        params = {"purpose": purpose, "challenge_id": challenge_id, "address": address}
        raise catalogued(422, "invalid-challenge", "invalid-challenge.unknown", params)
    if purpose == "rotate" and challenge.member_id != member_id:
        raise catalogued(
            422, "invalid-challenge", "invalid-challenge.challenge-another-member", {"challenge_id": challenge_id}
        )
    expires = challenge.expires_at if challenge.expires_at.tzinfo else challenge.expires_at.replace(tzinfo=UTC)
    if challenge.used_at is not None:
        raise catalogued(409, "challenge-used", "challenge-used.challenge-was-used", {"challenge_id": challenge_id})
    if expires < datetime.now(UTC):
        raise catalogued(422, "challenge-expired", "challenge-expired.ask-new", {"challenge_id": challenge_id})
    check_signature(challenge.message, signature, address, "key")
    return challenge


def check_signature(message: str, signature: str, address: str, which: str) -> None:
    """422 unless `signature` is `address`'s personal_sign (EIP-191) of `message`."""
    try:
        signer = Account.recover_message(encode_defunct(text=message), signature=HexBytes(signature))
    except Exception as exc:
        raise catalogued(422, "invalid-signature", "invalid-signature.cannot-read-signature", {"exc": exc}) from exc
    if signer.lower() != address.lower():
        params = {"signer": signer, "which": which, "address": address}
        raise catalogued(422, "invalid-signature", "invalid-signature.wrong-signer", params)


def use_challenge(engine: Engine, challenge_id: str) -> bool:
    """Marks a challenge used; 409 when another request used it first."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(CustodyChallenge)
            .where(CustodyChallenge.id == challenge_id, CustodyChallenge.used_at.is_(None))
            .values(used_at=now())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise catalogued(409, "challenge-used", "challenge-used.challenge-was-used", {"challenge_id": challenge_id})
    return True


def hold_address(session: Session, address: str, member_id: int | None) -> None:
    """Records `address` as a self-custody account (of `member_id`, or of a member about to be admitted); reuses the
    row a failed admission left behind; 409 when another member has it."""
    row = session.get(SelfCustodyAccount, address)
    if row is None:
        session.add(SelfCustodyAccount(account=address, member_id=member_id))
        return
    if row.member_id is not None and row.member_id != member_id:
        params = {"address": address, "member_id": row.member_id}
        raise catalogued(409, "address-in-use", "address-in-use.member-account", params)
    row.member_id = member_id
