"""``v2b bench``: how fast the charging controller is, on this machine.

Every number is measured here, in-process, on generated test episodes of the
default site (and of scaled copies of it for the growth curves). ``quick``
shortens the runs (fewer simulated days and settings) without changing the
keys of the result. See ``docs/benchmarks.md``, "Controller".
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from v2b.control.mpc import SmartCharging
from v2b.control.negotiating import Consent
from v2b.control.registry import make_policy
from v2b.interface import ArrivalRequest, Future, Observation
from v2b.opt.lp import assemble
from v2b.opt.problem import ChargingProblem
from v2b.scenarios import site_scenarios
from v2b.sim import simulate
from v2b.site import Site, load_site, site_from_dict

DEFAULT_SITE = "santa-clara-office"
Progress = Callable[[str], None]


def _stats(seconds: list[float] | np.ndarray) -> dict[str, float]:
    t = np.asarray(seconds, dtype=float)
    if t.size == 0:
        return {"median": 0.0, "p95": 0.0, "count": 0}
    return {"median": float(np.median(t)), "p95": float(np.percentile(t, 95)), "count": int(t.size)}


def scaled_site(site: Site, chargers: int, arrivals_per_day: float, load_factor: float = 1.0) -> Site:
    """The site with ``chargers`` chargers (one third bidirectional, as the default's 5 of
    15), ``arrivals_per_day`` and its building load scaled by ``load_factor``; a 20-month
    pool keeps generation short."""
    data = site.model_dump(exclude={"base_dir"})
    bidir = max(1, round(chargers / 3))
    groups = [dict(g) for g in data["chargers"]]
    by_kind = {g["kind"]: g for g in groups}
    by_kind["bidirectional"]["count"] = bidir
    by_kind["unidirectional"]["count"] = max(chargers - bidir, 1)
    data["chargers"] = [by_kind["bidirectional"], by_kind["unidirectional"]]
    data["sessions"] = {**data["sessions"], "arrivals_per_day": arrivals_per_day}
    data["load"] = {**data["load"], "scale": data["load"]["scale"] * load_factor}
    data["scenarios"] = {**data["scenarios"], "episodes": 21, "pool": 20}
    data["name"] = f"{site.name}-x{chargers}c-{arrivals_per_day:g}a"
    return site_from_dict(data, origin=f"bench copy of {site.name}", base_dir=site.base_dir)


def smart_run(site: Site, days: int, options: dict[str, Any], episode: int = 0, seed: int = 1):
    """Simulate ``smart`` on a test episode's first ``days`` days; returns (result, wall s)."""
    sc = site_scenarios(site)
    ep = sc.test_episode(episode).truncated(days)
    sampler = sc.future_sampler()
    start = time.perf_counter()
    result = simulate(site, ep, SmartCharging(), seed=seed, futures=sampler, policy_options=options)
    return result, time.perf_counter() - start


class _TimedAssembly(SmartCharging):
    """``smart`` that times, at each decision, building its LP's data and matrices (the
    problem from the observation, then :func:`v2b.opt.lp.assemble`) apart from solving."""

    name = "smart-assembly-timed"

    def reset(self, ctx) -> None:
        super().reset(ctx)
        self.assembly_seconds: list[float] = []

    def problem(self, obs: Observation, futures: list[Future]) -> ChargingProblem:
        start = time.perf_counter()
        problem = super().problem(obs, futures)
        assemble(problem)
        self.assembly_seconds.append(time.perf_counter() - start)
        return problem


def assembly_timing(site: Site, days: int) -> dict[str, Any]:
    """Per decision of ``smart`` (30 futures) on the first ``days`` days of test month 0: the
    time to build the LP from the observation (problem and sparse matrices), not solving it."""
    sc = site_scenarios(site)
    policy = _TimedAssembly()
    simulate(site, sc.test_episode(0).truncated(days), policy, seed=1, futures=sc.future_sampler())
    return _stats(policy.assembly_seconds)


