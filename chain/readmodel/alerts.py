"""Regulator alert rules over the read model.

`evaluate(session, config)` runs inside the indexer's transaction after the projections are written. Every
rule is a pure function of the ordered history (events and projections up to the checkpoint) and only ever
adds alerts for history that is complete, so indexing in several passes and a rebuild from block 0 produce
the same alerts, with the same ids (new alerts are inserted ordered by block, rule and key). An alert is
unique by its key (rule + what makes it distinct), so re-evaluation never duplicates it.

Rules:
- structuring (medium): a member sends >= N value moves (splits, merges into another member's note or whole
  transfers) each in [90% of threshold, threshold) within W blocks. Moves that fired are consumed.
- circular (high): value of a receivable returns to a member it passed through, in at most H hops.
- related_party (high): a factoring purchase or a loan whose seller/borrower and financier share a non-zero
  group id (as of the block of the deal).
- concentration (low): once a financier's purchased value exceeds a minimum, more than X% of it is from one
  obligor (once per financier and obligor).
- rejected-attempts (medium): a member's requests were refused >= N times within W seconds with a problem type
  that means "already tokenised / pledged / locked / sold" (an attempt to double-issue or double-pledge).
  Refused requests leave no event on chain, so this rule reads the API's audit log (api/audit/rules.py), handed to
  `evaluate` as an `extra_rules` function; its alerts have block 0 and the time of the last attempt.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import BigInteger, ColumnElement, bindparam, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from chain.readmodel.store import Alert, AlertMember, EventRecord, Note, Purchase, Receivable, ValueMove, table

STRUCTURING = "structuring"
CIRCULAR = "circular_trade"
RELATED_PARTY = "related_party"
CONCENTRATION = "concentration"
REJECTED_ATTEMPTS = "rejected-attempts"
RULES = (STRUCTURING, CIRCULAR, RELATED_PARTY, CONCENTRATION, REJECTED_ATTEMPTS)
SEVERITIES = ("low", "medium", "high")
_MEMBER_MOVES = ("split", "move", "transfer")


_TextColumn = (
    ColumnElement[str] | ColumnElement[str | None] | InstrumentedAttribute[str] | InstrumentedAttribute[str | None]
)


def one_of(column: _TextColumn, values: tuple[str, ...]) -> ColumnElement[bool]:
    """`column IN values` written as ORs of plain parameters: an IN's expanding parameter is rendered for every
    execution (1.3% of the service's CPU under splits, for the rules' three queries run each indexer pass)."""
    return or_(*(column == value for value in values))


@dataclass(frozen=True)
class AlertConfig:
    """Thresholds; amounts in minor units (2 decimals)."""

    structuring_threshold: int = 1_000_000
    structuring_window_blocks: int = 1_000
    structuring_count: int = 5
    circular_max_hops: int = 4
    concentration_percent: int = 50
    concentration_min_total: int = 10_000_000
    rejected_attempts: int = 3
    rejected_window_s: int = 86_400


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    members: list[int]
    evidence: list[str]
    block_number: int
    distinct: str = ""  # what makes the alert unique besides its evidence (empty: the evidence)
    at: datetime | None = None  # when it was completed, for rules over off-chain records (else the block's time)
    key: str = field(init=False, default="")

    def __post_init__(self) -> None:
        basis = self.distinct or ",".join(self.evidence)
        object.__setattr__(self, "key", f"{self.rule}:{hashlib.sha256(basis.encode()).hexdigest()}")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class Move(NamedTuple):
    """A value move between two members, as the rules see it (a plain record: rule state outlives sessions;
    a tuple: ~4x cheaper to build than a frozen dataclass, and catch-up builds one per split)."""

    from_member_id: int
    to_member_id: int
    from_note_id: int
    to_note_id: int
    value: int
    block_number: int
    tx_hash: str


# The rules' queries, built once: a statement built per call cost more than running it (the operators, the clauses and
# SQLAlchemy's cache key, on each pass over a block with events: the rules took 1.4 ms a pass, 0.35 ms built once; issue
# 24); each runs with the block it continues after as the `after` parameter.
_AFTER = bindparam("after", type_=BigInteger)

# Of table columns (Core), not the models' attributes: a select of ORM attributes run by a Session goes through the
# ORM's compile and loading steps on every execution, even built once (the members' moves: 74 -> 33 us, in-process
# on SQLite).
_MOVES, _EVENTS, _PURCHASES = table(ValueMove), table(EventRecord), table(Purchase)
_NOTES, _RECEIVABLES = table(Note), table(Receivable)

_MEMBER_MOVES_QUERY = (
    select(
        _MOVES.c.from_member_id,
        _MOVES.c.to_member_id,
        _MOVES.c.from_note_id,
        _MOVES.c.to_note_id,
        _MOVES.c.value,
        _MOVES.c.block_number,
        _MOVES.c.tx_hash,
    )
    .where(_MOVES.c.block_number > _AFTER)
    .where(one_of(_MOVES.c.kind, _MEMBER_MOVES))
    .where(_MOVES.c.from_member_id != 0, _MOVES.c.to_member_id != 0)
    .where(_MOVES.c.from_member_id != _MOVES.c.to_member_id)
    .order_by(_MOVES.c.block_number, _MOVES.c.event_id)
)

_GROUP_CHANGES_QUERY = (
    select(_EVENTS.c.block_number, _EVENTS.c.args)
    .where(_EVENTS.c.block_number > _AFTER)
    .where(_EVENTS.c.contract == "MemberRegistry")
    .where(one_of(_EVENTS.c.name, ("MemberAdmitted", "MemberGroupChanged")))
    .order_by(_EVENTS.c.block_number, _EVENTS.c.log_index)
)

_DEALS_QUERY = (
    select(_EVENTS.c.name, _EVENTS.c.args, _EVENTS.c.block_number, _EVENTS.c.tx_hash)
    .where(_EVENTS.c.block_number > _AFTER)
    .where(_EVENTS.c.contract == "Financing")
    .where(one_of(_EVENTS.c.name, ("OfferAccepted", "LoanOpened")))
    .order_by(_EVENTS.c.block_number, _EVENTS.c.log_index)
)

_PURCHASES_QUERY = (
    select(
        _PURCHASES.c.financier_id,
        _PURCHASES.c.value,
        _PURCHASES.c.tx_hash,
        _PURCHASES.c.block_number,
        _RECEIVABLES.c.obligor_id,
    )
    .select_from(
        _PURCHASES.join(_NOTES, _NOTES.c.id == _PURCHASES.c.note_id).join(
            _RECEIVABLES, _RECEIVABLES.c.id == _NOTES.c.slot_id
        )
    )
    .where(_PURCHASES.c.block_number > _AFTER)
    .order_by(_PURCHASES.c.block_number, _PURCHASES.c.id)
)


def _member_moves(session: Session, after_block: int) -> list[Move]:
    return [Move._make(row) for row in session.execute(_MEMBER_MOVES_QUERY, {"after": after_block}).all()]


_MEMBER_EVENTS = ("MemberAdmitted", "MemberGroupChanged")
_DEALS = ("OfferAccepted", "LoanOpened")


class EventLike(Protocol):
    """What the rules read of a pass's event (`chain.readmodel.projections.Event`)."""

    block_number: int
    tx_hash: str
    contract: str
    name: str
    args: dict[str, Any]


