"""Write a run to disk: summary.json, the trace CSVs and a power plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from v2b.sim import SimResult
from v2b.sim.trace import Trace
from v2b.timegrid import SLOTS_PER_DAY


def write_run(result: SimResult, out_dir: Path) -> list[Path]:
    """Write every file of a run directory; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    result.trace.write_csvs(out_dir)
    plot = out_dir / "power.png"
    plot_power(result.trace, plot, title=f"{result.summary['policy']} on {result.summary['site']}")
    names = ["summary.json", "slots.csv", "power.csv", "sessions.csv", "chargers.csv", "power.png"]
    return [out_dir / n for n in names]


def plot_power(trace: Trace, path: Path, title: str = "") -> None:
    """Building, EV and total power over the episode, the month's peak marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = trace.total_kw
    hours = np.arange(total.size) / 4.0
    fig, ax = plt.subplots(figsize=(12, 4.2), dpi=110)
    ax.fill_between(hours, 0, trace.building_kw, step="post", color="#c9d6e3", label="building")
    ax.step(hours, trace.ev_kw, where="post", color="#2a9d8f", lw=0.9, label="EVs (net)")
    ax.step(hours, total, where="post", color="#264653", lw=1.0, label="total at meter")
    peak = int(np.argmax(total))
    ax.plot(hours[peak], total[peak], "o", color="#e76f51", ms=7)
    ax.annotate(
        f"month peak {total[peak]:.0f} kW\n{trace.dates[peak // SLOTS_PER_DAY]:%a %d %b}",
        (hours[peak], total[peak]),
        xytext=(8, -4),
        textcoords="offset points",
        color="#e76f51",
        va="top",
        fontsize=9,
    )
    ax.axhline(total[peak], color="#e76f51", lw=0.7, ls="--")
    day_ticks = np.arange(len(trace.dates)) * 24
    step = max(1, len(trace.dates) // 12)
    ax.set_xticks(day_ticks[::step])
    ax.set_xticklabels([f"{d:%d %b}" for d in trace.dates[::step]], fontsize=8)
    ax.set_xlim(0, hours[-1] + 0.25)
    ax.set_ylabel("power [kW]")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", ncols=3, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
