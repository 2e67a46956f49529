"""The options ``v2b simulate`` and ``v2b compare`` share, and the checks run on them before any
simulation starts (a bad value is a message, never a month of work and then an error)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from v2b.cli.common import OptionError, check_choice, check_range
from v2b.control.mpc_options import COMING_SLOT_MODES, MONTH_PEAK_MODES, MpcOptions
from v2b.control.registry import POLICIES, make_policy
from v2b.experiments.runner import RunSpec, chooser_for, episode_for, openv2b_run_inputs
from v2b.negotiation.settings import NegotiationSettings
from v2b.site import Site

SiteOpt = Annotated[
    str,
    typer.Option(
        "--site",
        help="A bundled site name (see `v2b sites`) or a path to your own site .toml/.json.",
    ),
]
SeedOpt = Annotated[
    int, typer.Option(help="Seeds the policy's future sampling and the drivers' choices (0..2^32-1).")
]
DaysOpt = Annotated[
    int | None,
    typer.Option(help="Simulate only the first N weekdays of the month (default: the whole month); "
                 "at most the month's length."),
]
ReplayOpt = Annotated[
    bool,
    typer.Option(
        "--replay",
        help="Play a recorded month of real sessions and load instead of a generated test episode.",
    ),
]
ScenariosOpt = Annotated[
    int | None,
    typer.Option(help="Futures sampled per decision by sampling controllers (smart: 30)."),
]
SkipOpt = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Drop malformed rows of your data files (and say how many and why) instead of stopping.",
    ),
]
OpenV2BOpt = Annotated[
    Path | None,
    typer.Option(
        "--openv2b",
        help="Run an openv2b scenario directory (its chargers, prices, load and vehicles) "
        "instead of a site episode, to compare with that simulator on the same input.",
    ),
]
MilpOpt = Annotated[
    bool,
    typer.Option(
        "--milp",
        help="Optimising controllers solve with integers (on/off charging); automatic when a "
        "site's chargers have a min_charge_kw.",
    ),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option(
        "--solve-budget-s",
        help="Seconds a controller's solve may take before it falls back to EDF.",
    ),
]
AlphaOpt = Annotated[
    float | None,
    typer.Option(help="Negotiating policies: share of a positive marginal utility passed to the driver "
                 "(CONSENT Eq. 3), in (0, 1]; default: the site's negotiation.alpha."),
]
SelectionOpt = Annotated[
    str | None,
    typer.Option(help="How consent picks each level's option: driver-surplus (default, strategy-proof) "
                 "or building-utility (the paper's alpha U - I)."),
]
TemperatureOpt = Annotated[
    float | None,
    typer.Option(help="Drivers' logit temperature in $ (0: always the best option); default: the site's."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(help="Drivers' sensitivity profile (paper Table 2): survey, more-flexible, "
                 "range-sensitive, time-sensitive, less-flexible; default: the site's."),
]

MonthPeakOpt = Annotated[
    str | None,
    typer.Option(help="How smart and mpc-expected price today's peak against the month's: pool (default: "
                 "above the rest of the month's expected building peak), calibrated (on months with past "
                 "months on record, such as --replay: above the peak the month will want, EVs included, "
                 "levelled by the site's past months; best on recorded months with --load-info paper), "
                 "pool-value (the pool floor, and the later days' EV energy a higher peak would let "
                 "through priced at K_SOC), pool-ev, pool-tradeoff (both measured worse, docs/results.md) "
                 "or none (the peak so far, as the paper)."),
]

ComingSlotOpt = Annotated[
    str | None,
    typer.Option(help="With --load-info measured, how smart and mpc-expected plan the slot nobody has "
                 "measured yet: excess (default: its peak priced as the expected overshoot over 100 "
                 "sampled one-slot moves), guard (every future's load there raised to a 95 % quantile) "
                 "or samples (the futures' own draws)."),
]

FutureDaysOpt = Annotated[
    int | None,
    typer.Option(help="Draw smart's and mpc-expected's futures from this many pool days shaped most "
                 "like today so far (default 0: from every pool day, as the paper). docs/results.md."),
]

SeasonMonthsOpt = Annotated[
    float | None,
    typer.Option(help="Width in months of the calendar-month kernel with which smart and mpc-expected "
                 "weigh the pool months behind their month floor (default 1: today's month and its "
                 "neighbours count most; 0: every calendar month alike, as before 2026-12-02). "
                 "docs/model.md."),
]

BillingHistoryOpt = Annotated[
    bool | None,
    typer.Option("--billing-history/--no-billing-history",
                 help="With --month-peak pool-value or calibrated: whether smart and mpc-expected scale "
                 "their month floor's pool peaks to how the site's earlier months peaked against the pool's "
                 "(default: on, where an episode has a billing history: recorded months have the "
                 "months before them). docs/model.md."),
]

LaterMarginOpt = Annotated[
    float | None,
    typer.Option(help="With --load-info measured, the quantile of the similar days' one-slot moves "
                 "up to which smart and mpc-expected keep headroom below the peak in the later slots "
                 "they will not have measured either (default: the break-even quantile 1 - K_SOC x "
                 "0.25 h / K_DC, 0.989 on the default site; 0: no margin). docs/model.md."),
]


#: What the controllers may know of the building load when they decide (``--load-info``).
LOAD_INFO = ("measured", "paper")
LoadInfoOpt = Annotated[
    str,
    typer.Option(
        "--load-info",
        help="What the controllers know of the building load when they decide: `measured` (default) "
        "the completed 15-minute slots only, as a real meter; `paper` also the slot being decided, as "
        "the CONSENT paper assumes (for reproducing it).",
    ),
]


def policy_options(scenarios: int | None, budget: float | None, milp: bool = False,
                   alpha: float | None = None, selection: str | None = None,
                   temperature: float | None = None, profile: str | None = None,
                   load_info: str = "measured", month_peak: str | None = None,
                   coming_slot: str | None = None, later_margin: float | None = None,
                   future_days: int | None = None,
                   season_months: float | None = None,
                   billing_history: bool | None = None) -> dict[str, Any]:
    """The run options (``RunSpec.options``) of the command-line values given."""
    check_choice("--load-info", load_info, LOAD_INFO)
    check_range("--later-margin", later_margin, 0.0, 1.0)
    check_range("--future-days", future_days, 0)
    check_range("--season-months", season_months, 0.0, 12.0)
    if month_peak is not None:
        check_choice("--month-peak", month_peak, MONTH_PEAK_MODES)
    if coming_slot is not None:
        check_choice("--coming-slot", coming_slot, COMING_SLOT_MODES)
    options: dict[str, Any] = {"milp": True} if milp else {}
    named = {"scenarios": scenarios, "solve_budget_s": budget, "alpha": alpha, "selection": selection,
             "choice_temperature_usd": temperature, "user_profile": profile, "load_info": load_info,
             "month_peak": month_peak, "coming_slot": coming_slot, "later_margin_quantile": later_margin,
             "future_days": future_days, "season_months": season_months, "billing_history": billing_history}
    options.update({k: v for k, v in named.items() if v is not None})
    return options


def check_run_options(site: Site, options: dict[str, Any]) -> None:
    """Fail before any run on an option out of range, whichever policy would (or would not) use it:
    each rule's own home checks it (drivers, negotiation, MPC)."""
    chooser_for(site, options)
    NegotiationSettings.from_site(site, options)
    MpcOptions.from_dict(options)