class PassHistory(NamedTuple):
    """What one indexer pass added to the history, as it wrote it: its events in chain order and the `value_moves`
    rows its projections inserted (in event order). `RuleState.feed` reads the rules' inputs from it instead of
    querying back the rows the pass has just written (the members' moves, the group changes, the deals; the
    purchases only when the pass accepted an offer)."""

    events: Sequence[EventLike]
    value_moves: Sequence[dict[str, Any]]

    def member_moves(self) -> list[Move]:
        """As `_MEMBER_MOVES_QUERY` selects them (the rows are in its order: by block, then event id)."""
        return [
            Move(
                row["from_member_id"],
                row["to_member_id"],
                row["from_note_id"],
                row["to_note_id"],
                row["value"],
                row["block_number"],
                row["tx_hash"],
            )
            for row in self.value_moves
            if row["kind"] in _MEMBER_MOVES
            and row["from_member_id"] != 0
            and row["to_member_id"] != 0
            and row["from_member_id"] != row["to_member_id"]
        ]

    def group_changes(self) -> list[tuple[int, dict[str, Any]]]:
        """As `_GROUP_CHANGES_QUERY`: (block, args) of the members' admissions and group changes."""
        return [
            (e.block_number, e.args) for e in self.events if e.contract == "MemberRegistry" and e.name in _MEMBER_EVENTS
        ]

    def deals(self) -> list[tuple[str, dict[str, Any], int, str]]:
        """As `_DEALS_QUERY`: (name, args, block, tx hash) of the accepted offers and opened loans."""
        return [
            (e.name, e.args, e.block_number, e.tx_hash)
            for e in self.events
            if e.contract == "Financing" and e.name in _DEALS
        ]


