"""Files of ``v2b data validate``: one PNG per feature, ``index.html``, ``validation.json`` and
``validation.csv``.

Every plot shows the generated months (blue), the held-out recorded months (red) and the
fit half's recorded months (grey, dashed): the gap between red and grey is how much real
months differ among themselves, the yardstick for the gap between red and blue.
"""

from __future__ import annotations

import csv
import html
import json
import math
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from v2b.scenarios.validate import Validation  # noqa: E402
from v2b.scenarios.validate_features import (  # noqa: E402
    ENERGY_BY_HOUR,
    FEATURE_SLUGS,
    KS_FEATURES,
    Comparison,
    Month,
    Sample,
)
from v2b.scenarios.validate_stats import (  # noqa: E402
    BAND_HOURS,
    BAND_MIN_SESSIONS,
    banded_ks,
    common_bands,
)
from v2b.timegrid import SLOT_H, SLOTS_PER_DAY  # noqa: E402

#: Every file the report writes (for the output-directory check before any work).
REPORT_FILES = ("validation.json", "validation.csv", "index.html", *(f"{s}.png" for s in FEATURE_SLUGS))
STYLES = (
    ("generated", "#1b6ca8", "-"),
    ("held-out recorded", "#d1495b", "-"),
    ("fit-half recorded", "0.45", "--"),
)


def _months(months: tuple[Month, ...]) -> list[str]:
    return [f"{y}-{m:02d}" for y, m in months]


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def summary_doc(validation: Validation, *, seed: int, command: str) -> dict:
    """Everything ``validation.json`` holds (NaN written as null)."""
    split = validation.split
    rows = [{k: _finite(v) if isinstance(v, float) else v for k, v in asdict(r).items()}
            for r in validation.rows]
    return {
        "command": command,
        "seed": seed,
        "generated_months": validation.months,
        "chargers": validation.chargers,
        "arrivals_per_day": validation.arrivals_per_day,
        "fit_months": _months(split.fit_months),
        "held_out_months": _months(split.held_out_months),
        "fit_load_months": _months(split.fit_load_months),
        "held_out_load_months": _months(split.held_out_load_months),
        "passed": validation.passed,
        "features": rows,
    }


def _title(ax: plt.Axes, row: Comparison) -> None:
    verdict = "pass" if row.passes else "FAIL"
    ax.figure.suptitle(
        f"{row.name}: {row.statistic} {row.value:.3g} (p {row.p_value:.2g}), "
        f"two recorded halves {row.reference:.3g}: {verdict}",
        fontsize=10,
    )


def _ecdf(ax: plt.Axes, samples: list[np.ndarray], xlabel: str) -> None:
    for x, (label, color, ls) in zip(samples, STYLES, strict=True):
        x = np.sort(x[np.isfinite(x)])
        if x.size:
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=color, ls=ls, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share at or below")
    ax.grid(alpha=0.3)


