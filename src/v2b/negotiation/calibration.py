"""Pricing every level's largest deviation at the arrivals of a pool month (the
static menu's calibration data, :mod:`v2b.negotiation.static_menu`)."""

from __future__ import annotations

from v2b.control.negotiating import NegotiatingCharging
from v2b.interface import ArrivalRequest, Menu, Observation, as_requested
from v2b.negotiation.options import PricedOption, PricingFailed
from v2b.negotiation.static_menu import level_outcome, site_levels
from v2b.scenarios import site_scenarios
from v2b.sim import simulate
from v2b.site import Site
from v2b.timegrid import clip_departure_slot


class _LevelPricer(NegotiatingCharging):
    """Smart charging that records, at each arrival, every level's largest deviation
    priced by Eq. 3, and lets the driver charge as requested for free."""

    name = "menu-calibration"

    def reset(self, ctx) -> None:
        super().reset(ctx)
        self.rows: list[list[PricedOption]] = []

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        self.note_arrival(obs, request)
        builder = self.option_builder(obs, request)
        s = request.session
        row = []
        try:
            for level, bounds in enumerate(site_levels(self.settings)):
                departure, target = level_outcome(request, bounds)
                departure = min(clip_departure_slot(s.arrival_slot, departure),
                                builder.pricer.latest_departure_slot)
                row.append(builder.fixed_outcome(level, departure, target))
        except PricingFailed:
            row = []
        if row:
            self.rows.append(row)
        return Menu((as_requested(request),), reject_allowed=False)


def priced_levels_on(site: Site, pool_episode: int, days: int | None, seed: int,
                     options: dict | None) -> list[list[PricedOption]]:
    """Every arrival's priced level outcomes on sampling-pool month ``pool_episode``."""
    sc = site_scenarios(site)
    episode = sc.pool_episode(pool_episode)
    if days is not None:
        episode = episode.truncated(days)
    policy = _LevelPricer()
    simulate(site, episode, policy, seed=seed, futures=sc.future_sampler(), policy_options=options)
    return policy.rows
