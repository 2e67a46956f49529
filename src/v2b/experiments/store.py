"""A sweep's directory: finished tasks kept, one directory per task, keyed by what it ran.

``DIR/tasks/<key>/`` holds ``task.json`` (the run's full configuration),
``summary.json`` and ``power.npz`` (building and EV power per slot). It appears in one
rename when the task is complete, so a sweep stopped at any moment (Ctrl-C, a killed
worker, a crashed machine) leaves only whole tasks; running the same command again
computes only the keys that are missing. ``DIR/failures/<key>.json`` records a task
that raised (its error and traceback) until a later run of it succeeds.

A task's key is a hash of its :class:`~v2b.experiments.runner.RunSpec`, the site's
full content and the code version (a hash of the installed package's files), so a
changed site file or changed code never reuses an old result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from v2b.experiments.runner import RunSpec

_CODE_SUFFIXES = {".py", ".toml", ".csv", ".gz", ".json"}
#: Parts of the package that present or schedule results but never change a run's numbers.
_NOT_RESULTS = ("cli/", "gym/", "community/", "experiments/tables.py", "experiments/figures.py",
                "experiments/report.py", "experiments/paper.py", "experiments/sweep.py",
                "experiments/executors.py", "experiments/store.py", "experiments/plan.py")


@cache
def code_version() -> str:
    """Hash of every source and data file of the installed ``v2b`` package that can
    change a run's numbers (not the command line, tables, figures or scheduling)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in _CODE_SUFFIXES and p.is_file()):
        name = path.relative_to(root).as_posix()
        if "__pycache__" in path.parts or name.startswith(_NOT_RESULTS):
            continue
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def spec_dict(spec: RunSpec) -> dict[str, Any]:
    return asdict(spec)


def task_key(spec: RunSpec, site_json: str, code: str) -> str:
    """The key of one task: its configuration, seed, site content and code version."""
    text = json.dumps({"spec": spec_dict(spec), "site": site_json, "code": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Store:
    """The files of one sweep directory (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tasks = root / "tasks"
        self.failures = root / "failures"

    def prepare(self) -> None:
        self.tasks.mkdir(parents=True, exist_ok=True)
        self.failures.mkdir(parents=True, exist_ok=True)
        for partial in self.tasks.glob("*.partial-*"):  # a task cut off mid-write last time
            shutil.rmtree(partial)

    def done(self, key: str) -> bool:
        return (self.tasks / key / "summary.json").is_file()

    def summary(self, key: str) -> dict[str, Any]:
        return json.loads((self.tasks / key / "summary.json").read_text())

    def power(self, key: str) -> dict[str, np.ndarray]:
        with np.load(self.tasks / key / "power.npz") as data:
            return {name: data[name] for name in data.files}

    def save(self, key: str, spec: RunSpec, payload: dict[str, Any]) -> None:
        """Write a finished task; it becomes visible in one rename."""
        partial = self.tasks / f"{key}.partial-{os.getpid()}"
        partial.mkdir(parents=True, exist_ok=True)
        (partial / "task.json").write_text(json.dumps({"key": key, "spec": spec_dict(spec)}, indent=2) + "\n")
        summary = {**payload["summary"], "stored_at": time.time()}  # the order tasks finished in
        (partial / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        np.savez_compressed(partial / "power.npz", **payload["power"])
        final = self.tasks / key
        if final.exists():  # a task finished twice (two sweeps on one directory): keep the first
            shutil.rmtree(partial)
        else:
            os.replace(partial, final)
        (self.failures / f"{key}.json").unlink(missing_ok=True)

    def fail(self, key: str, spec: RunSpec, error: str, traceback_text: str) -> Path:
        path = self.failures / f"{key}.json"
        record = {"key": key, "spec": spec_dict(spec), "error": error, "traceback": traceback_text}
        path.write_text(json.dumps(record, indent=2) + "\n")
        return path

    def failed_keys(self) -> list[str]:
        return sorted(p.stem for p in self.failures.glob("*.json"))
