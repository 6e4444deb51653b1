"""Alert rules against real transactions on the session anvil, indexed into a fresh SQLite per module."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.node.client import contract
from chain.node.roles import Roles
from chain.node.tx import send
from chain.readmodel import alerts
from chain.readmodel.alerts import CIRCULAR, CONCENTRATION, RELATED_PARTY, STRUCTURING, AlertConfig
from chain.readmodel.indexer import Indexer
from chain.readmodel.store import Alert, make_engine
from scripts.runtime import Ledger

CORE, SUPPLIER, FINANCIER = int(Roles.CORE_ENTERPRISE), int(Roles.SUPPLIER), int(Roles.FINANCIER)
UNIT = 100  # minor units per currency unit
# Small thresholds so a handful of transactions trigger the rules.
CONFIG = AlertConfig(
    structuring_threshold=1_000 * UNIT,
    structuring_window_blocks=50,
    structuring_count=3,
    circular_max_hops=4,
    concentration_percent=50,
    concentration_min_total=1_000 * UNIT,
)


@dataclass
class Party:
    key: LocalAccount
    id: int

    @property
    def address(self) -> str:
        return str(self.key.address)


class Actors:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.w3 = ledger.w3
        self.registry = contract(ledger.w3, ledger.deployment, ledger.artifacts, "MemberRegistry")
        self.notes = contract(ledger.w3, ledger.deployment, ledger.artifacts, "ReceivableNotes")
        self.financing = contract(ledger.w3, ledger.deployment, ledger.artifacts, "Financing")
        self.cash = contract(ledger.w3, ledger.deployment, ledger.artifacts, "CashToken")
        self.orders = contract(ledger.w3, ledger.deployment, ledger.artifacts, "OrderBook")

    def _send(self, key: LocalAccount, fn: Any) -> TxReceipt:
        return send(self.w3, key, fn.build_transaction({"from": key.address}))

    @staticmethod
    def _arg(handle: Contract, receipt: TxReceipt, event: str, name: str) -> int:
        for entry in handle.events[event]().process_receipt(receipt, errors=DISCARD):
            return int(entry["args"][name])
        raise AssertionError(f"{event} missing")

    def admit(self, roles: int, group: int = 0, credit: int = 0) -> Party:
        key: LocalAccount = Account.create()
        self.w3.provider.make_request("anvil_setBalance", [key.address, hex(10**21)])  # type: ignore[arg-type]
        fn = self.registry.functions.admit(key.address, roles, b"\x11" * 32, group, credit)
        receipt = self._send(self.ledger.operator, fn)
        member_id = self._arg(self.registry, receipt, "MemberAdmitted", "memberId")
        if roles & FINANCIER:  # S-5: a financier mints only up to the ceiling the operator sets (0 until set)
            self._send(self.ledger.operator, self.cash.functions.setMintCeiling(member_id, 10**15))
        return Party(key, member_id)

    def issue(self, core: Party, creditor: Party, face: int) -> int:
        maturity = int(self.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
        invoice = bytes.fromhex(uuid.uuid4().hex * 2)
        fn = self.notes.functions.issue(creditor.address, face, self.cash.address, maturity, invoice)
        return self._arg(self.notes, self._send(core.key, fn), "ReceivableIssued", "noteId")

    def split(self, holder: Party, note: int, to: Party, value: int) -> int:
        fn = self.notes.get_function_by_signature("transferFrom(uint256,address,uint256)")(note, to.address, value)
        return self._arg(self.notes, self._send(holder.key, fn), "NoteSplit", "noteId")

    def transfer(self, holder: Party, note: int, to: Party) -> None:
        fn = self.notes.get_function_by_signature("transferFrom(address,address,uint256)")
        self._send(holder.key, fn(holder.address, to.address, note))

    def sell(self, financier: Party, seller: Party, note: int, value: int) -> None:
        """The financier buys `value` of the seller's note at a zero discount (price = value)."""
        self._send(financier.key, self.cash.functions.mint(financier.address, value, b"\x22" * 32))
        expiry = int(self.w3.eth.get_block("latest")["timestamp"]) + 3_600
        receipt = self._send(financier.key, self.financing.functions.makeOffer(note, value, 0, False, expiry))
        offer = self._arg(self.financing, receipt, "OfferMade", "offerId")
        self._send(seller.key, self.financing.functions.acceptOffer(offer))

    def borrow(self, financier: Party, supplier: Party, core: Party, principal: int) -> None:
        """The supplier's confirmed order is pledged to the financier, which lends `principal` against it."""
        due = int(self.w3.eth.get_block("latest")["timestamp"]) + 30 * 86_400
        doc = bytes.fromhex(uuid.uuid4().hex * 2)
        fn = self.orders.functions.propose(core.address, 10 * principal, self.cash.address, doc, due)
        order = self._arg(self.orders, self._send(supplier.key, fn), "OrderProposed", "orderId")
        self._send(core.key, self.orders.functions.confirm(order))
        self._send(supplier.key, self.orders.functions.pledge(order, financier.address))
        self._send(financier.key, self.cash.functions.mint(financier.address, principal, b"\x22" * 32))
        self._send(financier.key, self.financing.functions.lend(order, principal, 500, due))