class _TimedConsent(Consent):
    """CONSENT that keeps each arrival's menu time and solve count."""

    name = "consent-timed"

    def reset(self, ctx) -> None:
        super().reset(ctx)
        self.solves: list[int] = []

    def priced_menu(self, obs: Observation, request: ArrivalRequest):
        menu = super().priced_menu(obs, request)
        self.solves.append(menu.solves)
        return menu


def consent_offer_timing(site: Site, episode, futures, seed: int = 1) -> dict[str, Any]:
    """Every arrival's whole menu under ``consent``: sampling N_neg futures, building the
    LP, J without the EV, every level at every 15-minute departure, the prices."""
    policy = _TimedConsent()
    simulate(site, episode, policy, seed=seed, futures=futures)
    return {
        **_stats(policy._offer_seconds),
        "solves_per_arrival": float(np.median(policy.solves)) if policy.solves else 0.0,
        "futures": policy.settings.futures,
        "what": "all options of one arrival: N_neg futures sampled, LP built, J without the EV, "
        "every level at every 15-min departure (SoC reduction in the LP), Eq. 3 prices, reject",
    }


def options_timing(site: Site, days: int) -> dict[str, Any]:
    """:func:`consent_offer_timing` on the first ``days`` days of test month 0."""
    sc = site_scenarios(site)
    return consent_offer_timing(site, sc.test_episode(0).truncated(days), sc.future_sampler())


def _month_child(site_name: str, days: int, policy: str, queue) -> None:
    site = load_site(site_name)
    start = time.perf_counter()
    sc = site_scenarios(site)
    sim_start = time.perf_counter()
    result = simulate(site, sc.test_episode(0).truncated(days), make_policy(policy), seed=1,
                      futures=sc.future_sampler())
    sim_s = time.perf_counter() - sim_start
    queue.put({
        "seconds": time.perf_counter() - start,
        "simulate_s": sim_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "building_cost_usd": result.summary["building_cost_usd"],
        "decision_s": _stats(result.decision_seconds),
        "solver_fallbacks": result.summary["solver_fallbacks"],
        "solver_failures": result.summary["solver_failures"],
    })


