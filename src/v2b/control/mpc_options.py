"""Options of the MPC controllers, validated once at reset.

Policies receive plain ``ctx.options`` (from ``v2b simulate --scenarios ...``
or an experiment spec); bad values raise :class:`MpcOptionError` naming the
option, the value and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from v2b.errors import UserError
from v2b.opt.problem import FUTURE_MODELS
from v2b.opt.warm import MAX_SCENARIO_SETS
from v2b.timegrid import SLOT_MINUTES

MONTH_PEAK_MODES = ("pool", "calibrated", "pool-ev", "pool-tradeoff", "pool-value", "none")
COMING_SLOT_MODES = ("excess", "guard", "samples")


class MpcOptionError(UserError):
    """An MPC option with a value outside its allowed range."""


@dataclass(frozen=True)
class MpcOptions:
    """Controller settings.

    Attributes
    ----------
    scenarios : int
        Sampled futures per decision, N_ch (paper: 30).
    solve_budget_s : float or None
        Wall-clock budget per decision [s]; over it, EDF within the current peak.
    fine_slots : int
        Slots planned one by one before coarser blocks; 0 plans every slot on its
        own (the exact problem; see ``docs/model.md``, "Controller: planning grid").
    coarse_slots : int
        Length of the later blocks [slots].
    demand_weight : float
        Multiplier on K_DC for the day's planned peak (1 = paper).
    month_peak : str
        ``"pool"``: today's peak is priced above the rest of the month's expected
        building peak (:mod:`v2b.control.mpc_peak`); ``"calibrated"``: where the episode has past
        months on record (recorded months do), one floor for every scenario, the pool months'
        hindsight peaks (EVs included) levelled by the site's own past months' (measured better
        on the recorded months with the paper's information, worse with measured load,
        ``docs/results.md``), else as ``"pool"``; ``"pool-value"``: the same floor levelled
        by the billing history, and the later days' unmet EV energy against the month's peak
        priced at K_SOC (from the pool months and the days seen; measured better on the
        recorded months with the paper's information, worse elsewhere, ``docs/results.md``);
        ``"pool-ev"``: above the peak the pool days'
        EVs would need to be charged in full; ``"pool-tradeoff"``: above the peak the pool
        months reach under the month's best trade between K_DC and K_SOC (the last three
        measured worse, ``docs/results.md``); ``"none"``: above the peak so far only, as in the
        paper.
    season_months : float
        The month floor's pool months also weigh by how near their calendar month is to
        today's (a Gaussian kernel of this width in months, :mod:`v2b.control.mpc_peak`);
        0: every calendar month alike (before 2026-12-02; measured both ways in
        ``docs/results.md``, "Load information").
    billing_history : bool
        With ``month_peak = "pool-value"``: the month floor's pool peaks are scaled to how this
        site's earlier months peaked against the pool's
        (:func:`v2b.control.mpc_peak.history_level`), where the episode has a billing history
        (recorded months do); with ``"calibrated"``: whether it uses the past months at all.
    recourse_bundles : int
        Plan connected EVs' later slots once per bundle of similar scenarios
        (0: once per scenario, the full SAA); see ``docs/model.md``.
    future_model : str
        ``"sessions"`` (each sampled session on its charger), ``"aggregate"``
        (summed per scenario, :mod:`v2b.opt.aggregate`) or ``"mixed"`` (sessions
        on bidirectional chargers individually, the rest summed).
    warm_start : bool
        Start each solve from the previous decision's solution (by name).
    milp : bool
        Solve with integer variables (on/off charging, no simultaneous charge and discharge).
    min_charge_kw : float
        Lowest non-zero charging power in MILP mode [kW] (0: no minimum).
    coming_slot : str
        With measured load information, how the slot being decided is planned:
        ``"excess"``, its peak priced as the expected excess over the one-slot moves of the
        pool days most like today, applied to the last measurement
        (:func:`v2b.opt.blocks.coming_slot_excess`,
        :meth:`v2b.scenarios.futures.PoolFutureSampler.coming_slot_samples_kw`); ``"guard"``,
        every future's load there raised to ``current_load_quantile`` of those moves;
        ``"samples"``, the futures' own samples alone.
    current_load_quantile : float
        The guard's quantile (``coming_slot = "guard"``).
    later_margin_quantile : float or None
        With ``coming_slot = "excess"``: the later slots' peak rows keep the headroom up to
        this quantile of the similar days' one-slot moves
        (:meth:`v2b.scenarios.futures.PoolFutureSampler.later_margins_kw`); ``None`` (default):
        the break-even quantile ``1 - K_SOC x 0.25 h / K_DC`` (:func:`break_even_quantile`);
        0: none, every later slot planned as if it will be measured.
    future_days : int
        Draw each decision's futures from this many pool days shaped most like today so far
        (:meth:`v2b.scenarios.futures.PoolFutureSampler.similar_days`); 0 (default): from every
        pool day, as the paper samples its generative model (measured both ways in
        ``docs/results.md``, "Load information").
    """

    scenarios: int = 30
    solve_budget_s: float | None = None
    fine_slots: int = 8
    coarse_slots: int = 4
    demand_weight: float = 1.0
    month_peak: str = "pool"
    season_months: float = 1.0
    billing_history: bool = True
    recourse_bundles: int = 5
    future_model: str = "aggregate"
    warm_start: bool = False
    milp: bool = False
    min_charge_kw: float = 0.0
    coming_slot: str = "excess"
    current_load_quantile: float = 0.95
    later_margin_quantile: float | None = None
    future_days: int = 0

    @classmethod
    def from_dict(cls, raw: dict[str, Any], default_scenarios: int = 30) -> MpcOptions:
        """Validate the options this controller knows; others are left to other parts."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {"scenarios": default_scenarios}
        values.update({k: v for k, v in raw.items() if k in known and v is not None})
        opts = cls(**values)
        checks = [
            ("scenarios", opts.scenarios, 1, 10_000),
            ("coarse_slots", opts.coarse_slots, 1, 96),
            ("fine_slots", opts.fine_slots, 0, 96),
            ("recourse_bundles", opts.recourse_bundles, 0, 10_000),
            ("demand_weight", opts.demand_weight, 0.0, 100.0),
            ("min_charge_kw", opts.min_charge_kw, 0.0, 1000.0),
            ("future_days", opts.future_days, 0, 1_000_000),
            ("season_months", opts.season_months, 0.0, 12.0),
        ]
        if opts.solve_budget_s is not None:
            checks.append(("solve_budget_s", opts.solve_budget_s, 1e-6, 3600.0))
        checks.append(("current_load_quantile", opts.current_load_quantile, 0.0, 1.0))
        if opts.later_margin_quantile is not None:
            checks.append(("later_margin_quantile", opts.later_margin_quantile, 0.0, 1.0))
        if opts.coming_slot not in COMING_SLOT_MODES:
            raise MpcOptionError(
                f"option coming_slot={opts.coming_slot!r} must be one of {', '.join(COMING_SLOT_MODES)}"
            )
        if opts.future_model not in FUTURE_MODELS:
            raise MpcOptionError(
                f"option future_model={opts.future_model!r} must be one of {', '.join(FUTURE_MODELS)}"
            )
        if not isinstance(opts.billing_history, bool):
            raise MpcOptionError(f"option billing_history={opts.billing_history!r} must be true or false")
        if opts.month_peak not in MONTH_PEAK_MODES:
            raise MpcOptionError(
                f"option month_peak={opts.month_peak!r} must be one of {', '.join(MONTH_PEAK_MODES)}"
            )
        for name, value, lo, hi in checks:
            if not isinstance(value, int | float) or not lo <= value <= hi:
                raise MpcOptionError(f"option {name}={value!r} is outside the allowed range {lo}..{hi}")
        if opts.warm_start and opts.scenarios + opts.recourse_bundles >= MAX_SCENARIO_SETS:
            raise MpcOptionError(
                f"option warm_start needs scenarios + recourse_bundles < {MAX_SCENARIO_SETS} "
                f"(got {opts.scenarios} + {opts.recourse_bundles}): its keys would collide"
            )
        return opts


def break_even_quantile(soc_penalty_usd_per_kwh: float, demand_charge_usd_per_kw: float) -> float:
    """The quantile of a slot's unknown load up to which charging it pays: a kW charged for
    one slot is worth at most ``K_SOC x 0.25 h`` (the shortfall it spares), and costs ``K_DC``
    where the load turns out above the headroom left, so it pays while that chance is below
    their ratio (``docs/model.md``, "What is known of the load"). Bounded to [0.5, 0.999];
    0 (no margin) without a demand charge."""
    if demand_charge_usd_per_kw <= 0:
        return 0.0
    ratio = soc_penalty_usd_per_kwh * SLOT_MINUTES / 60.0 / demand_charge_usd_per_kw
    return float(np.clip(1.0 - ratio, 0.5, 0.999))
