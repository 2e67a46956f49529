"""``v2b bench``: controller speed on this machine (JSON with ``--json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import console, err_console, user_errors


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
    warm = result["cold_vs_warm"]["warm"]
    table.add_row("smart decision, 30 futures, warm [s]", f"{warm['median']:.4f}", f"{warm['p95']:.4f}", "")
    opts = result["options_s"]
    table.add_row("price one arrival, 4 levels x 10 futures [s]", f"{opts['median']:.4f}",
                  f"{opts['p95']:.4f}", "<= 0.20 s")
    table.add_row("  ... every 15-min departure of every level [s]",
                  f"{opts['enumerated']['median']:.4f}", f"{opts['enumerated']['p95']:.4f}", "")
    table.add_row(f"smart, {result['month_days']} days, fresh process [s]", f"{result['month_s']:.1f}", "",
                  "<= 90 s (month)")
    table.add_row("  its peak memory [MiB]", f"{result['peak_rss_mib']:.0f}", "", "<= 1024")
    table.add_row("uncontrolled month [s]", f"{result['uncontrolled_month_s']:.2f}", "", "")
    for key, label in (("growth_arrivals", "arrivals_per_day"), ("growth_chargers", "chargers")):
        for row in result[key]["rows"]:
            d = row["decision_s"]
            what = f"smart decision, {row['chargers']} chargers, {row['arrivals_per_day']:g} EVs/day [s]"
            table.add_row(what, f"{d['median']:.4f}", f"{d['p95']:.4f}", "")
        table.add_row(f"  growth exponent vs {label}", f"{result[key]['exponent']:.2f}", "", "<= 1")
    return table


@app.command("bench")
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Shorter runs (same keys).")] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the results here.")] = None,
    site: Annotated[str, typer.Option(help="Site to benchmark (default: the bundled default site).")] = (
        "santa-clara-office"
    ),
) -> None:
    """Time the smart-charging controller: per-decision time at 10 and 30 futures (cold and
    warm), pricing one arrival's options, one month, peak memory and growth with the site's size."""
    from v2b.bench import run_bench

    with user_errors():
        result = run_bench(quick=quick, site_name=site, progress=lambda m: err_console.print(f"[dim]{m}[/]"))
    console.print(_table(result))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {json_path}")