def month_timing(site_name: str, days: int, policy: str = "smart-free") -> dict[str, Any]:
    """One test month of ``policy`` in a fresh process: its wall time and peak memory."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_month_child, args=(site_name, days, policy, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def growth(site: Site, days: int, points: list[tuple[int, float, float]], scenarios: int) -> list[dict]:
    """Per-decision time of ``smart`` on scaled copies of ``site``."""
    rows = []
    for chargers, arrivals, load_factor in points:
        scaled = scaled_site(site, chargers, arrivals, load_factor)
        result, wall = smart_run(scaled, days, {"scenarios": scenarios})
        rows.append({
            "chargers": chargers,
            "arrivals_per_day": arrivals,
            "decision_s": _stats(result.decision_seconds),
            "wall_s": wall,
        })
    return rows


def growth_exponent(rows: list[dict], key: str) -> float:
    """Log-log slope of the median decision time against ``key`` (1 = linear)."""
    x = np.log([r[key] for r in rows])
    y = np.log([max(r["decision_s"]["median"], 1e-6) for r in rows])
    return float(np.polyfit(x, y, 1)[0]) if len(rows) > 1 else float("nan")


#: Controller variants compared by ``v2b bench --ablation``: (label, policy, options).
ABLATION: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("oracle", "oracle", {}),
    ("smart (defaults)", "smart", {}),
    ("full recourse (1 plan per scenario)", "smart", {"recourse_bundles": 0}),
    ("10 recourse bundles", "smart", {"recourse_bundles": 10}),
    ("1 recourse bundle", "smart", {"recourse_bundles": 1}),
    ("every slot its own block", "smart", {"fine_slots": 0}),
    ("future sessions individually", "smart", {"future_model": "sessions"}),
    ("future sessions summed", "smart", {"future_model": "aggregate"}),
    ("10 futures", "smart", {"scenarios": 10}),
    ("warm starts", "smart", {"warm_start": True}),
    ("month-blind demand charge (paper)", "smart", {"month_peak": "none"}),
    ("mpc-expected", "mpc-expected", {}),
    ("edf", "edf", {}),
    ("uncontrolled", "uncontrolled", {}),
)


def ablation(site_name: str, episodes: int, progress: Progress | None = None) -> list[dict[str, Any]]:
    """Every :data:`ABLATION` variant on test episodes ``0..episodes-1``: bill, gap, time."""
    say = progress or (lambda _msg: None)
    site = load_site(site_name)
    sc = site_scenarios(site)
    rows = []
    for e in range(episodes):
        ep = sc.test_episode(e)
        oracle_cost = None
        for label, name, options in ABLATION:
            say(f"episode {e}: {label}")
            start = time.perf_counter()
            result = simulate(site, ep, make_policy(name), seed=1, futures=sc.future_sampler(),
                              policy_options=options)
            s = result.summary
            if name == "oracle":
                oracle_cost = s["building_cost_usd"]
            rows.append({
                "episode": e, "variant": label, "policy": name, "options": options,
                "building_cost_usd": s["building_cost_usd"],
                "gap_to_oracle": s["building_cost_usd"] / oracle_cost - 1.0,
                "peak_kw": s["peak_kw"], "unmet_kwh": s["unmet_kwh"],
                "discharged_kwh": s["discharged_kwh"],
                "decision_s": _stats(result.decision_seconds),
                "month_s": time.perf_counter() - start,
                "solver_fallbacks": s.get("solver_fallbacks", 0),
                "solver_failures": s.get("solver_failures", 0),
            })
    return rows


def run_bench(quick: bool = False, site_name: str = DEFAULT_SITE,
              progress: Progress | None = None) -> dict[str, Any]:
    """Every measurement of ``v2b bench`` (see the module docstring)."""
    say = progress or (lambda _msg: None)
    site = load_site(site_name)
    days = 1 if quick else 3
    out: dict[str, Any] = {"site": site_name, "quick": quick, "cores": os.cpu_count()}

    say("uncontrolled month")
    sc = site_scenarios(site)
    start = time.perf_counter()
    simulate(site, sc.test_episode(0), make_policy("uncontrolled"), seed=1)
    out["uncontrolled_month_s"] = time.perf_counter() - start

    decision: dict[str, Any] = {}
    for n in (10, 30):
        say(f"smart, {n} futures, {days} day(s)")
        result, _ = smart_run(site, days, {"scenarios": n})
        decision[str(n)] = _stats(result.decision_seconds)
    out["smart_decision_s"] = decision
    say("smart, 30 futures, warm starts")
    warm, _ = smart_run(site, days, {"scenarios": 30, "warm_start": True})
    out["cold_vs_warm"] = {"cold": decision["30"], "warm": _stats(warm.decision_seconds)}

    say("smart: LP assembly per decision")
    out["assembly_s"] = assembly_timing(site, days)
    say("consent: every option of every arrival (10 futures)")
    out["options_s"] = options_timing(site, days)

    month_days = 3 if quick else sc.test_episode(0).days
    say(f"smart month ({month_days} days) in a fresh process")
    month = month_timing(site_name, month_days)
    out["month_s"] = month["seconds"]
    out["month_days"] = month_days
    out["month"] = month
    out["peak_rss_mib"] = month["peak_rss_mib"]
    say(f"consent month ({month_days} days) in a fresh process")
    consent = month_timing(site_name, month_days, "consent")
    out["consent_month"] = consent
    out["consent_month_s"] = consent["seconds"]
    out["consent_to_smart_month"] = consent["simulate_s"] / month["simulate_s"]

    growth_days = 1
    arrivals = [10, 20, 40] if quick else [10, 20, 40, 80]
    say(f"growth with arrivals/day {arrivals}")
    rows = growth(site, growth_days, [(max(3, round(15 * a / 20)), a, 1.0) for a in arrivals], 30)
    out["growth_arrivals"] = {"rows": rows, "exponent": growth_exponent(rows, "arrivals_per_day")}
    chargers = [15, 50] if quick else [15, 50, 150]
    say(f"growth with chargers {chargers}")
    rows = growth(site, growth_days, [(c, 20 * c / 15, c / 15) for c in chargers], 30)
    out["growth_chargers"] = {"rows": rows, "exponent": growth_exponent(rows, "chargers")}
    out["process_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out
