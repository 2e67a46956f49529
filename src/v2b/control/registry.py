"""The policy registry: adding a policy is one class and one entry here."""

from __future__ import annotations

from v2b.control.heuristics import (
    BuildingOnly,
    EarliestDeadlineFirst,
    LeastLaxityFirst,
    Uncontrolled,
)
from v2b.control.mpc import ExpectedMpc, SmartCharging
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
        ExpectedMpc,
        Oracle,
    )
}


class UnknownPolicyError(UserError):
    pass


def make_policy(name: str) -> Policy:
    """A fresh policy object by registry name."""
    try:
        return POLICIES[name]()
    except KeyError:
        known = ", ".join(POLICIES)
        raise UnknownPolicyError(f"unknown policy {name!r}; known policies: {known}") from None
