"""``v2b simulate`` and ``v2b compare``: one run, or every policy on test episodes."""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import (
    check_output_dir,
    check_range,
    check_seed,
    console,
    err_console,
    progress,
    user_errors,
)
from v2b.cli.run_options import (
    AlphaOpt,
    BillingHistoryOpt,
    BudgetOpt,
    ComingSlotOpt,
    DaysOpt,
    FutureDaysOpt,
    LaterMarginOpt,
    LoadInfoOpt,
    MilpOpt,
    MonthPeakOpt,
    OpenV2BOpt,
    ProfileOpt,
    ReplayOpt,
    ScenariosOpt,
    SeasonMonthsOpt,
    SeedOpt,
    SelectionOpt,
    SiteOpt,
    SkipOpt,
    TemperatureOpt,
    check_episodes,
    check_openv2b,
    check_run_options,
    policy_names,
    policy_options,
)
from v2b.control.registry import POLICIES, make_policy
from v2b.data.openv2b import read_openv2b
from v2b.experiments.outputs import write_run
from v2b.experiments.paper import TABLE1
from v2b.experiments.plan import TABLE1_ROWS
from v2b.experiments.runner import RunSpec, default_workers, run, run_many
from v2b.experiments.table import (
    GROUPS,
    Column,
    aggregate,
    cell,
    flatten,
    shown_columns,
    to_markdown,
    with_oracle_gap,
)
from v2b.scenarios import site_scenarios
from v2b.site import load_site
from v2b.timegrid import SLOTS_PER_DAY


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


RUN_FILES = ("summary.json", "slots.csv", "power.csv", "sessions.csv", "chargers.csv", "power.png")
COMPARE_FILES = ("runs.csv", "table.csv", "table.md", "summaries.json")


