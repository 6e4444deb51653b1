"""Financing requests: a supplier (the holder of a note) asks one or more banks for factoring offers on the note, or
on part of it; the banks asked see the request and answer with offers; the supplier accepts one with the existing
`POST /v1/financing/offers/{id}/accept`, which closes the request. The rules, answers and workflows.

A request is service data (`financing_requests`, api/tables.py): nothing of it is on chain, and a read-model rebuild
keeps it. The offers that answer it are ordinary on-chain offers (linked in `financing_request_offers`), and so is the
sale. Only the requester, the banks asked, auditors and the operator see a request; anyone else gets 404 so that ids
do not leak. The creation and the withdrawal go through the write pipeline for `Idempotency-Key` handling (nothing is
signed); an answer signs the offer with the bank's key like `POST /v1/financing/offers`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from api.amounts import format_amount
from api.deps import Principal, WriteDeps
from api.problems import Problem, catalogued
from api.schemas.financing import FinancingRequestIn, FinancingRequestOut, OfferOut, RequestOfferIn
from api.services.common import as_utc, end_of_day_utc, event_args, iso_time, sees_everything
from api.services.financing import (
    CONTRACT,
    ledger_or_none,
    offer_answer,
    offer_out,
    offer_visibility,
    refuse_matured,
)
from api.services.visibility import Views, display_names, request_secret
from api.tables import FinancingRequest, FinancingRequestBank, FinancingRequestOffer, now
from api.writes import WriteContext
from chain.node.roles import Roles
from chain.readmodel.store import Member, Note, Offer, Receivable

LIVE = ("open", "offered")  # stored statuses that still take offers (until `expires_at`)
STATUSES = "^(open|offered|accepted|withdrawn|expired)$"


def effective_status(req: FinancingRequest, at: datetime | None = None) -> str:
    moment = at or now()
    if req.status in LIVE and as_utc(req.expires_at) <= moment:
        return "expired"
    return req.status


def _not_found(request_id: int) -> Problem:
    return catalogued(404, "not-found", "not-found.no-financing-request", {"request_id": request_id})


def banks_of(session: Session, request_id: int) -> list[int]:
    rows = session.scalars(
        select(FinancingRequestBank.financier_id)
        .where(FinancingRequestBank.request_id == request_id)
        .order_by(FinancingRequestBank.financier_id)
    )
    return [int(b) for b in rows]


def visible_request(session: Session, principal: Principal, request_id: int) -> tuple[FinancingRequest, list[int]]:
    req = session.get(FinancingRequest, request_id) if 1 <= request_id < 2**63 else None
    if req is None:
        raise _not_found(request_id)
    banks = banks_of(session, req.id)
    if not sees_everything(principal) and principal.member_id not in {req.requester_id, *banks}:
        raise _not_found(request_id)
    return req, banks


def request_out(
    session: Session, request: Request, principal: Principal, req: FinancingRequest, banks: list[int], views: Views
) -> FinancingRequestOut:
    """The caller's view: the requester under the visibility rules (a pseudonym to a bank that has no other reason to
    see it), the obligor always; a bank sees itself among the banks asked and its own offers only."""
    me = principal.member_id
    full = sees_everything(principal) or me == req.requester_id
    vis = views.slot(req.slot_id)
    note = session.get(Note, req.note_id)
    receivable = session.get(Receivable, req.slot_id) if req.slot_id else None
    shown_banks = banks if full else [b for b in banks if b == me]
    names = display_names(session, [receivable.obligor_id if receivable else None])
    linked = session.scalars(
        select(FinancingRequestOffer.offer_id)
        .where(FinancingRequestOffer.request_id == req.id)
        .order_by(FinancingRequestOffer.offer_id)
    )
    currency = request.app.state.settings.currency
    ledger = ledger_or_none(request)
    offers: list[OfferOut] = []
    for offer_id in linked:
        offer = session.get(Offer, offer_id)
        if offer is None or not (full or offer.financier_id == me):
            continue
        offers.append(offer_out(session, offer, currency, ledger, offer_visibility(session, offer, views)))
    withdrawn = as_utc(req.withdrawn_at)
    return FinancingRequestOut(
        id=req.id,
        status=effective_status(req),
        note_id=req.note_id,
        receivable_id=req.slot_id,
        requester_id=vis.ref(req.requester_id),
        requester_name=vis.name_of(req.requester_id),
        value=req.value,
        currency=currency,
        note_value=note.value if note is not None else 0,
        note_live=bool(note is not None and note.live),
        face_value=receivable.face_value if receivable else None,
        obligor_id=receivable.obligor_id if receivable else None,
        obligor_name=names.get(receivable.obligor_id) if receivable else None,
        maturity=iso_time(receivable.maturity) if receivable else None,
        target_rate_bps=req.target_rate_bps,
        recourse=req.recourse,
        expires_at=as_utc(req.expires_at).isoformat(),
        created_at=as_utc(req.created_at).isoformat(),
        withdrawn_at=withdrawn.isoformat() if withdrawn is not None else None,
        financier_ids=shown_banks,
        offers=offers,
        accepted_offer_id=req.accepted_offer_id,
    )


def _answer(request: Request, principal: Principal, request_id: int, status: int) -> tuple[int, Any]:
    with Session(request.app.state.engine) as session:
        req, banks = visible_request(session, principal, request_id)
        views = Views(session, principal, request_secret(request))
        return status, request_out(session, request, principal, req, banks, views).model_dump(mode="json")


def _member(principal: Principal) -> int:
    if principal.is_operator:
        raise catalogued(403, "forbidden", "forbidden.operator-asks-no-bank")
    return principal.member_id


def _expiry(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value).astimezone(UTC)
    return datetime.combine(value, time(23, 59, 59), tzinfo=UTC)


def _refuse_suspended(principal: Principal, what: str) -> None:
    """A suspended member can neither sell a note nor make an offer on chain: it cannot ask or answer either.
    `what` is `ask` or `answer` (problem.detail.member-not-active.cannot-<what>-financing)."""
    if principal.status != "active":
        raise catalogued(
            403,
            "member-not-active",
            f"member-not-active.cannot-{what}-financing",
            {"member_id": principal.member_id, "status_term": principal.status},
        )


def _refuse_closed(req: FinancingRequest) -> None:
    status = effective_status(req)
    if status not in LIVE:
        params = {"request_id": req.id, "status_term": status}
        raise catalogued(
            409, "financing-request-closed", "financing-request-closed.no-more-offers", params, requestStatus=status
        )


def requests_query(principal: Principal, status: str | None, note_id: int | None) -> Select[FinancingRequest]:
    """Requests the caller made or that ask it (a bank); all for auditors and the operator."""
    query = select(FinancingRequest)
    if not sees_everything(principal):
        me = principal.member_id
        asked = select(FinancingRequestBank.request_id).where(FinancingRequestBank.financier_id == me)
        query = query.where(or_(FinancingRequest.requester_id == me, FinancingRequest.id.in_(asked)))
    moment = now()
    if status == "expired":
        query = query.where(FinancingRequest.status.in_(LIVE), FinancingRequest.expires_at <= moment)
    elif status in LIVE:
        query = query.where(and_(FinancingRequest.status == status, FinancingRequest.expires_at > moment))
    elif status is not None:
        query = query.where(FinancingRequest.status == status)
    if note_id is not None:
        query = query.where(FinancingRequest.note_id == note_id)
    return query


def create_request(w: WriteDeps, body: FinancingRequestIn) -> JSONResponse:
    """The holder of a note asks banks for offers on it (201, the request): service data, nothing is signed."""
    session, principal, request = w.session, w.principal, w.request
    me = _member(principal)
    _refuse_suspended(principal, "ask")
    note = session.get(Note, body.note_id)
    receivable = session.get(Receivable, note.slot_id) if note is not None and note.slot_id else None
    parties = {note.holder_id, note.lienholder_id, receivable.obligor_id if receivable else 0} if note else set()
    if note is None or (me not in parties and not sees_everything(principal)):
        raise catalogued(404, "not-found", "not-found.no-note", {"note_id": body.note_id})
    if note.holder_id != me:
        raise catalogued(403, "forbidden", "forbidden.only-holder-asks", {"note_id": note.id})
    if note.lienholder_id:
        raise catalogued(
            409,
            "note-is-locked",
            "note-is-locked.pledged",
            {"note_id": note.id, "lienholder_id": note.lienholder_id},
            lienholderId=note.lienholder_id,
        )
    refuse_matured(w.ledger, session, note)
    if body.value > note.value:
        raise catalogued(
            422,
            "insufficient-value",
            "insufficient-value.note-holds-less",
            {"note_id": note.id, "held": format_amount(note.value), "requested": format_amount(body.value)},
        )
    banks = list(dict.fromkeys(body.financier_ids))
    if len(banks) != len(body.financier_ids):
        raise catalogued(422, "invalid-financing-bank", "invalid-financing-bank.named-twice")
    for bank in banks:
        member = session.get(Member, bank) if 1 <= bank < 2**63 else None
        if member is None or bank == me or not member.roles & Roles.FINANCIER or member.status != "active":
            params = {"member_id": bank}
            raise catalogued(
                422, "invalid-financing-bank", "invalid-financing-bank.not-a-bank", params, financierId=bank
            )
    expires_at = _expiry(body.expires_at)
    if expires_at <= now():
        raise catalogued(422, "invalid-expiry", "invalid-expiry.in-the-past")
    if receivable is not None and int(expires_at.timestamp()) > receivable.maturity:
        raise catalogued(
            422,
            "invalid-expiry",
            "invalid-expiry.after-maturity",
            {"maturity": iso_time(receivable.maturity)},
            maturity=iso_time(receivable.maturity),
        )
    engine = w.engine

    def workflow(_ctx: WriteContext) -> tuple[int, Any]:
        with Session(engine) as s, s.begin():
            live = s.scalars(
                select(FinancingRequest).where(
                    FinancingRequest.note_id == note.id,
                    FinancingRequest.status.in_(LIVE),
                    FinancingRequest.expires_at > now(),
                )
            ).first()
            if live is not None:
                params = {"request_id": live.id, "note_id": note.id}
                raise catalogued(
                    409, "financing-request-open", "financing-request-open.withdraw-first", params, requestId=live.id
                )
            req = FinancingRequest(
                requester_id=me,
                note_id=note.id,
                slot_id=note.slot_id,
                value=body.value,
                target_rate_bps=body.target_rate_bps,
                recourse=body.recourse,
                expires_at=expires_at,
                status="open",
                created_at=now(),
            )
            s.add(req)
            s.flush()
            s.add_all(FinancingRequestBank(request_id=req.id, financier_id=b) for b in banks)
            request_id = req.id
        return _answer(request, principal, request_id, 201)

    return w.run("financing-request:" + body.model_dump_json(), workflow)


def withdraw_request(w: WriteDeps, request_id: int) -> JSONResponse:
    """The requester withdraws its request."""
    req, _ = visible_request(w.session, w.principal, request_id)
    if req.requester_id != w.principal.member_id:
        raise catalogued(403, "forbidden", "forbidden.only-requester-withdraws", {"request_id": request_id})
    engine = w.engine

    def workflow(_ctx: WriteContext) -> tuple[int, Any]:
        with Session(engine) as s, s.begin():
            row = s.get(FinancingRequest, request_id)
            if row is None:
                raise _not_found(request_id)
            if row.status != "withdrawn":
                _refuse_closed(row)
                row.status = "withdrawn"
                row.withdrawn_at = now()
        return _answer(w.request, w.principal, request_id, 200)

    return w.run(f"withdraw-request:{request_id}", workflow)


def answer_request(w: WriteDeps, request_id: int, body: RequestOfferIn) -> JSONResponse:
    """An asked bank answers with a factoring offer on the request's note (201, the offer), signed with its key."""
    session, principal, ledger = w.session, w.principal, w.ledger
    req, banks = visible_request(session, principal, request_id)
    if principal.member_id not in banks:
        raise catalogued(403, "forbidden", "forbidden.only-banks-asked-answer", {"request_id": request_id})
    _refuse_suspended(principal, "answer")
    account = w.account()
    if not principal.has_role(Roles.FINANCIER):
        raise catalogued(403, "forbidden", "forbidden.only-financiers-make")
    value = body.value if body.value is not None else req.value
    expiry = (
        int(as_utc(body.expires_at).timestamp())
        if isinstance(body.expires_at, datetime)
        else end_of_day_utc(body.expires_at)
    )
    payload = f"answer-request:{request_id}:" + body.model_dump_json()
    if not w.started(payload):  # a retry replays (the request may be closed now)
        _refuse_closed(req)
        note = session.get(Note, req.note_id)
        if note is None or note.holder_id != req.requester_id:
            params = {"note_id": req.note_id, "request_id": req.id}
            raise catalogued(
                409, "financing-request-closed", "financing-request-closed.moot", params, requestStatus="moot"
            )
        if value > req.value:
            raise catalogued(
                422,
                "insufficient-value",
                "insufficient-value.offer-above-request",
                {"request_id": req.id, "requested": format_amount(req.value)},
            )
        refuse_matured(ledger, session, note)
    engine = w.engine
    me = principal.member_id

    def workflow(ctx: WriteContext) -> tuple[int, Any]:
        call = ledger.financing.make_offer(req.note_id, value, body.rate_bps, body.recourse, expiry)
        receipt = ctx.transact(account, call)
        offer_id = int(event_args(ledger, receipt, CONTRACT, "OfferMade")["offerId"])
        with Session(engine) as s, s.begin():
            if s.get(FinancingRequestOffer, offer_id) is None:
                s.add(FinancingRequestOffer(offer_id=offer_id, request_id=req.id, financier_id=me))
            row = s.get(FinancingRequest, req.id)
            if row is not None and row.status == "open":
                row.status = "offered"
        return offer_answer(w.request, ctx, principal, offer_id, 201)

    return w.run(payload, workflow)
