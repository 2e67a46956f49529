"""The boundary between the simulator and a policy.

A policy sees an :class:`Observation` (a snapshot of the present and the past,
never the episode's future), offers a :class:`Menu` when an EV arrives, and
returns charger set-points every slot. The same policy object can run in
simulation or live, because it never touches the simulator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from v2b.episode import Episode, Session
from v2b.timegrid import clip_departure_slot, end_of_day

if TYPE_CHECKING:
    from v2b.site import Site


@dataclass(frozen=True)
class Observation:
    """What a policy knows at the start of ``slot``.

    Per-charger arrays have one entry per charger of the site (in
    ``site.charger_list`` order); entries of free chargers are 0 / -1 / "".
    ``load_today_kw`` holds the building load of today's slots the policy knows:
    the completed ones (``current_load_known = False``, what a meter gives, the
    default) or also the slot being decided (``True``, the CONSENT paper's state
    s_k, which includes p^b_{t_k}); ``last_load_kw`` is the latest of those values,
    across midnight (NaN before the first slot of the episode). See
    ``docs/model.md``, "Observation: what is known of the load". ``weekday`` is
    today's day of the week (0 = Monday; -1 where unknown), ``month_of_year`` today's
    calendar month (1-12; 0 where unknown). ``load_past_kw`` is
    the metered load of the episode's earlier days, slot by slot (a read-only
    view; what a meter's history gives).
    ``peak_so_far_kw`` is the month's highest metered 15-minute power before
    ``slot`` (0 at the start of the month). ``departure_floor_kwh`` is the
    least energy each connected EV must leave with (its arrival energy where the
    site returns V2B energy before departure, ``docs/model.md``, "Driver
    protections"; else 0). ``ev_max_kw`` and ``ev_discharge_max_kw`` are the connected
    cars' own limits per charger (inf where the car has none, or the charger is free; an
    empty array: no car limits known), :func:`vehicle_limits_kw` reads them.
    ``price_today_per_kwh`` is today's energy price per slot (the tariff's, known a day
    ahead; empty: the site's daily table). ``windows_today`` (one row of 96 per windowed
    demand charge of the tariff: which of today's slots it covers) and
    ``window_peaks_so_far_kw`` (the month's peak inside each so far) describe those charges.
    """

    slot: int
    day: int
    slot_of_day: int
    episode_days: int
    load_today_kw: np.ndarray
    peak_so_far_kw: float
    occupied: np.ndarray
    session_ids: tuple[str, ...]
    energy_kwh: np.ndarray
    battery_kwh: np.ndarray
    target_kwh: np.ndarray
    floor_kwh: np.ndarray
    arrival_slot: np.ndarray
    departure_slot: np.ndarray
    departure_floor_kwh: np.ndarray
    current_load_known: bool = False
    last_load_kw: float = float("nan")
    weekday: int = -1
    month_of_year: int = 0
    load_past_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ev_max_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ev_discharge_max_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    price_today_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    window_peaks_so_far_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    windows_today: np.ndarray = field(default_factory=lambda: np.zeros((0, 96), dtype=bool))
    #: today's demand-response events: each slot's limit [kW] (inf outside events) and penalty
    #: per kWh above it [$/kWh] (0 outside); empty: no event today
    dr_limit_today_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dr_penalty_today_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: cars may stay past midnight (``docs/model.md``, "Overnight sessions"); then tomorrow's
    #: prices, windows and demand-response terms as today's (empty on the episode's last day)
    overnight: bool = False
    price_tomorrow_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    windows_tomorrow: np.ndarray = field(default_factory=lambda: np.zeros((0, 96), dtype=bool))
    dr_limit_tomorrow_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dr_penalty_tomorrow_per_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))


def vehicle_limits_kw(obs: Observation) -> tuple[np.ndarray, np.ndarray]:
    """The connected cars' charge and discharge limits per charger [kW] (inf: none)."""
    n = obs.occupied.size
    up = obs.ev_max_kw if obs.ev_max_kw.size == n else np.full(n, np.inf)
    down = obs.ev_discharge_max_kw if obs.ev_discharge_max_kw.size == n else np.full(n, np.inf)
    return up, down


@dataclass(frozen=True)
class ArrivalRequest:
    """A driver's request at plug-in, after a charger was assigned.

    ``respond_by_s`` is the ``time.monotonic()`` moment by which the menu is due (the live
    service's menu deadline; ``None``: no limit, as offline). A policy that cannot price the
    menu by then answers with its fallback menu and says so in :attr:`Menu.fallback`
    (``docs/model.md``, "Negotiation: a menu on time"). ``latest_departure_slot`` is the
    latest the car can stay (exclusive): the end of its arrival's day (``None``), or later
    where cars stay overnight (``docs/model.md``, "Overnight sessions").
    """

    session: Session
    charger_index: int
    respond_by_s: float | None = None
    latest_departure_slot: int | None = None

    @property
    def departure_cap_slot(self) -> int:
        """The latest departure any option may have (exclusive slot)."""
        if self.latest_departure_slot is not None:
            return int(self.latest_departure_slot)
        return end_of_day(self.session.arrival_slot)

    @property
    def requested_departure_slot(self) -> int:
        """The driver's departure as the engine applies it (after arrival, by the cap)."""
        s = self.session
        return clip_departure_slot(s.arrival_slot, s.departure_slot, self.latest_departure_slot)


@dataclass(frozen=True)
class Option:
    """One offer: the negotiated departure (exclusive slot) and target SoC, and
    its price ``payment_fixed_usd + price_per_kwh x kWh`` (:meth:`payment_usd`).

    ``level`` is the flexibility level the option belongs to (0: the request as
    is). Options priced by marginal utility also carry what the price was made of
    (CONSENT Eq. 3): the expected energy cost of the option's charging and its
    marginal utility U to the building (Eq. 2); both are NaN otherwise.
    """

    name: str
    departure_slot: int
    soc_target: float
    payment_fixed_usd: float = 0.0
    price_per_kwh: float = 0.0
    level: int = 0
    energy_cost_usd: float = float("nan")
    marginal_utility_usd: float = float("nan")

    def payment_usd(self, delivered_kwh: float, promised_kwh: float | None = None) -> float:
        """What the driver pays [$]: the per-kWh part on the energy delivered, never
        on more than the option promised (``docs/model.md``, "Settlement")."""
        billed = max(delivered_kwh, 0.0)
        if promised_kwh is not None:
            billed = min(billed, max(promised_kwh, 0.0))
        return self.payment_fixed_usd + self.price_per_kwh * billed

    def promised_kwh(self, session: Session) -> float:
        """Energy this option adds to ``session``'s battery if its target is met [kWh]."""
        return max(0.0, (self.soc_target - session.soc_arrival) * session.battery_kwh)

    def price_usd(self, session: Session) -> float:
        """The option's full price for ``session`` when its target is met [$]."""
        energy = self.promised_kwh(session)
        return self.payment_usd(energy, energy)


@dataclass(frozen=True)
class Menu:
    """The options offered at an arrival; ``reject_allowed`` adds "reject all"
    (charging elsewhere at ``reject_price_per_kwh``, the site's external price)."""

    options: tuple[Option, ...]
    reject_allowed: bool = False
    reject_price_per_kwh: float | None = None
    #: Why this is not the policy's full menu: ``"deadline"`` (not priced by the request's
    #: ``respond_by_s``), ``"solver"`` (a pricing LP failed); ``None``: the full menu.
    fallback: str | None = None


def as_requested(request: ArrivalRequest, price_per_kwh: float = 0.0) -> Option:
    """The option that keeps the driver's request unchanged."""
    s = request.session
    return Option("as-requested", s.departure_slot, s.soc_requested, 0.0, price_per_kwh)


@dataclass(frozen=True)
class Future:
    """One sampled continuation of today from the current slot on.

    ``load_kw[0]`` is the current slot's load; the array runs to the end of the
    day. ``arrivals`` are sessions arriving strictly after the current slot.
    """

    load_kw: np.ndarray
    arrivals: tuple[Session, ...] = ()


class FutureSampler(Protocol):
    """Samples futures conditioned on an observation (from the sampling pool)."""

    def sample(self, obs: Observation, n: int, rng: np.random.Generator) -> list[Future]: ...


@dataclass
class PolicyContext:
    """What a policy is given once per episode: the site, the sampling pool's
    future sampler, a seeded generator, and the episode's length in days.

    ``oracle_episode`` is set only for policies with ``sees_future = True`` (the
    perfect-foresight bound); every causal policy gets ``None``. ``peak_history_kw``: the
    site's billing history before this month (:attr:`v2b.episode.Episode.peak_history_kw`),
    ``hindsight_history_kw`` the same months' hindsight peaks.
    """

    site: Site
    futures: FutureSampler | None
    rng: np.random.Generator
    episode_days: int
    options: dict[str, Any] = field(default_factory=dict)
    oracle_episode: Episode | None = None
    peak_history_kw: tuple[tuple[int, float], ...] = ()
    hindsight_history_kw: tuple[tuple[int, float], ...] = ()


class Policy(ABC):
    """A building policy: a menu at each arrival and set-points every slot.

    Subclasses set ``name`` and implement :meth:`decide`. ``serves_evs = False``
    means no EV is admitted (the building-only reference).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    serves_evs: ClassVar[bool] = True
    sees_future: ClassVar[bool] = False

    def reset(self, ctx: PolicyContext) -> None:
        self.ctx = ctx

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        """Default: the request as is, free of charge, no reject."""
        return Menu((as_requested(request),), reject_allowed=False)

    @abstractmethod
    def decide(self, obs: Observation) -> np.ndarray:
        """Set-points at each charger [kW], charging > 0, shape (n_chargers,)."""

    def stats(self) -> dict[str, Any]:
        """Counters the policy wants in ``summary.json`` (e.g. solver fallbacks)."""
        return {}
