"""RQ jobs: each takes an id, is safe to run twice, and raises rather than hide a failure."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app

from conversations.sms_commands import SmsRouter
from registry.db import utcnow
from registry.inbound import claim_inbound, finish_inbound, mark_inbound_failed
from registry.outbox import claim_sms, settle_sms, unknown_resends
from registry.phones import mask_phone
from registry.statuses import SmsStatus

log = logging.getLogger(__name__)


class TransientSmsError(Exception):
    """The provider could not take the message now; RQ tries again later."""


class SmsGaveUp(Exception):
    """Every attempt failed; the message is marked failed and the job kept for an operator."""


def send_sms(message_id: int) -> str:
    """Send one outbox message, at most once, and record what the provider said."""
    app = current_app.extensions["janela"]
    message = claim_sms(app.db, message_id)
    if message is None:
        return "skipped: already sent, being sent, or not sendable"
    if message.suppressed:
        settle_sms(app.db, message_id, SmsStatus.SUPPRESSED, error="recipient opted out")
        return SmsStatus.SUPPRESSED
    result = app.sms_gateway.send(message.recipient, message.body)
    extra = {"sms_id": message_id, "phone": mask_phone(message.recipient), "attempt": message.attempts}
    if result.outcome in (SmsStatus.SENT, SmsStatus.HELD):
        settle_sms(app.db, message_id, SmsStatus(result.outcome), result.provider_message_id, result.cost)
        log.info("sms %s %s", message_id, result.outcome, extra=extra)
        return result.outcome
    if result.outcome == "unknown":
        return _unknown_outcome(message_id, message.recipient, result.reason, extra)
    if result.outcome == "permanent":
        settle_sms(app.db, message_id, SmsStatus.FAILED, error=result.reason)
        log.warning("sms %s failed for good: %s", message_id, result.reason, extra=extra)
        return SmsStatus.FAILED
    policy = app.delivery
    if message.attempts >= policy.max_attempts:
        reason = f"gave up after {message.attempts} attempts: {result.reason}"
        settle_sms(app.db, message_id, SmsStatus.FAILED, error=reason)
        raise SmsGaveUp(reason)
    delays = policy.retry_delays or (0,)
    delay = delays[min(message.attempts - 1, len(delays) - 1)]
    settle_sms(
        app.db, message_id, SmsStatus.RETRY, error=result.reason, retry_at=utcnow() + timedelta(seconds=delay)
    )
    log.info("sms %s will be retried in %ss: %s", message_id, delay, result.reason, extra=extra)
    raise TransientSmsError(result.reason)


def _unknown_outcome(message_id: int, recipient: str, reason: str | None, extra: dict[str, object]) -> str:
    """Wait for a delivery report rather than send again at once; give up after one blind resend."""
    app = current_app.extensions["janela"]
    if unknown_resends(app.db, message_id) >= 1:
        # Already sent again once after an unknown outcome: a third send risks a third copy.
        note = (
            f"outcome unknown again after one resend ({reason}); not sent again, check the delivery reports"
        )
        settle_sms(app.db, message_id, SmsStatus.FAILED, error=note)
        log.error("sms %s: %s", message_id, note, extra=extra)
        return SmsStatus.FAILED
    window = timedelta(seconds=app.delivery.unknown_window)
    note = f"outcome unknown ({reason}); waiting for a delivery report, else sent again once"
    settle_sms(app.db, message_id, SmsStatus.UNKNOWN, error=note, retry_at=utcnow() + window)
    log.warning("sms %s: %s", message_id, note, extra=extra)
    # No exception: RQ must not retry it. The sweep sends it again once if no report comes.
    return SmsStatus.UNKNOWN


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
