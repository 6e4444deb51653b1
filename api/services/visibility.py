"""Who may see which member behind a holder field: the one rule every read route applies (docs/permissions.md).

A route that is allowed to answer (its own 403/404 checks are unchanged) names members in the context of one
receivable (its notes, their movements, liens and sales, and the order it was issued for) or of one untokenised
order. Every member it names, except the receivable's obligor (the debtor is the credit being looked at, never a
holder's secret), goes through `Visibility.ref`: the member id where the caller may see who it is, else a
pseudonym `holder-<12 hex>`.

The caller sees a member's identity in a context when:
- it is the operator or an auditor (everything), or the receivable's obligor (it pays every holder);
- the member is itself;
- the member gave it a sharing grant that is active now (`api/services/shares.py`), and it is a financier;
- it dealt with the member directly over the context's notes: a value movement between them (issue, split,
  merge, transfer, sale, recourse payback), or a lien between them (pledge, release, a note pledged now);
- it holds a note of the context the member made a factoring offer on (the financier addressed it; the other
  way round an open offer reveals nothing: the financier sees the holder once it sells);
- both are parties to the context's order (supplier, buyer, order holder, lienholder, lender, borrower);
- the member is the receivable's original creditor and the caller is a party of the receivable (it holds or
  held one of its notes, or has a lien on one): the creditor is on the face of the instrument.

Nothing else reveals an identity: seeing a tree, making an open offer on a note, or having a lien on another
note of the same receivable does not. A pseudonym is an HMAC of (caller, context, member) under a secret kept in
the data directory: stable for one caller reading one receivable again, but it differs between callers, between
receivables (so values cannot be summed per pseudonym into somebody's holdings) and says nothing about the
member's id or address.

Names: any member name added beside an id must come from `Visibility.name`, so that a hidden identity hides its
name too.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Principal
from api.services.common import ByIds, as_utc, sees_everything
from api.services.provenance import Movement, movements
from api.tables import MemberProfile, SharingGrant, now
from chain.node.roles import Roles
from chain.readmodel.store import Loan, Note, Offer, Order, Receivable

PREFIX = "holder-"
KEY_FILE = "pseudonym.key"

MemberRef = int | str


@lru_cache(maxsize=8)
def _secret_at(path: Path) -> bytes:
    """The key at `path`, made once: written to a temporary file and linked into place, so a concurrent first use
    (several workers) finds either no file or a complete one, and every process ends up with the same key. Cached:
    a request pays no file system call."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".pseudonym-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
                out.flush()
                os.fsync(out.fileno())
            os.link(temporary, path)  # fails if another process linked its key first: that one is kept
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    secret = path.read_bytes()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds {len(secret)} bytes; the pseudonym key needs 32")
    return secret


def pseudonym_secret(data_dir: Path) -> bytes:
    """The service's pseudonym key (`<data dir>/pseudonym.key`, 32 random bytes made on first use, mode 0600).
    Deleting it gives every caller new pseudonyms; it never leaves the server."""
    return _secret_at(data_dir / KEY_FILE)


def request_secret(request: Request) -> bytes:
    """The pseudonym key of the serving app's data directory."""
    return pseudonym_secret(Path(request.app.state.settings.data_dir))


