"""``v2b bench``: controller speed on this machine (JSON with ``--json``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import check_output_file, check_range, console, err_console, user_errors
from v2b.scenarios import site_scenarios
from v2b.site import load_site


def _table(result: dict[str, Any]) -> Table:
    table = Table(title=f"v2b bench ({'quick' if result['quick'] else 'full'}, {result['cores']} cores)")
    table.add_column("measurement")
    table.add_column("median", justify="right")
    table.add_column("p95", justify="right")
    table.add_column("target", justify="right")
    for n, stats in result["smart_decision_s"].items():
        target = "<= 0.10 s" if n == "30" else ""
        table.add_row(f"smart decision, {n} futures [s]", f"{stats['median']:.4f}",
                      f"{stats['p95']:.4f}", target)
    asm = result["assembly_s"]
    table.add_row("  of which building its LP (problem + matrices) [s]", f"{asm['median']:.4f}",
                  f"{asm['p95']:.4f}", "2-8 ms")
    warm = result["cold_vs_warm"]["warm"]
    table.add_row("smart decision, 30 futures, warm [s]", f"{warm['median']:.4f}", f"{warm['p95']:.4f}", "")
    opts = result["options_s"]
    table.add_row(f"all options of one arrival, {opts['futures']} futures [s]", f"{opts['median']:.4f}",
                  f"{opts['p95']:.4f}", "<= 0.10 / 0.30 s")
    table.add_row("  LP solves per arrival (median)", f"{opts['solves_per_arrival']:.0f}", "", "")
    table.add_row(f"smart, {result['month_days']} days, fresh process [s]", f"{result['month_s']:.1f}", "",
                  "<= 90 s (month)")
    table.add_row("  its peak memory [MiB]", f"{result['peak_rss_mib']:.0f}", "", "<= 1024")
    table.add_row(f"consent, {result['month_days']} days, fresh process [s]",
                  f"{result['consent_month_s']:.1f}", "", "")
    table.add_row("  consent / smart simulation time", f"{result['consent_to_smart_month']:.2f}", "", "<= 2")
    table.add_row("uncontrolled month [s]", f"{result['uncontrolled_month_s']:.2f}", "", "")
    for key, label in (("growth_arrivals", "arrivals_per_day"), ("growth_chargers", "chargers")):
        for row in result[key]["rows"]:
            d = row["decision_s"]
            what = f"smart decision, {row['chargers']} chargers, {row['arrivals_per_day']:.0f} EVs/day [s]"
            table.add_row(what, f"{d['median']:.4f}", f"{d['p95']:.4f}", "")
        table.add_row(f"  growth exponent vs {label}", f"{result[key]['exponent']:.2f}", "", "<= 1")
    return table


def _ablation_table(rows: list[dict[str, Any]]) -> Table:
    import pandas as pd

    df = pd.DataFrame(rows)
    df["median_s"] = [r["median"] for r in df["decision_s"]]
    df["p95_s"] = [r["p95"] for r in df["decision_s"]]
    g = df.groupby("variant", sort=False)
    table = Table(title=f"controller variants on {df['episode'].nunique()} test episode(s), mean")
    for col in ("variant", "building $", "gap to oracle", "peak kW", "unmet kWh", "median s",
                "p95 s", "month s"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for variant, part in g:
        table.add_row(
            str(variant), f"{part['building_cost_usd'].mean():.0f}",
            f"{100 * part['gap_to_oracle'].mean():+.2f} %", f"{part['peak_kw'].mean():.1f}",
            f"{part['unmet_kwh'].mean():.0f}", f"{part['median_s'].mean():.4f}",
            f"{part['p95_s'].mean():.4f}", f"{part['month_s'].mean():.1f}",
        )
    return table


@app.command("bench")
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Shorter runs (same keys).")] = False,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Also write the results to this file.")
    ] = None,
    site: Annotated[str, typer.Option(help="Site to benchmark (default: the bundled default site).")] = (
        "santa-clara-office"
    ),
    ablation: Annotated[
        int,
        typer.Option(
            help="Instead: run every controller variant (recourse, grid, futures, demand charge) "
            "and the baselines on this many whole test months; bill, gap to oracle and time.",
        ),
    ] = 0,
) -> None:
    """Time the smart-charging controller on this machine.

    Per-decision time at 10 and 30 futures (cold and warm), all of one arrival's
    options under consent, one test month of smart and of consent, peak memory,
    and growth with arrivals and chargers.
    """
    from v2b import bench as bench_lib

    say = lambda m: err_console.print(f"[dim]{m}[/]")  # noqa: E731
    with user_errors():  # the output file and the options first: a full bench takes minutes
        out = check_output_file(json_path, "--json") if json_path is not None else None
        check_range("--ablation", ablation, 0)
        the_site = load_site(site)
        if ablation:
            check_range("--ablation", ablation, 0, site_scenarios(the_site).n_test)  # whole test months
            rows = bench_lib.ablation(site, ablation, progress=say)
            console.print(_ablation_table(rows))
            result: Any = {"site": site, "ablation": rows}
        else:
            result = bench_lib.run_bench(quick=quick, site_name=site, progress=say)
            console.print(_table(result))
    if out is not None:
        with user_errors():
            out.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {out}")
