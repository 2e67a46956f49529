"""A whole experiment sweep into one directory: plan, run what is missing, tables, figures.

``DIR/experiment.json`` says what was run (the command, versions, code version, the
sweep's settings) and ``DIR/plan.json`` which task fills which row of which table.
Everything else is in :mod:`v2b.experiments.store` (tasks, failures),
:mod:`v2b.experiments.tables` and :mod:`v2b.experiments.figures`.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2b.errors import UserError
from v2b.experiments.executors import Outcome, run_tasks
from v2b.experiments.figures import write_figures
from v2b.experiments.plan import Sweep, expand, plan
from v2b.experiments.runner import RunSpec
from v2b.experiments.store import Store, code_version, task_key
from v2b.experiments.table import flatten
from v2b.experiments.tables import write_tables
from v2b.site import Site


class SweepError(UserError):
    """A sweep that cannot run into the directory given."""


@dataclass
class SweepReport:
    """What a sweep did: tasks planned, already there, run now, failed."""

    total: int = 0
    already: int = 0
    ran: int = 0
    failed: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("v2b", "highspy", "numpy", "scipy", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def _settings(sweep: Sweep) -> dict[str, Any]:
    return {"site": sweep.site, "episodes": sweep.episodes, "seed": sweep.seed, "days": sweep.days,
            "options": sweep.options or {}}


def _previous_experiments(out: Path, sweep: Sweep) -> list[str]:
    """The experiments already in ``out`` (kept in its tables), provided they were run
    with the same settings; a directory of another sweep is refused."""
    path = out / "experiment.json"
    if not path.is_file():
        return []
    before = json.loads(path.read_text())
    if before.get("settings") != _settings(sweep):
        raise SweepError(f"--out {str(out)!r} holds a sweep with other settings ({before.get('settings')}); "
                         "give another directory, or the same --site/--episodes/--seed/--days/options "
                         "to resume")
    return list(before.get("experiments", []))


def keyed_cells(experiments: list[str], sweep: Sweep, site: Site
                ) -> tuple[list[dict[str, Any]], dict[str, RunSpec]]:
    """The plan's cells with their task keys, and each distinct task once."""
    code, site_json = code_version(), site.model_dump_json()
    cells, tasks = [], {}
    for cell in plan(experiments, sweep, site):
        key = task_key(cell.spec, site_json, code)
        tasks.setdefault(key, cell.spec)
        cells.append(cell.as_dict(key))
    return cells, tasks


def run_sweep(
    out: Path,
    experiments: list[str],
    sweep: Sweep,
    site: Site,
    *,
    executor: str = "local",
    workers: int = 1,
    scheduler: str | None = None,
    command: str = "",
    on_start: Callable[[int, int], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SweepReport:
    """Run every missing task of ``experiments`` into ``out`` and write its tables and figures.

    ``on_start(tasks to run, tasks already done)`` is called once, ``on_outcome`` after
    each task (stored by then). Interrupting (Ctrl-C) keeps every finished task.
    """
    names = expand(list(dict.fromkeys(_previous_experiments(out, sweep) + experiments)))
    cells, tasks = keyed_cells(names, sweep, site)
    store = Store(out)
    store.prepare()
    header = {
        "experiments": names, "settings": _settings(sweep), "site": sweep.site, "site_name": site.name,
        "episodes": sweep.episodes, "days": sweep.days, "seed": sweep.seed,
        "load_info": (sweep.options or {}).get("load_info", "measured"), "command": command,
        "versions": versions(), "code_version": code_version(), "executor": executor, "workers": workers,
        "scheduler": scheduler, "started": _now(), "finished": None,
    }
    missing = {k: s for k, s in tasks.items() if not store.done(k)}
    report = SweepReport(total=len(tasks), already=len(tasks) - len(missing))
    header["tasks"] = {"total": report.total, "done": report.already, "failed": 0}
    _write_json(out / "experiment.json", header)
    _write_json(out / "plan.json", cells)
    if on_start:
        on_start(len(missing), report.already)
    if missing:
        for outcome in run_tasks(missing, executor, workers, scheduler):
            if outcome.record is not None:
                store.save(outcome.key, missing[outcome.key], outcome.record)
                report.ran += 1
            else:
                store.fail(outcome.key, missing[outcome.key], outcome.error, outcome.traceback)
                report.failed.append(outcome.key)
            if on_outcome:
                on_outcome(outcome)
    report.written = write_outputs(out, names, cells, store)
    header["finished"] = _now()
    header["tasks"] = {"total": report.total, "done": sum(store.done(k) for k in tasks),
                       "failed": len(report.failed)}
    _write_json(out / "experiment.json", header)
    return report


def rebuild_outputs(out: Path) -> list[Path]:
    """Tables, figures and ``timing.json`` of ``out`` again from its stored tasks and its
    ``plan.json``, running nothing (after a change to how tables or figures are drawn;
    resuming with changed code would re-run every task instead)."""
    plan_path, header_path = out / "plan.json", out / "experiment.json"
    for path in (header_path, plan_path):
        if not path.is_file():
            raise SweepError(f"DIR {str(out)!r} has no {path.name}: not a `v2b experiment` directory")
    cells = json.loads(plan_path.read_text())
    names = json.loads(header_path.read_text())["experiments"]
    return write_outputs(out, names, cells, Store(out))


def timing(summaries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Wall time per task by policy, and the workers' peak memory early and late in the
    sweep (in the order the tasks finished): the figures of ``docs/benchmarks.md``."""
    runs = sorted(summaries.values(), key=lambda s: s.get("stored_at", 0.0))
    by_policy: dict[str, list[float]] = {}
    for s in runs:
        by_policy.setdefault(s["policy"], []).append(s["wall_seconds"])
    rss = np.array([s["worker_peak_rss_mib"] for s in runs])
    tenth = max(1, rss.size // 10)
    return {
        "tasks": len(runs),
        "task_seconds_total": float(sum(sum(v) for v in by_policy.values())),
        "task_seconds": {p: {"tasks": len(v), "median": float(np.median(v)),
                             "p95": float(np.percentile(v, 95)), "max": float(np.max(v)),
                             "total": float(np.sum(v))} for p, v in by_policy.items()},
        "worker_peak_rss_mib": {"first_tenth_max": float(rss[:tenth].max()) if rss.size else None,
                                "last_tenth_max": float(rss[-tenth:].max()) if rss.size else None,
                                "max": float(rss.max()) if rss.size else None},
    }


def write_outputs(out: Path, names: list[str], cells: list[dict[str, Any]], store: Store) -> list[Path]:
    """Tables, figures and ``timing.json`` from whatever tasks are stored."""
    summaries = {c["key"]: store.summary(c["key"]) for c in cells if store.done(c["key"])}
    _write_json(out / "timing.json", timing(summaries))
    rows = [{**{k: c[k] for k in ("experiment", "row", "episode", "key")}, **flatten(summaries[c["key"]])}
            for c in cells if c["key"] in summaries]
    pd.DataFrame(rows).to_csv(out / "runs.csv", index=False)
    written: list[Path] = [out / "timing.json", out / "runs.csv"]
    for name in names:
        written += write_tables(out, name, [c for c in cells if c["experiment"] == name], summaries)
    written += write_figures(out, cells, summaries, store)
    return written


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
