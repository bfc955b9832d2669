"""RQ jobs: each takes ids (one, or a batch of SMS), is safe to run twice, and raises on failure."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app

from conversations.sms_commands import SmsRouter
from registry.db import utcnow
from registry.inbound import claim_inbound, finish_inbound, mark_inbound_failed
from registry.outbox import Settlement, SmsToSend, claim_batch, settle_batch
from registry.phones import mask_phone
from registry.statuses import SmsStatus
from workers.gateways import SendResult
from workers.queues import Delivery

log = logging.getLogger(__name__)


class TransientSmsError(Exception):
    """The provider could not take the message now; RQ tries again later."""


class SmsGaveUp(Exception):
    """Every attempt failed; the message is marked failed and the job kept for an operator."""


def send_sms(message_id: int) -> str:
    """Send one outbox message, at most once, and record what the provider said."""
    return send_sms_batch([message_id])


def send_sms_batch(message_ids: list[int]) -> str:
    """Send outbox messages, each at most once, one request per text; record each recipient's answer.

    The rows are claimed together; each request's rows are settled together, each by its own
    recipient's answer. A row the provider could not take now makes the job raise, so RQ runs it
    again later: the rerun claims only the rows still waiting for a retry.
    """
    app = current_app.extensions["janela"]
    claimed = claim_batch(app.db, message_ids)
    if not claimed:
        return "skipped: already sent, being sent, or not sendable"
    outcomes: Counter[SmsStatus] = Counter(SmsStatus.SUPPRESSED for m in claimed if m.suppressed)
    retry_reasons: list[str] = []
    gave_up: list[str] = []
    for group in _requests([m for m in claimed if not m.suppressed], app.delivery.batch_size):
        results = app.sms_gateway.send_batch([m.recipient for m in group], group[0].body)
        settlements = []
        for message, result in zip(group, results, strict=True):
            settlement = _settlement(message, result, app.delivery)
            settlements.append(settlement)
            outcomes[settlement.status] += 1
            if settlement.status == SmsStatus.RETRY:
                retry_reasons.append(result.reason or "")
            elif settlement.status == SmsStatus.FAILED and result.outcome == "transient":
                gave_up.append(settlement.error or "")
        # Written at once for the whole request: a worker killed before this line leaves every
        # row of the request claimed, and the sweep treats them all as of unknown outcome.
        settle_batch(app.db, settlements)
        _log_request(group, settlements)
    summary: str
    if len(message_ids) == 1:
        summary = next(iter(outcomes))
    else:
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    if retry_reasons:
        raise TransientSmsError(_detail(message_ids, summary, retry_reasons[0]))
    if gave_up:
        raise SmsGaveUp(_detail(message_ids, summary, gave_up[0]))
    return summary


def _detail(message_ids: list[int], summary: str, reason: str) -> str:
    """Name the reason; for a batch, what became of its rows too."""
    return reason if len(message_ids) == 1 else f"{summary}; first reason: {reason}"


def _requests(messages: Sequence[SmsToSend], size: int) -> list[list[SmsToSend]]:
    """Split messages into requests: one text each, at most size, no recipient named twice."""
    requests: list[list[SmsToSend]] = []
    open_by_body: dict[str, list[tuple[list[SmsToSend], set[str]]]] = {}
    for message in messages:
        chunks = open_by_body.setdefault(message.body, [])
        for chunk, phones in chunks:
            if len(chunk) < size and message.recipient not in phones:
                break
        else:
            chunk, phones = [], set()
            chunks.append((chunk, phones))
            requests.append(chunk)
        chunk.append(message)
        phones.add(message.recipient)
    return requests


def _settlement(message: SmsToSend, result: SendResult, policy: Delivery) -> Settlement:
    """Decide what one row becomes after its recipient's answer."""
    if result.outcome in (SmsStatus.SENT, SmsStatus.HELD):
        return Settlement(message.id, SmsStatus(result.outcome), result.provider_message_id, result.cost)
    if result.outcome == "unknown":
        return _unknown_outcome(message, result.reason, policy)
    if result.outcome == "permanent":
        return Settlement(message.id, SmsStatus.FAILED, error=result.reason)
    if message.attempts >= policy.max_attempts:
        reason = f"gave up after {message.attempts} attempts: {result.reason}"
        return Settlement(message.id, SmsStatus.FAILED, error=reason)
    delays = policy.retry_delays or (0,)
    delay = delays[min(message.attempts - 1, len(delays) - 1)]
    retry_at = utcnow() + timedelta(seconds=delay)
    return Settlement(message.id, SmsStatus.RETRY, error=result.reason, retry_at=retry_at)


def _unknown_outcome(message: SmsToSend, reason: str | None, policy: Delivery) -> Settlement:
    """Wait for a delivery report rather than send again at once; give up after one blind resend."""
    if message.unknown_resends >= 1:
        # Already sent again once after an unknown outcome: a third send risks a third copy.
        note = (
            f"outcome unknown again after one resend ({reason}); not sent again, check the delivery reports"
        )
        return Settlement(message.id, SmsStatus.FAILED, error=note)
    note = f"outcome unknown ({reason}); waiting for a delivery report, else sent again once"
    retry_at = utcnow() + timedelta(seconds=policy.unknown_window)
    # No exception for it: RQ must not retry it. The sweep sends it again once if no report comes.
    return Settlement(message.id, SmsStatus.UNKNOWN, error=note, retry_at=retry_at)


def _log_request(group: list[SmsToSend], settlements: list[Settlement]) -> None:
    """Log a request in one line, and each row that did not go as a line of its own."""
    for message, settlement in zip(group, settlements, strict=True):
        if settlement.status not in (SmsStatus.SENT, SmsStatus.HELD):
            extra = {
                "sms_id": message.id,
                "phone": mask_phone(message.recipient),
                "attempt": message.attempts,
            }
            level = logging.ERROR if "not sent again" in (settlement.error or "") else logging.WARNING
            log.log(level, "sms %s %s: %s", message.id, settlement.status, settlement.error, extra=extra)
    log.info(
        "sms request to %s recipient(s) settled (%s)",
        len(group),
        ", ".join(f"{n} {o}" for o, n in sorted(Counter(s.status for s in settlements).items())),
        extra={"sms_ids": [m.id for m in group]},
    )


def process_inbound(inbound_id: int) -> str:
    """Answer one inbound SMS: the router decides, then its effect and reply commit together.

    A failure marks the message failed; the sweep tries it again with backoff, and after the last
    attempt it is reported (`flask sms inbound-failed`, /healthz) instead of being tried forever.
    """
    app = current_app.extensions["janela"]
    message = claim_inbound(app.db, inbound_id, stale=timedelta(seconds=app.delivery.stale_after))
    if message is None:
        return "skipped: already processed or being processed"
    try:
        decision = SmsRouter(app.db, app.settings).route(
            message.sender, message.text, f"inbound:{inbound_id}"
        )
        finish_inbound(app.db, inbound_id, decision, app.settings.sms_policy, app.settings.zone)
    except Exception as exc:
        status = mark_inbound_failed(app.db, inbound_id, f"{type(exc).__name__}: {exc}")
        log.warning("inbound %s %s", inbound_id, status, exc_info=True, extra={"inbound_id": inbound_id})
        raise
    return decision.command
