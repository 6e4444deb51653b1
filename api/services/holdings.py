"""A member's live notes grouped by obligor and maturity bucket, aggregated in SQL.

The query reads the member's rows of `holding_totals` (a projection maintained with every note change: live
notes counted and summed per holder, receivable and lienholder), joins the receivables by primary key and
groups by obligor and bucket: a holder of 180,000 notes over 5,000 receivables reads at most a few thousand
rows instead of its notes (bench/reads.py and bench/holdings.py time both at 1M notes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from eth_abi.abi import decode as abi_decode
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from web3 import Web3

from chain.store import HoldingTotal, Note, Receivable

DAY = 86_400
BUCKETS = ("overdue", "0-30", "31-60", "61-90", "91-180", ">180")
_NOTE_SELECTOR = bytes(Web3.keccak(text="note(uint256)")[:4])
_NOTE_TYPES = ["(uint32,uint32,uint256,uint256,uint256)"]


@dataclass
class Group:
    obligor_id: int
    bucket: str
    count: int
    total: int
    pledged_count: int
    pledged_total: int


@dataclass
class Holdings:
    groups: list[Group] = field(default_factory=list)
    pledged: list[tuple[int, int, int]] = field(default_factory=list)  # (lienholder, count, total)


def bucket_of(maturity: int, now: int) -> str:
    """Python twin of the SQL bucket expression (days left until maturity, from `now`)."""
    left = maturity - now
    if left < 0:
        return "overdue"
    for limit, name in ((30, "0-30"), (60, "31-60"), (90, "61-90"), (180, "91-180")):
        if left <= limit * DAY:
            return name
    return ">180"


def holdings(session: Session, member_id: int, now: int) -> Holdings:
    """The member's live notes by (obligor, bucket) and by lienholder, grouped from `holding_totals` (one row
    per receivable and lienholder the member holds notes of, maintained by the projections) joined to the
    receivables by primary key: the cost follows the number of receivables held, not of notes."""
    is_pledged = HoldingTotal.lienholder_id != 0
    mine = HoldingTotal.holder_id == member_id
    left = Receivable.maturity - now
    bucket = case(
        (left < 0, "overdue"),
        (left <= 30 * DAY, "0-30"),
        (left <= 60 * DAY, "31-60"),
        (left <= 90 * DAY, "61-90"),
        (left <= 180 * DAY, "91-180"),
        else_=">180",
    ).label("bucket")
    rows = session.execute(
        select(
            Receivable.obligor_id,
            bucket,
            func.sum(HoldingTotal.count),
            func.sum(HoldingTotal.value),
            func.sum(case((is_pledged, HoldingTotal.count), else_=0)),
            func.sum(case((is_pledged, HoldingTotal.value), else_=0)),
        )
        .join(Receivable, Receivable.id == HoldingTotal.slot_id)
        .where(mine)
        .group_by(Receivable.obligor_id, bucket)
    ).all()
    order = {name: i for i, name in enumerate(BUCKETS)}
    groups = sorted(
        (Group(int(o), str(b), int(c), int(t), int(pc), int(pt)) for o, b, c, t, pc, pt in rows),
        key=lambda g: (g.obligor_id, order[g.bucket]),
    )
    pledged = session.execute(
        select(HoldingTotal.lienholder_id, func.sum(HoldingTotal.count), func.sum(HoldingTotal.value))
        .where(mine, is_pledged)
        .group_by(HoldingTotal.lienholder_id)
        .order_by(HoldingTotal.lienholder_id)
    ).all()
    return Holdings(groups, [(int(lien), int(c), int(t)) for lien, c, t in pledged])


def holdings_from_notes(session: Session, member_id: int, now: int) -> Holdings:
    """The same result grouped straight from the notes (the query before `holding_totals`): kept as the
    reference the aggregate is checked and benchmarked against."""
    is_pledged = Note.lienholder_id != 0
    held = (Note.holder_id == member_id) & Note.live.is_(True)
    per_slot = (
        select(
            Note.slot_id.label("slot_id"),
            func.count(Note.id).label("notes"),
            func.sum(Note.value).label("total"),
            func.sum(case((is_pledged, 1), else_=0)).label("pledged_notes"),
            func.sum(case((is_pledged, Note.value), else_=0)).label("pledged_total"),
        )
        .where(held)
        .group_by(Note.slot_id)
        .subquery()
    )
    left = Receivable.maturity - now
    bucket = case(
        (left < 0, "overdue"),
        (left <= 30 * DAY, "0-30"),
        (left <= 60 * DAY, "31-60"),
        (left <= 90 * DAY, "61-90"),
        (left <= 180 * DAY, "91-180"),
        else_=">180",
    ).label("bucket")
    rows = session.execute(
        select(
            Receivable.obligor_id,
            bucket,
            func.sum(per_slot.c.notes),
            func.sum(per_slot.c.total),
            func.sum(per_slot.c.pledged_notes),
            func.sum(per_slot.c.pledged_total),
        )
        .join(per_slot, per_slot.c.slot_id == Receivable.id)
        .group_by(Receivable.obligor_id, bucket)
    ).all()
    order = {name: i for i, name in enumerate(BUCKETS)}
    groups = sorted(
        (Group(int(o), str(b), int(c), int(t), int(pc), int(pt)) for o, b, c, t, pc, pt in rows),
        key=lambda g: (g.obligor_id, order[g.bucket]),
    )
    pledged = session.execute(
        select(Note.lienholder_id, func.count(Note.id), func.coalesce(func.sum(Note.value), 0))
        .where(held, is_pledged)
        .group_by(Note.lienholder_id)
        .order_by(Note.lienholder_id)
    ).all()
    return Holdings(groups, [(int(lien), int(c), int(t)) for lien, c, t in pledged])


def held_notes(session: Session, member_id: int, limit: int) -> list[Note]:
    query = select(Note).where(Note.holder_id == member_id, Note.live.is_(True)).order_by(Note.id).limit(limit)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ChainNote:
    holder_id: int
    lienholder_id: int
    slot_id: int
    value: int


def read_notes_batched(
    rpc_url: str, contract: str, note_ids: list[int], block: int, *, batch_size: int = 200, timeout: float = 30.0
) -> dict[int, ChainNote | None]:
    """`note(id)` of each note at `block` via JSON-RPC batches of eth_call; None for a note the chain does
    not know (the call reverts)."""
    found: dict[int, ChainNote | None] = {}
    with httpx.Client(timeout=timeout) as client:
        for start in range(0, len(note_ids), batch_size):
            chunk = note_ids[start : start + batch_size]
            payload: list[dict[str, Any]] = [
                {
                    "jsonrpc": "2.0",
                    "id": i,
                    "method": "eth_call",
                    "params": [
                        {"to": contract, "data": "0x" + (_NOTE_SELECTOR + note_id.to_bytes(32, "big")).hex()},
                        hex(block),
                    ],
                }
                for i, note_id in enumerate(chunk)
            ]
            response = client.post(rpc_url, json=payload)
            response.raise_for_status()
            answers = response.json()
            if not isinstance(answers, list):
                raise ValueError(f"the node did not answer the batch: {answers!r}"[:300])
            for answer in answers:
                note_id = chunk[int(answer["id"])]
                result = answer.get("result")
                if not result or result == "0x":
                    found[note_id] = None
                    continue
                ((holder, lien, slot, value, _parent),) = abi_decode(_NOTE_TYPES, bytes.fromhex(result[2:]))
                found[note_id] = ChainNote(int(holder), int(lien), int(slot), int(value))
    return found
