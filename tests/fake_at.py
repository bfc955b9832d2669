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
    """How the fake answers one send: a recipient statusCode, an HTTP error, or a delay first."""

    status_code: int = 101
    http_status: int = 201
    delay: float = 0.0
    recipients: bool = True


@dataclass
class FakeAfricasTalking:
    """Serve POST /version1/messaging on a free local port, scripted answer by answer."""

    answers: deque[Answer] = field(default_factory=deque)
    received: list[dict[str, Any]] = field(default_factory=list)
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
        with self._lock:
            answer = self.answers.popleft() if self.answers else Answer()
            self._count += 1
            message_id = f"ATXid_{self._count}"
        form = request.form.to_dict()
        accepted = answer.http_status < 300 and answer.status_code in (100, 101, 102) and not answer.delay
        self.received.append({**form, "accepted": accepted, "message_id": message_id})
        if answer.delay:
            time.sleep(answer.delay)
        if answer.http_status >= 300:
            return "Internal Server Error", answer.http_status
        recipients = []
        if answer.recipients:
            recipients.append(
                {
                    "statusCode": answer.status_code,
                    "number": form["to"],
                    "status": STATUS_NAMES.get(answer.status_code, "Failed"),
                    "cost": "KES 0.8000" if answer.status_code in (100, 101, 102) else "0",
                    "messageId": message_id if answer.status_code in (100, 101, 102) else "None",
                }
            )
        text = "Sent to 1/1 Total Cost: KES 0.8000" if recipients else "InvalidSenderId"
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
