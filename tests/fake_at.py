"""A local fake of Africa's Talking's SMS HTTP API, so the real SDK is tested over HTTP."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server


@dataclass
class Answer:
    """How the fake answers one request: a statusCode for its recipients, an HTTP error, or a delay.

    codes gives some numbers a statusCode of their own; numbers in missing get no entry at all.
    """

    status_code: int = 101
    http_status: int = 201
    delay: float = 0.0
    recipients: bool = True
    codes: dict[str, int] = field(default_factory=dict)
    missing: tuple[str, ...] = ()


@dataclass
class FakeAfricasTalking:
    """Serve POST /version1/messaging on a free local port, scripted answer by answer."""

    answers: deque[Answer] = field(default_factory=deque)
    received: list[dict[str, Any]] = field(default_factory=list)  # one entry per recipient
    requests: int = 0  # HTTP requests made, each with one or more recipients
    api_key: str = "test-key"

    def __post_init__(self) -> None:
        app = Flask("fake_at")
        app.add_url_rule("/version1/messaging", view_func=self._messaging, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self._count = 0
        self._lock = threading.Lock()

    def script(self, *answers: Answer) -> None:
        """Queue answers for the next sends; afterwards every send succeeds."""
        self.answers.extend(answers)

    def sent_to(self, phone: str) -> list[str]:
        """Return the texts accepted for a phone number."""
        return [r["message"] for r in self.received if r["to"] == phone and r["accepted"]]

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()

    def _messaging(self) -> Any:
        if request.headers.get("apiKey") != self.api_key:
            return "The supplied authentication is invalid", 401
        form = request.form.to_dict()
        numbers = form["to"].split(",")
        with self._lock:
            answer = self.answers.popleft() if self.answers else Answer()
            self.requests += 1
            first = self._count + 1
            self._count += len(numbers)
        recipients = []
        for offset, number in enumerate(numbers):
            code = answer.codes.get(number, answer.status_code)
            taken = code in (100, 101, 102)
            listed = answer.recipients and number not in answer.missing
            accepted = answer.http_status < 300 and taken and listed and not answer.delay
            message_id = f"ATXid_{first + offset}"
            self.received.append({**form, "to": number, "accepted": accepted, "message_id": message_id})
            if listed:
                recipients.append(
                    {
                        "statusCode": code,
                        "number": number,
                        "status": STATUS_NAMES.get(code, "Failed"),
                        "cost": "KES 0.8000" if taken else "0",
                        "messageId": message_id if taken else "None",
                    }
                )
        if answer.delay:
            time.sleep(answer.delay)
        if answer.http_status >= 300:
            return "Internal Server Error", answer.http_status
        sent = sum(1 for r in recipients if r["statusCode"] in (100, 101, 102))
        text = (
            f"Sent to {sent}/{len(numbers)} Total Cost: KES {0.8 * sent:.4f}"
            if recipients
            else "InvalidSenderId"
        )
        response = jsonify({"SMSMessageData": {"Message": text, "Recipients": recipients}})
        response.status_code = answer.http_status
        return response


STATUS_NAMES = {
    100: "Processed",
    101: "Success",
    102: "Queued",
    401: "RiskHold",
    402: "InvalidSenderId",
    403: "InvalidPhoneNumber",
    404: "UnsupportedNumberType",
    405: "InsufficientBalance",
    406: "UserInBlacklist",
    407: "CouldNotRoute",
    500: "InternalServerError",
    501: "GatewayError",
    502: "RejectedByGateway",
}
