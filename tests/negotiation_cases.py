"""Random arrival states on the tiny site, and menus built on them, for negotiation tests."""

from __future__ import annotations

import dataclasses

import numpy as np

from helpers import tiny_site
from test_opt_cases import random_futures, random_observation
from v2b.episode import Session
from v2b.interface import ArrivalRequest
from v2b.negotiation.options import OptionBuilder, PricedMenu
from v2b.negotiation.settings import NegotiationSettings
from v2b.opt.marginal import ArrivalPricer
from v2b.site import PAPER_LEVELS
from v2b.timegrid import SLOTS_PER_DAY, end_of_day
from v2b.users.types import load_user_types

PAPER_TYPES = load_user_types("builtin:consent-survey")


def settings(alpha: float = 1.0, weights: tuple[float, float] | None = None,
             selection: str = "driver-surplus") -> NegotiationSettings:
    w1, w2 = weights if weights is not None else PAPER_TYPES.mean_weights()
    return NegotiationSettings(
        levels=tuple((lv.max_soc_reduction_pct, lv.max_delay_minutes // 15) for lv in PAPER_LEVELS),
        alpha=alpha, selection=selection, futures=3, external_price_per_kwh=0.30,
        menu_soc_weight_usd_per_pct=w1, menu_time_weight_usd_per_min=w2, fixed_price_per_kwh=0.178,
    )


@dataclasses.dataclass
class ArrivalState:
    site: object
    obs: object
    charger: int
    futures: list
    session: Session

    def request(self, departure_slot: int | None = None,
                soc_requested: float | None = None) -> ArrivalRequest:
        s = self.session
        return ArrivalRequest(dataclasses.replace(
            s,
            departure_slot=s.departure_slot if departure_slot is None else departure_slot,
            soc_requested=s.soc_requested if soc_requested is None else soc_requested,
        ), self.charger)

    def menu(self, st: NegotiationSettings, request: ArrivalRequest | None = None,
             reject: bool = True) -> PricedMenu:
        request = request or self.request()
        pricer = ArrivalPricer(self.site, self.obs, request, self.futures, end_of_day(self.obs.slot))
        return OptionBuilder(pricer, request, st).menu(reject)


def arrival_state(seed: int) -> ArrivalState:
    """A site with EVs connected, one free charger for the arrival, three futures."""
    rng = np.random.default_rng(seed)
    site = tiny_site(flat_curve=False)
    obs = random_observation(rng, site, slot_of_day=int(rng.integers(20, 70)))
    free = np.flatnonzero(~obs.occupied)
    if free.size == 0:
        keep = np.arange(obs.occupied.size) != int(rng.integers(obs.occupied.size))
        obs = dataclasses.replace(obs, occupied=obs.occupied & keep)
        free = np.flatnonzero(~obs.occupied)
    charger = int(rng.choice(free))
    battery = float(rng.choice([40.0, 62.0, 80.0]))
    soc_arrival = float(rng.uniform(0.05, 0.8))
    soc_requested = float(np.clip(soc_arrival + rng.uniform(-0.1, 0.6), 0.0, 1.0))
    day_end = (obs.day + 1) * SLOTS_PER_DAY
    departure = int(min(obs.slot + rng.integers(3, 40), day_end))
    session = Session("v", obs.slot, departure, battery, soc_arrival, soc_requested)
    return ArrivalState(site, obs, charger, random_futures(rng, obs, 3, per_day=2), session)
