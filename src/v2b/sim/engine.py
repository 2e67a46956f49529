"""The discrete-event simulator: 15-minute slots, arrival and departure events.

Every slot: departures leave, arrivals get a charger (FCFS) and a menu (the
negotiation hook, :meth:`Policy.offer`), the driver chooses, the policy sets
power from an :class:`Observation`, and :func:`v2b.sim.physics.enforce` turns
the request into what the hardware delivers. The policy never sees the episode.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from v2b.episode import Episode, Session
from v2b.interface import (
    ArrivalRequest,
    FutureSampler,
    Observation,
    Option,
    Policy,
    PolicyContext,
)
from v2b.sim import physics
from v2b.sim.assignment import arrival_order, clip_departure_slot, pick_charger, preference_order
from v2b.sim.billing import bill, tariff_summary
from v2b.sim.trace import SessionRecord, Trace
from v2b.site import Site
from v2b.timegrid import SLOTS_PER_DAY
from v2b.users.choice import Chooser, first_option


class PolicyError(RuntimeError):
    """A policy broke the interface contract (e.g. wrong set-point shape)."""


@dataclass
class SimResult:
    trace: Trace
    summary: dict[str, Any]
    decision_seconds: list[float] = field(default_factory=list)


class _Plugged:
    """Per-charger state of the connected EVs, as arrays."""

    def __init__(self, n: int):
        self.record = np.full(n, -1)
        self.energy_kwh = np.zeros(n)
        self.battery_kwh = np.zeros(n)
        self.target_kwh = np.zeros(n)
        self.floor_kwh = np.zeros(n)
        self.arrival_slot = np.full(n, -1)
        self.departure_slot = np.full(n, -1)

    @property
    def occupied(self) -> np.ndarray:
        return self.record >= 0

    def connect(self, i: int, record: int, s: Session, option: Option, floor_soc: float) -> None:
        self.record[i] = record
        self.energy_kwh[i] = s.soc_arrival * s.battery_kwh
        self.battery_kwh[i] = s.battery_kwh
        self.target_kwh[i] = option.soc_target * s.battery_kwh
        self.floor_kwh[i] = min(s.soc_arrival, floor_soc) * s.battery_kwh
        self.arrival_slot[i] = s.arrival_slot
        self.departure_slot[i] = option.departure_slot

    def disconnect(self, i: int) -> None:
        self.record[i] = -1
        for arr in (self.energy_kwh, self.battery_kwh, self.target_kwh, self.floor_kwh):
            arr[i] = 0.0
        self.arrival_slot[i] = -1
        self.departure_slot[i] = -1


def _clip_option(option: Option, s: Session) -> Option:
    """Keep a policy's offer physically meaningful: depart after arrival, by day end."""
    departure = clip_departure_slot(s.arrival_slot, option.departure_slot)
    soc = float(min(max(option.soc_target, 0.0), 1.0))
    if departure == option.departure_slot and soc == option.soc_target:
        return option
    return Option(option.name, departure, soc, option.payment_fixed_usd, option.price_per_kwh)


