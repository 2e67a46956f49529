"""Write a community study to a folder: Table I, community flows, summary and figures.

Files (all in ``out_dir``):

- ``table.json``: the paper's Table I as a list of rows (one per building and a
  ``total`` row) with keys building, baseline_ce, individual_ce, individual_cev,
  individual_obj, community_ce, community_cev, community_obj [EUR].
- ``flows.csv``: slot, building, import_kw, export_kw -- power from / to the community
  under community management.
- ``summary.json``: clearing tariffs, self-consumption, the paper's findings checked
  on these data, inputs in brief, build/solve times.
- ``fig2_net_loads.png``, ``fig3_building1_net_load.png``, ``fig4_community_flows.png``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from v2b.community.figures import write_figures
from v2b.community.study import CommunityStudy

TABLE_KEYS = (
    "building", "baseline_ce", "individual_ce", "individual_cev", "individual_obj",
    "community_ce", "community_cev", "community_obj",
)


def flows_frame(study: CommunityStudy) -> pd.DataFrame:
    """Community flows per slot and building [kW] (long format)."""
    flows = study.community.flows_kw
    n_b, n_h = flows["comm_import"].shape
    return pd.DataFrame({
        "slot": np.tile(np.arange(n_h), n_b),
        "building": np.repeat(study.inputs.building_names, n_h),
        "import_kw": flows["comm_import"].ravel().round(6),
        "export_kw": flows["comm_export"].ravel().round(6),
    })


def summary(study: CommunityStudy, extra: dict[str, object] | None = None) -> dict[str, object]:
    """Everything beyond Table I that the paper reports, as plain JSON values."""
    inputs = study.inputs
    return {
        "clearing_tariffs": study.clearing_summary(),
        "self_consumption": study.self_consumption(),
        "findings_pct": study.findings(),
        "inputs": {
            "buildings": list(inputs.building_names),
            "slot_minutes": inputs.slot_minutes,
            "slots": inputs.n_slots,
            "ev_sessions": len(inputs.evs),
            "load_mwh": float(inputs.load_kw.sum() * inputs.slot_h / 1000.0),
            "pv_mwh": float(inputs.pv_kw.sum() * inputs.slot_h / 1000.0),
        },
        "solver": study.timings(),
        **(extra or {}),
    }


def write_study(
    study: CommunityStudy, out_dir: Path, extra: dict[str, object] | None = None
) -> list[Path]:
    """Write every output file of ``study`` into ``out_dir`` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / "table.json"
    rows = [{key: row[key] for key in TABLE_KEYS} for row in study.table_rows()]
    table.write_text(json.dumps(rows, indent=2) + "\n")
    flows = out_dir / "flows.csv"
    flows_frame(study).to_csv(flows, index=False)
    info = out_dir / "summary.json"
    info.write_text(json.dumps(summary(study, extra), indent=2, default=_plain) + "\n")
    return [table, flows, info, *write_figures(study, out_dir)]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
