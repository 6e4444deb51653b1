"""The "rejected-attempts" alert rule over the audit log: repeated refused attempts to spend something twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit.models import AuditEntry
from api.problems import TYPE_BASE
from api.tables import OPERATOR
from chain.readmodel.alerts import AlertConfig, Finding, RejectedAttempt, one_of, rejected_attempts
from chain.readmodel.store import table

# Problem types of a refused attempt to issue, pledge, lock or sell something a second time
# (contract errors, slugs by api.writes.contract_error_slug): the "rejected-attempts" alert rule counts them.
DOUBLE_SPEND_SLUGS = (
    "invoice-already-tokenised",  # ReceivableNotes.InvoiceAlreadyTokenised: the invoice already backs a receivable
    "order-already-tokenised",  # ReceivableNotes.OrderAlreadyTokenised: the order already has a receivable
    "order-already-pledged",  # OrderBook.OrderAlreadyPledged: the order already has a lienholder
    "note-is-locked",  # ReceivableNotes.NoteIsLocked: the note is pledged (locked) to a lienholder
    "loan-exists",  # Financing.LoanExists: the order already secures an active loan
    "offer-not-open",  # Financing.OfferNotOpen: the offer was already accepted (sold) or cancelled
)
DOUBLE_SPEND_TYPES = tuple(TYPE_BASE + slug for slug in DOUBLE_SPEND_SLUGS)


# Built once: a statement built per call cost more than running it (the rules run on each indexer pass over a block
# with events). The types as ORs of plain parameters (`one_of`), not IN: an IN's expanding parameter is rendered anew.
# Of table columns (Core): a select of the model's attributes run by a Session takes the ORM's compile and loading
# steps on every execution.
_LOG = table(AuditEntry)
_REJECTED_QUERY = (
    select(_LOG.c.member_id, _LOG.c.at, _LOG.c.request_id)
    .where(_LOG.c.result == "rejected", one_of(_LOG.c.problem_type, DOUBLE_SPEND_TYPES))
    .where(_LOG.c.member_id.is_not(None), _LOG.c.member_id != OPERATOR)
    .order_by(_LOG.c.seq)
)


def rejected_attempt_findings(session: Session, config: AlertConfig) -> list[Finding]:
    """The "rejected-attempts" rule over the audit log (an `extra_rules` function of `alerts.evaluate`)."""
    query = _REJECTED_QUERY
    attempts = [
        RejectedAttempt(member_id, datetime.fromisoformat(at), request_id)
        for member_id, at, request_id in session.execute(query).all()
        if member_id is not None
    ]
    return rejected_attempts(attempts, config)