def simulate(
    site: Site,
    episode: Episode,
    policy: Policy,
    seed: int = 0,
    futures: FutureSampler | None = None,
    chooser: Chooser = first_option,
    policy_options: dict[str, Any] | None = None,
) -> SimResult:
    """Run ``policy`` on ``episode`` and bill the result.

    Parameters
    ----------
    site : Site
        Chargers, tariff, penalties and battery model.
    episode : Episode
        The billing month to play (load and sessions); only the engine reads it.
    policy : Policy
        Offers menus and sets charger power from observations.
    seed : int
        Seeds the generators handed to the policy and to the drivers' choices.
    futures : FutureSampler, optional
        The sampling pool, for policies that sample futures.
    chooser : Chooser
        How drivers answer a menu.
    """
    chargers = site.charger_arrays
    n = len(chargers)
    order = preference_order(chargers)
    policy_rng, user_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    policy.reset(
        PolicyContext(
            site=site,
            futures=futures,
            rng=policy_rng,
            episode_days=episode.days,
            options=dict(policy_options or {}),
            oracle_episode=episode if policy.sees_future else None,
        )
    )
    price_day = site.tariff.price_per_kwh_by_slot()
    trace = Trace(
        dates=episode.dates,
        chargers=site.charger_list,
        building_kw=episode.load_kw.astype(float).copy(),
        price_per_kwh=np.tile(price_day, episode.days),
        power_kw=np.zeros((episode.n_slots, n)),
        session_index=np.full((episode.n_slots, n), -1),
    )
    plugged = _Plugged(n)
    floor_soc = site.battery.discharge_floor_soc
    pending = arrival_order(episode.sessions) if policy.serves_evs else []
    next_arrival = 0
    peak_kw = 0.0
    decision_seconds: list[float] = []

    def observe(t: int) -> Observation:
        day_start = t - t % SLOTS_PER_DAY
        occupied = plugged.occupied
        ids = tuple(
            trace.sessions[r].session_id if r >= 0 else "" for r in plugged.record.tolist()
        )
        return Observation(
            slot=t,
            day=t // SLOTS_PER_DAY,
            slot_of_day=t % SLOTS_PER_DAY,
            episode_days=episode.days,
            load_today_kw=trace.building_kw[day_start : t + 1].copy(),
            peak_so_far_kw=peak_kw,
            occupied=occupied.copy(),
            session_ids=ids,
            energy_kwh=plugged.energy_kwh.copy(),
            battery_kwh=plugged.battery_kwh.copy(),
            target_kwh=plugged.target_kwh.copy(),
            floor_kwh=plugged.floor_kwh.copy(),
            arrival_slot=plugged.arrival_slot.copy(),
            departure_slot=plugged.departure_slot.copy(),
        )

    agreed: dict[int, Option] = {}

    def depart(i: int) -> None:
        rec = trace.sessions[plugged.record[i]]
        rec.soc_departure = float(plugged.energy_kwh[i] / plugged.battery_kwh[i])
        rec.payment_usd = agreed[plugged.record[i]].payment_usd(max(rec.delivered_kwh, 0.0))
        plugged.disconnect(i)

    for t in range(episode.n_slots):
        for i in np.flatnonzero(plugged.occupied & (plugged.departure_slot <= t)):
            depart(int(i))
        while next_arrival < len(pending) and pending[next_arrival].arrival_slot <= t:
            s = pending[next_arrival]
            next_arrival += 1
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
            )
            trace.sessions.append(record)
            charger = pick_charger(~plugged.occupied, order)
            if charger is None:
                record.reject_reason = "no charger"
                continue
            request = ArrivalRequest(session=s, charger_index=charger)
            menu = policy.offer(observe(t), request)
            choice = chooser(menu, request, user_rng)
            if choice is None:
                record.option = "reject"
                record.reject_reason = "declined"
                continue
            choice = _clip_option(choice, s)
            record.rejected = False
            record.charger_id = chargers.ids[charger]
            record.departure_slot = choice.departure_slot
            record.soc_target = choice.soc_target
            record.option = choice.name
            agreed[len(trace.sessions) - 1] = choice
            plugged.connect(charger, len(trace.sessions) - 1, s, choice, floor_soc)

        occupied = plugged.occupied
        if occupied.any():
            obs = observe(t)
            start = time.perf_counter()
            asked = np.asarray(policy.decide(obs), dtype=float)
            decision_seconds.append(time.perf_counter() - start)
            if asked.shape != (n,):
                raise PolicyError(
                    f"policy {policy.name!r} returned set-points of shape {asked.shape}, expected ({n},)"
                )
            power = physics.enforce(
                asked,
                plugged.energy_kwh,
                plugged.battery_kwh,
                plugged.floor_kwh,
                occupied,
                float(trace.building_kw[t]),
                chargers,
                site.battery,
            )
            plugged.energy_kwh = np.clip(
                plugged.energy_kwh + physics.energy_step_kwh(power, chargers),
                0.0,
                plugged.battery_kwh,
            )
            trace.power_kw[t] = power
            trace.session_index[t] = plugged.record
        peak_kw = max(peak_kw, float(trace.building_kw[t] + trace.power_kw[t].sum()))

    for i in np.flatnonzero(plugged.occupied):
        depart(int(i))

    summary = _summary(site, episode, policy, seed, trace, decision_seconds)
    return SimResult(trace=trace, summary=summary, decision_seconds=decision_seconds)


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
    }
    summary.update(policy.stats())
    return summary