def check_episodes(site: Site, specs: list[RunSpec]) -> None:
    """Fail before any run when an episode does not exist or is shorter than ``--days``
    (a shorter month would otherwise be run whole, silently)."""
    seen: set[tuple[int, bool]] = set()
    for spec in sorted(specs, key=lambda s: -s.episode):  # the last episode is the likeliest missing
        if (spec.episode, spec.replay) in seen:
            continue
        seen.add((spec.episode, spec.replay))
        if spec.openv2b:
            _, episode, _ = openv2b_run_inputs(replace(spec, days=None), site)
            what = f"the openv2b scenario {spec.openv2b}"
        else:
            episode = episode_for(site, spec.episode, spec.replay, None, spec.skip_invalid)
            what = f"{'replay month' if spec.replay else 'test episode'} {spec.episode}"
        if spec.days is not None and spec.days > episode.days:
            raise OptionError(
                f"--days must be at most {episode.days}, got {spec.days}: {what} has {episode.days} days"
            )


def policy_names(policies: str | None) -> list[str]:
    """``--policies`` as a list of registered names (every policy when not given)."""
    if policies is None:
        return list(POLICIES)
    names = [name.strip() for name in policies.split(",")]
    if "" in names:
        raise OptionError(f"--policies {policies!r} has an empty name; give names separated by commas")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise OptionError(f"--policies {policies!r} names {', '.join(twice)} more than once")
    for name in names:
        make_policy(name)
    return names


def check_openv2b(openv2b: Path | None, replay: bool, episode: int = 0, episodes: int | None = None) -> None:
    """An openv2b scenario is one recorded run: options that pick other episodes do not apply."""
    if openv2b is None:
        return
    if replay:
        raise OptionError("--replay does not apply with --openv2b (the scenario is its own recording)")
    if episode != 0:
        raise OptionError(f"--episode {episode} does not apply with --openv2b (the scenario has one episode)")
    if episodes not in (None, 1):
        raise OptionError(f"--episodes {episodes} does not apply with --openv2b (the scenario has one)")