@dataclass
class World:
    indexer: Indexer
    engine: Engine
    parties: dict[str, Party]

    def alerts(self, rule: str, member: str) -> list[Alert]:
        member_id = self.parties[member].id
        with Session(self.engine) as session:
            rows = session.scalars(select(Alert).where(Alert.rule == rule).order_by(Alert.id)).all()
            return [a for a in rows if member_id in a.members]


def _dump(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        rows = session.scalars(select(Alert).order_by(Alert.id)).all()
        return [(a.id, a.key, a.rule, a.severity, a.members, a.evidence, a.block_number, a.created) for a in rows]


@pytest.fixture(scope="module")
def world(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> World:
    actors = Actors(ledger)
    p: dict[str, Party] = {}
    p["core"] = actors.admit(CORE, credit=10_000_000 * UNIT)
    p["core2"] = actors.admit(CORE, credit=10_000_000 * UNIT)
    for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]:
        p[name] = actors.admit(SUPPLIER)
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('alerts') / 'alerts.db'}")
    indexer = Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts, alert_config=CONFIG)
    indexer.sync()  # a first pass, so the rest is indexed incrementally

    # structuring: a splits 950.00 three times (fires); c splits 950.00 twice and 1,000.00 once (near miss)
    note = actors.issue(p["core"], p["a"], 10_000 * UNIT)
    for _ in range(3):
        actors.split(p["a"], note, p["b"], 950 * UNIT)
    note = actors.issue(p["core"], p["c"], 10_000 * UNIT)
    for value in (950, 950, 1_000):
        actors.split(p["c"], note, p["b"], value * UNIT)

    # circular: d -> e -> f -> d within one receivable (fires); g -> h -> i (near miss)
    note = actors.issue(p["core"], p["d"], 5_000 * UNIT)
    moved = actors.split(p["d"], note, p["e"], 500 * UNIT)
    actors.transfer(p["e"], moved, p["f"])
    actors.transfer(p["f"], moved, p["d"])
    note = actors.issue(p["core"], p["g"], 5_000 * UNIT)
    moved = actors.split(p["g"], note, p["h"], 500 * UNIT)
    actors.transfer(p["h"], moved, p["i"])
    indexer.sync()

    # related party: seller and financier in group 77 (fires); groups 78/79 and 0/0 (near misses)
    for name, roles, group in [
        ("rp_seller", SUPPLIER, 77),
        ("rp_bank", FINANCIER, 77),
        ("other_seller", SUPPLIER, 78),
        ("other_bank", FINANCIER, 79),
        ("plain_seller", SUPPLIER, 0),
        ("plain_bank", FINANCIER, 0),
    ]:
        p[name] = actors.admit(roles, group=group)
    for seller, bank in [("rp_seller", "rp_bank"), ("other_seller", "other_bank"), ("plain_seller", "plain_bank")]:
        note = actors.issue(p["core"], p[seller], 2_000 * UNIT)
        actors.sell(p[bank], p[seller], note, 200 * UNIT)
    # ... and order-financing loans: rp_bank lends to rp_seller (fires), plain_bank to plain_seller (near miss)
    actors.borrow(p["rp_bank"], p["rp_seller"], p["core"], 300 * UNIT)
    actors.borrow(p["plain_bank"], p["plain_seller"], p["core"], 300 * UNIT)

    # concentration: bank1 buys 800.00 from core's and 300.00 from core2's receivables (73%: fires);
    # bank2 buys 600.00 from each (50%: near miss)
    p["seller"] = actors.admit(SUPPLIER)
    p["bank1"] = actors.admit(FINANCIER)
    p["bank2"] = actors.admit(FINANCIER)
    for bank, core, value in [
        ("bank1", "core", 800),
        ("bank1", "core2", 300),
        ("bank2", "core", 600),
        ("bank2", "core2", 600),
    ]:
        note = actors.issue(p[core], p["seller"], 5_000 * UNIT)
        actors.sell(p[bank], p["seller"], note, value * UNIT)
    indexer.sync()
    return World(indexer, engine, p)


