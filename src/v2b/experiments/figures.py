"""The figures of a sweep (PNG, in ``DIR/figures``), each from the stored tasks only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from v2b.experiments.paper import DECISION_SECONDS, OFFER_SECONDS, TABLE1, TABLE3
from v2b.experiments.store import Store
from v2b.timegrid import SLOTS_PER_DAY

Cells = list[dict[str, Any]]
Summaries = dict[str, dict[str, Any]]


def _pyplot():  # noqa: ANN202 - matplotlib's module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path: Path) -> bool:  # noqa: ANN001 - matplotlib's objects
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _of(cells: Cells, experiment: str, summaries: Summaries) -> Cells:
    return [c for c in cells if c["experiment"] == experiment and c["key"] in summaries]


def _rows(cells: Cells) -> list[str]:
    return list(dict.fromkeys(c["row"] for c in cells))


def figure2(path: Path, cells: Cells, summaries: Summaries) -> bool:
    """Median decision time (whiskers: median of the per-run 95th percentiles) against
    arrivals per weekday, per policy; CONSENT's offers too; the paper's two reported
    runtimes at its own site marked."""
    mine = _of(cells, "figure2", summaries)
    if not mine:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 5.4), dpi=110)
    series: dict[str, dict[float, list[dict[str, Any]]]] = {}
    for c in mine:
        s = summaries[c["key"]]
        series.setdefault(c["group"], {}).setdefault(s["arrival_scale"], []).append(s)
    for policy, by_scale in series.items():
        scales = sorted(by_scale)
        x = [np.mean([s["users"] / s["days"] for s in by_scale[k]]) for k in scales]
        med = [1000 * np.median([s["decision_seconds"]["median"] for s in by_scale[k]]) for k in scales]
        p95 = [1000 * np.median([s["decision_seconds"]["p95"] for s in by_scale[k]]) for k in scales]
        ax.errorbar(x, med, yerr=[np.zeros(len(med)), np.subtract(p95, med)], marker="o", capsize=3,
                    label=f"{policy}: charging decision")
        offers = [[s.get("offer_seconds_median") for s in by_scale[k]] for k in scales]
        if all(o is not None for group in offers for o in group):
            ax.plot(x, [1000 * np.median(o) for o in offers], marker="s", ls="--",
                    label=f"{policy}: all options")
    ax.axhline(1000 * DECISION_SECONDS, color="#e76f51", lw=1, ls=":",
               label=f"paper: charging decision ~{DECISION_SECONDS} s (its site, CPLEX)")
    ax.axhline(1000 * OFFER_SECONDS, color="#f4a261", lw=1, ls=":",
               label=f"paper: all options ~{OFFER_SECONDS} s")
    ax.set_yscale("log")
    ax.set_xlabel("arrivals per weekday")
    ax.set_ylabel("time per decision [ms]")
    ax.set_title("Runtime per decision against arrival intensity", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, frameon=False)
    return _save(plt, fig, path)


def cost_boxes(path: Path, cells: Cells, summaries: Summaries) -> bool:
    """Monthly building cost per Table 1 policy over the episodes; the paper's mean marked."""
    mine = _of(cells, "table1", summaries)
    if not mine:
        return False
    plt = _pyplot()
    rows = _rows(mine)
    data = [[summaries[c["key"]]["building_cost_usd"] for c in mine if c["row"] == r] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=110)
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(rows) + 1), rows, rotation=25, ha="right", fontsize=8)
    paper = [TABLE1.get(r, {}).get("building_cost_usd") for r in rows]
    xs = [i + 1 for i, p in enumerate(paper) if p]
    ax.plot(xs, [p[0] for p in paper if p], "D", color="#e76f51", ms=6, label="paper's mean")
    ax.set_ylabel("building cost [$ / month]")
    ax.set_title("Monthly building cost per policy (box: episodes; triangle: our mean)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def typical_day(path: Path, cells: Cells, summaries: Summaries, store: Store) -> bool:
    """Site load on one typical day under each Table 1 policy: the first episode's day
    whose building energy is the median of that month's days."""
    mine = [c for c in _of(cells, "table1", summaries) if c["episode"] == min(
        x["episode"] for x in _of(cells, "table1", summaries))]
    if not mine:
        return False
    plt = _pyplot()
    first = store.power(mine[0]["key"])
    days = first["building_kw"].reshape(-1, SLOTS_PER_DAY)
    energy = days.sum(axis=1)
    day = int(np.argsort(energy)[len(energy) // 2])
    hours = np.arange(SLOTS_PER_DAY) / 4.0
    fig, ax = plt.subplots(figsize=(9, 4.6), dpi=110)
    ax.fill_between(hours, 0, days[day], step="post", color="#c9d6e3", label="building alone")
    for c in mine:
        if c["row"] == "building-only":
            continue
        p = store.power(c["key"])
        total = (p["building_kw"] + p["ev_kw"]).reshape(-1, SLOTS_PER_DAY)[day]
        ax.step(hours, total, where="post", lw=1.0, label=c["row"])
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("hour of day")
    ax.set_ylabel("site load at the meter [kW]")
    ax.set_title(f"A typical day ({first['dates'][day]}, episode {mine[0]['episode']}) under each policy",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncols=2)
    return _save(plt, fig, path)


def driver_choices(path: Path, cells: Cells, summaries: Summaries) -> bool:
    """Share of each option level and of rejects per driver type, for the negotiating
    policies of Table 1 (summed over episodes)."""
    negotiating = ("menu", "consent", "consent-no-reject")
    mine = [c for c in _of(cells, "table1", summaries) if c["row"] in negotiating]
    if not mine:
        return False
    plt = _pyplot()
    rows = _rows(mine)
    totals: dict[str, dict[str, dict[str, int]]] = {r: {} for r in rows}
    for c in mine:
        for kind, counts in summaries[c["key"]]["choices_by_type"].items():
            if kind.startswith("("):
                continue
            acc = totals[c["row"]].setdefault(kind, {})
            for what, n in counts.items():
                acc[what] = acc.get(what, 0) + n
    kinds = sorted({k for t in totals.values() for k in t})
    outcomes = sorted({w for t in totals.values() for k in t.values() for w in k},
                      key=lambda w: (w == "reject", w))
    fig, axes = plt.subplots(1, len(rows), figsize=(4 * len(rows), 4.2), dpi=110, sharey=True, squeeze=False)
    colors = plt.get_cmap("viridis")(np.linspace(0.15, 0.85, max(len(outcomes) - 1, 1)))
    for ax, row in zip(axes[0], rows, strict=True):
        bottom = np.zeros(len(kinds))
        for i, what in enumerate(outcomes):
            n = np.array([totals[row].get(k, {}).get(what, 0) for k in kinds], dtype=float)
            share = 100 * n / np.maximum([sum(totals[row].get(k, {}).values()) for k in kinds], 1)
            color = "#e76f51" if what == "reject" else colors[min(i, len(colors) - 1)]
            ax.bar(kinds, share, bottom=bottom, color=color, label=what)
            bottom += share
        ax.set_title(row, fontsize=9)
        ax.set_xlabel("driver type")
    axes[0][0].set_ylabel("share of the type's drivers [%]")
    axes[0][-1].legend(fontsize=7, title="option (L0 = as asked)", title_fontsize=7, loc="lower right")
    fig.suptitle("What each driver type chose", fontsize=10)
    return _save(plt, fig, path)


def alpha_costs(path: Path, cells: Cells, summaries: Summaries) -> bool:
    """Building cost and user cost against alpha (Table 3), ours and the paper's."""
    mine = _of(cells, "table3", summaries)
    if not mine:
        return False
    plt = _pyplot()
    rows = _rows(mine)
    alphas = [float(r.split("=")[1]) for r in rows]

    def mean(field: str) -> list[float]:
        return [float(np.mean([summaries[c["key"]][field] for c in mine if c["row"] == r])) for r in rows]

    cost, user = mean("building_cost_usd"), mean("user_cost_usd_per_kwh")
    fig, ax = plt.subplots(figsize=(7.5, 4.4), dpi=110)
    ax.plot(alphas, cost, "o-", color="#264653", label="building cost (ours)")
    ax.plot(alphas, [TABLE3[r]["building_cost_usd"][0] for r in rows], "o--", color="#264653", alpha=0.5,
            label="building cost (paper)")
    ax.set_xlabel("alpha (share of the marginal utility passed to drivers)")
    ax.set_ylabel("building cost [$ / month]")
    twin = ax.twinx()
    twin.plot(alphas, user, "s-", color="#e76f51", label="user cost (ours)")
    twin.plot(alphas, [TABLE3[r]["user_cost_usd_per_kwh"][0] for r in rows], "s--", color="#e76f51",
              alpha=0.5, label="user cost (paper)")
    twin.set_ylabel("user cost [$ / kWh]")
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="upper center")
    ax.grid(alpha=0.3)
    ax.set_title("Alpha against building and user cost", fontsize=10)
    return _save(plt, fig, path)


FIGURES: tuple[tuple[str, str, str], ...] = (
    ("figure2.png", "Figure 2: runtime per decision against arrival intensity",
     "Median time per charging decision (bars up to the 95th percentile) and per arrival's options, "
     "as arrivals and chargers grow; dotted: the runtimes the paper reports at its own site."),
    ("building_cost.png", "Monthly building cost per policy",
     "Each box: the test episodes of Table 1; diamonds: the paper's means."),
    ("typical_day.png", "One typical day's site load under each policy",
     "The median-energy day of the first episode; shaded: the building alone."),
    ("driver_choices.png", "Options and rejects per driver type",
     "Share of each type's drivers taking each option level or declining (Table 1 runs)."),
    ("alpha.png", "Alpha against building and user cost", "Table 3; dashed: the paper's values."),
)


def write_figures(out: Path, cells: Cells, summaries: Summaries, store: Store) -> list[Path]:
    """Every figure the stored tasks allow, and ``figures/index.json`` listing them."""
    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    makers: dict[str, Callable[[Path], bool]] = {
        "figure2.png": lambda p: figure2(p, cells, summaries),
        "building_cost.png": lambda p: cost_boxes(p, cells, summaries),
        "typical_day.png": lambda p: typical_day(p, cells, summaries, store),
        "driver_choices.png": lambda p: driver_choices(p, cells, summaries),
        "alpha.png": lambda p: alpha_costs(p, cells, summaries),
    }
    index, written = [], []
    for name, title, caption in FIGURES:
        if makers[name](folder / name):
            index.append({"file": name, "title": title, "caption": caption})
            written.append(folder / name)
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return written
