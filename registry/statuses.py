"""Status values the tables store, as enums: the lowest registry module, so models can use them.

models.py declares its column defaults with these, and case_types and outbox (which import
models) re-export them: none of them can be imported by models without a circle.
"""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    """Where a case is in its life; the values are what the database stores."""

    RECEIVED = "queued"  # filed, waiting at its desk
    ACKNOWLEDGED = "acknowledged"  # the village chief said OK
    PICKED_UP = "picked_up"  # an officer of the desk took it
    RESOLVED_IN_VILLAGE = "resolved_village"  # the chief said DONE; the desk confirms and closes
    ESCALATED = "escalated"  # handed to the next level, waiting there to be picked up
    RESOLVED = "resolved"  # closed with an outcome
    REJECTED = "rejected"  # closed without action, with a reason


class SmsStatus(StrEnum):
    """Where an outgoing SMS is; the values are what the database stores."""

    QUEUED = "queued"  # written with the change that caused it, its job queued
    RETRY = "retry"  # the provider could not take it; tried again at next_attempt_at
    SENDING = "sending"  # claimed by one sender
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider reported it on the phone
    FAILED = "failed"  # refused for good, or every attempt failed
    SUPPRESSED = "suppressed"  # not essential, and the recipient opted out
    HELD = "held"  # no gateway is configured: kept for the simulator and operators
    # The send may have reached the provider (no answer after the request left, a worker killed
    # mid-send): a delivery report settles it, else it is sent again once after a window.
    UNKNOWN = "unknown"
