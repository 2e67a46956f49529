"""How a driver answers the menu offered at plug-in (CONSENT Sec. 5, Eq. 5).

Users belong to the environment, not the policy: the simulator asks a
:class:`Chooser` and the policy only sees the outcome. A driver values option
``l`` at ``Y_l = E_bar x E_l - (zeta_l + I_l)`` (``E_l`` the kWh it promises,
worth what charging elsewhere would cost; ``zeta_l`` its price; ``I_l`` the
driver's inconvenience); rejecting has ``Y = 0``. The choice is a logit over the
offered options (and reject, where offered) with a temperature in dollars.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from v2b.interface import ArrivalRequest, Menu, Option
from v2b.timegrid import SLOT_MINUTES
from v2b.users.drivers import Driver, draw_driver
from v2b.users.types import UserTypes


@dataclass(frozen=True)
class Choice:
    """A driver's answer: the option taken (``None``: reject all), who answered,
    and the value ``Y`` of what they took [$] (NaN when nobody valued it)."""

    option: Option | None
    driver_type: str = ""
    acceptance_usd: float = float("nan")


class Chooser(Protocol):
    def __call__(self, menu: Menu, request: ArrivalRequest, rng: np.random.Generator) -> Choice:
        """The driver's answer; ``rng`` is that driver's own stream."""
        ...


def first_option(menu: Menu, request: ArrivalRequest, rng: np.random.Generator) -> Choice:
    """A driver who takes the first option offered (the request itself, for policies
    that do not negotiate)."""
    return Choice(menu.options[0] if menu.options else None)


def deviation(option: Option, request: ArrivalRequest) -> tuple[float, float]:
    """SoC points given up and minutes of later departure, against the request.

    The reference departure is the request as the engine applies it (by the end
    of the arrival's day); leaving earlier than asked or getting more than asked
    is no inconvenience.
    """
    s = request.session
    wanted = request.requested_departure_slot
    soc_pct = 100.0 * max(0.0, s.soc_requested - option.soc_target)
    delay_min = SLOT_MINUTES * max(0, option.departure_slot - wanted)
    return soc_pct, float(delay_min)


def acceptance_usd(
    option: Option, request: ArrivalRequest, driver: Driver, external_price_per_kwh: float
) -> float:
    """``Y = E_bar x E - (zeta + I)`` of one option for one driver [$] (CONSENT Eq. 5).

    ``E`` counts the promised energy up to the driver's own request only (energy
    beyond what they asked for is worth nothing to them); ``zeta`` is the option's
    price for the energy it promises.
    """
    s = request.session
    valued = max(0.0, (min(option.soc_target, s.soc_requested) - s.soc_arrival) * s.battery_kwh)
    soc_pct, delay_min = deviation(option, request)
    return (external_price_per_kwh * valued - option.price_usd(s)
            - driver.inconvenience_usd(soc_pct, delay_min))


def logit_probabilities(values_usd: np.ndarray, temperature_usd: float, epsilon: float) -> np.ndarray:
    """``P_l ∝ exp(Y_l / T) + eps`` (CONSENT Sec. 5), computed stably.

    ``eps`` is relative to the best option's weight (which is 1 after shifting by
    the largest ``Y``), so it keeps every option possible without swamping them.
    ``temperature_usd = 0`` is the rational driver: all mass on the best options.
    """
    y = np.asarray(values_usd, dtype=float)
    if temperature_usd == 0.0:
        best = y >= y.max() - 1e-12
        return best / best.sum()
    weight = np.exp((y - y.max()) / temperature_usd) + epsilon
    return weight / weight.sum()


@dataclass(frozen=True)
class LogitChooser:
    """Drivers drawn from a population of types choosing by logit (CONSENT Sec. 5).

    Parameters
    ----------
    types : UserTypes
        The driver population.
    external_price_per_kwh : float
        E_bar: what charging elsewhere costs [$ per kWh].
    temperature_usd : float
        Logit temperature [$]; the paper's formula is ``T = 1``; 0 is the rational driver.
    epsilon : float
        Keeps every option's probability positive (relative weight).
    """

    types: UserTypes
    external_price_per_kwh: float
    temperature_usd: float = 1.0
    epsilon: float = 1e-6

    def __call__(self, menu: Menu, request: ArrivalRequest, rng: np.random.Generator) -> Choice:
        driver = draw_driver(self.types, rng)
        u = float(rng.random())  # always drawn: the stream does not depend on the menu
        values = [acceptance_usd(o, request, driver, self.external_price_per_kwh) for o in menu.options]
        choices: list[Option | None] = list(menu.options)
        if menu.reject_allowed or not menu.options:
            values.append(0.0)
            choices.append(None)
        p = logit_probabilities(np.array(values), self.temperature_usd, self.epsilon)
        k = min(int(np.searchsorted(np.cumsum(p), u, side="right")), len(choices) - 1)
        taken = values[k] if choices[k] is not None else 0.0
        return Choice(choices[k], driver.type_name, taken if math.isfinite(taken) else float("nan"))
