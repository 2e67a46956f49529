"""The discrete-event simulator: 15-minute slots, arrival and departure events.

Every slot (:meth:`Simulator.step`): departures leave, arrivals get a charger
(FCFS) and a menu (the negotiation hook, :meth:`Policy.offer`), the driver
chooses, the policy sets power from an :class:`Observation`, and
:func:`v2b.sim.physics.enforce` turns the request into what the hardware
delivers. The policy never sees the episode. :func:`simulate` runs a whole
episode; a caller that needs the state in between (``v2b offer``, a live
service, a Gymnasium environment) drives :class:`Simulator` slot by slot.

An arrival is two events: :meth:`Simulator.offer` (a charger and the menu; the
session waits for an answer, its charger held) and :meth:`Simulator.choose` (the
answer applied, the car plugged in). Offline, :meth:`Simulator.admit` asks the
simulated driver between the two at once; the live service (``v2b serve``) applies
the answer when it arrives, or the site's rule when the menu expires.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v2b.episode import Episode, Session
from v2b.errors import UserError
from v2b.interface import (
    ArrivalRequest,
    FutureSampler,
    Menu,
    Observation,
    Option,
    Policy,
    PolicyContext,
)
from v2b.sim import physics
from v2b.sim.assignment import arrival_order, pick_charger, preference_order
from v2b.sim.billing import bill, tariff_summary
from v2b.sim.trace import SessionRecord, Trace
from v2b.site import Site
from v2b.tariff import dr_arrays, episode_demand_windows, episode_prices_per_kwh, window_peaks_kw
from v2b.timegrid import SLOTS_PER_DAY, clip_departure_slot
from v2b.users.choice import Choice, Chooser
from v2b.users.drivers import driver_rng
from v2b.users.population import site_chooser


class PolicyError(RuntimeError):
    """A policy broke the interface contract (e.g. wrong set-point shape)."""


@dataclass
class SimResult:
    trace: Trace
    summary: dict[str, Any]
    decision_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class PendingOffer:
    """A menu waiting for the driver's answer: the session's record (an index into
    ``trace.sessions``), the request on its charger, and the menu offered."""

    record_index: int
    request: ArrivalRequest
    menu: Menu


class _Plugged:
    """Per-charger state of the connected EVs, as arrays."""

    def __init__(self, n: int):
        self.record = np.full(n, -1)
        self.energy_kwh = np.zeros(n)
        self.battery_kwh = np.zeros(n)
        self.target_kwh = np.zeros(n)
        self.floor_kwh = np.zeros(n)
        self.departure_floor_kwh = np.zeros(n)
        self.arrival_slot = np.full(n, -1)
        self.departure_slot = np.full(n, -1)
        self.ev_max_kw = np.full(n, np.inf)
        self.ev_discharge_max_kw = np.full(n, np.inf)

    @property
    def occupied(self) -> np.ndarray:
        return self.record >= 0

    def connect(self, i: int, record: int, s: Session, option: Option, site: Site) -> None:
        arrival_kwh = s.soc_arrival * s.battery_kwh
        self.record[i] = record
        self.energy_kwh[i] = arrival_kwh
        self.battery_kwh[i] = s.battery_kwh
        self.target_kwh[i] = option.soc_target * s.battery_kwh
        self.floor_kwh[i] = min(s.soc_arrival, s.floor_soc(site.battery.discharge_floor_soc)) * s.battery_kwh
        self.departure_floor_kwh[i] = arrival_kwh if site.battery.keep_arrival_energy else 0.0
        self.arrival_slot[i] = s.arrival_slot
        self.departure_slot[i] = option.departure_slot
        self.ev_max_kw[i] = s.charge_limit_kw
        self.ev_discharge_max_kw[i] = s.discharge_limit_kw

    def disconnect(self, i: int) -> None:
        self.record[i] = -1
        for arr in (self.energy_kwh, self.battery_kwh, self.target_kwh, self.floor_kwh,
                    self.departure_floor_kwh):
            arr[i] = 0.0
        self.arrival_slot[i] = -1
        self.departure_slot[i] = -1
        self.ev_max_kw[i] = np.inf
        self.ev_discharge_max_kw[i] = np.inf


def _clip_option(option: Option, s: Session, latest_slot: int) -> Option:
    """Keep a policy's offer physically meaningful: depart after arrival, by ``latest_slot``
    (the day's end, or the episode's where cars stay overnight)."""
    departure = clip_departure_slot(s.arrival_slot, option.departure_slot, latest_slot)
    soc = float(min(max(option.soc_target, 0.0), 1.0))
    if departure == option.departure_slot and soc == option.soc_target:
        return option
    return Option(option.name, departure, soc, option.payment_fixed_usd, option.price_per_kwh,
                  option.level, option.energy_cost_usd, option.marginal_utility_usd)


LOAD_INFO = ("measured", "paper")


class LoadInfoError(UserError):
    """An unknown ``load_info`` mode."""


def load_info_mode(options: dict[str, Any] | None) -> str:
    """``measured`` (default: policies know completed slots only) or ``paper`` (they also
    know the slot being decided, as the CONSENT paper assumes)."""
    mode = (options or {}).get("load_info") or "measured"
    if mode not in LOAD_INFO:
        raise LoadInfoError(f"load_info={mode!r} must be one of {', '.join(LOAD_INFO)}")
    return str(mode)


def episode_key(site: Site, episode: Episode) -> str:
    """Names an episode for the drivers' random streams (site, kind, index, dates)."""
    first = episode.dates[0].isoformat() if episode.dates else ""
    return f"{site.name}/{episode.kind}/{episode.index}/{first}/{episode.days}"


