"""The policy registry: adding a policy is one class and one entry here."""

from __future__ import annotations

from v2b.control.heuristics import (
    BuildingOnly,
    EarliestDeadlineFirst,
    LeastLaxityFirst,
    Uncontrolled,
)
from v2b.control.mpc import ExpectedMpc, SmartCharging
from v2b.control.negotiating import Consent, ConsentNoReject, MenuNegotiation, SmartFixed, SmartUtility
from v2b.control.oracle import Oracle
from v2b.errors import UserError
from v2b.interface import Policy

POLICIES: dict[str, type[Policy]] = {
    cls.name: cls
    for cls in (
        BuildingOnly,
        Uncontrolled,
        EarliestDeadlineFirst,
        LeastLaxityFirst,
        SmartCharging,
        SmartFixed,
        SmartUtility,
        MenuNegotiation,
        Consent,
        ConsentNoReject,
        ExpectedMpc,
        Oracle,
    )
}

#: Older or shorter names still accepted.
ALIASES = {"smart": "smart-free"}


class UnknownPolicyError(UserError):
    pass


def make_policy(name: str) -> Policy:
    """A fresh policy object by registry name."""
    try:
        return POLICIES[ALIASES.get(name, name)]()
    except KeyError:
        known = ", ".join(POLICIES)
        raise UnknownPolicyError(f"unknown policy {name!r}; known policies: {known}") from None
