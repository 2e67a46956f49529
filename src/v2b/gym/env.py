"""A Gymnasium environment over the v2b engine (``docs/gym.md``).

:class:`V2BEnv` plays one episode of a site with :class:`v2b.sim.Simulator`,
slot by slot: the agent's action is what a policy's ``decide`` would return (the
set-points of every charger, kW), and the engine applies it under its usual
rules. The reward is minus the building's cost of the step, so that the rewards
of an episode add up to minus the bill's ``building_cost_usd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from v2b.control.registry import make_policy
from v2b.episode import Episode
from v2b.errors import UserError
from v2b.experiments.runner import chooser_for, episode_for, scaled_site
from v2b.interface import ArrivalRequest, Menu, Observation, Policy, PolicyContext
from v2b.scenarios import site_scenarios
from v2b.sim.billing import energy_cost_usd
from v2b.sim.engine import SimResult, Simulator, load_info_mode
from v2b.site import Site, load_site
from v2b.tariff import episode_dr_limits, price_bounds_per_kwh
from v2b.timegrid import SLOT_H, SLOTS_PER_DAY

#: Upper bound of ``slots_left``: a billing month has at most 31 days.
MAX_EPISODE_SLOTS = 31 * SLOTS_PER_DAY

#: Keys ``reset(options=...)`` accepts.
RESET_OPTIONS = ("episode",)

#: The parts of a step's cost reported in ``info["cost_usd"]`` (their sum less
#: ``user_payments_usd`` is the step's cost, minus the reward).
COST_PARTS = ("energy_cost_usd", "demand_charge_usd", "demand_response_usd", "soc_penalty_usd",
              "degradation_usd", "user_payments_usd")


class EnvError(UserError):
    """A bad argument or call of :class:`V2BEnv` (the message names the field and value)."""


class AgentSetpoints(Policy):
    """The policy the engine runs inside the environment: its set-points are the agent's
    action of the slot; its menus are the negotiator's (default: the request as is, free)."""

    name: ClassVar[str] = "gym-agent"
    description: ClassVar[str] = "set-points from a Gymnasium agent (v2b.gym)"

    def __init__(self, n_chargers: int, negotiator: Policy | None = None):
        self.setpoints = np.zeros(n_chargers)
        self.negotiator = negotiator

    def reset(self, ctx: PolicyContext) -> None:
        super().reset(ctx)
        self.setpoints = np.zeros_like(self.setpoints)
        if self.negotiator is not None:
            self.negotiator.reset(ctx)

    def offer(self, obs: Observation, request: ArrivalRequest) -> Menu:
        if self.negotiator is None:
            return super().offer(obs, request)
        return self.negotiator.offer(obs, request)

    def decide(self, obs: Observation) -> np.ndarray:
        return self.setpoints.copy()

    def stats(self) -> dict[str, Any]:
        if self.negotiator is None:
            return {"negotiator": "none"}
        return {**self.negotiator.stats(), "negotiator": self.negotiator.name}


def _negotiator(value: Policy | str | None) -> Policy | None:
    if value is None:
        return None
    policy = make_policy(value) if isinstance(value, str) else value
    if not isinstance(policy, Policy):
        raise EnvError(f"negotiator={value!r} must be a policy name or a v2b.interface.Policy")
    if policy.sees_future:
        raise EnvError(f"negotiator={policy.name!r} sees the future; the environment runs causal policies")
    if not policy.serves_evs:
        raise EnvError(f"negotiator={policy.name!r} admits no EV; the environment serves every driver")
    return policy


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise EnvError(f"{name}={value!r} must be an integer")
    if value < low or (high is not None and value > high):
        allowed = f"{low}..{high}" if high is not None else f"at least {low}"
        raise EnvError(f"{name}={value!r} is out of range: allowed {allowed}")
    return int(value)


