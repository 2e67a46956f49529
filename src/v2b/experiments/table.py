"""Aggregate run summaries into a Table-1-like comparison (mean +- std)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    scale: float = 1.0
    decimals: int = 0


COLUMNS: tuple[Column, ...] = (
    Column("building_cost_usd", "Building cost ($/month)"),
    Column("user_cost_usd_per_kwh", "User cost ($/kWh)", decimals=3),
    Column("user_payments_usd", "User payments ($/month)"),
    Column("reject_rate", "Reject (%)", scale=100.0, decimals=2),
    Column("peak_kw", "Peak (kW)", decimals=1),
    Column("energy_delivered_kwh", "Delivered (kWh)"),
    Column("unmet_kwh", "Unmet (kWh)", decimals=1),
    Column("discharged_kwh", "V2B (kWh)", decimals=1),
    Column("decision_median_s", "Decision median (ms)", scale=1000.0, decimals=2),
    Column("gap_to_oracle", "Gap to oracle (%)", scale=100.0, decimals=2),
    Column("reject_rate_declined", "Declined (%)", scale=100.0, decimals=2),
    Column("reject_rate_no_charger", "No charger (%)", scale=100.0, decimals=2),
    Column("targets_met_share", "Targets met (%)", scale=100.0, decimals=1),
    Column("offer_seconds_median", "Offer median (ms)", scale=1000.0, decimals=1),
    Column("solver_fallbacks", "Solver fallbacks", decimals=1),
    Column("solver_failures", "Solver failures", decimals=1),
    Column("negotiation_fallbacks", "Pricing fallbacks", decimals=1),
)

#: How ``v2b compare`` groups the columns into tables that fit a terminal.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("money (paper Table 1 columns)",
     ("building_cost_usd", "user_cost_usd_per_kwh", "user_payments_usd", "reject_rate")),
    ("energy, runtime, gap",
     ("peak_kw", "energy_delivered_kwh", "unmet_kwh", "discharged_kwh", "decision_median_s",
      "gap_to_oracle")),
    ("drivers and solver",
     ("reject_rate_declined", "reject_rate_no_charger", "targets_met_share", "offer_seconds_median",
      "solver_fallbacks", "solver_failures", "negotiation_fallbacks")),
)


def with_oracle_gap(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``gap_to_oracle`` (building cost / oracle's - 1, same episode) to each run
    whose episode the ``oracle`` policy also ran and whose drivers charged for free (the
    oracle bounds free charging; with payments and rejects the comparison means nothing);
    other runs are returned unchanged."""
    def key(s: dict[str, Any]) -> tuple:
        return (s["site"], s["episode_kind"], s["episode"], s["days"], s["seed"])

    best = {key(s): s["building_cost_usd"] for s in summaries if s["policy"] == "oracle"}
    out = []
    for s in summaries:
        bound = best.get(key(s))
        free = s.get("user_payments_usd", 0.0) == 0.0 and s.get("rejected_declined", 0) == 0
        out.append(s if bound is None or not free
                   else {**s, "gap_to_oracle": s["building_cost_usd"] / bound - 1.0})
    return out


def flatten(summary: dict[str, Any]) -> dict[str, Any]:
    """One flat row per run (nested decision times become columns)."""
    row = {k: v for k, v in summary.items() if not isinstance(v, dict)}
    row["decision_median_s"] = summary["decision_seconds"]["median"]
    row["decision_p95_s"] = summary["decision_seconds"]["p95"]
    return row


def aggregate(summaries: list[dict[str, Any]], order: list[str] | None = None) -> pd.DataFrame:
    """Mean and standard deviation per policy of every column in :data:`COLUMNS`."""
    frame = pd.DataFrame([flatten(s) for s in summaries])
    policies = order or list(dict.fromkeys(frame["policy"]))
    columns = [c for c in COLUMNS if c.key in frame]
    rows = []
    for policy in policies:
        sub = frame[frame["policy"] == policy]
        row: dict[str, Any] = {"policy": policy, "episodes": len(sub)}
        for col in columns:
            values = sub[col.key].to_numpy(dtype=float) * col.scale
            values = values[np.isfinite(values)]
            row[f"{col.key}_mean"] = float(np.mean(values)) if values.size else float("nan")
            row[f"{col.key}_std"] = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


def shown_columns(table: pd.DataFrame) -> list[Column]:
    """The columns the table has data for (the oracle gap only when the oracle ran)."""
    return [c for c in COLUMNS if f"{c.key}_mean" in table]


def cell(row: pd.Series, col: Column) -> str:
    """``mean ± std``, or ``-`` where the policy has no such figure."""
    mean, std = row[f"{col.key}_mean"], row[f"{col.key}_std"]
    if not np.isfinite(mean):
        return "-"
    return f"{mean:,.{col.decimals}f} ± {std:,.{col.decimals}f}"


def to_markdown(table: pd.DataFrame) -> str:
    columns = shown_columns(table)
    header = "| policy | " + " | ".join(c.title for c in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    lines = [header, rule]
    for _, row in table.iterrows():
        lines.append(f"| {row['policy']} | " + " | ".join(cell(row, c) for c in columns) + " |")
    return "\n".join(lines) + "\n"
