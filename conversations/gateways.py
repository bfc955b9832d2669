"""Gateway adapters: each turns its wire format into hops and replies back into its wire format."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from conversations.engine import Hop, digest
from conversations.errors import BadCallback
from conversations.session import Reply
from phonetext.cleaning import clean_line, clean_text
from registry.errors import InvalidData
from registry.phones import normalise_phone

# Never shorter than a request can be (MAX_CONTENT_LENGTH): cutting would change what was typed.
MAX_USSD_TEXT = 64 * 1024

_SESSION_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


@dataclass(frozen=True)
class AtHop(Hop):
    """A hop of Africa's Talking: its `text` is every input of the session so far, joined by `*`."""

    session_id: str
    phone: str
    text: str

    @property
    def fingerprint(self) -> str:
        """Identify the cumulative text: AT repeats a request with the same text."""
        return digest(self._parts())

    def _parts(self) -> tuple[str, ...]:
        return tuple(self.text.split("*")) if self.text else ()

    def dialled(self) -> tuple[tuple[str, ...], int]:
        """Return the extra digits of the dial string: *384*123*2*1# arrives as "2*1", two choices."""
        parts = self._parts()
        return parts, len(parts)

    def inputs_after(self, seen: int) -> tuple[tuple[str, ...], int]:
        """Return the one new input, rejoining any `*` the person typed in it."""
        parts = self._parts()
        if not parts:
            return (), 0
        if len(parts) > seen:
            return ("*".join(parts[seen:]),), len(parts)
        # AT sent no more parts than before (a gateway oddity): act on its last one, as typed.
        return parts[-1:], len(parts)


class AfricasTalkingUssd:
    """Africa's Talking USSD: form POST in, `CON `/`END ` plain text out.

    AT sends `text` as every input so far joined by `*` ("" on the first hop; a dial string
    with extra digits arrives as non-empty text on the first hop).
    """

    def __init__(self, country: str) -> None:
        self.country = country

    def parse(self, form: Mapping[str, str]) -> Hop:
        """Read a callback's form into a hop; raise BadCallback when it is not one."""
        session_id = clean_line(form.get("sessionId"), 200)
        if not _SESSION_ID.match(session_id):
            raise BadCallback("sessionId is missing or malformed")
        try:
            phone = normalise_phone(clean_line(form.get("phoneNumber"), 40), self.country)
        except InvalidData as exc:
            raise BadCallback("phoneNumber is missing or malformed") from exc
        # What a person typed never carries control characters (a NUL would reach the database);
        # its length is bounded by the request size, and the screens refuse an answer too long.
        text = clean_text(form.get("text"), MAX_USSD_TEXT).replace("\n", "")
        return AtHop(session_id, phone, text)

    @staticmethod
    def service_code(form: Mapping[str, str]) -> str:
        """Return the dialled service code, as AT reports it."""
        return (form.get("serviceCode") or "").strip()

    @staticmethod
    def render(reply: Reply) -> str:
        """Write a reply in AT's format."""
        return ("END " if reply.final else "CON ") + reply.text