@app.command()
def simulate(
    policy: Annotated[str, typer.Option(help="Policy name; `v2b policies` lists them.")],
    out: Annotated[str, typer.Option(help="Directory to write summary.json, CSVs and plot into.")],
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
    load_info: LoadInfoOpt = "measured",
    month_peak: MonthPeakOpt = None,
    coming_slot: ComingSlotOpt = None,
    later_margin: LaterMarginOpt = None,
    future_days: FutureDaysOpt = None,
    season_months: SeasonMonthsOpt = None,
    billing_history: BillingHistoryOpt = None,
    skip_invalid: SkipOpt = False,
    openv2b: OpenV2BOpt = None,
) -> None:
    """Simulate one policy on one test episode (a billing month of weekdays).

    Writes OUT/summary.json (every money figure of the bill), slots.csv,
    power.csv, sessions.csv, chargers.csv (enough to re-derive the bill by
    hand) and power.png (building, EV and total power with the month's peak).

    Example: v2b simulate --policy uncontrolled --episode 0 --seed 1 --out runs/unc
    """
    with user_errors():  # options, then the output directory, then the site: all before the run
        check_seed(seed)
        check_range("--days", days, 1)
        check_openv2b(openv2b, replay, episode)
        make_policy(policy)
        spec = RunSpec(
            site=site,
            policy=policy,
            episode=episode,
            seed=seed,
            days=days,
            replay=replay,
            options=policy_options(scenarios, solve_budget_s, milp, alpha, selection, temperature, profile,
                                   load_info, month_peak, coming_slot, later_margin, future_days,
                                   season_months, billing_history),
            skip_invalid=skip_invalid,
            openv2b=str(openv2b) if openv2b else None,
        )
        out_dir = check_output_dir(out, "--out", RUN_FILES)
        the_site = load_site(site)
        check_run_options(the_site, spec.options)
        check_episodes(the_site, [spec])
        with progress() as bar:
            task = bar.add_task(f"simulating {policy} (days)", total=None)
            result = run(spec, the_site, progress=lambda done, total: bar.update(
                task, completed=done // SLOTS_PER_DAY, total=total // SLOTS_PER_DAY))
        _print_skips(spec, site)
        written = write_run(result, out_dir)
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
        if key == "demand_charge_usd":
            for extra in ("dr_penalty_usd", "dr_incentive_usd"):
                if extra in s:
                    table.add_row(extra, f"{s[extra]:,.2f}")
    console.print(table)
    for note in s.get("openv2b_not_modelled", []):
        console.print(f"[yellow]not modelled by v2b (billed without it):[/] {note}")
    console.print(f"wrote {len(written)} files to {out_dir}")


@app.command()
def compare(
    site: SiteOpt = "santa-clara-office",
    policies: Annotated[
        str | None,
        typer.Option(help="Comma-separated policy names (default: the paper's Table 1 eight; "
                     "`v2b policies` lists all)."),
    ] = None,
    episodes: Annotated[
        int | None,
        typer.Option(help="How many test episodes (0..N-1) to run (default 3; with --openv2b, its one)."),
    ] = None,
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
    load_info: LoadInfoOpt = "measured",
    month_peak: MonthPeakOpt = None,
    coming_slot: ComingSlotOpt = None,
    later_margin: LaterMarginOpt = None,
    future_days: FutureDaysOpt = None,
    season_months: SeasonMonthsOpt = None,
    billing_history: BillingHistoryOpt = None,
    skip_invalid: SkipOpt = False,
    openv2b: OpenV2BOpt = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes (1 runs in this process).")
    ] = default_workers(),
    out: Annotated[
        str | None,
        typer.Option(help="Also write runs.csv (one row per run), table.csv, table.md and "
                     "summaries.json into this directory."),
    ] = None,
) -> None:
    """Compare policies on the same test episodes: a quick Table 1 of the CONSENT paper.

    By default the paper's eight policies run on test episodes 0..2 with the same
    seed (about 3 minutes on 2 cores); the table shows mean ± std over episodes, the
    paper's mean in parentheses where it has one. Building cost = utility bill + SoC
    penalties + degradation - user payments. For the whole evaluation (50 episodes,
    Tables 1-3, Figure 2, resumable, on a cluster) use `v2b experiment`.
    """
    with user_errors():  # every check before hours of work, not after
        check_seed(seed)
        check_range("--workers", workers, 1)
        check_range("--episodes", episodes, 1)
        check_range("--days", days, 1)
        check_openv2b(openv2b, replay, episodes=episodes)
        episodes = 1 if openv2b is not None else (3 if episodes is None else episodes)
        names = policy_names(policies) if policies is not None else [row for row, _, _ in TABLE1_ROWS]
        options = policy_options(scenarios, solve_budget_s, milp, alpha, selection, temperature, profile,
                                 load_info, month_peak, coming_slot, later_margin, future_days,
                                 season_months, billing_history)
        source = str(openv2b) if openv2b else None
        specs = [
            RunSpec(site, name, ep, seed, days, replay, options, skip_invalid, source)
            for name in names
            for ep in range(episodes)
        ]
        out_dir = check_output_dir(out, "--out", COMPARE_FILES) if out is not None else None
        the_site = load_site(site)
        check_run_options(the_site, options)
        check_episodes(the_site, specs)
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
            view.add_row(row["policy"], *(_with_paper(row["policy"], c, cell(row, c).replace(" ± ", "\n± "))
                                          for c in columns))
        console.print(view)
    if out_dir is not None:
        with user_errors():
            pd.DataFrame([flatten(s) for s in summaries]).to_csv(out_dir / "runs.csv", index=False)
            table.to_csv(out_dir / "table.csv", index=False)
            (out_dir / "table.md").write_text(to_markdown(table))
            (out_dir / "summaries.json").write_text(json.dumps(summaries, indent=2) + "\n")
        console.print(f"wrote runs.csv, table.csv, table.md, summaries.json to {out_dir}")


def _with_paper(policy: str, col: Column, text: str) -> str:
    """The cell, with the paper's Table 1 mean beneath where it has one."""
    paper = TABLE1.get(policy, {}).get(col.key)
    if paper is None:
        return text
    return f"{text}\n(paper {paper[0]:,.{col.decimals}f})"


@app.command("policies")
def list_policies() -> None:
    """List the registered policies."""
    table = Table(title="policies")
    table.add_column("name")
    table.add_column("what it does")
    for name, cls in POLICIES.items():
        table.add_row(name, cls.description)
    console.print(table)
