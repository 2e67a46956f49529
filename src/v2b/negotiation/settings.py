"""What the negotiation needs from the site (and from run options), validated once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from v2b.errors import UserError
from v2b.site import Site
from v2b.timegrid import SLOT_MINUTES
from v2b.users.population import site_user_types

SELECTIONS = ("driver-surplus", "building-utility")


class NegotiationOptionError(UserError):
    """A negotiation option with a value outside its allowed range."""


@dataclass(frozen=True)
class NegotiationSettings:
    """Levels, pricing and the building's belief about drivers.

    Attributes
    ----------
    levels : tuple of (float, int)
        Per level beyond 0: largest SoC reduction [percentage points] and latest
        later departure [slots].
    alpha : float
        Share of a positive marginal utility passed to the driver (Eq. 3).
    selection : str
        ``driver-surplus`` or ``building-utility`` (:mod:`v2b.negotiation.options`).
    futures : int
        N_neg, sampled futures per arrival.
    external_price_per_kwh : float
        E_bar [$ per kWh].
    menu_soc_weight_usd_per_pct, menu_time_weight_usd_per_min : float
        The inconvenience weights options are chosen for: the population's
        share-weighted mean (the building does not know a driver's type).
    fixed_price_per_kwh : float
        Policy 4's price [$ per kWh].
    """

    levels: tuple[tuple[float, int], ...]
    alpha: float
    selection: str
    futures: int
    external_price_per_kwh: float
    menu_soc_weight_usd_per_pct: float
    menu_time_weight_usd_per_min: float
    fixed_price_per_kwh: float

    def bounds(self, level: int) -> tuple[float, int]:
        """(largest SoC reduction [points], largest delay [slots]) of ``level``; 0 is (0, 0)."""
        return (0.0, 0) if level == 0 else self.levels[level - 1]

    @property
    def delay_slots(self) -> np.ndarray:
        return np.array([0] + [d for _, d in self.levels])

    @classmethod
    def from_site(cls, site: Site, options: dict[str, Any] | None = None) -> NegotiationSettings:
        """The site's ``[negotiation]`` and ``[users]``, with run options ``alpha``,
        ``selection``, ``negotiation_futures`` and ``user_profile`` overriding them."""
        n, opts = site.negotiation, dict(options or {})
        alpha = opts.get("alpha", n.alpha)
        if alpha is None:
            alpha = n.alpha
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha <= 1.0:
            raise NegotiationOptionError(f"option alpha={alpha!r} must be in (0, 1]")
        selection = opts.get("selection") or n.selection
        if selection not in SELECTIONS:
            known = ", ".join(SELECTIONS)
            raise NegotiationOptionError(f"option selection={selection!r} must be one of {known}")
        futures = opts.get("negotiation_futures") or n.futures
        if isinstance(futures, bool) or not isinstance(futures, int) or not 1 <= futures <= 1000:
            raise NegotiationOptionError(
                f"option negotiation_futures={futures!r} must be an integer in 1..1000"
            )
        # The building knows the population it serves (its survey and profile), not each driver.
        w1, w2 = site_user_types(site, opts.get("user_profile")).mean_weights()
        return cls(
            levels=tuple((lv.max_soc_reduction_pct, lv.max_delay_minutes // SLOT_MINUTES) for lv in n.levels),
            alpha=float(alpha),
            selection=str(selection),
            futures=int(futures),
            external_price_per_kwh=site.users.external_price_usd_per_kwh,
            menu_soc_weight_usd_per_pct=w1,
            menu_time_weight_usd_per_min=w2,
            fixed_price_per_kwh=n.fixed_price_per_kwh,
        )
