"""The write pipeline: idempotency -> workflow -> signer -> chain -> receipt -> indexer -> response.

Idempotency (`Idempotency-Key` header on any POST):
- the key and a hash of the request are stored *before* any transaction is signed;
- every signed transaction is stored in the record before it is broadcast (the signer's
  `before_send` hook), so a retry after a crash re-broadcasts the same signed bytes and waits for
  them, instead of signing a second transaction;
- the same key and body replay the stored response; another body gets 422; a request with that key
  still running in this process gets 409;
- a stored answer follows the chain: each mined transaction's block (number and hash) is stored with it, and a
  replay first checks that the node still has each receipt in that block. A write whose transaction a reorg or a
  lost block window orphaned is resumed under its key (its stored transaction re-broadcast, or sent anew when
  its nonce went to another), answering the outcome now; when it can no longer be done, `409 write-orphaned`.
  Never a stale answer;
- one transaction, one request (`IdempotencyTx`): a request never confirms with another request's receipt.

Read-your-writes: a workflow returns only after the indexer has processed the block of its last
receipt, so the response (built from the read model) already shows the new state.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import requests
from eth_account.signers.local import LocalAccount
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import ColumnElement, Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from web3.types import TxReceipt

from api import i18n
from api.audit import record_tx_hash
from api.custody import MemberKey
from api.faults import kill_point
from api.ledger import LedgerHandle
from api.problems import PROBLEM_JSON, Problem, catalogued
from api.sealing import Sealer, is_sealed
from api.tables import IdempotencyRecord, IdempotencyTx
from chain.node.contracts import ContractCall
from chain.node.errors import (
    ChainStalledError,
    ChainUnavailableError,
    NonceConsumedError,
    ReceiptMissingError,
    TransactionClaimedError,
    TransactionError,
    TransactionTimeoutError,
)
from chain.node.revert import ContractRevertError
from chain.node.signer import SignedTx, TransactionQueue
from chain.readmodel.store import durable_begin

R = TypeVar("R")
M = TypeVar("M")

BOOT_ID = uuid.uuid4().hex  # a record left in flight by another boot was abandoned by a crash
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")

# Contract errors -> HTTP status. Unknown ids 404, permission 403, bad values 422, state conflicts 409.
_FORBIDDEN = {
    "MissingRole",
    "NotAMember",
    "MemberNotActive",
    "NotApproved",
    "InsufficientAllowance",
    "AccessControlUnauthorizedAccount",
}
_INVALID = {
    "InsufficientValue",
    "ValueBelowMinimum",
    "PaymentBelowMinimum",
    "ZeroValue",
    "SelfTransfer",
    "SlotMismatch",
    "ZeroInvoiceHash",
    "ZeroAddress",
    "SelfDealing",
    "FaceValueAboveOrderAmount",
    "ERC20InsufficientBalance",
    "ERC20InvalidReceiver",
    "Overfunded",
}


# Named "Not..."/"Invalid..." but about the object's state, not the caller's permission or the request's values.
_STATE_CONFLICTS = {
    "NotMatured",
    "NotFullyFunded",
    "NotBlocked",
    "NotARotatedAccount",
    "InvalidOrderState",
    "InvalidRecourseState",
    "InvalidStatusChange",
}


def status_for_contract_error(name: str) -> int:
    if name.startswith("Unknown") and name != "Unknown":
        return 404
    if name in _STATE_CONFLICTS:
        return 409
    if re.match(r"Not[A-Z]", name) or name in _FORBIDDEN:
        return 403
    if name.startswith("Invalid") or name in _INVALID:
        return 422
    return 409


def revert_problem(exc: ContractRevertError) -> Problem:
    """The contract's refusal, named by its decoded error: the title says what the error means (catalogue key
    `problem.contract.<Error>`), the detail gives its arguments (or the revert's reason)."""
    call = exc.error
    if exc.arguments:
        call += "(" + ", ".join(f"{k}={v}" for k, v in exc.arguments.items()) + ")"
    elif exc.reason:
        call += f": {exc.reason}"
    known = CONTRACT_TITLE_PREFIX + exc.error
    return catalogued(
        status_for_contract_error(exc.error),
        contract_error_slug(exc.error),
        "contract.refused",
        {"call": call, "error": exc.error},
        title_key=known if known in i18n.catalogue(i18n.DEFAULT) else CONTRACT_TITLE_PREFIX.rstrip("."),
        contractError=exc.as_dict(),
    )


CONTRACT_TITLE_PREFIX = "problem.contract."


def contract_error_slug(name: str) -> str:
    """A stable problem type per contract error: InvoiceAlreadyTokenised -> invoice-already-tokenised."""
    if not name or not name[0].isalpha():
        return "contract-error"
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def _record_is(record_id: tuple[int, str]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The WHERE clause of one idempotency record: (principal, key)."""
    return IdempotencyRecord.principal == record_id[0], IdempotencyRecord.key == record_id[1]


# A sent transaction's step, stored with its claim: the same statements every time, parameters apart (a statement
# built per call had its cache key computed per call, its values included)
_CLAIM_TX = insert(IdempotencyTx)
_STORE_STEPS = (
    update(IdempotencyRecord)
    .where(IdempotencyRecord.principal == bindparam("record_principal"))
    .where(IdempotencyRecord.key == bindparam("record_key"))
    .values(steps=bindparam("new_steps", type_=IdempotencyRecord.__table__.c.steps.type))
)


# A request's claim and its answer, likewise: built per call, each cost more CPU than its execution (about 0.17 ms of
# building and cache-key computing per write, for each of the two, measured in-process on SQLite)
_CLAIM_RECORD = insert(IdempotencyRecord)
_RECORD_DONE = (
    update(IdempotencyRecord)
    .where(IdempotencyRecord.principal == bindparam("record_principal"))
    .where(IdempotencyRecord.key == bindparam("record_key"))
    .values(
        state="done",
        status_code=bindparam("done_status"),
        response=bindparam("done_response", type_=IdempotencyRecord.__table__.c.response.type),
        steps=bindparam("new_steps", type_=IdempotencyRecord.__table__.c.steps.type),
    )
)


def _steps_row(record_id: tuple[int, str], steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"record_principal": record_id[0], "record_key": record_id[1], "new_steps": list(steps)}


def _clean_request_session(request: Request) -> Session | None:
    """The request's session (api/deps.py `db_session`) when it holds a connection and changed nothing."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None or not session.in_transaction() or session.new or session.dirty or session.deleted:
        return None
    return session


def release_request_session(request: Request) -> None:
    """Gives the request's database connection (api/deps.py `db_session`) back to the pool before the write takes
    another one for its own steps, or waits for the chain or the indexer (seconds).

    Held through those, writes in flight took every connection of the pool while each wanted a second one for
    its next step: every write then waited out the pool timeout (the bench's 128 clients got only errors). Only
    a session that changed nothing is ended (a rollback of its read transaction); it reconnects when used again,
    and what it loaded is read afresh then."""
    session = _clean_request_session(request)
    if session is not None:
        session.rollback()


@dataclass
class WriteContext:
    """Handed to a workflow: sends its transactions, idempotently, and waits for the read model."""

    ledger: LedgerHandle | None  # None: a workflow that sends no transaction (an API key issued)
    engine: Engine
    record_id: tuple[int, str] | None
    prior_steps: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[TxReceipt] = field(default_factory=list)
    sealer: Sealer | None = None
    mined: list[dict[str, Any]] = field(default_factory=list)  # this request's transactions with a receipt so far
    request: Request | None = None  # whose session gives its connection back before each wait (`release`)
    _step: int = 0
    _answer: Connection | None = None  # `read_rows`'s connection, kept for the record's finish (`take_answer`)

    def release(self) -> None:
        """Gives back the connections this request holds, before a wait (for the chain, the indexer)."""
        if self.request is not None:
            release_request_session(self.request)
        self.close_answer()

    def close_answer(self) -> None:
        if self._answer is not None:
            self._answer.close()
            self._answer = None

    def take_answer(self) -> Connection | None:
        """`read_rows`'s connection, now the caller's to close (None when there is none)."""
        answer, self._answer = self._answer, None
        return answer

    @overload
    def transact(self, account: LocalAccount, call: ContractCall, /) -> TxReceipt: ...

    @overload
    def transact(self, account: LocalAccount, contract: str, function: str, args: Sequence[Any], /) -> TxReceipt: ...

    def transact(
        self,
        account: LocalAccount,
        call: ContractCall | str,
        function: str | None = None,
        args: Sequence[Any] = (),
        /,
    ) -> TxReceipt:
        """Sends `call` (a typed `ContractCall` from `ledger.orders.propose(...)` and the like) from
        `account`; returns the successful receipt. The older form `transact(account, "Contract",
        "function or signature", [args])` still works."""
        self.release()
        ledger = self._chain()
        if isinstance(call, ContractCall):
            contract = call.contract
            handle = ledger.contract(contract)
            data = call.data()
        else:
            if function is None:
                raise TypeError("transact(account, contract, function, args): function missing")
            contract = call
            handle = ledger.contract(contract)
            data = handle.encode_abi(function, args=list(args))
        tx = {"from": account.address, "to": handle.address, "data": data}
        queue = ledger.signer.queue(account)
        step = self._step
        self._step += 1
        persist = self._persister(step)
        sent: SignedTx | None = None  # set once a transaction of this step is out: its failure may not be final
        try:
            receipt = None
            if step < len(self.prior_steps) and "signed" in self.prior_steps[step]:
                stored = SignedTx.from_json(self.prior_steps[step]["signed"])
                if self._owns(stored):
                    sent = stored
                    receipt = self._resume(queue, stored, persist, contract)
            if receipt is None:
                sent = None
                ledger.check_not_stalled()  # nothing is signed for a chain that makes no blocks
                if isinstance(account, MemberKey):  # self-custody: the member signs; answered 202 (api/selfcustody.py)
                    from api.selfcustody import prepare_for_member

                    raise prepare_for_member(self, step, queue, tx, contract)
                signed = queue.submit(tx, before_send=persist, contract=contract)
                sent = signed
                kill_point("after-send")  # crash points for the fault tests (api/faults.py); no-ops without a hook
                receipt = self._wait(ledger, queue, signed, persist, contract)
        except ContractRevertError as exc:
            raise revert_problem(exc) from exc
        except ChainStalledError as exc:
            params = {"age": f"{exc.age:.0f}", "block": exc.number, "hash": exc.block_hash}
            raise catalogued(
                503, "chain-stalled", "chain-stalled.no-new-block", params, block=exc.number, blockHash=exc.block_hash
            ) from exc
        except ChainUnavailableError as exc:
            raise catalogued(503, "chain-unavailable", "chain-unavailable.reason", {"reason": str(exc)}) from exc
        except (requests.RequestException, OSError) as exc:  # a node read (chain id, fees, nonce) got no answer
            raise catalogued(503, "chain-unavailable", "chain-unavailable.node-does-answer", {"exc": exc}) from exc
        except ReceiptMissingError as exc:  # it executed: never sent again; an operator must look at the node
            raise catalogued(503, "receipt-missing", "receipt-missing.reason", {"reason": str(exc)}) from exc
        except NonceConsumedError as exc:  # another transaction took its nonce: it can never be mined
            raise catalogued(503, "transaction-failed", "transaction-failed.reason", {"reason": str(exc)}) from exc
        except TransactionError as exc:
            if sent is None:  # refused before anything was sent: nothing can execute later
                raise catalogued(503, "transaction-failed", "transaction-failed.reason", {"reason": str(exc)}) from exc
            # sent, not mined (yet): never answered as failed, since it may still be mined
            params = {"tx_hash": sent.tx_hash, "nonce": sent.nonce, "sender": sent.sender, "reason": str(exc)}
            raise catalogued(
                503, "transaction-pending", "transaction-pending.sent-not-mined", params, tx_hash=sent.tx_hash
            ) from exc
        self.receipts.append(receipt)
        mined = {
            "step": step,
            "tx_hash": _hex(receipt["transactionHash"]),
            "block_number": int(receipt["blockNumber"]),
            "block_hash": _hex(receipt["blockHash"]),
        }
        self.mined.append(mined)
        if step < len(self.prior_steps):  # stored with the answer: a replay checks the block is still canonical
            self.prior_steps[step]["mined"] = {k: v for k, v in mined.items() if k != "step"}
        kill_point("after-receipt")
        return receipt

    def incomplete(self, problem: Problem, *, resumable: bool) -> Problem:
        """The answer to a request refused after some of its transactions were mined (a settlement's second
        batch after its first paid out): never the bare refusal, which would hide what the request already did.
        It lists the mined transactions and carries the refusal as `cause`; the record stays open, so a retry
        with the same Idempotency-Key resumes (the mined transactions are found, not sent again)."""
        done = ", ".join(f"{m['tx_hash']} (block {m['block_number']})" for m in self.mined)
        count = len(self.mined)
        key = "write-incomplete." + ("one" if count == 1 else "many") + ("-resumable" if resumable else "")
        params = {"count": count, "done": done, "cause": problem.detail}
        return catalogued(409, "write-incomplete", key, params, completed=list(self.mined), cause=problem.body())

    def _chain(self) -> LedgerHandle:
        if self.ledger is None:
            raise TypeError("this workflow was started without the ledger: it cannot send transactions")
        return self.ledger

    def once(self, name: str, produce: Callable[[], Any], *, secret: bool = False) -> Any:
        """A value the workflow must not recompute on a retry (a created key, an id): kept in the record.

        A `secret` value (a string, such as an API key) is kept sealed (api/sealing.py), never in plain text."""
        step = self._step
        self._step += 1
        if step < len(self.prior_steps) and self.prior_steps[step].get("memo") == name:
            stored = self.prior_steps[step]["value"]
            return self.sealer.open(stored) if self.sealer is not None and is_sealed(stored) else stored
        value = produce()
        kept = self.sealer.seal(value) if secret and self.sealer is not None else value
        self._store_step(step, {"memo": name, "value": kept})
        return value

    def _store_step(self, step: int, entry: dict[str, Any], signed: SignedTx | None = None) -> None:
        if self.record_id is None:
            return
        record_id = self.record_id
        steps = self.prior_steps  # this request's steps so far (a resumed request starts with the stored ones)
        before = list(steps)
        if step < len(steps):
            steps[step] = entry
        else:
            steps.append(entry)
        # one UPDATE (Core): no ORM load and flush per sent transaction. On disk before anything acts on it: the
        # signed transaction's broadcast, or (a `once` memo) the workflow's use of a value it must not recompute.
        # A signed transaction is claimed for this request in the same commit (one hash, one request).
        try:
            with durable_begin(self.engine) as conn:
                if signed is not None:
                    conn.execute(_CLAIM_TX, _tx_row(record_id, signed))
                conn.execute(_STORE_STEPS, _steps_row(record_id, steps))
        except IntegrityError:
            if signed is None or self._owner(signed.tx_hash) == record_id:
                if signed is None:
                    raise
                with durable_begin(self.engine) as conn:  # ours already (a retry re-stored it)
                    conn.execute(_STORE_STEPS, _steps_row(record_id, steps))
                return
            steps[:] = before
            raise TransactionClaimedError(signed.tx_hash, "another Idempotency-Key") from None

    def _owner(self, tx_hash: str) -> tuple[int, str] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(IdempotencyTx.principal, IdempotencyTx.key).where(IdempotencyTx.tx_hash == tx_hash.lower())
            ).first()
        return (int(row[0]), str(row[1])) if row is not None else None

    def _owns(self, signed: SignedTx) -> bool:
        """True when the stored transaction is this request's (claimed now if its record predates the claims)."""
        if self.record_id is None:
            return True
        owner = self._owner(signed.tx_hash)
        if owner is None:
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(IdempotencyTx).values(_tx_row(self.record_id, signed)))
                return True
            except IntegrityError:
                owner = self._owner(signed.tx_hash)
        return owner == self.record_id

    def _resume(
        self, queue: TransactionQueue, signed: SignedTx, persist: Callable[[SignedTx], None], contract: str
    ) -> TxReceipt | None:
        """Re-broadcasts a transaction stored by an earlier attempt; None when it can never mine, or mined and
        reverted (it changed nothing: the step is sent anew, and its pre-flight tells what holds it back now)."""
        try:
            queue.broadcast(signed, before_send=persist)
        except NonceConsumedError:
            return None  # its nonce went to another transaction: it never mined, so sending anew is safe
        record_tx_hash(signed.tx_hash)
        receipt = self._wait(self._chain(), queue, signed, persist, contract, check=False)
        return receipt if receipt["status"] == 1 else None

    @staticmethod
    def _wait(
        ledger: LedgerHandle,
        queue: TransactionQueue,
        signed: SignedTx,
        persist: Callable[[SignedTx], None],
        contract: str,
        *,
        check: bool = True,
    ) -> TxReceipt:
        """`queue.wait`; with stall detection on (settings.chain_stall_after), waits in slices of that length and
        gives up with ChainStalledError as soon as the chain has made no block for that long."""
        if ledger.stall_after is None:
            return queue.wait(signed, before_send=persist, contract=contract, check=check)
        deadline = time.monotonic() + queue.settings.receipt_timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                return queue.wait(
                    signed, timeout=min(ledger.stall_after, left), before_send=persist, contract=contract, check=check
                )
            except TransactionTimeoutError:
                if time.monotonic() >= deadline:
                    raise
                ledger.check_not_stalled()

    def _persister(self, step: int) -> Callable[[SignedTx], None]:
        def persist(signed: SignedTx) -> None:
            self._store_step(step, {"signed": signed.to_json(), "tx_hash": signed.tx_hash}, signed)
            record_tx_hash(signed.tx_hash)  # for this request's audit entry (api/audit/), once it is its own
            kill_point("before-send")

        return persist

    def settle_reads(self, timeout: float = 30.0) -> None:
        """Read-your-writes: wait until the indexer has every block this request wrote to."""
        self.release()  # before the wait, and before `read` takes a connection of its own
        if not self.receipts:
            return
        block = max(int(r["blockNumber"]) for r in self.receipts)
        if not self._chain().reads.wait_for_block(block, timeout=timeout):
            raise catalogued(503, "indexer-lagging", "indexer-lagging.block-indexed-yet", {"block": block})

    def read(self, build: Callable[[Session], R]) -> R:
        """The answer of a write, built by `build` from the read model once the indexer has every block this
        request wrote to (read-your-writes)."""
        self.settle_reads()
        with Session(self.engine) as session:
            return build(session)

    def read_rows(self, build: Callable[[Connection], R]) -> R:
        """`read`, for an answer of Core statements: `build` gets a plain connection, no Session (whose set-up and
        ORM execution steps cost about 40 us a write, in-process on SQLite). The connection stays open until the
        request's idempotency record is finished on it (`WriteExecutor.run`, which follows with no wait between:
        one checkout and one rollback less a write); a wait before that (another `transact`) gives it back first."""
        self.settle_reads()
        self._answer = self.engine.connect()
        return build(self._answer)

    def indexed(
        self, model: type[M], ident: Any, lagging: str, params: dict[str, Any], build: Callable[[Session, M], R]
    ) -> R:
        """`read`, for an answer about one row the write made or changed: the row `model[ident]`, handed to
        `build`; `503 indexer-lagging` (catalogue key `indexer-lagging.<lagging>`, with `params`) while the
        read model does not have it yet."""

        def load(session: Session) -> R:
            row = session.get(model, ident)
            if row is None:
                raise catalogued(503, "indexer-lagging", f"indexer-lagging.{lagging}", params)
            return build(session, row)

        return self.read(load)


