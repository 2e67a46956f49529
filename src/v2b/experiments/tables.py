"""Each experiment's table from its tasks' summaries: ours (mean ± std over episodes)
beside the paper's, in the paper's columns; every other figure in a details table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from v2b.experiments.paper import PAPER_TABLES, Value
from v2b.experiments.table import Column as Col
from v2b.experiments.table import aggregate, flatten, to_markdown, with_oracle_gap

_MONEY = (
    Col("building_cost_usd", "Building Cost ($/month)"),
    Col("user_cost_usd_per_kwh", "User Cost ($/kWh)", decimals=3),
    Col("user_payments_usd", "Monthly User Cost ($/month)"),
    Col("reject_rate", "Reject (%)", decimals=2, scale=100.0),
)

COLUMNS: dict[str, tuple[Col, ...]] = {
    "table1": _MONEY,
    "table2": _MONEY,
    "table3": (Col("building_cost_usd", "Bldg. Cost ($/mo)", decimals=2),
               Col("user_cost_usd_per_kwh", "User Cost ($/kWh)", decimals=3),
               Col("reject_rate", "Reject (%)", decimals=2, scale=100.0)),
    "figure2": (Col("arrivals_per_day", "Arrivals per weekday", decimals=1), Col("chargers", "Chargers"),
                Col("decision_median_s", "Decision median (ms)", decimals=1, scale=1000.0),
                Col("decision_p95_s", "Decision p95 (ms)", decimals=1, scale=1000.0),
                Col("offer_seconds_median", "Offer median (ms)", decimals=1, scale=1000.0)),
}

TITLES: dict[str, tuple[str, str]] = {
    "table1": ("Table 1: the eight policies",
               "Building cost = utility bill + SoC penalties + battery wear - user payments; user cost = "
               "payments / kWh delivered; reject = declined + turned away for lack of a charger."),
    "table2": ("Table 2: sensitivity to the drivers' flexibility profile",
               "Each profile scales every driver type's SoC (w1) and time (w2) weights as the paper's "
               "Table 2 does; the menu keeps the prices calibrated on the survey drivers."),
    "table3": ("Table 3: share of the marginal utility passed to drivers (alpha of Eq. 3)",
               "CONSENT with alpha from 100 % to 10 %; all else as in Table 1."),
    "figure2": ("Figure 2: runtime per decision against arrival intensity",
                "Arrivals and chargers scaled together; the building is the same. Median and 95th "
                "percentile of the controller's decision time; offer = all options of one arrival."),
}


def _flat(summary: dict[str, Any]) -> dict[str, Any]:
    return {**flatten(summary), "arrivals_per_day": summary["users"] / max(summary["days"], 1)}


def _stats(values: np.ndarray) -> dict[str, float | None]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"mean": None, "std": None}
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if values.size > 1 else 0.0}


def _paper(value: Value) -> dict[str, float | None]:
    if value is None:
        return {"mean": None, "std": None}
    return {"mean": value[0], "std": value[1]}


def experiment_table(name: str, cells: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]
                     ) -> dict[str, Any]:
    """The table of experiment ``name`` (the format ``v2b report`` reads): ``cells`` are
    the plan's rows (with their task keys); rows whose tasks are missing are counted
    with the episodes they have."""
    columns = COLUMNS[name]
    paper = PAPER_TABLES.get(name, {})
    rows: list[dict[str, Any]] = []
    frame = pd.DataFrame([{**c, **_flat(summaries[c["key"]])} for c in cells if c["key"] in summaries])
    planned = pd.DataFrame(cells)
    for row, group in planned.groupby("row", sort=False):
        first = group.iloc[0]
        have = frame[frame["row"] == row] if not frame.empty else frame
        ours = {c.key: _stats(have[c.key].to_numpy(dtype=float) * c.scale) if c.key in have
                else {"mean": None, "std": None} for c in columns}
        row_paper = paper.get(str(row))
        rows.append({
            "row": str(row), "label": str(first["label"]), "group": str(first["group"]),
            "episodes": int(len(have)), "planned_episodes": int(len(group)), "ours": ours,
            "paper": None if row_paper is None else {c.key: _paper(row_paper.get(c.key)) for c in columns},
        })
    title, caption = TITLES[name]
    return {"experiment": name, "title": title, "caption": caption,
            "columns": [{"key": c.key, "title": c.title, "decimals": c.decimals} for c in columns],
            "rows": rows, "notes": []}


def fmt_stat(stat: dict[str, float | None], decimals: int) -> str:
    if stat["mean"] is None:
        return "—"
    text = f"{stat['mean']:,.{decimals}f}"
    return text if stat["std"] is None else f"{text} ± {stat['std']:,.{decimals}f}"


def table_markdown(table: dict[str, Any]) -> str:
    """Ours, and the paper's beneath in parentheses where it has the figure."""
    cols = table["columns"]
    lines = [f"**{table['title']}** ({table['caption']})", "",
             "| row | episodes | " + " | ".join(c["title"] for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    group = ""
    for row in table["rows"]:
        if row["group"] and row["group"] != group:
            group = row["group"]
            lines.append(f"| *{group}* |" + " |" * (len(cols) + 1))
        cells = []
        for c in cols:
            text = fmt_stat(row["ours"][c["key"]], c["decimals"])
            if row["paper"] is not None and row["paper"][c["key"]]["mean"] is not None:
                text += f" (paper {fmt_stat(row['paper'][c['key']], c['decimals'])})"
            cells.append(text)
        lines.append(f"| {row['label']} | {row['episodes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines + table["notes"]) + "\n"


def table_frame(table: dict[str, Any]) -> pd.DataFrame:
    records = []
    for row in table["rows"]:
        rec: dict[str, Any] = {k: row[k] for k in ("row", "label", "group", "episodes")}
        for c in table["columns"]:
            k = c["key"]
            rec[f"{k}_mean"], rec[f"{k}_std"] = row["ours"][k]["mean"], row["ours"][k]["std"]
            paper = (row["paper"] or {}).get(k) or {"mean": None, "std": None}
            rec[f"{k}_paper_mean"], rec[f"{k}_paper_std"] = paper["mean"], paper["std"]
        records.append(rec)
    return pd.DataFrame(records)


def details(cells: list[dict[str, Any]], summaries: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every column of ``v2b compare`` per row (peak, energy, V2B, targets met, runtimes...)."""
    runs = [{**summaries[c["key"]], "policy": c["row"]} for c in cells if c["key"] in summaries]
    if not runs:
        return pd.DataFrame()
    order = list(dict.fromkeys(c["row"] for c in cells))
    present = {r["policy"] for r in runs}
    return aggregate(with_oracle_gap(runs), order=[o for o in order if o in present])


def write_tables(out: Path, name: str, cells: list[dict[str, Any]],
                 summaries: dict[str, dict[str, Any]]) -> list[Path]:
    """``tables/<name>.{json,csv,md}`` and ``tables/<name>-details.{csv,md}``."""
    folder = out / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    table = experiment_table(name, cells, summaries)
    written = [folder / f"{name}.json", folder / f"{name}.csv", folder / f"{name}.md"]
    written[0].write_text(json.dumps(table, indent=2) + "\n")
    table_frame(table).to_csv(written[1], index=False)
    written[2].write_text(table_markdown(table))
    frame = details(cells, summaries)
    if not frame.empty:
        frame.to_csv(folder / f"{name}-details.csv", index=False)
        (folder / f"{name}-details.md").write_text(to_markdown(frame))
        written += [folder / f"{name}-details.csv", folder / f"{name}-details.md"]
    return written
