"""How a driver picks from a menu. Users belong to the environment, not the policy:
the simulator asks a :class:`Chooser` and the policy only sees the outcome."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from v2b.interface import ArrivalRequest, Menu, Option


class Chooser(Protocol):
    def __call__(
        self, menu: Menu, request: ArrivalRequest, rng: np.random.Generator
    ) -> Option | None:
        """The chosen option, or ``None`` for "reject all"."""
        ...


def first_option(menu: Menu, request: ArrivalRequest, rng: np.random.Generator) -> Option | None:
    """A driver who takes the first option offered (the request itself, for policies
    that do not negotiate)."""
    return menu.options[0] if menu.options else None