def pseudonym(secret: bytes, viewer: int, context: str, member_id: int) -> str:
    digest = hmac.new(secret, f"{viewer}|{context}|{member_id}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:12]


def grantors(session: Session, principal: Principal) -> set[int]:
    """Members whose active sharing grant lets this financier see them (none for a caller without the role)."""
    if principal.is_operator or not principal.has_role(Roles.FINANCIER):
        return set()
    moment = now()
    rows = session.execute(
        select(SharingGrant.member_id, SharingGrant.expires_at).where(
            SharingGrant.financier_id == principal.member_id, SharingGrant.revoked_at.is_(None)
        )
    )
    found: set[int] = set()
    for member_id, expires_at in rows:
        expiry = as_utc(expires_at)
        if expiry is None or expiry > moment:
            found.add(int(member_id))
    return found


def display_names(session: Session, member_ids: Iterable[int | None]) -> dict[int, str]:
    """Display names of members with a profile. Only for ids an answer shows as they are (the caller may see them
    by the route's own checks: a receivable's obligor and creditor to its parties); a field that goes through
    `Visibility.ref` takes its name from `Visibility.name_of`."""
    ids = sorted({m for m in member_ids if m})
    if not ids:
        return {}
    rows = _DISPLAY_NAMES.execute(session, ids)
    return {int(member_id): str(name) for member_id, name in rows}


# Built once (its cache key memoised): a request binds the ids. Building the statement per call cost more Python
# than running it (GET /v1/notes/{id} asked for two names: a fifth of its Python, profiled).
# One to three ids (a note's holder, lienholder and obligor) with plain parameters (`ByIds`).
_DISPLAY_NAMES = ByIds(select(MemberProfile.member_id, MemberProfile.display_name), MemberProfile.member_id)


@dataclass
class Visibility:
    """The caller's view of one context. `ref` answers per member; the expensive part (the caller's dealings over
    the context's notes) is read only when a member is not settled by the cheap rules, and only once."""

    session: Session
    principal: Principal
    secret: bytes
    context: str
    everything: bool
    receivable: Receivable | None = None
    order: Order | None = None
    movements: list[Movement] | None = None  # the receivable's movements, when the route has them already
    _cheap: set[int] = field(default_factory=set)
    _stage: int = 0  # 0: cheap rules only, 1: + the notes' current parties and the order, 2: + every movement
    _dealt: set[int] = field(default_factory=set)
    _party: bool = False
    _holders: dict[int, int] = field(default_factory=dict)
    _names: dict[int, str | None] = field(default_factory=dict)

    @property
    def me(self) -> int:
        return self.principal.member_id

    def shows(self, member_id: int) -> bool:
        """May the caller see who `member_id` is in this context?"""
        if self.everything or member_id in self._cheap or member_id in self._dealt:
            return True
        while self._stage < 2:
            self._stage += 1
            if self._stage == 1:
                self._current_dealings()
            else:
                self._past_dealings()
            if member_id in self._dealt:
                return True
        return False

    def ref(self, member_id: int) -> MemberRef:
        return member_id if self.shows(member_id) else pseudonym(self.secret, self.me, self.context, member_id)

    def optional(self, member_id: int | None) -> MemberRef | None:
        """`ref` for a field where 0 or None means nobody (a lienholder, a sender of a mint)."""
        return self.ref(member_id) if member_id else None

    def refs(self, member_ids: Iterable[int]) -> list[MemberRef]:
        return [self.ref(m) for m in member_ids]

    def account(self, member_id: int, account: str) -> str | None:
        """A member's address is its identity (the member directory maps it to the id): hidden with it."""
        return account if self.shows(member_id) else None

    def name(self, member_id: int, name: str | None) -> str | None:
        """A member's name beside its id: shown exactly where the id is."""
        return name if self.shows(member_id) else None

    def name_of(self, member_id: int | None) -> str | None:
        """The display name beside `ref(member_id)` (None for nobody, a hidden member or one without a profile)."""
        if not member_id:
            return None
        if member_id not in self._names:
            self.load_names([member_id])
        return self.name(member_id, self._names[member_id])

    def know_names(self, names: Iterable[tuple[int | None, str | None]]) -> None:
        """Display names (None: no profile) the route read with another statement, for `name_of` to answer from
        without reading them again; what the caller is shown of them is still `name`'s rule."""
        self._names.update((m, name) for m, name in names if m)

    def load_names(self, member_ids: Iterable[int | None]) -> None:
        """Reads the profiles' names of `member_ids` in one statement, for `name_of` to answer from (an answer that
        names several members asks once, not once per member)."""
        wanted = {m for m in member_ids if m and m not in self._names}
        if wanted:
            found = display_names(self.session, wanted)
            self._names.update({m: found.get(m) for m in wanted})

    # ----------------------------------------------------------------------------------------- the rule
    def _found(self, members: Iterable[int | None]) -> None:
        self._dealt.update(m for m in members if m)
        if self._party and self.receivable is not None:
            self._dealt.add(self.receivable.creditor_id)

    def _current_dealings(self) -> None:
        """The receivable's notes now (a holder and its lienholder see each other) and the order's parties."""
        me = self.me
        receivable = self.receivable
        if receivable is not None:
            rows = self.session.execute(
                select(Note.id, Note.holder_id, Note.lienholder_id).where(Note.slot_id == receivable.id)
            )
            for note_id, holder, lien in rows:
                self._holders[int(note_id)] = int(holder)
                if holder == me or (lien and lien == me):
                    self._party = True
                    self._found((int(lien), int(holder)) if lien else ())
            offered = select(Offer.financier_id).join(Note, Note.id == Offer.note_id)
            self._found(self.session.scalars(offered.where(Note.slot_id == receivable.id, Note.holder_id == me)))
        order = self.order
        if order is not None:
            parties = {order.supplier_id, order.buyer_id, order.holder_id, order.lienholder_id}
            for financier, borrower in self.session.execute(
                select(Loan.financier_id, Loan.borrower_id).where(Loan.order_id == order.id)
            ):
                parties |= {int(financier), int(borrower)}
            if me in parties:
                self._found(parties)
        self._found(())

    def _past_dealings(self) -> None:
        """Every movement of the receivable's notes the caller was a side of: the other side is shown."""
        receivable = self.receivable
        if receivable is None:
            return
        moves = self.movements
        if moves is None:
            slot_notes = select(Note.id).where(Note.slot_id == receivable.id)
            moves = movements(self.session, slot_notes, receivable.issued_block, self._holders)
        me = self.me
        for m in moves:
            if me in (m.from_member_id, m.to_member_id):
                self._party = True
                self._found((m.from_member_id, m.to_member_id))
        self._found(())


def _build(
    session: Session,
    principal: Principal,
    secret: bytes,
    context: str,
    receivable: Receivable | None,
    order: Order | None,
    moves: list[Movement] | None,
) -> Visibility:
    obligor = receivable.obligor_id if receivable is not None else (order.buyer_id if order is not None else None)
    everything = sees_everything(principal) or (obligor is not None and principal.member_id == obligor)
    cheap: set[int] = set()
    if not everything:
        cheap = {principal.member_id} | grantors(session, principal)
        if obligor is not None:
            cheap.add(obligor)
    return Visibility(session, principal, secret, context, everything, receivable, order, moves, _cheap=cheap)


def for_receivable(
    session: Session,
    principal: Principal,
    secret: bytes,
    receivable: Receivable,
    *,
    moves: list[Movement] | None = None,
) -> Visibility:
    """The caller's view of a receivable, its notes and the order it was issued for (pass the receivable's
    `movements` when the route has read them, so they are not read twice)."""
    order = session.get(Order, receivable.order_id) if receivable.order_id else None
    return _build(session, principal, secret, f"receivable:{receivable.id}", receivable, order, moves)


def for_slot(session: Session, principal: Principal, secret: bytes, slot_id: int | None) -> Visibility:
    """`for_receivable` by id; a slot the read model does not know yet is a context of its own, with only the
    cheap rules (itself, grants; everything for auditors and the operator)."""
    if sees_everything(principal):  # nothing to read
        return Visibility(session, principal, secret, f"receivable:{slot_id or 0}", True)
    receivable = session.get(Receivable, slot_id) if slot_id else None
    if receivable is not None:
        return for_receivable(session, principal, secret, receivable)
    return _build(session, principal, secret, f"receivable:{slot_id or 0}", None, None, [])


def for_order(session: Session, principal: Principal, secret: bytes, order: Order) -> Visibility:
    """An order: once tokenised it is its receivable's context, before that a context of its own."""
    receivable = session.get(Receivable, order.slot_id) if order.slot_id else None
    if receivable is not None:
        return for_receivable(session, principal, secret, receivable)
    return _build(session, principal, secret, f"order:{order.id}", None, order, None)


def for_member(session: Session, principal: Principal, secret: bytes) -> Visibility:
    """No receivable context (a member's alerts): itself and its grantors; everything for auditors and the
    operator."""
    return _build(session, principal, secret, "member", None, None, [])


@dataclass
class Views:
    """One caller's views of the receivables an answer names (a page of notes or offers, an export), each worked
    out once."""

    session: Session
    principal: Principal
    secret: bytes
    _slots: dict[int, Visibility] = field(default_factory=dict)
    _member: Visibility | None = None

    def slot(self, slot_id: int | None) -> Visibility:
        key = slot_id or 0
        if key not in self._slots:
            self._slots[key] = for_slot(self.session, self.principal, self.secret, slot_id)
        return self._slots[key]

    def member(self) -> Visibility:
        if self._member is None:
            self._member = for_member(self.session, self.principal, self.secret)
        return self._member