class Simulator:
    """One episode under one policy, advanced slot by slot.

    Parameters
    ----------
    site : Site
        Chargers, tariff, penalties, battery model and drivers.
    episode : Episode
        The billing month to play (load and sessions); only the simulator reads it.
    policy : Policy
        Offers menus and sets charger power from observations.
    seed : int
        Seeds the policy's generator; each driver's stream comes from it, the
        episode and the session id (:func:`v2b.users.drivers.driver_rng`).
    futures : FutureSampler, optional
        The sampling pool, for policies that sample futures.
    chooser : Chooser, optional
        How drivers answer a menu; default: the site's driver population
        (:func:`v2b.users.population.site_chooser`).
    policy_options : dict, optional
        Handed to the policy in its context.
    """

    def __init__(
        self,
        site: Site,
        episode: Episode,
        policy: Policy,
        seed: int = 0,
        futures: FutureSampler | None = None,
        chooser: Chooser | None = None,
        policy_options: dict[str, Any] | None = None,
    ):
        self.site, self.episode, self.policy, self.seed = site, episode, policy, seed
        self.load_info = load_info_mode(policy_options)
        self.chooser = chooser if chooser is not None else site_chooser(site)
        self.chargers = site.charger_arrays
        self._order = preference_order(self.chargers)
        self._episode_key = episode_key(site, episode)
        policy.reset(
            PolicyContext(
                site=site,
                futures=futures,
                rng=np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]),
                episode_days=episode.days,
                options=dict(policy_options or {}),
                oracle_episode=episode if policy.sees_future else None,
                peak_history_kw=episode.peak_history_kw,
                hindsight_history_kw=episode.hindsight_history_kw,
            )
        )
        n = len(self.chargers)
        self.trace = Trace(
            dates=episode.dates,
            chargers=site.charger_list,
            building_kw=episode.load_kw.astype(float).copy(),
            price_per_kwh=episode_prices_per_kwh(site, episode.dates),
            power_kw=np.zeros((episode.n_slots, n)),
            session_index=np.full((episode.n_slots, n), -1),
        )
        self.plugged = _Plugged(n)
        self._pending = arrival_order(episode.sessions) if policy.serves_evs else []
        self._next_arrival = 0
        self._agreed: dict[int, Option] = {}
        self.offers: dict[int, PendingOffer] = {}
        self.peak_kw = 0.0
        #: the tariff's windowed demand charges on this episode, and the peak inside each so far
        self.demand_windows = episode_demand_windows(site, episode.dates)
        self.window_peaks_kw = np.zeros(len(self.demand_windows))
        #: demand-response limits and penalties per episode slot (None: no event in the episode)
        self.dr_limit_kw, self.dr_penalty_per_kwh = dr_arrays(site, episode.dates)
        self.slot = 0
        self.decision_seconds: list[float] = []
        #: a returning car's SoC when it last left (vehicle id -> SoC), for chained arrivals
        self.vehicle_soc: dict[str, float] = {}

    @property
    def done(self) -> bool:
        return self.slot >= self.episode.n_slots

    def observe(self) -> Observation:
        """What the policy knows at the start of the current slot."""
        t, p = self.slot, self.plugged
        day_start = t - t % SLOTS_PER_DAY
        date = self.episode.dates[t // SLOTS_PER_DAY]
        known = self.load_info == "paper"
        last = t if known else t - 1
        ids = tuple(self.trace.sessions[r].session_id if r >= 0 else "" for r in p.record.tolist())
        return Observation(
            slot=t,
            day=t // SLOTS_PER_DAY,
            slot_of_day=t % SLOTS_PER_DAY,
            episode_days=self.episode.days,
            load_today_kw=self.trace.building_kw[day_start : last + 1].copy(),
            peak_so_far_kw=self.peak_kw,
            occupied=p.occupied.copy(),
            session_ids=ids,
            energy_kwh=p.energy_kwh.copy(),
            battery_kwh=p.battery_kwh.copy(),
            target_kwh=p.target_kwh.copy(),
            floor_kwh=p.floor_kwh.copy(),
            arrival_slot=p.arrival_slot.copy(),
            departure_slot=p.departure_slot.copy(),
            departure_floor_kwh=p.departure_floor_kwh.copy(),
            current_load_known=known,
            last_load_kw=float(self.trace.building_kw[last]) if last >= 0 else float("nan"),
            weekday=date.weekday(),
            month_of_year=date.month,
            load_past_kw=self._past_view(day_start),
            price_today_per_kwh=self.trace.price_per_kwh[day_start : day_start + SLOTS_PER_DAY].copy(),
            window_peaks_so_far_kw=self.window_peaks_kw.copy(),
            windows_today=self._windows_on(day_start),
            **self._dr_on(day_start),
            **self._tomorrow(day_start),
            ev_max_kw=p.ev_max_kw.copy(),
            ev_discharge_max_kw=p.ev_discharge_max_kw.copy(),
        )

    def _windows_on(self, day_start: int) -> np.ndarray:
        """Which slots of the day starting at ``day_start`` each windowed demand charge covers."""
        rows = [w.mask[day_start : day_start + SLOTS_PER_DAY] for w in self.demand_windows]
        return np.array(rows, dtype=bool).reshape(len(rows), SLOTS_PER_DAY)

    def _tomorrow(self, day_start: int) -> dict[str, Any]:
        """Where cars stay overnight: that they may, and what the tariff says of tomorrow (the
        controllers plan a car that leaves tomorrow up to its departure)."""
        if not self.episode.overnight:
            return {}
        start = day_start + SLOTS_PER_DAY
        if start >= self.episode.n_slots:
            return {"overnight": True}
        return {"overnight": True,
                "price_tomorrow_per_kwh": self.trace.price_per_kwh[start : start + SLOTS_PER_DAY].copy(),
                "windows_tomorrow": self._windows_on(start), **self._dr_on(start, "tomorrow")}

    def _dr_on(self, day_start: int, day: str = "today") -> dict[str, np.ndarray]:
        """The demand-response limits and penalties of the day starting at ``day_start``, as the
        observation's ``dr_*_{day}_*`` fields (none without an event in the episode)."""
        if self.dr_limit_kw is None:
            return {}
        span = slice(day_start, day_start + SLOTS_PER_DAY)
        return {f"dr_limit_{day}_kw": self.dr_limit_kw[span].copy(),
                f"dr_penalty_{day}_per_kwh": self.dr_penalty_per_kwh[span].copy()}

    def _past_view(self, day_start: int) -> np.ndarray:
        view = self.trace.building_kw[:day_start].view()
        view.flags.writeable = False
        return view

    def _depart(self, i: int) -> None:
        p = self.plugged
        rec = self.trace.sessions[p.record[i]]
        rec.soc_departure = float(p.energy_kwh[i] / p.battery_kwh[i])
        if rec.vehicle_id is not None:
            self.vehicle_soc[rec.vehicle_id] = rec.soc_departure
        rec.payment_usd = self._agreed[p.record[i]].payment_usd(rec.delivered_kwh, rec.promised_kwh)
        p.disconnect(i)

    def request_for(self, session: Session, charger_index: int | None = None) -> ArrivalRequest | None:
        """The arrival request of ``session`` on the charger FCFS would give it now, or on
        ``charger_index`` where the driver already stands at one (``None``: every charger is
        busy, or that one is). A charger held by an unanswered menu is busy."""
        free = ~self.plugged.occupied
        for held in self.offers.values():
            free[held.request.charger_index] = False
        charger = pick_charger(free, self._order) if charger_index is None else charger_index
        if charger is None or not free[charger]:
            return None
        latest = self.episode.latest_departure_slot(session.arrival_slot) if self.episode.overnight else None
        return ArrivalRequest(session=session, charger_index=charger, latest_departure_slot=latest)

    def offer(self, s: Session, charger_index: int | None = None,
              respond_by_s: float | None = None) -> PendingOffer | None:
        """The first half of an arrival: a charger (FCFS, or ``charger_index``) and the
        policy's menu. The session is recorded as rejected until :meth:`choose` applies the
        driver's answer; its charger is held meanwhile. ``None``: no charger was free (the
        record says "no charger"). ``respond_by_s``: the menu's deadline
        (:class:`v2b.interface.ArrivalRequest`; ``-inf`` asks for the fallback menu at once,
        as a replay of a menu that missed its deadline does)."""
        record = SessionRecord(
            session_id=s.session_id,
            arrival_slot=s.arrival_slot,
            departure_slot=s.departure_slot,
            charger_id="",
            battery_kwh=s.battery_kwh,
            soc_arrival=s.soc_arrival,
            soc_requested=s.soc_requested,
            soc_target=s.soc_requested,
            soc_departure=s.soc_arrival,
            payment_usd=0.0,
            option="",
            rejected=True,
            requested_departure_slot=s.departure_slot,
            vehicle_id=s.vehicle_id,
        )
        self.trace.sessions.append(record)
        request = self.request_for(s, charger_index)
        if request is None:
            record.reject_reason = "no charger"
            return None
        if respond_by_s is not None:
            request = dataclasses.replace(request, respond_by_s=respond_by_s)
        menu = self.policy.offer(self.observe(), request)
        record.offered_options = len(menu.options)
        if menu.options:
            record.offered_price_usd = menu.options[0].price_usd(s)
        pending = PendingOffer(len(self.trace.sessions) - 1, request, menu)
        self.offers[pending.record_index] = pending
        return pending

    def choose(self, pending: PendingOffer, choice: Choice) -> SessionRecord:
        """The second half of an arrival: the driver's answer to the menu of ``pending``;
        an option plugs the car in (from the current slot on), reject frees the charger."""
        if self.offers.pop(pending.record_index, None) is None:
            raise ValueError(f"session record {pending.record_index} has no menu waiting for an answer")
        record = self.trace.sessions[pending.record_index]
        request, s = pending.request, pending.request.session
        record.driver_type = choice.driver_type
        record.acceptance_usd = choice.acceptance_usd
        if choice.option is None:
            record.option = "reject"
            record.reject_reason = "declined"
            return record
        option = _clip_option(choice.option, s, self.episode.latest_departure_slot(s.arrival_slot))
        record.rejected = False
        record.charger_id = self.chargers.ids[request.charger_index]
        record.departure_slot = option.departure_slot
        record.soc_target = option.soc_target
        record.option = option.name
        record.level = option.level
        record.promised_kwh = option.promised_kwh(s)
        record.price_usd = option.price_usd(s)
        record.energy_cost_usd = option.energy_cost_usd
        record.marginal_utility_usd = option.marginal_utility_usd
        self._agreed[pending.record_index] = option
        self.plugged.connect(request.charger_index, pending.record_index, s, option, self.site)
        return record

    def returning(self, s: Session) -> Session:
        """``s`` with the SoC its car arrives with: for a car seen before (``vehicle_id``), what
        it left with last time minus ``depletion_kwh``, kept within [its floor, full]
        (``docs/model.md``, "Returning cars"); otherwise ``s`` as given."""
        if s.vehicle_id is None or s.vehicle_id not in self.vehicle_soc:
            return s
        soc = s.returning_soc(self.vehicle_soc[s.vehicle_id], self.site.battery.discharge_floor_soc)
        return dataclasses.replace(s, soc_arrival=soc)

    def admit(self, s: Session) -> SessionRecord:
        """One arrival offline: :meth:`offer`, the simulated driver's choice at once, :meth:`choose`."""
        s = self.returning(s)
        pending = self.offer(s)
        if s.vehicle_id is not None:  # a car turned away keeps its SoC for its next visit
            self.vehicle_soc[s.vehicle_id] = s.soc_arrival
        if pending is None:
            return self.trace.sessions[-1]
        choice = self.chooser(pending.menu, pending.request,
                              driver_rng(self.seed, self._episode_key, s.session_id))
        return self.choose(pending, choice)

    def begin_slot(self) -> None:
        """Departures, then the arrivals of the current slot."""
        t, p = self.slot, self.plugged
        for i in np.flatnonzero(p.occupied & (p.departure_slot <= t)):
            self._depart(int(i))
        while self._next_arrival < len(self._pending) and self._pending[self._next_arrival].arrival_slot <= t:
            s = self._pending[self._next_arrival]
            self._next_arrival += 1
            self.admit(s)

    def end_slot(self, fixed_kw: Mapping[int, float] | None = None) -> None:
        """The policy's set-points, the physics, the meter; then the next slot.

        ``fixed_kw`` (charger index -> kW): chargers that do not follow the policy (a live
        charger that rejected its profile or stopped answering runs its fallback limit); the
        policy's set-point for them is replaced before the physics. Offline: none.
        """
        t, p = self.slot, self.plugged
        occupied = p.occupied
        if occupied.any():
            obs = self.observe()
            start = time.perf_counter()
            asked = np.asarray(self.policy.decide(obs), dtype=float)
            self.decision_seconds.append(time.perf_counter() - start)
            n = len(self.chargers)
            if asked.shape != (n,):
                raise PolicyError(
                    f"policy {self.policy.name!r} returned set-points of shape {asked.shape}, expected ({n},)"
                )
            if fixed_kw:
                asked = asked.copy()
                for i, kw in fixed_kw.items():
                    asked[i] = kw
            power = physics.enforce(
                asked, p.energy_kwh, p.battery_kwh, p.floor_kwh, occupied,
                float(self.trace.building_kw[t]), self.chargers, self.site.battery,
                p.departure_floor_kwh, np.where(occupied, p.departure_slot - t, 0),
                self.site.connection_limit_kw, p.ev_max_kw, p.ev_discharge_max_kw,
            )
            p.energy_kwh = np.clip(
                p.energy_kwh + physics.energy_step_kwh(power, self.chargers), 0.0, p.battery_kwh
            )
            self.trace.power_kw[t] = power
            self.trace.session_index[t] = p.record
        total = float(self.trace.building_kw[t] + self.trace.power_kw[t].sum())
        self.peak_kw = max(self.peak_kw, total)
        for k, window in enumerate(self.demand_windows):
            if window.mask[t]:
                self.window_peaks_kw[k] = max(self.window_peaks_kw[k], total)
        self.slot += 1

    def depart(self, charger_index: int) -> SessionRecord:
        """The car on ``charger_index`` leaves now, before its negotiated departure (a live
        charger ended its transaction): it pays for what was delivered (``docs/model.md``,
        "Settlement")."""
        record = int(self.plugged.record[charger_index])
        if record < 0:
            raise ValueError(f"charger {self.chargers.ids[charger_index]} has no car connected")
        self._depart(charger_index)
        return self.trace.sessions[record]

    def set_energy(self, charger_index: int, energy_kwh: float) -> None:
        """The battery energy of the car on ``charger_index`` as measured (a live meter),
        replacing what the physics computed."""
        p = self.plugged
        if p.record[charger_index] < 0:
            raise ValueError(f"charger {self.chargers.ids[charger_index]} has no car connected")
        p.energy_kwh[charger_index] = float(min(max(energy_kwh, 0.0), p.battery_kwh[charger_index]))

    def set_building_load(self, slot: int, load_kw: float) -> None:
        """The building's mean load over a decided ``slot`` as its meter measured it (a live
        site), replacing the value the engine played; the month's peak is recomputed.

        The chargers' power in that slot stays what it was: only the building's part and what
        is billed on it change.
        """
        if not 0 <= slot < self.slot:
            raise ValueError(f"slot {slot} is not a decided slot (0..{self.slot - 1})")
        if not np.isfinite(load_kw):
            raise ValueError(f"building load {load_kw!r} kW is not a finite number")
        self.trace.building_kw[slot] = float(load_kw)
        decided = self.trace.building_kw[: self.slot] + self.trace.power_kw[: self.slot].sum(axis=1)
        self.peak_kw = max(0.0, float(decided.max()))
        self.window_peaks_kw = window_peaks_kw(decided, self.demand_windows)

    def step(self) -> None:
        """Simulate the current slot."""
        self.begin_slot()
        self.end_slot()

    def run(self, progress: Callable[[int, int], None] | None = None) -> SimResult:
        """Every remaining slot, then the bill; ``progress(slots done, slots)`` after each day."""
        while not self.done:
            self.step()
            if progress is not None and (self.slot % SLOTS_PER_DAY == 0 or self.done):
                progress(self.slot, self.episode.n_slots)
        return self.finish()

    def finish(self) -> SimResult:
        """Disconnect the EVs still plugged in and bill the episode."""
        for i in np.flatnonzero(self.plugged.occupied):
            self._depart(int(i))
        summary = _summary(self.site, self.episode, self.policy, self.seed, self.trace,
                           self.decision_seconds)
        return SimResult(trace=self.trace, summary=summary, decision_seconds=self.decision_seconds)


def simulate(
    site: Site,
    episode: Episode,
    policy: Policy,
    seed: int = 0,
    futures: FutureSampler | None = None,
    chooser: Chooser | None = None,
    policy_options: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimResult:
    """Run ``policy`` on ``episode`` and bill the result (see :class:`Simulator`);
    ``progress(slots done, slots)`` is called after each simulated day."""
    return Simulator(site, episode, policy, seed, futures, chooser, policy_options).run(progress)


def _summary(
    site: Site,
    episode: Episode,
    policy: Policy,
    seed: int,
    trace: Trace,
    decision_seconds: list[float],
) -> dict[str, Any]:
    times = np.asarray(decision_seconds)
    summary: dict[str, Any] = {
        "policy": policy.name,
        "site": site.name,
        "episode": episode.index,
        "episode_kind": episode.kind,
        "days": episode.days,
        "seed": seed,
        **bill(trace, site),
        "decision_seconds": {
            "median": float(np.median(times)) if times.size else 0.0,
            "p95": float(np.percentile(times, 95)) if times.size else 0.0,
            "count": int(times.size),
        },
        "tariff": tariff_summary(site),
        "solver_fallbacks": 0,
        "solver_failures": 0,
    }
    summary.update(policy.stats())
    return summary