def test_structuring(world: World) -> None:
    [alert] = world.alerts(STRUCTURING, "a")
    assert alert.severity == "medium"
    assert alert.members == [world.parties["a"].id, world.parties["b"].id]
    assert len(alert.evidence) == 3
    assert [a for a in world.alerts(STRUCTURING, "c") if a.members[0] == world.parties["c"].id] == []


def test_circular_trade(world: World) -> None:
    [alert] = world.alerts(CIRCULAR, "d")
    assert alert.severity == "high"
    assert alert.members == sorted(world.parties[n].id for n in "def")
    assert len(alert.evidence) == 3
    assert world.alerts(CIRCULAR, "g") == []


def test_related_party_financing(world: World) -> None:
    purchase, loan = world.alerts(RELATED_PARTY, "rp_bank")
    for alert in (purchase, loan):
        assert alert.severity == "high"
        assert alert.members == [world.parties["rp_seller"].id, world.parties["rp_bank"].id]
        assert len(alert.evidence) == 1
    assert purchase.evidence != loan.evidence
    assert world.alerts(RELATED_PARTY, "other_bank") == []
    assert world.alerts(RELATED_PARTY, "plain_bank") == []


def test_concentration(world: World) -> None:
    [alert] = world.alerts(CONCENTRATION, "bank1")
    assert alert.severity == "low"
    assert alert.members == [world.parties["bank1"].id, world.parties["core"].id]
    assert world.alerts(CONCENTRATION, "bank2") == []


def test_sync_again_adds_nothing_and_rebuild_gives_the_same_alerts(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    before = _dump(world.engine)
    assert before
    world.indexer.sync()
    assert _dump(world.engine) == before
    world.indexer.rebuild()
    assert _dump(world.engine) == before
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    Indexer(fresh, ledger.w3, ledger.deployment, ledger.artifacts, alert_config=CONFIG).sync(
        world.indexer.indexed_block()
    )
    assert _dump(fresh) == before


def test_a_pass_per_block_gives_the_same_alerts(world: World, ledger: Ledger, tmp_path: Path) -> None:
    """One pass per block, as the service's loop makes them: from the second pass on, the rules are fed the rows
    each pass wrote (`alerts.PassHistory`), not the read model's; the alerts equal a catch-up in one pass."""
    before = _dump(world.engine)
    engine = make_engine(f"sqlite:///{tmp_path / 'per-block.db'}")
    indexer = Indexer(engine, ledger.w3, ledger.deployment, ledger.artifacts, alert_config=CONFIG)
    fed: list[bool] = []
    feed = alerts.RuleState.feed

    def counting(self: alerts.RuleState, session: Session, upto: int, history: Any = None) -> list[Any]:
        fed.append(history is not None)
        return feed(self, session, upto, history)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alerts.RuleState, "feed", counting)
        for block in range(ledger.deployment.block, world.indexer.indexed_block() + 1):
            indexer.sync(block)
    assert fed.count(False) == 1 and fed.count(True) > 20, fed  # one scan of the whole history, then the passes'
    assert _dump(engine) == before