Workflow = Callable[[WriteContext], tuple[int, Any]]


@dataclass(frozen=True)
class Orphaned:
    """A stored answer whose transactions the chain no longer has where they were mined."""

    status: int  # the answer given before
    transactions: list[dict[str, Any]]  # tx_hash, block_number, block_hash as stored


def _orphaned_problem(orphaned: Orphaned, cause: Problem) -> Problem:
    where = ", ".join(f"{t['tx_hash']} (block {t['block_number']})" for t in orphaned.transactions)
    params = {"status": orphaned.status, "where": where, "cause": cause.detail}
    return catalogued(
        409,
        "write-orphaned",
        "write-orphaned.undone",
        params,
        orphaned=orphaned.transactions,
        answered=orphaned.status,
        cause=cause.body(),
    )


def _hex(value: bytes | str) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def _tx_row(record_id: tuple[int, str], signed: SignedTx) -> dict[str, Any]:
    return {
        "tx_hash": signed.tx_hash.lower(),
        "principal": record_id[0],
        "key": record_id[1],
        "sender": signed.sender,
        "nonce": signed.nonce,
    }


def _request_digest(request: Request, body: bytes) -> str:
    return hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()


class WriteExecutor:
    """Runs write workflows idempotently. `secret_fields` of a response (the API key of an admission) are
    stored sealed in the idempotency record and opened again only to answer a replay."""

    secret_fields = frozenset({"api_key"})

    def __init__(self, engine: Engine, sealer: Sealer | None = None) -> None:
        self.engine = engine
        self.sealer = sealer
        self._live: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def run(
        self, request: Request, principal_id: int, body: bytes, ledger: LedgerHandle | None, workflow: Workflow
    ) -> JSONResponse:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            release_request_session(request)  # the workflow's steps take connections of their own
            ctx = WriteContext(ledger, self.engine, None, request=request)
            try:
                status, payload = self._execute(ctx, workflow)
            except Problem as problem:
                if problem.status < 500 and ctx.mined:
                    raise ctx.incomplete(problem, resumable=False) from problem
                raise
            finally:
                ctx.close_answer()
            return JSONResponse(payload, status_code=status)
        if not _KEY_RE.fullmatch(key):
            release_request_session(request)
            raise catalogued(422, "invalid-idempotency-key", "invalid-idempotency-key.printable-ascii")
        record_id = (principal_id, key)
        digest = _request_digest(request, body)
        with self._lock:
            if record_id in self._live:
                release_request_session(request)
                raise catalogued(409, "request-in-flight", "request-in-flight.still-running")
            self._live.add(record_id)
        opened: WriteContext | None = None  # its answer's connection is closed at the end, whatever happens
        try:
            try:
                prior = self._claim(record_id, request, digest, ledger)
            finally:
                release_request_session(request)  # (a claim committed on it gave it back already)
            if isinstance(prior, JSONResponse):
                return prior
            steps, orphaned = prior
            ctx = opened = WriteContext(
                ledger, self.engine, record_id, prior_steps=steps, sealer=self.sealer, request=request
            )
            try:
                status, payload = self._execute(ctx, workflow)
            except Problem as problem:
                if problem.status < 500 and ctx.mined:  # part of it is done: answer that, keep the record open
                    self._finish(record_id, problem.status, None, ctx, final=False)
                    raise ctx.incomplete(problem, resumable=True) from problem
                if problem.status < 500 and orphaned is not None:  # answered before, undone by the chain, refused now
                    problem = _orphaned_problem(orphaned, problem)
                self._finish(record_id, problem.status, problem.body(request.url.path), ctx, final=problem.status < 500)
                raise problem from None
            kill_point("before-response")
            self._finish(record_id, status, payload, ctx, final=True)
            kill_point("after-commit")
            return JSONResponse(payload, status_code=status)
        finally:
            if opened is not None:
                opened.close_answer()  # (`_finish` took it, unless something failed before)
            with self._lock:
                self._live.discard(record_id)

    def _seal(self, payload: Any) -> Any:
        if self.sealer is None or not isinstance(payload, dict):
            return payload
        sealer = self.sealer
        return {k: sealer.seal(v) if k in self.secret_fields and isinstance(v, str) else v for k, v in payload.items()}

    def _open(self, payload: Any) -> Any:
        if self.sealer is None or not isinstance(payload, dict):
            return payload
        sealer = self.sealer
        return {k: sealer.open(v) if is_sealed(v) else v for k, v in payload.items()}

    @staticmethod
    def _execute(ctx: WriteContext, workflow: Workflow) -> tuple[int, Any]:
        status, payload = workflow(ctx)
        return status, payload

    def _claim(
        self, record_id: tuple[int, str], request: Request, digest: str, ledger: LedgerHandle | None
    ) -> tuple[list[dict[str, Any]], Orphaned | None] | JSONResponse:
        """Stores a new record, or returns the stored response / the steps of an abandoned attempt (with what was
        orphaned, when a stored answer's transactions are no longer on the chain)."""
        claim = {
            "principal": record_id[0],
            "key": record_id[1],
            "method": request.method,
            "path": request.url.path,
            "body_sha256": digest,
            "state": "in_flight",
            "steps": [],
            "note": BOOT_ID,
        }
        try:
            session = _clean_request_session(request)
            if session is None:
                with self.engine.begin() as conn:
                    conn.execute(_CLAIM_RECORD, claim)
            else:  # on the connection the route's checks used (no wait since): its commit gives it back
                try:
                    session.connection().execute(_CLAIM_RECORD, claim)
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise
            return [], None
        except IntegrityError:
            pass
        with Session(self.engine) as session:
            existing = session.get(IdempotencyRecord, record_id)
            if existing is None:  # deleted between our insert and read: treat as new next time
                raise catalogued(409, "request-in-flight", "request-in-flight.retry-request")
            if existing.body_sha256 != digest:
                raise catalogued(422, "idempotency-key-reused", "idempotency-key-reused.different-request")
            steps = list(existing.steps or [])
            if existing.state != "done":
                return steps, None
            lost = self._orphaned_steps(steps, ledger)
            if not lost:
                return self._replay(existing)
            orphaned = Orphaned(int(existing.status_code or 200), lost)
            for entry in steps:
                entry.pop("mined", None)  # the resumed attempt records where its transactions are now
            with self.engine.begin() as conn:
                conn.execute(
                    update(IdempotencyRecord)
                    .where(*_record_is(record_id))
                    .values(state="in_flight", status_code=None, response=None, steps=steps, note=BOOT_ID)
                )
            return steps, orphaned

    @staticmethod
    def _orphaned_steps(steps: list[dict[str, Any]], ledger: LedgerHandle | None) -> list[dict[str, Any]]:
        """The stored answer's mined transactions whose receipt the node no longer has in the stored block (a
        reorg or a lost block window dropped it; it may be re-mined elsewhere since, possibly with other results)."""
        mined = [entry for entry in steps if isinstance(entry.get("mined"), dict)]
        if not mined or ledger is None:
            return []
        calls = [("eth_getTransactionReceipt", [entry["mined"]["tx_hash"]]) for entry in mined]
        try:
            receipts = ledger.signer.rpc.calls(*calls)
        except (requests.RequestException, OSError) as exc:
            params = {"reason": str(exc)}
            raise catalogued(503, "chain-unavailable", "chain-unavailable.replay-unchecked", params) from exc
        lost = []
        for entry, receipt in zip(mined, receipts, strict=True):
            where = entry["mined"]
            sender = json.loads(entry["signed"])["sender"] if "signed" in entry else None
            if (
                not isinstance(receipt, dict)
                or str(receipt.get("blockHash", "")).lower() != str(where["block_hash"]).lower()
                or (sender is not None and str(receipt.get("from", "")).lower() != str(sender).lower())
            ):
                lost.append(dict(where))
        return lost

    def _replay(self, record: IdempotencyRecord) -> JSONResponse:
        media = PROBLEM_JSON if (record.status_code or 200) >= 400 else "application/json"
        return JSONResponse(
            self._open(record.response),
            status_code=record.status_code or 200,
            media_type=media,
            headers={"Idempotent-Replayed": "true"},
        )

    def started(self, request: Request, principal_id: int, body: bytes) -> bool:
        """True when a first attempt of this request (same Idempotency-Key and body) already got past the
        route's checks: it is finished (`run` replays it) or was cut short (`run` resumes it).

        For routes whose own checks stop passing once the write happened (after a transfer the caller no
        longer holds the note): they skip them on a retry, so it gets the first answer instead of a 403."""
        key = request.headers.get("Idempotency-Key")
        if key is None or not _KEY_RE.fullmatch(key):
            return False
        with Session(self.engine) as session:
            record = session.get(IdempotencyRecord, (principal_id, key))
            return record is not None and record.body_sha256 == _request_digest(request, body)

    def _finish(self, record_id: tuple[int, str], status: int, payload: Any, ctx: WriteContext, *, final: bool) -> None:
        with _transaction(self.engine, ctx.take_answer()) as conn:  # Core: one constant statement, no ORM load
            if final:  # the steps now carry each mined transaction's block, which a replay checks
                row = _steps_row(record_id, ctx.prior_steps)
                conn.execute(_RECORD_DONE, {**row, "done_status": status, "done_response": self._seal(payload)})
            elif not ctx.prior_steps:  # nothing was sent: a retry starts afresh
                conn.execute(delete(IdempotencyRecord).where(*_record_is(record_id)))
            # else: transactions were sent and their outcome is unknown; a retry resumes them


@contextmanager
def _transaction(engine: Engine, held: Connection | None) -> Iterator[Connection]:
    """`engine.begin()`, or a transaction of `held` (the answer's connection, `WriteContext.read_rows`): committed
    at the end, rolled back on an error; either way `held` is closed (back to the pool)."""
    if held is None:
        with engine.begin() as conn:
            yield conn
        return
    with held:
        yield held
        held.commit()
