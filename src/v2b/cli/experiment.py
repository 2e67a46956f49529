"""``v2b experiment``: the paper's Tables 1-3 and Figure 2, resumable, on a pool or a Dask cluster."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import (
    OptionError,
    check_choice,
    check_output_dir,
    check_range,
    check_seed,
    console,
    err_console,
    progress,
    user_errors,
)
from v2b.cli.run_options import DaysOpt, SeedOpt, SiteOpt, check_episodes, check_run_options, policy_options
from v2b.experiments.executors import EXECUTORS, Outcome
from v2b.experiments.plan import EXPERIMENTS, Sweep, expand
from v2b.experiments.runner import default_workers
from v2b.experiments.sweep import keyed_cells, run_sweep
from v2b.experiments.tables import fmt_stat
from v2b.site import load_site


def _rich_table(table: dict[str, Any]) -> Table:
    """One experiment's table for the terminal: ours, the paper's beneath."""
    view = Table(title=table["title"], caption="ours: mean ± std over episodes; (the paper's mean)")
    view.add_column("row")
    view.add_column("episodes", justify="right")
    for col in table["columns"]:
        view.add_column(col["title"], justify="right")
    for row in table["rows"]:
        cells = []
        for col in table["columns"]:
            text = fmt_stat(row["ours"][col["key"]], col["decimals"]).replace(" ± ", "\n± ")
            paper = (row["paper"] or {}).get(col["key"])
            if paper and paper["mean"] is not None:
                text += f"\n({fmt_stat({'mean': paper['mean'], 'std': None}, col['decimals'])})"
            cells.append(text)
        view.add_row(row["row"], str(row["episodes"]), *cells)
    return view


@app.command()
def experiment(
    names: Annotated[list[str], typer.Argument(
        help=f"Which: {', '.join(EXPERIMENTS)} or all (several may be given).", show_default=False)],
    out: Annotated[str, typer.Option(help="Directory for tasks, tables, figures (resumes if it exists).")],
    site: SiteOpt = "santa-clara-office",
    episodes: Annotated[int, typer.Option(help="Test episodes 0..N-1 per row (the paper: 50).")] = 50,
    days: DaysOpt = None,
    seed: SeedOpt = 1,
    load_info: Annotated[str, typer.Option(
        "--load-info", help="`paper` (default here: the controllers know the coming slot's building "
        "load, as the paper's do) or `measured` (only completed slots, as a real meter).")] = "paper",
    workers: Annotated[int, typer.Option(help="Worker processes (local) or LocalCluster workers (dask "
                                         "without --scheduler).")] = default_workers(),
    executor: Annotated[str, typer.Option(help="`local` (a process pool) or `dask`.")] = "local",
    scheduler: Annotated[str | None, typer.Option(
        help="With --executor dask: an existing cluster's scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: a local cluster of --workers processes).")] = None,
) -> None:
    """Reproduce the CONSENT paper's evaluation into one directory.

    table1: the eight policies; table2: CONSENT, CONSENT without reject and the menu
    under five driver profiles; table3: CONSENT at six values of alpha; figure2:
    decision time against arrival intensity (0.5x to 4x, first 5 episodes, 3 days).
    A run shared by two tables is computed once.

    OUT receives tasks/<key>/ (one per run: summary.json, power.npz), tables/ (CSV,
    JSON, Markdown, ours beside the paper's), figures/ (PNG) and experiment.json (the
    command, versions, code version). Stop it at any time: every finished task is kept
    and the same command computes only what is missing. A task that fails is written to
    OUT/failures/ and the others go on. Then `v2b report OUT` makes one HTML page.

    A task's key is its configuration, the site file's content and the code version:
    more experiments into the same OUT (same site, episodes, seed, days) run only what
    they add; after a code change every task runs again. docs/experiments.md has more.

    Example: v2b experiment table1 --episodes 50 --workers 2 --out results/table1
    """
    with user_errors():
        for name in names:
            check_choice("experiment", name, (*EXPERIMENTS, "all"))
        check_seed(seed)
        check_range("--episodes", episodes, 1)
        check_range("--days", days, 1)
        check_range("--workers", workers, 1)
        check_choice("--executor", executor, EXECUTORS)
        if scheduler is not None and executor != "dask":
            raise OptionError(f"--scheduler {scheduler!r} needs --executor dask")
        options = policy_options(None, None, load_info=load_info)
        out_dir = check_output_dir(out, "--out")
        the_site = load_site(site)
        check_run_options(the_site, options)
        sweep = Sweep(site, episodes, seed, days, options)
        chosen = expand(names)
        _, tasks = keyed_cells(chosen, sweep, the_site)
        check_episodes(the_site, list(tasks.values()))
        command = "v2b " + shlex.join(sys.argv[1:]) if Path(sys.argv[0]).name in ("v2b", "__main__.py") \
            else shlex.join(sys.argv)
        with progress() as bar:
            task = bar.add_task("tasks", total=None)

            def started(missing: int, already: int) -> None:
                bar.update(task, total=missing)
                if already:
                    err_console.print(f"resuming: {already} task(s) already in {out_dir}, {missing} to run")

            def finished(outcome: Outcome) -> None:
                bar.advance(task)
                if outcome.record is None:
                    err_console.print(f"task {outcome.key} failed: {outcome.error} "
                                      f"(traceback in {out_dir / 'failures' / (outcome.key + '.json')})",
                                      highlight=False, markup=False)

            try:
                report = run_sweep(out_dir, chosen, sweep, the_site, executor=executor, workers=workers,
                                   scheduler=scheduler, command=command, on_start=started,
                                   on_outcome=finished)
            except KeyboardInterrupt:
                err_console.print(f"interrupted: finished tasks are kept in {out_dir}; "
                                  "run the same command again to resume")
                raise typer.Exit(130) from None
    for name in chosen:
        path = out_dir / "tables" / f"{name}.json"
        if path.is_file():
            console.print(_rich_table(json.loads(path.read_text())))
    console.print(f"{report.total} task(s): {report.already} already done, {report.ran} run now, "
                  f"{len(report.failed)} failed; wrote {len(report.written)} table and figure files to "
                  f"{out_dir}")
    if report.failed:
        raise typer.Exit(1)