class RuleState:
    """The rules' running state over the ordered history, fed block range by block range.

    Every rule is a scan over the history in chain order; `feed` continues each scan with the history above
    `upto` only, so a pass costs what its new events cost, not the whole history. Feeding the whole history
    at once and feeding it in any number of ranges give the same findings in the same order. The state lives
    in memory beside the read model: whoever holds it must drop it when the transaction that fed it fails or
    when the read model moves without it (a rollback, another process indexing), and start afresh from -1.
    """

    def __init__(self, config: AlertConfig) -> None:
        self.config = config
        self.upto = -1  # the last block fed
        self._windows: dict[int, deque[Move]] = defaultdict(deque)  # structuring, per sending member
        self._paths: dict[int, tuple[Move, ...]] = {}  # circular: note id -> hops that brought its value there
        self._groups: dict[int, list[tuple[int, int]]] = defaultdict(list)  # member id -> [(block, group id)]
        self._totals: dict[int, int] = defaultdict(int)  # concentration: financier -> purchased value
        self._by_obligor: dict[tuple[int, int], int] = defaultdict(int)
        self._evidence: dict[tuple[int, int], list[str]] = defaultdict(list)
        self._fired: set[tuple[int, int]] = set()

    def feed(self, session: Session, upto: int, history: PassHistory | None = None) -> list[Finding]:
        """Findings completed by the history in blocks (self.upto, upto]; call after the projections are flushed.

        `history`: that history as the pass that wrote it holds it (all of it: the pass covered exactly these
        blocks); the rules then query only the purchases, and only when the pass has a new one. Without it, the
        rules read the history above `self.upto` back from the read model."""
        after = self.upto
        if history is None:
            moves = _member_moves(session, after)
            groups = [(int(block), args) for block, args in session.execute(_GROUP_CHANGES_QUERY, {"after": after})]
            deals = [tuple(row) for row in session.execute(_DEALS_QUERY, {"after": after})]
            purchases = True
        else:
            moves, groups, deals = history.member_moves(), history.group_changes(), history.deals()
            purchases = any(deal[0] == "OfferAccepted" for deal in deals)  # a purchase row comes from nothing else
        found = [
            *self._structuring(moves),
            *self._circular(moves),
            *self._related_party(session, groups, deals),
            *(self._concentration(session, after) if purchases else ()),
        ]
        self.upto = upto
        return found

    # structuring (medium): >= N moves each in [90% of threshold, threshold) from one member within W blocks
    def _structuring(self, moves: list[Move]) -> list[Finding]:
        config = self.config
        low = config.structuring_threshold * 9 // 10
        found: list[Finding] = []
        for move in moves:
            if not low <= move.value < config.structuring_threshold:
                continue
            window = self._windows[move.from_member_id]
            window.append(move)
            while window and move.block_number - window[0].block_number >= config.structuring_window_blocks:
                window.popleft()
            if len(window) >= config.structuring_count:
                members = [move.from_member_id, *sorted({m.to_member_id for m in window})]
                evidence = _unique([m.tx_hash for m in window])
                found.append(Finding(STRUCTURING, "medium", members, evidence, move.block_number))
                window.clear()
        return found

    # circular (high): follows value from note to note; a hop to a member the value passed through closes a cycle
    def _circular(self, moves: list[Move]) -> list[Finding]:
        hops = self.config.circular_max_hops
        found: list[Finding] = []
        for move in moves:
            path = (*self._paths.get(move.from_note_id, ()), move)[-hops:]
            cycle_start = next((i for i, hop in enumerate(path) if hop.from_member_id == move.to_member_id), None)
            if cycle_start is None:
                self._paths[move.to_note_id] = path
                continue
            cycle = path[cycle_start:]
            members = sorted({hop.from_member_id for hop in cycle})
            found.append(Finding(CIRCULAR, "high", members, _unique([h.tx_hash for h in cycle]), move.block_number))
            self._paths[move.to_note_id] = ()  # the cycle is reported; follow the value afresh
        return found

    # related party (high): seller/borrower and financier share a non-zero group id as of the deal's block
    def _related_party(
        self,
        session: Session,
        groups: Sequence[tuple[int, dict[str, Any]]],
        deals: Sequence[tuple[str, dict[str, Any], int, str]],
    ) -> list[Finding]:
        for block, args in groups:
            self._groups[int(args["memberId"])].append((block, int(args["groupId"])))
        found: list[Finding] = []
        for name, args, block_number, tx_hash in deals:
            if name == "LoanOpened":
                client, financier, deal = int(args["borrowerId"]), int(args["financierId"]), f"loan:{args['loanId']}"
            else:
                purchase = session.get(Purchase, int(args["purchaseId"]))
                if purchase is None:
                    continue
                client, financier, deal = purchase.seller_id, purchase.financier_id, f"purchase:{purchase.id}"
            group = _group_at(self._groups, client, block_number)
            if group != 0 and group == _group_at(self._groups, financier, block_number):
                found.append(Finding(RELATED_PARTY, "high", [client, financier], [tx_hash], block_number, deal))
        return found

    # concentration (low): a financier's purchases above a minimum are more than X% from one obligor
    def _concentration(self, session: Session, after: int) -> list[Finding]:
        config = self.config
        found: list[Finding] = []
        for financier, value, tx_hash, block, obligor_id in session.execute(_PURCHASES_QUERY, {"after": after}).all():
            pair = (financier, obligor_id)
            self._totals[financier] += value
            self._by_obligor[pair] += value
            self._evidence[pair].append(tx_hash)
            total = self._totals[financier]
            if total <= config.concentration_min_total:
                continue
            for (fin, obligor), amount in sorted(self._by_obligor.items()):
                if fin != financier or (fin, obligor) in self._fired:
                    continue
                if amount * 100 > config.concentration_percent * total:
                    self._fired.add((fin, obligor))
                    found.append(
                        Finding(
                            CONCENTRATION,
                            "low",
                            [fin, obligor],
                            _unique(self._evidence[(fin, obligor)]),
                            block,
                            f"{fin}:{obligor}",
                        )
                    )
        return found


