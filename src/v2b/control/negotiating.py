"""CONSENT's policies 4-8: the same smart charging, different deals at plug-in.

Every policy here charges with :class:`v2b.control.mpc.SmartCharging` (MC-MPC)
and differs only in :meth:`offer` (``docs/model.md``, "Negotiation: policies"):

- ``smart-fixed`` (4): the request as is at a fixed price per kWh, no reject;
- ``smart-utility`` (5): the request as is at its Eq. 3 price, no reject;
- ``menu`` (6): the levels' largest deviations at static prices per level,
  calibrated once on the sampling pool (:mod:`v2b.negotiation.static_menu`), reject;
- ``consent`` (7): the options of :mod:`v2b.negotiation.options`, reject;
- ``consent-no-reject`` (8): the same without reject.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, ClassVar

import numpy as np

from v2b.control.mpc import SmartCharging
from v2b.interface import ArrivalRequest, Future, Menu, Observation, PolicyContext, as_requested
from v2b.negotiation.deadline import PricingTime
from v2b.negotiation.options import MenuDeadlineMissed, OptionBuilder, PricedMenu, PricingFailed
from v2b.negotiation.settings import NegotiationSettings
from v2b.negotiation.static_menu import StaticMenu, StaticMenuError, load_site_menu, static_menu
from v2b.opt.marginal import ArrivalPricer

log = logging.getLogger(__name__)


class SmartFixed(SmartCharging):
    name = "smart-fixed"
    description = "Smart charging (MC-MPC), drivers pay a fixed price per kWh (site: 0.178 $/kWh); policy 4."

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        self.note_arrival(obs, request)
        price = self.ctx.site.negotiation.fixed_price_per_kwh
        return Menu((as_requested(request, price),), reject_allowed=False)


class NegotiatingCharging(SmartCharging):
    """Smart charging that prices each arrival on N_neg sampled futures."""

    reject_allowed: ClassVar[bool] = True

    def reset(self, ctx: PolicyContext) -> None:
        super().reset(ctx)
        self.settings = NegotiationSettings.from_site(ctx.site, ctx.options)
        self._offer_seconds: list[float] = []
        self._offer_counts = {"negotiation_solves": 0, "negotiation_fallbacks": 0, "options_offered": 0,
                              "arrivals_priced": 0, "menus_past_deadline": 0}
        self._static: StaticMenu | None | bool = False  # not looked up yet
        self._pricing_time = PricingTime()

    def negotiation_futures(self, obs: Observation) -> list[Future]:
        return self.sample_futures(obs, self.settings.futures)

    def option_builder(self, obs: Observation, request: ArrivalRequest) -> OptionBuilder:
        """The live pricing model of this arrival (same planning model as the controller).

        The futures are drawn first, whatever the deadline, so that a menu that missed it
        leaves the random stream where a priced one would (a replay gives the same run)."""
        futures = self.negotiation_futures(obs)
        if request.respond_by_s is not None:
            left = request.respond_by_s - time.monotonic()
            expected = self._pricing_time.expected_s(_cars(obs))
            if left <= 0.0 or left < expected:
                self._pricing_time.skipped()
                raise MenuDeadlineMissed(f"{max(left, 0.0):.3f} s left, a menu takes about {expected:.3f} s",
                                         started=False)
        pricer = ArrivalPricer(self.ctx.site, obs, request, futures, self.latest_departure(request),
                               self.problem_options(obs, len(futures)))
        return OptionBuilder(pricer, request, self.settings, self.options.solve_budget_s,
                             request.respond_by_s)

    def latest_departure(self, request: ArrivalRequest) -> int:
        """The latest departure any level offers (the engine clips it to the day's end, or
        where cars stay overnight to the episode's)."""
        longest = max((slots for _, slots in self.settings.levels), default=0)
        return request.requested_departure_slot + longest

    def priced_menu(self, obs: Observation, request: ArrivalRequest) -> PricedMenu:
        """This policy's priced options for one arrival (no fallback)."""
        return self.option_builder(obs, request).menu(self.reject_allowed)

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        self.note_arrival(obs, request)
        start = time.perf_counter()
        try:
            priced = self.priced_menu(obs, request)
        except MenuDeadlineMissed as err:
            log.info("%s: arrival at slot %d not priced in time (%s); fallback menu",
                     self.name, obs.slot, err)
            if err.started:
                self._pricing_time.ran_out(time.perf_counter() - start, _cars(obs))
            self._offer_counts["menus_past_deadline"] += 1
            return self.deadline_menu(request)
        except PricingFailed as err:
            # A solver that failed or ran out of time: the request at the fixed price.
            log.warning("%s: arrival at slot %d not priced (%s); fixed-price offer", self.name, obs.slot, err)
            self._offer_counts["negotiation_fallbacks"] += 1
            price = self.ctx.site.negotiation.fixed_price_per_kwh
            return Menu((as_requested(request, price),), self.reject_allowed,
                        self.settings.external_price_per_kwh, fallback="solver")
        finally:
            self._offer_seconds.append(time.perf_counter() - start)
        self._pricing_time.priced(time.perf_counter() - start, _cars(obs))
        self._offer_counts["negotiation_solves"] += priced.solves
        self._offer_counts["options_offered"] += len(priced.options)
        self._offer_counts["arrivals_priced"] += 1
        return priced.as_menu()

    def deadline_menu(self, request: ArrivalRequest) -> Menu:
        """The menu of an arrival not priced by its deadline: the site's static menu (policy 6's
        prices per level, reject where this policy allows it) if the site names one, else the
        request as is at the site's fixed price (``docs/model.md``, "Negotiation: a menu on
        time")."""
        if self._static is False:
            try:
                self._static = load_site_menu(self.ctx.site, self.settings)
            except StaticMenuError as err:
                log.warning("%s: no static menu to fall back on (%s); the fixed price instead",
                            self.name, err)
                self._static = None
        if isinstance(self._static, StaticMenu):
            menu = static_menu(request, self.settings, self._static)
            return dataclasses.replace(menu, reject_allowed=self.reject_allowed and menu.reject_allowed,
                                       fallback="deadline")
        price = self.ctx.site.negotiation.fixed_price_per_kwh
        return Menu((as_requested(request, price),), self.reject_allowed,
                    self.settings.external_price_per_kwh, fallback="deadline")

    def stats(self) -> dict[str, Any]:
        t = np.asarray(self._offer_seconds)
        return {
            **super().stats(),
            **self._offer_counts,
            "alpha": self.settings.alpha,
            "offer_seconds_median": float(np.median(t)) if t.size else 0.0,
            "offer_seconds_p95": float(np.percentile(t, 95)) if t.size else 0.0,
        }


def _cars(obs: Observation) -> int:
    """The cars a pricing LP holds: those connected and the arriving one."""
    return int(obs.occupied.sum()) + 1


class SmartUtility(NegotiatingCharging):
    name = "smart-utility"
    description = ("Smart charging, drivers pay the Eq. 3 price of their request as is "
                   "(energy cost minus alpha x marginal utility); no reject; policy 5.")
    reject_allowed = False

    def priced_menu(self, obs: Observation, request: ArrivalRequest) -> PricedMenu:
        builder = self.option_builder(obs, request)
        start = time.perf_counter()
        option = builder.level_option(0)
        return PricedMenu([option], False, self.settings.external_price_per_kwh, builder.cost_without_usd,
                          builder.solves, time.perf_counter() - start)


class Consent(NegotiatingCharging):
    name = "consent"
    description = ("CONSENT: options per flexibility level priced by marginal utility over "
                   "sampled futures (Eq. 2-3), plus reject all; policy 7.")


class ConsentNoReject(Consent):
    name = "consent-no-reject"
    description = "CONSENT without the reject option (policy 8, the paper's ablation)."
    reject_allowed = False


class MenuNegotiation(SmartCharging):
    name = "menu"
    description = ("Menu-based negotiation: each level's largest deviation at a static price per "
                   "level calibrated on the sampling pool (`v2b menu calibrate`), plus reject; policy 6.")

    def reset(self, ctx: PolicyContext) -> None:
        super().reset(ctx)
        self.settings = NegotiationSettings.from_site(ctx.site, ctx.options)
        self.static: StaticMenu = load_site_menu(ctx.site, self.settings)

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        self.note_arrival(obs, request)
        return static_menu(request, self.settings, self.static)
