"""SMS gateways: each hands one message to a provider and says what became of it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests
from africastalking.Service import AfricasTalkingException
from africastalking.SMS import SMSService

log = logging.getLogger(__name__)

# unknown: the request left and no answer came; the provider may have taken the message.
Outcome = Literal["sent", "held", "permanent", "transient", "unknown"]
ACCEPTED = (100, 101, 102)  # Processed, Sent, Queued
PERMANENT = range(401, 408)  # RiskHold ... CouldNotRoute: sending again will not help
TRANSIENT = (500, 501, 502)  # InternalServerError, GatewayError, RejectedByGateway


@dataclass(frozen=True)
class SendResult:
    """What the provider said about one message."""

    outcome: Outcome
    provider_message_id: str | None = None
    cost: str | None = None
    reason: str | None = None


class SmsGateway(Protocol):
    """Anything that can send one SMS."""

    def send(self, recipient: str, body: str) -> SendResult:
        """Send body to recipient."""
        ...


class OutboxOnly:
    """Keep messages in the outbox (the simulator shows them); for demos and development."""

    def send(self, recipient: str, body: str) -> SendResult:
        """Send nothing: the message stays in the outbox, marked held."""
        return SendResult("held")


class AfricasTalking:
    """Africa's Talking SMS through its SDK; api_url points the SDK at another host."""

    def __init__(
        self, username: str, api_key: str, sender_id: str = "", api_url: str = "", timeout: float = 10
    ) -> None:
        self.service = SMSService(username, api_key)
        if api_url:
            self.service._baseUrl = api_url.rstrip("/") + "/version1"
        self.sender_id = sender_id or None
        self.timeout = timeout

    def send(self, recipient: str, body: str) -> SendResult:
        """Send one message and read its recipient's statusCode (a 2xx can still hold a failure)."""
        try:
            response = self.service.send(
                body, [recipient], sender_id=self.sender_id, timeout=(min(3.05, self.timeout), self.timeout)
            )
        except ValueError as exc:  # the SDK refuses a malformed number before sending
            return SendResult("permanent", reason=str(exc))
        except requests.ConnectTimeout:
            return SendResult("transient", reason="timeout connecting: nothing was sent")
        except requests.Timeout:
            # Sent, and no answer in time: sending again blindly could deliver it twice.
            return SendResult("unknown", reason=f"no answer within {self.timeout:g} s after sending")
        except requests.ConnectionError as exc:
            return SendResult("transient", reason=f"connection error: {exc.__class__.__name__}")
        except AfricasTalkingException as exc:  # a non-2xx answer: AT or its edge had a bad minute
            return SendResult("transient", reason=f"HTTP error: {str(exc)[:200]}")
        return self._read(response)

    @staticmethod
    def _read(response: Any) -> SendResult:
        if not isinstance(response, dict):
            return SendResult("transient", reason=f"unexpected answer: {str(response)[:200]}")
        data = response.get("SMSMessageData") or {}
        recipients = data.get("Recipients") or []
        if not recipients:
            # AT names the problem in Message (InvalidSenderId, InvalidPhoneNumber, ...).
            return SendResult("permanent", reason=str(data.get("Message") or "no recipient accepted"))
        first = recipients[0]
        try:
            code = int(first.get("statusCode"))
        except (TypeError, ValueError):
            return SendResult("transient", reason=f"unreadable statusCode {first.get('statusCode')!r}")
        status = str(first.get("status") or code)
        if code in ACCEPTED:
            return SendResult("sent", first.get("messageId"), first.get("cost"))
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