def _group_at(history: dict[int, list[tuple[int, int]]], member_id: int, block: int) -> int:
    group = 0
    for changed, value in history.get(member_id, []):
        if changed > block:
            break
        group = value
    return group


@dataclass(frozen=True)
class RejectedAttempt:
    """A refused API request whose problem type means "already issued / pledged / locked / sold"."""

    member_id: int
    at: datetime
    request_id: str


def rejected_attempts(attempts: Sequence[RejectedAttempt], config: AlertConfig) -> list[Finding]:
    """>= N attempts by one member within W seconds (in log order); attempts that fired are consumed."""
    windows: dict[int, deque[RejectedAttempt]] = defaultdict(deque)
    found: list[Finding] = []
    for attempt in attempts:
        window = windows[attempt.member_id]
        window.append(attempt)
        while (attempt.at - window[0].at).total_seconds() >= config.rejected_window_s:
            window.popleft()
        if len(window) >= config.rejected_attempts:
            evidence = [a.request_id for a in window]
            found.append(Finding(REJECTED_ATTEMPTS, "medium", [attempt.member_id], evidence, 0, at=attempt.at))
            window.clear()
    return found


ExtraRule = Callable[[Session, AlertConfig], list[Finding]]


def findings(session: Session, config: AlertConfig) -> list[Finding]:
    """Every finding of the whole stored history (a fresh `RuleState` fed everything)."""
    session.flush()
    return RuleState(config).feed(session, 2**63 - 1)


def evaluate(
    session: Session,
    config: AlertConfig,
    block_time: Callable[[int], int],
    extra_rules: Sequence[ExtraRule] = (),
    *,
    state: RuleState | None = None,
    upto: int = 2**63 - 1,
    history: PassHistory | None = None,
) -> int:
    """Adds the alerts not yet stored; returns how many. Call inside the transaction that wrote the projections.

    With `state`, only the history above `state.upto` (up to block `upto`) is scanned, continuing the state's
    scans; without, the whole history. `history`: what the pass over blocks (`state.upto`, `upto`] wrote, which the
    rules then take from it instead of reading it back (`RuleState.feed`). `block_time(n)` is block n's timestamp:
    an alert is `created` at the time of the block that completed it (or at the finding's own `at`). `extra_rules`
    are rules over records outside the event log (the audit log).
    """
    session.flush()
    every = (state or RuleState(config)).feed(session, upto, history)
    for rule in extra_rules:
        every.extend(rule(session, config))
    return store_findings(session, every, block_time)


def store_findings(session: Session, found: Sequence[Finding], block_time: Callable[[int], int]) -> int:
    """Inserts the findings whose key is not stored yet, in a deterministic order; returns how many."""
    keys = list({finding.key for finding in found})
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known.update(session.scalars(select(Alert.key).where(Alert.key.in_(keys[start : start + 500]))))
    new: dict[str, Finding] = {}
    for finding in found:
        if finding.key not in known:
            new.setdefault(finding.key, finding)
    for finding in sorted(new.values(), key=lambda f: (f.block_number, RULES.index(f.rule), f.key)):
        created = finding.at or datetime.fromtimestamp(block_time(finding.block_number), tz=UTC)
        alert = Alert(
            key=finding.key,
            rule=finding.rule,
            severity=finding.severity,
            members=finding.members,
            evidence=finding.evidence,
            block_number=finding.block_number,
            created=created,
        )
        session.add(alert)
        session.flush()
        for member_id in sorted(set(finding.members)):
            session.add(AlertMember(alert_id=alert.id, member_id=member_id))
    session.flush()
    return len(new)