def _hist(ax: plt.Axes, samples: list[np.ndarray], xlabel: str) -> None:
    finite = [x[np.isfinite(x)] for x in samples]
    pooled = np.concatenate(finite)
    if pooled.size == 0:
        return
    edges = np.histogram_bin_edges(pooled, bins=min(40, max(5, int(np.sqrt(pooled.size)))))
    for grid in (1.0, SLOT_H):
        # values on a grid (counts, slot times) get bins of whole grid steps, centred on them,
        # so no bin holds one more grid value than its neighbour
        if np.allclose(pooled / grid, np.round(pooled / grid)):
            width = grid * max(1.0, np.ceil((edges[1] - edges[0]) / grid))
            edges = np.arange(pooled.min() - grid / 2, pooled.max() + width, width)
            break
    for x, (label, color, ls) in zip(finite, STYLES, strict=True):
        if x.size:
            ax.hist(x, bins=edges, density=True, histtype="step", color=color, ls=ls, lw=1.5, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.grid(alpha=0.3)


def _xlabel(row: Comparison) -> str:
    return f"{row.name} [{row.unit}]" if row.unit else row.name


def _plot_ks(row: Comparison, samples: list[np.ndarray], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    _hist(left, samples, _xlabel(row))
    _ecdf(right, samples, _xlabel(row))
    right.legend(loc="lower right", fontsize=8)
    _title(left, row)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _hourly_mean(hours: np.ndarray, kwh: np.ndarray) -> np.ndarray:
    counts = np.bincount(hours.astype(int), minlength=24)[:24]
    sums = np.bincount(hours.astype(int), weights=kwh, minlength=24)[:24]
    return np.where(counts >= BAND_MIN_SESSIONS, sums / np.maximum(counts, 1), np.nan)


def _plot_energy_by_hour(row: Comparison, samples: list[Sample], band: int, path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for s, (label, color, ls) in zip(samples, STYLES, strict=True):
        mean = _hourly_mean(s.sessions.arrival_h, s.sessions.requested_kwh)
        left.plot(np.arange(24) + 0.5, mean, color=color, ls=ls, marker="o", ms=3, label=label)
    left.set_xlabel(f"arrival hour (hours with >= {BAND_MIN_SESSIONS} sessions)")
    left.set_ylabel("mean requested energy [kWh]")
    left.set_xticks(range(0, 25, 3))
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    if band >= 0:
        within = [s.sessions.requested_kwh[(s.sessions.arrival_h >= band)
                                           & (s.sessions.arrival_h < band + BAND_HOURS)] for s in samples]
        _ecdf(right, within, f"requested energy of arrivals {band:02d}-{band + BAND_HOURS:02d} h [kWh]")
    _title(left, row)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_profile(row: Comparison, samples: list[Sample], path: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    hours = np.arange(SLOTS_PER_DAY) * SLOT_H
    means = [s.load.days_kw.mean(axis=0) for s in samples]
    for s, mean, (label, color, ls) in zip(samples, means, STYLES, strict=True):
        left.plot(hours, mean, color=color, ls=ls, label=label)
        if ls == "-":
            low, high = np.percentile(s.load.days_kw, [10, 90], axis=0)
            left.fill_between(hours, low, high, color=color, alpha=0.12, lw=0)
    left.set_ylabel("building load [kW] (mean; band: 10-90 % of days)")
    for mean, (label, color, ls) in zip((means[0], means[2]), (STYLES[0], STYLES[2]), strict=True):
        right.plot(hours, mean - means[1], color=color, ls=ls, label=f"{label} minus held-out")
    right.axhline(0, color="0.3", lw=0.8)
    right.set_ylabel("gap in mean profile [kW]")
    for ax in (left, right):
        ax.set_xlabel("hour of day")
        ax.set_xticks(range(0, 25, 3))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    _title(left, row)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_feature(validation: Validation, slug: str, path: Path) -> Path:
    """The PNG of one feature (see module docstring)."""
    row = next(r for r in validation.rows if r.slug == slug)
    samples = [validation.generated, validation.held_out, validation.fit_half]
    spec = next((f for f in KS_FEATURES if f[0] == slug), None)
    if spec is not None:
        side, attr = spec[4], spec[5]
        _plot_ks(row, [getattr(getattr(s, side), attr) for s in samples], path)
    elif slug == ENERGY_BY_HOUR[0]:
        g, h, f = (s.sessions for s in samples)
        bands = common_bands([g.arrival_h, h.arrival_h, f.arrival_h])
        band = banded_ks(g.arrival_h, g.requested_kwh, h.arrival_h, h.requested_kwh, bands).band
        _plot_energy_by_hour(row, samples, band, path)
    else:
        _plot_profile(row, samples, path)
    return path


def _cell(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{x:.3g}"


def _html(validation: Validation, doc: dict) -> str:
    e = html.escape
    rows = "\n".join(
        f'<tr class="{"pass" if r.passes else "fail"}"><td><a href="#{r.slug}">{e(r.name)}</a></td>'
        f"<td>{e(r.per)}</td><td>{e(r.statistic)}</td><td>{_cell(r.value)}</td><td>{_cell(r.p_value)}</td>"
        f"<td>{_cell(r.reference)}</td><td>{_cell(r.reference_p)}</td>"
        f"<td>{r.n_generated} / {r.n_held_out} / {r.n_fit_half}</td>"
        f"<td>{'pass' if r.passes else 'FAIL'}</td><td>{e(r.note)}</td></tr>"
        for r in validation.rows
    )
    figures = "\n".join(
        f'<h3 id="{r.slug}">{e(r.name)}</h3><p>{e(r.note)}</p><img src="{r.slug}.png" alt="{e(r.name)}">'
        for r in validation.rows
    )
    months = "".join(
        f"<li>{e(label)}: {e(', '.join(doc[key]))}</li>"
        for label, key in (
            ("sessions, fit half", "fit_months"),
            ("sessions, held out", "held_out_months"),
            ("load, fit half", "fit_load_months"),
            ("load, held out", "held_out_load_months"),
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>v2b data validate</title>
<style>
body {{ font-family: sans-serif; max-width: 1150px; margin: 1em auto; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; text-align: left; }}
tr.pass td {{ background: #eef7ee; }} tr.fail td {{ background: #fbecec; }}
img {{ max-width: 100%; }} code {{ background: #f3f3f3; padding: 1px 3px; }}
</style></head><body>
<h1>Generated months against held-out recorded months</h1>
<p>Command: <code>{e(doc["command"])}</code> · seed {doc["seed"]} · {validation.months} generated months
at {validation.arrivals_per_day:.1f} arrivals per weekday (the fit half's own rate), load scale 1 ·
occupancy threshold {validation.chargers} chargers.</p>
<p>The model was fitted on the fit half only. Each feature: the statistic between generated and
held-out months, and the same statistic between the two recorded halves (how much real months
differ among themselves). <b>pass</b>: generated is no further from the held-out months than the
other recorded half is. p-values assume independent draws (sessions and days of one month are not),
so small p-values on thousands of sessions flag differences that may be small in practice.</p>
<p>{validation.passed} of {len(validation.rows)} features pass.</p>
<table><tr><th>feature</th><th>per</th><th>statistic</th><th>generated vs held-out</th><th>p</th>
<th>two halves</th><th>p</th><th>n generated / held-out / fit half</th><th></th><th>what differs</th></tr>
{rows}
</table>
<h2>Months</h2><ul>{months}</ul>
<h2>Features</h2>
{figures}
</body></html>
"""


def write_report(validation: Validation, out_dir: Path, *, seed: int, command: str) -> list[Path]:
    """Write :data:`REPORT_FILES` into ``out_dir`` (which exists); returns their paths."""
    doc = summary_doc(validation, seed=seed, command=command)
    written = []
    json_path = out_dir / "validation.json"
    json_path.write_text(json.dumps(doc, indent=2))
    written.append(json_path)
    csv_path = out_dir / "validation.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(doc["features"][0]))
        writer.writeheader()
        writer.writerows(doc["features"])
    written.append(csv_path)
    for slug in FEATURE_SLUGS:
        written.append(plot_feature(validation, slug, out_dir / f"{slug}.png"))
    index = out_dir / "index.html"
    index.write_text(_html(validation, doc))
    written.append(index)
    return written
