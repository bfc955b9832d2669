"""The notes the registry itself writes on a timeline: msgids, so each reader sees them in their language.

A person's own note (an officer's, a chief's, a citizen's) is kept and shown exactly as written;
only these, written by the service, are translated where they are read.
"""

from __future__ import annotations

from registry.errors import N_

COMPLAINT_BY_USSD = N_("complaint by USSD")
COMPLAINT_BY_SMS = N_("complaint by SMS")
PREREGISTRATION_BY_USSD = N_("pre-registration by USSD")
PREREGISTRATION_ASSISTED = N_("pre-registration by USSD, assisted by the local leader")
PREREGISTRATION_WALK_IN = N_("pre-registration at the desk (walk-in)")
NOT_THE_LEADER = N_("not the local leader of this case")
NOT_THIS_DESK = N_("not this desk")

SYSTEM_NOTES = frozenset(
    {
        COMPLAINT_BY_USSD,
        COMPLAINT_BY_SMS,
        PREREGISTRATION_BY_USSD,
        PREREGISTRATION_ASSISTED,
        PREREGISTRATION_WALK_IN,
        NOT_THE_LEADER,
        NOT_THIS_DESK,
    }
)
