"""Errors of the conversation engine; the HTTP edge maps them to answers."""


class ConversationError(Exception):
    """Base of every conversation error."""


class BadCallback(ConversationError):
    """A gateway callback that is missing fields or malformed: answered with 400."""


class UnknownServiceCode(ConversationError):
    """A USSD code this deployment does not serve: answered with an apology."""


class SessionBusy(ConversationError):
    """Another hop of the same session is still being answered."""
