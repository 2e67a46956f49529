"""Cheap reference policies: building only, uncontrolled, EDF and LLF.

EDF and LLF are one scheduler with different sort keys (as ACN-Sim's sorted
schedulers are): serve EVs in priority order up to a peak threshold, but always
give each EV the power it needs now to still reach its target by departure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np

from v2b.interface import Observation, Policy, vehicle_limits_kw
from v2b.sim import physics
from v2b.site import Site
from v2b.timegrid import SLOT_H


class BuildingOnly(Policy):
    """Policy 1: the building without EVs (no EV is admitted)."""

    name = "building-only"
    description = "Building load alone: no EV is admitted (paper policy 1, the reference)."
    serves_evs = False

    def decide(self, obs: Observation) -> np.ndarray:
        return np.zeros(obs.occupied.shape)


def power_to_target_kw(obs: Observation, site: Site) -> np.ndarray:
    """Charger power that would reach each EV's target within this slot [kW]."""
    need_kwh = np.maximum(obs.target_kwh - obs.energy_kwh, 0.0)
    return need_kwh / (site.charger_arrays.charge_efficiency * SLOT_H)


def rating_kw(obs: Observation, site: Site) -> np.ndarray:
    """Each charger's rating with the connected car's own limit [kW]."""
    return physics.rating_kw(site.charger_arrays, vehicle_limits_kw(obs)[0])


def must_charge_now_kw(obs: Observation, site: Site) -> np.ndarray:
    """Power needed now so the target stays reachable at full power later [kW].

    Later slots are assumed to run at the charger's nominal power; the SoC
    taper makes this optimistic near full, which EDF/LLF accept as heuristics.
    """
    ch = site.charger_arrays
    slots_left = np.maximum(obs.departure_slot - obs.slot, 0)
    later_kwh = np.maximum(slots_left - 1, 0) * rating_kw(obs, site) * ch.charge_efficiency * SLOT_H
    need_kwh = np.maximum(obs.target_kwh - obs.energy_kwh - later_kwh, 0.0)
    return np.where(obs.occupied, need_kwh / (ch.charge_efficiency * SLOT_H), 0.0)


class Uncontrolled(Policy):
    """Policy 2: every EV charges at full power from arrival until its target."""

    name = "uncontrolled"
    description = "Full power from plug-in until the target is reached; free for users (policy 2)."

    def decide(self, obs: Observation) -> np.ndarray:
        site = self.ctx.site
        full = np.where(obs.occupied, rating_kw(obs, site), 0.0)
        return np.minimum(full, power_to_target_kw(obs, site))


def deadline_key(obs: Observation, site: Site) -> np.ndarray:
    """Earliest deadline first: sort by departure slot."""
    return obs.departure_slot.astype(float)


def laxity_key(obs: Observation, site: Site) -> np.ndarray:
    """Least laxity first: slots left minus slots needed at full power."""
    ch = site.charger_arrays
    need_kwh = np.maximum(obs.target_kwh - obs.energy_kwh, 0.0)
    slots_needed = need_kwh / (rating_kw(obs, site) * ch.charge_efficiency * SLOT_H)
    return (obs.departure_slot - obs.slot) - slots_needed


def load_estimate_kw(obs: Observation, margin_kw: float) -> float:
    """The building load a heuristic plans the current slot with [kW]: the measured
    value where known, else the last measurement plus ``margin_kw``."""
    if obs.current_load_known:
        return obs.last_load_kw
    if not np.isfinite(obs.last_load_kw):
        return obs.peak_so_far_kw  # nothing measured yet: assume the slot may reach the peak
    return obs.last_load_kw + margin_kw


def coming_margin_kw(futures: object, obs: Observation, quantile: float = 0.9) -> float:
    """How much the load may rise over the slot being decided, where it is not measured: a
    quantile of the one-slot moves of the pool days most like today applied to the last
    measurement (:meth:`v2b.scenarios.futures.PoolFutureSampler.coming_slot_quantile_kw`, the
    samples ``smart`` prices that slot on), less that measurement; 0 where the slot is
    measured, without a pool or before any measurement, and never below 0."""
    estimate = getattr(futures, "coming_slot_quantile_kw", None)
    if obs.current_load_known or estimate is None or not np.isfinite(obs.last_load_kw):
        return 0.0
    level = estimate(obs, quantile)
    return max(level - obs.last_load_kw, 0.0) if np.isfinite(level) else 0.0


def sorted_within_threshold(
    obs: Observation, site: Site, key: Callable[[Observation, Site], np.ndarray], margin_kw: float = 0.0
) -> np.ndarray:
    """Charge in ``key`` order while metered power stays under a peak threshold.

    The threshold is the higher of the month's peak so far and today's highest
    building load so far (a peak that is already paid, or about to be), or a
    demand-response event's limit where that is lower. The current slot's load
    is the measured one where known, else the last measurement plus ``margin_kw``
    (:func:`load_estimate_kw`). EVs that would miss their target otherwise get their
    minimum power first, even above the threshold.
    """
    wanted = np.where(obs.occupied, np.minimum(rating_kw(obs, site), power_to_target_kw(obs, site)), 0.0)
    power = np.minimum(must_charge_now_kw(obs, site), wanted)
    threshold_kw = max(obs.peak_so_far_kw, float(obs.load_today_kw.max(initial=0.0)))
    if obs.dr_limit_today_kw.size:  # a demand-response event's limit caps the threshold
        threshold_kw = min(threshold_kw, float(obs.dr_limit_today_kw[obs.slot_of_day]))
    headroom = threshold_kw - load_estimate_kw(obs, margin_kw) - power.sum()
    order = np.argsort(np.where(obs.occupied, key(obs, site), np.inf), kind="stable")
    extra = np.zeros_like(power)
    room = wanted - power
    # Greedy fill in priority order: a cumulative sum replaces the per-EV loop.
    cum_before = np.concatenate([[0.0], np.cumsum(room[order])[:-1]])
    extra[order] = np.clip(max(headroom, 0.0) - cum_before, 0.0, room[order])
    return power + extra


class SortedScheduler(Policy):
    """Priority scheduling within a peak threshold; the key sets the priority."""

    key: ClassVar[Callable[[Observation, Site], np.ndarray]]

    def decide(self, obs: Observation) -> np.ndarray:
        margin = coming_margin_kw(self.ctx.futures, obs)
        return sorted_within_threshold(obs, self.ctx.site, type(self).key, margin)


class EarliestDeadlineFirst(SortedScheduler):
    name = "edf"
    description = "Earliest deadline first within the current peak threshold; free for users."
    key = staticmethod(deadline_key)


class LeastLaxityFirst(SortedScheduler):
    name = "llf"
    description = "Least laxity first within the current peak threshold; free for users."
    key = staticmethod(laxity_key)
