"""``v2b simulate`` and ``v2b compare``: one run, or every policy on test episodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import console, err_console, progress, user_errors
from v2b.control.registry import POLICIES, make_policy
from v2b.data.openv2b import read_openv2b
from v2b.experiments.outputs import write_run
from v2b.experiments.runner import RunSpec, default_workers, episode_for, run, run_many
from v2b.experiments.table import (
    GROUPS,
    aggregate,
    cell,
    flatten,
    shown_columns,
    to_markdown,
    with_oracle_gap,
)
from v2b.scenarios import site_scenarios
from v2b.site import load_site

SiteOpt = Annotated[
    str,
    typer.Option(
        "--site",
        help="A bundled site name (see `v2b sites`) or a path to your own site .toml/.json.",
    ),
]
SeedOpt = Annotated[
    int, typer.Option(help="Seeds the policy's future sampling and the drivers' choices.")
]
DaysOpt = Annotated[
    int | None,
    typer.Option(help="Simulate only the first N weekdays of the month (default: the whole month)."),
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


def _print_skips(spec: RunSpec, site_arg: str) -> None:
    """Tell the user what --skip-invalid dropped."""
    if not spec.skip_invalid:
        return
    if spec.openv2b:
        reports = [read_openv2b(spec.openv2b, skip_invalid=True).report]
    else:
        scenarios = site_scenarios(load_site(site_arg), skip_invalid=True)
        reports = [scenarios.sessions.report, scenarios.load.report if scenarios.load else None]
    for report in reports:
        if report is not None:
            err_console.print(report.summary(), highlight=False, markup=False, soft_wrap=True)


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


def _policy_options(scenarios: int | None, budget: float | None, milp: bool = False,
                    alpha: float | None = None, selection: str | None = None,
                    temperature: float | None = None, profile: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"milp": True} if milp else {}
    named = {"scenarios": scenarios, "solve_budget_s": budget, "alpha": alpha, "selection": selection,
             "choice_temperature_usd": temperature, "user_profile": profile}
    options.update({k: v for k, v in named.items() if v is not None})
    return options


@app.command()
def simulate(
    policy: Annotated[str, typer.Option(help="Policy name; `v2b policies` lists them.")],
    out: Annotated[Path, typer.Option(help="Directory to write summary.json, CSVs and plot into.")],
    site: SiteOpt = "santa-clara-office",
    episode: Annotated[int, typer.Option(help="Test episode index (0-based).")] = 0,
    seed: SeedOpt = 1,
    days: DaysOpt = None,
    replay: ReplayOpt = False,
    scenarios: ScenariosOpt = None,
    solve_budget_s: BudgetOpt = None,
    milp: MilpOpt = False,
    alpha: AlphaOpt = None,
    selection: SelectionOpt = None,
    temperature: TemperatureOpt = None,
    profile: ProfileOpt = None,
    skip_invalid: SkipOpt = False,
    openv2b: OpenV2BOpt = None,
) -> None:
    """Simulate one policy on one test episode (a billing month of weekdays).

    Writes OUT/summary.json (every money figure of the bill), slots.csv,
    power.csv, sessions.csv, chargers.csv (enough to re-derive the bill by
    hand) and power.png (building, EV and total power with the month's peak).

    Example: v2b simulate --policy uncontrolled --episode 0 --seed 1 --out runs/unc
    """
    with user_errors():
        spec = RunSpec(
            site=site,
            policy=policy,
            episode=episode,
            seed=seed,
            days=days,
            replay=replay,
            options=_policy_options(scenarios, solve_budget_s, milp, alpha, selection, temperature, profile),
            skip_invalid=skip_invalid,
            openv2b=str(openv2b) if openv2b else None,
        )
        make_policy(policy)
        result = run(spec, load_site(site))
        _print_skips(spec, site)
        written = write_run(result, out)
    s = result.summary
    title = f"{s['policy']} · {s['site']} · {s['episode_kind']} {s['episode']} · {s['days']} days"
    table = Table(title=title)
    table.add_column("item")
    table.add_column("value", justify="right")
    for key in (
        "energy_cost_usd",
        "demand_charge_usd",
        "soc_penalty_usd",
        "degradation_usd",
        "user_payments_usd",
        "building_cost_usd",
        "peak_kw",
        "energy_delivered_kwh",
        "discharged_kwh",
        "unmet_kwh",
        "users",
        "rejected",
    ):
        value = s[key]
        table.add_row(key, f"{value:,.2f}" if isinstance(value, float) else str(value))
    console.print(table)
    console.print(f"wrote {len(written)} files to {out}")


@app.command()
def compare(
    site: SiteOpt = "santa-clara-office",
    policies: Annotated[
        str | None,
        typer.Option(help="Comma-separated policy names (default: every registered policy)."),
    ] = None,
    episodes: Annotated[int, typer.Option(min=1, help="How many test episodes (0..N-1) to run.")] = 3,
    seed: SeedOpt = 1,
    days: DaysOpt = None,
    replay: ReplayOpt = False,
    scenarios: ScenariosOpt = None,
    solve_budget_s: BudgetOpt = None,
    milp: MilpOpt = False,
    alpha: AlphaOpt = None,
    selection: SelectionOpt = None,
    temperature: TemperatureOpt = None,
    profile: ProfileOpt = None,
    skip_invalid: SkipOpt = False,
    openv2b: OpenV2BOpt = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (1 runs in this process).")
    ] = default_workers(),
    out: Annotated[
        Path | None,
        typer.Option(help="Also write runs.csv (one row per run), table.csv and table.md here."),
    ] = None,
) -> None:
    """Compare policies on the same test episodes, like the CONSENT paper's Table 1.

    Every policy runs on test episodes 0..N-1 with the same seed; the table shows
    mean ± std over episodes. Building cost = utility bill + SoC penalties +
    degradation - user payments.
    """
    with user_errors():
        names = policies.split(",") if policies else list(POLICIES)
        for name in names:
            make_policy(name)
        options = _policy_options(scenarios, solve_budget_s, milp, alpha, selection, temperature, profile)
        source = str(openv2b) if openv2b else None
        episodes = 1 if source else episodes
        specs = [
            RunSpec(site, name, ep, seed, days, replay, options, skip_invalid, source)
            for name in names
            for ep in range(episodes)
        ]
        if not source:  # fail before hours of work, not after
            episode_for(load_site(site), episodes - 1, replay, days, skip_invalid)
        _print_skips(specs[0], site)
        with progress() as bar:
            task = bar.add_task("simulating", total=len(specs))
            summaries = run_many(
                specs, workers=min(workers, len(specs)), on_done=lambda *_: bar.advance(task)
            )
    summaries = with_oracle_gap(summaries)
    table = aggregate(summaries, order=names)
    shown = {c.key: c for c in shown_columns(table)}
    parts = [(title, [shown[k] for k in keys if k in shown]) for title, keys in GROUPS]
    for title, columns in parts:
        length = f" of {days} day(s), costs per episode" if days else ""
        view = Table(title=f"{site}: {episodes} test episode(s){length}, mean ± std — {title}")
        view.add_column("policy", no_wrap=True)
        for col in columns:
            view.add_column(col.title, justify="right")
        for _, row in table.iterrows():
            view.add_row(row["policy"], *(cell(row, c).replace(" ± ", "\n± ") for c in columns))
        console.print(view)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([flatten(s) for s in summaries]).to_csv(out / "runs.csv", index=False)
        table.to_csv(out / "table.csv", index=False)
        (out / "table.md").write_text(to_markdown(table))
        (out / "summaries.json").write_text(json.dumps(summaries, indent=2) + "\n")
        console.print(f"wrote runs.csv, table.csv, table.md, summaries.json to {out}")


@app.command("policies")
def list_policies() -> None:
    """List the registered policies."""
    table = Table(title="policies")
    table.add_column("name")
    table.add_column("what it does")
    for name, cls in POLICIES.items():
        table.add_row(name, cls.description)
    console.print(table)
