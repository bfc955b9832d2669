"""Gateway adapters: each turns its wire format into hops and replies back into its wire format."""

from __future__ import annotations

import re
from collections.abc import Mapping

from conversations.engine import Hop
from conversations.errors import BadCallback
from conversations.session import Reply
from registry.errors import InvalidData
from registry.phones import normalise_phone

_SESSION_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


class AfricasTalkingUssd:
    """Africa's Talking USSD: form POST in, `CON `/`END ` plain text out.

    AT sends `text` as every input so far joined by `*` ("" on the first hop; a dial string
    with extra digits arrives as non-empty text on the first hop).
    """

    def __init__(self, country: str) -> None:
        self.country = country

    def parse(self, form: Mapping[str, str]) -> Hop:
        """Read a callback's form into a hop; raise BadCallback when it is not one."""
        session_id = (form.get("sessionId") or "").strip()
        if not _SESSION_ID.match(session_id):
            raise BadCallback("sessionId is missing or malformed")
        try:
            phone = normalise_phone(form.get("phoneNumber") or "", self.country)
        except InvalidData as exc:
            raise BadCallback("phoneNumber is missing or malformed") from exc
        text = form.get("text") or ""
        inputs = tuple(text.split("*")) if text else ()
        return Hop(session_id, phone, inputs)

    @staticmethod
    def service_code(form: Mapping[str, str]) -> str:
        """Return the dialled service code, as AT reports it."""
        return (form.get("serviceCode") or "").strip()

    @staticmethod
    def render(reply: Reply) -> str:
        """Write a reply in AT's format."""
        return ("END " if reply.final else "CON ") + reply.text