class V2BEnv(gym.Env[dict[str, Any], np.ndarray]):
    """One episode of a site, one 15-minute slot per step (``docs/gym.md``).

    Parameters
    ----------
    site : str or Site
        A bundled site name, a site file path, or a loaded :class:`~v2b.site.Site`.
    episode : int
        Test episode index (replay month index with ``replay=True``), as ``v2b simulate --episode``.
    seed : int
        The run seed, as ``v2b simulate --seed`` (drivers' choices, the negotiator's generator);
        ``reset(seed=s)`` replaces it.
    days : int, optional
        Play only the first ``days`` days of the episode (``--days``).
    replay : bool
        A recorded month instead of a generated test episode (``--replay``).
    load_info : str
        ``measured`` (completed slots only) or ``paper`` (also the slot being decided), as
        ``--load-info``; it sets what the observation shows of the building load.
    skip_idle : bool
        Advance through slots with no EV connected inside a step (their cost is in that
        step's reward); default: every slot is a step.
    negotiator : str or Policy, optional
        A policy whose ``offer`` answers every arrival (menus, prices, the drivers' choice);
        default: every driver charges as requested, for free. Its ``decide`` is never called
        by the environment (:class:`PolicyAgent` calls it).
    options : mapping, optional
        Further run options, as ``RunSpec.options`` (e.g. ``scenarios``, ``choice_temperature_usd``).
    skip_invalid : bool
        Drop malformed rows of the site's data files (``--skip-invalid``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        site: str | Site = "santa-clara-office",
        episode: int = 0,
        seed: int = 1,
        days: int | None = None,
        replay: bool = False,
        load_info: str = "measured",
        skip_idle: bool = False,
        negotiator: Policy | str | None = None,
        options: Mapping[str, Any] | None = None,
        skip_invalid: bool = False,
    ):
        super().__init__()
        if not isinstance(site, str | Site):
            raise EnvError(f"site={site!r} must be a site name, a site file path or a v2b.site.Site")
        self.site = site if isinstance(site, Site) else load_site(site)
        self.replay = bool(replay)
        self.skip_invalid = bool(skip_invalid)
        self.days = None if days is None else _check_int("days", days, 1)
        self.run_seed = _check_int("seed", seed, 0, 2**32 - 1)
        self.skip_idle = bool(skip_idle)
        if options is not None and not isinstance(options, Mapping):
            raise EnvError(f"options={options!r} must be a mapping of run options")
        self.options: dict[str, Any] = {**dict(options or {}), "load_info": load_info}
        self.site = scaled_site(self.site, self.options.get("arrival_scale"))  # as run() does
        self.load_info = load_info_mode(self.options)
        self.chooser = chooser_for(self.site, self.options)
        self.negotiator = _negotiator(negotiator)
        self.episode = self._episode(episode)
        self.futures = site_scenarios(self.site, self.skip_invalid).future_sampler()
        self.chargers = self.site.charger_arrays
        n = len(self.chargers)
        self.demand_charge_usd_per_kw = float(self.site.tariff.demand_charge_usd_per_kw)
        self.action_space = spaces.Box(
            low=self.chargers.min_kw.astype(np.float64), high=self.chargers.max_kw.astype(np.float64),
            shape=(n,), dtype=np.float64,
        )
        self.observation_space = _observation_space(n, price_bounds_per_kwh(self.site.tariff))
        self._agent = AgentSetpoints(n, self.negotiator)
        self._sim: Simulator | None = None
        self._pending_usd = dict.fromkeys(COST_PARTS, 0.0)
        self.result: SimResult | None = None

    # ---- episode set-up -------------------------------------------------------------------------

    def _episode(self, index: object) -> Episode:
        index = _check_int("episode", index, 0)
        full = episode_for(self.site, index, self.replay, None, self.skip_invalid)
        if self.days is not None and self.days > full.days:
            kind = "replay month" if self.replay else "test episode"
            raise EnvError(f"days={self.days} is out of range: {kind} {index} has {full.days} days")
        episode = full if self.days is None else full.truncated(self.days)
        if episode.n_slots > MAX_EPISODE_SLOTS:
            raise EnvError(f"episode={index} has {episode.days} days, more than a billing month (31)")
        return episode

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start the episode (again). ``seed`` replaces the run seed (kept for later resets);
        ``options={"episode": k}`` switches to episode ``k`` (kept too)."""
        for key in options or {}:
            if key not in RESET_OPTIONS:
                raise EnvError(f"reset option {key!r} is unknown; known: {', '.join(RESET_OPTIONS)}")
        if seed is not None:
            _check_int("seed", seed, 0, 2**32 - 1)
        if options and "episode" in options:
            self.episode = self._episode(options["episode"])
        if seed is not None:
            self.run_seed = int(seed)
        super().reset(seed=self.run_seed if seed is not None or self._np_random is None else None)
        self.result = None
        self._sim = Simulator(self.site, self.episode, self._agent, self.run_seed, self.futures,
                              self.chooser, self.options)
        self._events = episode_dr_limits(self.site, self.episode.dates)
        self._event_last = [int(np.flatnonzero(e.mask)[-1]) for e in self._events]
        self._event_over_kwh = np.zeros(len(self._events))
        self._pending_usd = dict.fromkeys(COST_PARTS, 0.0)
        self._begin_slot(self._pending_usd)
        if self.skip_idle:
            self._skip_idle(self._pending_usd)
        return self._observation(), self._info(self._sim.slot, 0, None)

    # ---- stepping ---------------------------------------------------------------------------------

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Apply ``action`` (kW per charger) to the current slot and advance."""
        sim = self._require_running()
        sim_slot = sim.slot
        self._agent.setpoints = self._setpoints(action)
        cost, self._pending_usd = self._pending_usd, dict.fromkeys(COST_PARTS, 0.0)
        self._run_slot(sim, cost)
        if self.skip_idle:
            self._skip_idle(cost)
        bill = None
        if sim.done:
            bill = self._finish(sim, cost)
        reward = -(cost["energy_cost_usd"] + cost["demand_charge_usd"] + cost["demand_response_usd"]
                   + cost["soc_penalty_usd"] + cost["degradation_usd"] - cost["user_payments_usd"])
        info = self._info(sim_slot, sim.slot - sim_slot, cost)
        if bill is not None:
            info["bill"] = bill
        return self._observation(), float(reward), sim.done, False, info

    def _require_running(self) -> Simulator:
        if self._sim is None:
            raise EnvError("step() called before reset(): call reset() to start the episode")
        if self._sim.done:
            raise EnvError("step() called after the episode ended (terminated=True): call reset()")
        return self._sim

    def _setpoints(self, action: object) -> np.ndarray:
        n = len(self.chargers)
        try:
            arr = np.asarray(action, dtype=float)
        except (TypeError, ValueError):
            raise EnvError(f"action={action!r} must be {n} numbers (kW per charger)") from None
        if arr.shape != (n,):
            raise EnvError(
                f"action has shape {arr.shape}, expected ({n},): one set-point in kW per charger of "
                f"site {self.site.name!r}"
            )
        return arr.copy()

    def _run_slot(self, sim: Simulator, cost: dict[str, float]) -> None:
        """The current slot's set-points, physics and meter, then the next slot's departures and
        arrivals; the costs they incur are added to ``cost``."""
        t = sim.slot
        peak_before, windows_before = sim.peak_kw, sim.window_peaks_kw.copy()
        sim.end_slot()
        trace = sim.trace
        total = trace.building_kw[t : t + 1] + trace.power_kw[t].sum()
        cost["energy_cost_usd"] += energy_cost_usd(total, trace.price_per_kwh[t : t + 1],
                                                   self.site.tariff.export_price_per_kwh)
        for k, event in enumerate(self._events):
            if event.mask[t]:
                over_kwh = max(float(total[0]) - event.limit_kw, 0.0) * SLOT_H
                self._event_over_kwh[k] += over_kwh
                cost["demand_response_usd"] += event.penalty_per_kwh * over_kwh
                if t == self._event_last[k] and self._event_over_kwh[k] <= 1e-9:
                    cost["demand_response_usd"] -= event.incentive_usd
        cost["demand_charge_usd"] += self.demand_charge_usd_per_kw * (sim.peak_kw - peak_before)
        rates = np.array([w.usd_per_kw for w in sim.demand_windows])
        cost["demand_charge_usd"] += float(rates @ (sim.window_peaks_kw - windows_before))
        discharged_kwh = float(np.maximum(-trace.power_kw[t], 0.0).sum() * SLOT_H)
        cost["degradation_usd"] += self.site.penalties.degradation_usd_per_kwh * discharged_kwh
        if not sim.done:
            self._begin_slot(cost)

    def _begin_slot(self, cost: dict[str, float]) -> None:
        sim = self._sim
        assert sim is not None
        before = self._connected(sim)
        sim.begin_slot()
        self._settle(sim, before - self._connected(sim), cost)

    def _skip_idle(self, cost: dict[str, float]) -> None:
        """Run the slots with no EV connected (the engine asks no set-point there), except the
        episode's last slot: every episode keeps at least one step."""
        sim = self._sim
        assert sim is not None
        while sim.slot < self.episode.n_slots - 1 and not sim.plugged.occupied.any():
            self._run_slot(sim, cost)

    def _finish(self, sim: Simulator, cost: dict[str, float]) -> dict[str, Any]:
        still = self._connected(sim)
        self.result = sim.finish()
        self._settle(sim, still, cost)
        return self.result.summary

    @staticmethod
    def _connected(sim: Simulator) -> set[int]:
        return {int(r) for r in sim.plugged.record if r >= 0}

    def _settle(self, sim: Simulator, departed: set[int], cost: dict[str, float]) -> None:
        """The missing-SoC penalty and the payment of each session that just left."""
        k_soc = self.site.penalties.soc_penalty_usd_per_kwh
        for r in sorted(departed):
            record = sim.trace.sessions[r]
            cost["soc_penalty_usd"] += k_soc * record.unmet_kwh
            cost["user_payments_usd"] += record.payment_usd

    # ---- observations ------------------------------------------------------------------------------

    def engine_observation(self) -> Observation | None:
        """The engine's :class:`~v2b.interface.Observation` of the current slot (what a policy's
        ``decide`` would get); ``None`` before ``reset`` and after the episode's end."""
        if self._sim is None or self._sim.done:
            return None
        return self._sim.observe()

    def _observation(self) -> dict[str, Any]:
        sim = self._sim
        assert sim is not None
        n = len(self.chargers)
        obs = self.engine_observation()
        if obs is None:  # the end: nothing connected, the whole load metered
            last = self.episode.n_slots - 1
            slot_of_day, weekday = last % SLOTS_PER_DAY, self.episode.dates[-1].weekday()
            known, slots_left = sim.trace.building_kw, 0
            occupied, zeros = np.zeros(n, dtype=bool), np.zeros(n)
            energy = battery = target = zeros
            to_departure = zeros
        else:
            slot_of_day, weekday = obs.slot_of_day, obs.weekday
            known = np.concatenate([obs.load_past_kw[-SLOTS_PER_DAY:], obs.load_today_kw])
            slots_left = self.episode.n_slots - obs.slot
            occupied, energy, battery, target = obs.occupied, obs.energy_kwh, obs.battery_kwh, obs.target_kwh
            to_departure = np.where(occupied, obs.departure_slot - obs.slot, 0)
        window = np.zeros(SLOTS_PER_DAY)
        recent = known[-SLOTS_PER_DAY:]
        if recent.size:
            window[-recent.size :] = recent
        safe = np.where(occupied & (battery > 0), battery, 1.0)
        f32 = np.float32
        return {
            "slot_of_day": np.int64(slot_of_day),
            "weekday": np.int64(weekday),
            "slots_left": np.array([slots_left], dtype=f32),
            "load_kw": window.astype(f32),
            "peak_so_far_kw": np.array([sim.peak_kw], dtype=f32),
            "price_per_kwh": self._prices_ahead(self.episode.n_slots - slots_left).astype(f32),
            "occupied": occupied.astype(np.int8),
            "soc": np.where(occupied, np.clip(energy / safe, 0.0, 1.0), 0.0).astype(f32),
            "energy_needed_kwh": np.where(occupied, np.maximum(target - energy, 0.0), 0.0).astype(f32),
            "slots_to_departure": np.asarray(to_departure, dtype=f32),
            "battery_kwh": np.where(occupied, battery, 0.0).astype(f32),
        }

    def _prices_ahead(self, slot: int) -> np.ndarray:
        """The energy price of the 96 slots from ``slot`` on; past the episode's end, the same
        time of its last day [$/kWh]."""
        prices = self._sim.trace.price_per_kwh if self._sim is not None else np.zeros(0)
        idx = min(slot, prices.size - 1) + np.arange(SLOTS_PER_DAY)
        idx = np.where(idx >= prices.size, idx - SLOTS_PER_DAY, idx)
        return prices[idx]

    def _info(self, slot: int, slots: int, cost: dict[str, float] | None) -> dict[str, Any]:
        info: dict[str, Any] = {"slot": int(slot), "slots": int(slots)}
        if cost is not None:
            info["cost_usd"] = dict(cost)
        return info


