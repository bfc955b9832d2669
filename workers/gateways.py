"""SMS gateways: each hands one text to a provider for its recipients and says what became of each."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests
from africastalking.Service import AfricasTalkingException, validate_phone
from africastalking.SMS import SMSService

log = logging.getLogger(__name__)

# unknown: the request left and no answer came; the provider may have taken the message.
Outcome = Literal["sent", "held", "permanent", "transient", "unknown"]
ACCEPTED = (100, 101, 102)  # Processed, Sent, Queued
PERMANENT = range(401, 408)  # RiskHold ... CouldNotRoute: sending again will not help
TRANSIENT = (500, 501, 502)  # InternalServerError, GatewayError, RejectedByGateway


@dataclass(frozen=True)
class SendResult:
    """What the provider said about one message to one recipient."""

    outcome: Outcome
    provider_message_id: str | None = None
    cost: str | None = None
    reason: str | None = None


class SmsGateway(Protocol):
    """Anything that can send one text to a few recipients (a gateway without bulk sends loops)."""

    def send_batch(self, recipients: Sequence[str], body: str) -> list[SendResult]:
        """Send body to each of recipients (each named once); return their results in that order."""
        ...


class OutboxOnly:
    """Keep messages in the outbox (the simulator shows them); for demos and development."""

    def send_batch(self, recipients: Sequence[str], body: str) -> list[SendResult]:
        """Send nothing: every message stays in the outbox, marked held."""
        return [SendResult("held") for _ in recipients]


def _digits(number: object) -> str:
    return re.sub(r"\D", "", str(number or ""))


class AfricasTalking:
    """Africa's Talking SMS through its SDK; api_url points the SDK at another host.

    AT takes many recipients of one text in one request and answers each recipient's statusCode
    and messageId apart, so a batch is one HTTP round trip and each row is settled by its own entry.
    """

    def __init__(
        self, username: str, api_key: str, sender_id: str = "", api_url: str = "", timeout: float = 10
    ) -> None:
        self.service = SMSService(username, api_key)
        if api_url:
            self.service._baseUrl = api_url.rstrip("/") + "/version1"
        self.sender_id = sender_id or None
        self.timeout = timeout

    def send_batch(self, recipients: Sequence[str], body: str) -> list[SendResult]:
        """Send one text to recipients in one request; read each recipient's statusCode apart."""
        if len(set(recipients)) != len(recipients):
            # AT answers by number: a number named twice could not tell its two rows apart.
            raise ValueError("a request names each recipient once")
        # The SDK refuses the whole request for one malformed number: that one fails alone.
        malformed = {r for r in recipients if not validate_phone(r)}
        valid = [r for r in recipients if r not in malformed]
        answers = self._send(valid, body) if valid else {}
        return [
            SendResult("permanent", reason=f"Invalid phone number: {r}") if r in malformed else answers[r]
            for r in recipients
        ]

    def _send(self, recipients: list[str], body: str) -> dict[str, SendResult]:
        """Make the request; an error that concerns the whole request is every recipient's result."""
        try:
            response = self.service.send(
                body, recipients, sender_id=self.sender_id, timeout=(min(3.05, self.timeout), self.timeout)
            )
        except ValueError as exc:  # the SDK refuses a malformed request before sending
            everyone = SendResult("permanent", reason=str(exc))
        except requests.ConnectTimeout:
            everyone = SendResult("transient", reason="timeout connecting: nothing was sent")
        except requests.Timeout:
            # Sent, and no answer in time: sending again blindly could deliver it twice.
            everyone = SendResult("unknown", reason=f"no answer within {self.timeout:g} s after sending")
        except requests.ConnectionError as exc:
            everyone = SendResult("transient", reason=f"connection error: {exc.__class__.__name__}")
        except AfricasTalkingException as exc:  # a non-2xx answer: AT or its edge had a bad minute
            everyone = SendResult("transient", reason=f"HTTP error: {str(exc)[:200]}")
        else:
            return self._read(response, recipients)
        return {r: everyone for r in recipients}

    @staticmethod
    def _read(response: Any, recipients: list[str]) -> dict[str, SendResult]:
        """Read each recipient's entry of AT's answer (a 2xx can still hold failed recipients)."""
        if not isinstance(response, dict):
            unexpected = SendResult("transient", reason=f"unexpected answer: {str(response)[:200]}")
            return {r: unexpected for r in recipients}
        data = response.get("SMSMessageData") or {}
        entries = [e for e in data.get("Recipients") or [] if isinstance(e, dict)]
        message = str(data.get("Message") or "no recipient accepted")
        if not entries:
            # AT names the problem in Message (InvalidSenderId, InvalidPhoneNumber, ...).
            refused = SendResult("permanent", reason=message)
            return {r: refused for r in recipients}
        by_number = {_digits(e.get("number")): e for e in entries}
        results = {}
        for recipient in recipients:
            entry = by_number.get(_digits(recipient))
            if entry is None:
                # AT gave this number no messageId: it did not take it, and says no more.
                results[recipient] = SendResult("permanent", reason=f"not in AT's answer: {message[:150]}")
            else:
                results[recipient] = AfricasTalking._entry(entry)
        return results

    @staticmethod
    def _entry(entry: dict[str, Any]) -> SendResult:
        try:
            code = int(entry.get("statusCode"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return SendResult("transient", reason=f"unreadable statusCode {entry.get('statusCode')!r}")
        status = str(entry.get("status") or code)
        if code in ACCEPTED:
            return SendResult("sent", entry.get("messageId"), entry.get("cost"))
        if code in PERMANENT:
            return SendResult("permanent", reason=f"{code} {status}")
        return SendResult("transient", reason=f"{code} {status}")


def make_gateway(config: dict[str, Any]) -> SmsGateway:
    """Return the gateway SMS_BACKEND names."""
    if config["SMS_BACKEND"] == "africastalking":
        return AfricasTalking(
            config["AT_USERNAME"],
            config["AT_API_KEY"],
            config["AT_SENDER_ID"],
            config["AT_API_URL"],
            config["SMS_TIMEOUT"],
        )
    return OutboxOnly()
