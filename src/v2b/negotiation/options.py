"""The options offered at one arrival (CONSENT Algorithm 1, lines 7-11).

For each flexibility level the building picks the deviation (a later departure
in whole slots, a lower target SoC) that maximises its selection score within
the level's bounds, prices it by Eq. 3, and offers the levels that leave the
average driver better off than every lower level, plus "reject all". Every
evaluation is one warm re-solve of one live LP (:class:`v2b.opt.marginal.ArrivalPricer`):
departures are enumerated, the SoC reduction is an LP variable.

Selection (``docs/model.md``, "Negotiation: choosing each level's option"):

- ``driver-surplus`` (default): the deviation and schedule that maximise the
  average driver's ``Y = E_bar E - zeta - I_bar``. With prices that depend on the
  outcome only, this is what makes misreporting useless (Theorem 1).
- ``building-utility``: ``alpha U - I_bar`` as the paper states it,
  planned with v's energy free to the building; kept to reproduce the paper.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from v2b.interface import ArrivalRequest, Menu, Option
from v2b.negotiation.pricing import driver_surplus_usd, marginal_utility_usd, per_kwh_terms, user_price_usd
from v2b.negotiation.settings import NegotiationSettings
from v2b.opt.marginal import ArrivalCost, ArrivalPricer
from v2b.timegrid import SLOT_MINUTES


class PricingFailed(RuntimeError):
    """An LP of the negotiation was not solved (status in the message)."""


class MenuDeadlineMissed(PricingFailed):
    """The menu could not be priced by the request's deadline (``respond_by_s``);
    ``started``: whether pricing had begun (else it was not tried)."""

    def __init__(self, message: str, started: bool = True):
        super().__init__(message)
        self.started = started


@dataclass(frozen=True)
class PricedOption:
    """One option with everything its price was made of.

    Attributes
    ----------
    level : int
        Flexibility level (0: the request as is).
    departure_slot : int
        Negotiated departure (exclusive episode slot).
    soc_target : float
        Negotiated target SoC [-].
    energy_kwh : float
        Energy the option promises [kWh].
    energy_cost_usd : float
        Expected TOU cost of that charging in the pricing plan [$] (Eq. 3, first term).
    marginal_utility_usd : float
        U of the option (Eq. 2) [$].
    price_usd : float
        zeta (Eq. 3) [$].
    surplus_usd : float
        The average driver's Y for it (Eq. 5, menu weights) [$].
    soc_reduction_pct, delay_minutes : float
        Deviation from the request [SoC points, minutes].
    """

    level: int
    departure_slot: int
    soc_target: float
    energy_kwh: float
    energy_cost_usd: float
    marginal_utility_usd: float
    price_usd: float
    surplus_usd: float
    soc_reduction_pct: float
    delay_minutes: float

    @property
    def price_per_kwh(self) -> float:
        return self.price_usd / self.energy_kwh if self.energy_kwh > 1e-9 else float("nan")

    def as_option(self) -> Option:
        fixed, per_kwh = per_kwh_terms(self.price_usd, self.energy_kwh)
        name = "as-requested" if self.level == 0 else f"level-{self.level}"
        return Option(name, self.departure_slot, self.soc_target, fixed, per_kwh, self.level,
                      self.energy_cost_usd, self.marginal_utility_usd)


@dataclass
class PricedMenu:
    """The options of one arrival, the cost without the driver, and the work it took."""

    options: list[PricedOption]
    reject_allowed: bool
    external_price_per_kwh: float
    cost_without_usd: float
    solves: int = 0
    seconds: float = 0.0
    dropped: list[PricedOption] = field(default_factory=list)

    def as_menu(self) -> Menu:
        return Menu(tuple(o.as_option() for o in self.options), self.reject_allowed,
                    self.external_price_per_kwh)


@dataclass(frozen=True)
class _Outcome:
    departure_slot: int
    reduction_kwh: float
    cost: ArrivalCost
    utility_usd: float
    price_usd: float


class OptionBuilder:
    """Builds one arrival's menu on a live pricer.

    Parameters
    ----------
    pricer : ArrivalPricer
        The live LP with the arriving EV, over the N_neg sampled futures.
    request : ArrivalRequest
        The driver's request (departure and target as they reported them).
    settings : NegotiationSettings
        Levels, alpha, selection rule, menu weights, external price.
    time_limit_s : float, optional
        Per solve.
    respond_by_s : float, optional
        ``time.monotonic()`` moment by which the whole menu is due: every solve is limited
        to the time left, and :class:`MenuDeadlineMissed` is raised when none is left.
    """

    def __init__(self, pricer: ArrivalPricer, request: ArrivalRequest, settings: NegotiationSettings,
                 time_limit_s: float | None = None, respond_by_s: float | None = None):
        self.pricer, self.settings, self.time_limit_s = pricer, settings, time_limit_s
        self.respond_by_s = respond_by_s
        s = request.session
        self.session = s
        self.requested_departure = request.requested_departure_slot
        self.requested_kwh = max(0.0, (s.soc_requested - s.soc_arrival) * s.battery_kwh)
        self.solves = 0
        self._base_soc = s.soc_requested
        self._cache: dict[int, list[tuple[float, _Outcome]]] = {}
        without = self._solve(pricer.without)
        self.cost_without_usd = without.cost_usd

    def _solve(self, call: Callable[[float | None], ArrivalCost]) -> ArrivalCost:
        """``call(time limit)``, limited to the time left before the deadline."""
        limit, by_deadline = self.time_limit_s, False
        if self.respond_by_s is not None:
            left = self.respond_by_s - time.monotonic()
            if left <= 0.0:
                raise MenuDeadlineMissed(f"deadline passed after {self.solves} pricing LP(s)")
            by_deadline = limit is None or left < limit
            limit = left if by_deadline else limit
        out = call(limit)
        self.solves += 1
        if not out.result.optimal:
            if by_deadline and out.result.timed_out:
                raise MenuDeadlineMissed(f"deadline passed during pricing LP {self.solves}")
            raise PricingFailed(f"negotiation LP not solved: {out.result.status}")
        return out

    def _evaluate(self, departure: int, cap_kwh: float, factor: float, reduction_usd_per_kwh: float,
                  fixed_cost: float | None = None) -> ArrivalCost:
        p = self.pricer
        p.set_ev_energy_factor(factor)
        p.fix_cost_without_ev(fixed_cost)
        cap = cap_kwh / self.session.battery_kwh
        try:
            return self._solve(lambda limit: p.with_ev(departure, self._base_soc, cap,
                                                       reduction_usd_per_kwh, limit))
        finally:
            if fixed_cost is not None:
                p.fix_cost_without_ev(None)

    def _outcome(self, departure: int, cap_kwh: float) -> _Outcome:
        """The best (schedule, reduction) at ``departure`` within ``cap_kwh``, and its price."""
        st = self.settings
        alpha, j0 = st.alpha, self.cost_without_usd
        w1_per_kwh = 100.0 * st.menu_soc_weight_usd_per_pct / self.session.battery_kwh
        tol = 1e-7 * max(1.0, abs(j0))
        if st.selection == "building-utility":
            # max alpha U - I  <=>  min J_excl + I / alpha, v's energy free to the building.
            cost = self._evaluate(departure, cap_kwh, 0.0, w1_per_kwh / alpha)
            u = marginal_utility_usd(j0, cost.cost_without_ev_energy_usd)
            return _Outcome(departure, cost.reduction_kwh, cost, u, user_price_usd(cost.ev_energy_cost_usd,
                                                                                   u, alpha))
        # max E_bar E - zeta - I, with zeta = e - min(alpha U, U): concave, solved by regime.
        lost = st.external_price_per_kwh + w1_per_kwh
        cost = self._evaluate(departure, cap_kwh, 1.0 / alpha, lost / alpha)  # U >= 0: alpha J_x + e
        u = marginal_utility_usd(j0, cost.cost_without_ev_energy_usd)
        if u < -tol and alpha < 1.0:
            cost = self._evaluate(departure, cap_kwh, 1.0, lost)  # U <= 0: J_x + e
            u = marginal_utility_usd(j0, cost.cost_without_ev_energy_usd)
            if u > tol:  # the optimum lies on U = 0
                cost = self._evaluate(departure, cap_kwh, 1.0, lost, fixed_cost=j0)
                u = 0.0
        price = user_price_usd(cost.ev_energy_cost_usd, u, alpha)
        return _Outcome(departure, cost.reduction_kwh, cost, u, price)

    def _best_at(self, departure: int, cap_kwh: float) -> _Outcome:
        """:meth:`_outcome`, reusing a larger cap's answer where its reduction fits
        (adding a bound an optimum already meets keeps it optimal)."""
        for cap, outcome in self._cache.get(departure, []):
            if cap >= cap_kwh - 1e-9 and outcome.reduction_kwh <= cap_kwh + 1e-9:
                return outcome
        outcome = self._outcome(departure, cap_kwh)
        self._cache.setdefault(departure, []).append((cap_kwh, outcome))
        return outcome

    def _priced(self, level: int, o: _Outcome) -> PricedOption:
        st, s = self.settings, self.session
        target = s.soc_requested - o.reduction_kwh / s.battery_kwh
        energy = max(0.0, (target - s.soc_arrival) * s.battery_kwh)
        reduction_pct = 100.0 * max(0.0, s.soc_requested - target)
        delay = float(SLOT_MINUTES * max(0, o.departure_slot - self.requested_departure))
        surplus = driver_surplus_usd(st.external_price_per_kwh, energy, o.price_usd,
                                     st.menu_soc_weight_usd_per_pct, st.menu_time_weight_usd_per_min,
                                     reduction_pct, delay)
        return PricedOption(level, o.departure_slot, target, energy, o.cost.ev_energy_cost_usd,
                            o.utility_usd, o.price_usd, surplus, reduction_pct, delay)

    def _score(self, option: PricedOption) -> float:
        st = self.settings
        if st.selection == "building-utility":
            inconvenience = (st.menu_soc_weight_usd_per_pct * option.soc_reduction_pct
                             + st.menu_time_weight_usd_per_min * option.delay_minutes)
            return st.alpha * option.marginal_utility_usd - inconvenience
        return option.surplus_usd

    def fixed_outcome(self, level: int, departure_slot: int, soc_target: float) -> PricedOption:
        """One given outcome (no choice within a level) priced by Eq. 3, e.g. a static
        menu's option during its calibration."""
        self._base_soc = soc_target
        try:
            o = self._outcome(departure_slot, 0.0)
        finally:
            self._base_soc = self.session.soc_requested
        reduction = (self.session.soc_requested - soc_target) * self.session.battery_kwh
        return self._priced(level, _Outcome(o.departure_slot, reduction, o.cost, o.utility_usd, o.price_usd))

    def level_option(self, level: int) -> PricedOption:
        """Level ``level``'s best option (0: the request as is)."""
        max_pct, max_slots = self.settings.bounds(level)
        cap_kwh = min(max_pct / 100.0 * self.session.battery_kwh, self.requested_kwh)
        latest = self.pricer.latest_departure_slot
        departures = sorted({min(self.requested_departure + k, latest) for k in range(max_slots + 1)})
        best: PricedOption | None = None
        for departure in departures:
            candidate = self._priced(level, self._best_at(departure, cap_kwh))
            if best is None or self._score(candidate) > self._score(best) + 1e-9:
                best = candidate
        assert best is not None
        return best

    def menu(self, reject_allowed: bool) -> PricedMenu:
        """Every level's option, those no better for the average driver than a lower
        level dropped, and reject where allowed."""
        start = time.perf_counter()
        levels = range(len(self.settings.levels) + 1)
        # Largest allowance first, so smaller ones can reuse its answers.
        order = sorted(levels, key=lambda lv: -self.settings.bounds(lv)[0])
        chosen = {lv: self.level_option(lv) for lv in order}
        kept: list[PricedOption] = []
        dropped: list[PricedOption] = []
        for lv in levels:
            o = chosen[lv]
            same = any(k.departure_slot == o.departure_slot and abs(k.soc_target - o.soc_target) < 1e-9
                       for k in kept)
            better = not kept or o.surplus_usd > max(k.surplus_usd for k in kept) + 1e-6
            (kept if lv == 0 or (better and not same) else dropped).append(o)
        return PricedMenu(kept, reject_allowed, self.settings.external_price_per_kwh, self.cost_without_usd,
                          self.solves, time.perf_counter() - start, dropped)