def _observation_space(n: int, prices: tuple[float, float]) -> spaces.Dict:
    f32, inf = np.float32, np.inf
    price_low, price_high = min(0.0, prices[0]), prices[1]
    return spaces.Dict(
        {
            "slot_of_day": spaces.Discrete(SLOTS_PER_DAY),
            "weekday": spaces.Discrete(7),
            "slots_left": spaces.Box(0.0, MAX_EPISODE_SLOTS, (1,), f32),
            "load_kw": spaces.Box(0.0, inf, (SLOTS_PER_DAY,), f32),
            "peak_so_far_kw": spaces.Box(0.0, inf, (1,), f32),
            "price_per_kwh": spaces.Box(price_low, price_high, (SLOTS_PER_DAY,), f32),
            "occupied": spaces.MultiBinary(n),
            "soc": spaces.Box(0.0, 1.0, (n,), f32),
            "energy_needed_kwh": spaces.Box(0.0, inf, (n,), f32),
            "slots_to_departure": spaces.Box(0.0, SLOTS_PER_DAY, (n,), f32),
            "battery_kwh": spaces.Box(0.0, inf, (n,), f32),
        }
    )


class PolicyAgent:
    """Acts in a :class:`V2BEnv` as its negotiator policy acts under ``v2b simulate``: its
    ``decide`` on the engine's observation, in the slots where the engine would ask it (an EV
    connected), zeros elsewhere. ``V2BEnv(negotiator="smart")`` with this agent gives the bill
    of ``v2b simulate --policy smart`` on the same episode, seed and options."""

    def __init__(self, env: gym.Env[Any, Any]):
        inner = env.unwrapped
        if not isinstance(inner, V2BEnv):
            raise EnvError(f"env={env!r} is not a v2b V2BEnv")
        if inner.negotiator is None:
            raise EnvError("env has no negotiator: create it with V2BEnv(negotiator=<policy name>)")
        self.env = inner
        self.policy = inner.negotiator

    def act(self) -> np.ndarray:
        """The set-points of the current slot [kW]."""
        obs = self.env.engine_observation()
        if obs is None:
            raise EnvError("no current slot: call reset() first (or again after the episode ended)")
        if not obs.occupied.any():
            return np.zeros(len(self.env.chargers))
        return np.asarray(self.policy.decide(obs), dtype=float)
