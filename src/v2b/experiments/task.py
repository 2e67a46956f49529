"""One task of a sweep, as a worker runs it: a simulation and the small record kept of it."""

from __future__ import annotations

import resource
import sys
import time
from collections import Counter
from typing import Any

import numpy as np

from v2b.experiments.runner import RunSpec, run
from v2b.sim.trace import Trace


def execute(spec: RunSpec) -> dict[str, Any]:
    """Run ``spec``; return its summary (with driver choices by type, wall time and the
    worker's peak memory) and its power per slot. Only this small record leaves the
    worker: the trace is dropped here."""
    start = time.perf_counter()
    result = run(spec)
    summary = dict(result.summary)
    summary["choices_by_type"] = choices_by_type(result.trace)
    summary["arrival_scale"] = float(spec.options.get("arrival_scale", 1.0))
    summary["chargers"] = len(result.trace.chargers)
    summary["wall_seconds"] = time.perf_counter() - start
    summary["worker_peak_rss_mib"] = peak_rss_mib()
    power = {
        "building_kw": result.trace.building_kw.astype(np.float32),
        "ev_kw": result.trace.ev_kw.astype(np.float32),
        "dates": np.array([d.isoformat() for d in result.trace.dates]),
    }
    return {"summary": summary, "power": power}


def choices_by_type(trace: Trace) -> dict[str, dict[str, int]]:
    """How many drivers of each type took each option level (``L0`` = the request as
    is) or declined (``reject``); drivers turned away for lack of a charger made no
    choice and are counted under ``(no charger)``."""
    counts: dict[str, Counter[str]] = {}
    for s in trace.sessions:
        if s.reject_reason == "no charger":
            kind, what = "(no charger)", "reject"
        else:
            kind, what = s.driver_type or "(untyped)", "reject" if s.rejected else f"L{s.level}"
        counts.setdefault(kind, Counter())[what] += 1
    return {kind: dict(sorted(c.items())) for kind, c in sorted(counts.items())}


def peak_rss_mib() -> float:
    """This process's peak resident memory [MiB]."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0
