"""A basic phone that dials the service as Africa's Talking does, for tests."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient

from phonetext.encoding import Budget

_ids = itertools.count(1)


class Phone:
    """Dial, type, and read screens through the real /ussd webhook."""

    def __init__(
        self, client: FlaskClient, number: str, code: str = "*384*123#", token: str | None = None
    ) -> None:
        self.client = client
        self.number = number
        self.code = code
        # The app's own token by default, as its gateway would send it.
        token = client.application.config["WEBHOOK_TOKEN"] if token is None else token
        self.url = f"/ussd?token={token}" if token else "/ussd"
        self.session_id = ""
        self.inputs: list[str] = []
        self.screen = ""
        self.ended = True

    def post(self, text: str) -> str:
        """Send one raw callback of the current session and return the raw reply."""
        response = self.client.post(
            self.url,
            data={
                "sessionId": self.session_id,
                "serviceCode": self.code,
                "phoneNumber": self.number,
                "networkCode": "99999",
                "text": text,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        raw = response.get_data(as_text=True)
        assert raw.startswith(("CON ", "END ")), raw
        return raw

    def dial(self, *extra: str) -> str:
        """Start a new session, with extra digits in the dial string if given."""
        self.session_id = f"ATUid_test_{next(_ids)}"
        self.inputs = list(extra)
        return self._hop()

    def send(self, answer: str) -> str:
        """Type an answer on the current screen."""
        assert not self.ended, "the session has ended"
        self.inputs.append(answer)
        return self._hop()

    def fork(self, redis: Any) -> Phone:
        """Return a phone in a copy of this session, so that a test can try another branch."""
        twin = Phone(self.client, self.number, self.code)
        twin.url, twin.inputs, twin.screen, twin.ended = self.url, list(self.inputs), self.screen, self.ended
        twin.session_id = f"ATUid_test_{next(_ids)}"
        state = redis.get(f"janela:ussd:session:{self.session_id}")
        redis.set(f"janela:ussd:session:{twin.session_id}", state, ex=300)
        return twin

    def repeat(self) -> str:
        """Send the last callback again, as a gateway retry would."""
        return self.post("*".join(self.inputs))

    def _hop(self) -> str:
        raw = self.post("*".join(self.inputs))
        self.ended = raw.startswith("END ")
        self.screen = raw[4:]
        return self.screen


def assert_fits(screen: str, budget: Budget | None = None) -> None:
    """Fail unless the screen fits the USSD budget by its encoding."""
    assert (budget or Budget()).fits(screen), f"screen too long:\n{screen}"
