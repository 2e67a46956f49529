"""Figures like the community paper's Figs. 2-4, written as PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from v2b.community.study import CommunityStudy  # noqa: E402

COLORS = ("#1b6ca8", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f")


def _hours(study: CommunityStudy) -> np.ndarray:
    """Slot start times [h] with one extra edge for step plots."""
    return np.arange(study.inputs.n_slots + 1) * study.inputs.slot_h


def _steps(ax: plt.Axes, hours: np.ndarray, values: np.ndarray, **style: object) -> None:
    ax.stairs(values, hours, baseline=None, linewidth=2, **style)


def _axes_style(ax: plt.Axes, study: CommunityStudy, ylabel: str) -> None:
    horizon = study.inputs.horizon_h
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlim(0, horizon)
    step = 2 if horizon <= 24 else 24
    ax.set_xticks(np.arange(0, horizon + 0.1, step))
    ax.set_xlabel("hour of the day" if horizon <= 24 else "hour of the horizon")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def net_loads(study: CommunityStudy, path: Path) -> Path:
    """Fig. 2: net load (load - PV) of every building, without EVs [kW]."""
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    hours = _hours(study)
    for b, name in enumerate(study.inputs.building_names):
        _steps(ax, hours, study.inputs.net_load_kw[b], color=COLORS[b % len(COLORS)], label=name)
    _axes_style(ax, study, "net load [kW]  (< 0: PV surplus)")
    ax.set_title("Net load of the buildings (load minus PV, no EVs)")
    ax.legend(ncols=min(4, study.inputs.n_buildings), loc="upper left", fontsize=9)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def building_net_load(study: CommunityStudy, path: Path, building: int = 0) -> Path:
    """Fig. 3: one building's net load seen by the grid: baseline, individual, community [kW]."""
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    hours = _hours(study)
    cases = (
        ("baseline (no EVs)", study.baseline, "0.45", "-"),
        ("individual management", study.individual, COLORS[1], "-"),
        ("community management", study.community, COLORS[0], "--"),
    )
    for label, result, color, style in cases:
        _steps(ax, hours, result.grid_net_kw()[building], color=color, linestyle=style,
               label=label)
    name = study.inputs.building_names[building]
    _axes_style(ax, study, "grid import - export [kW]")
    ax.set_title(f"{name}: net load seen by the grid (community flows excluded)")
    ax.legend(loc="upper left", fontsize=9)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def community_flows(study: CommunityStudy, path: Path) -> Path:
    """Fig. 4: power each building imports from (> 0) or exports to (< 0) the community [kW]."""
    n = study.inputs.n_buildings
    flows = study.community.community_net_kw()
    fig, ax = plt.subplots(figsize=(9, 4.8), constrained_layout=True)
    slot_h = study.inputs.slot_h
    if study.inputs.n_slots <= 48:
        width = slot_h * 0.8 / n
        start = np.arange(study.inputs.n_slots) * slot_h + slot_h * 0.1
        for b, name in enumerate(study.inputs.building_names):
            ax.bar(start + b * width, flows[b], width=width, align="edge",
                   color=COLORS[b % len(COLORS)], label=name)
    else:  # bars of many short slots become hairlines: draw steps instead
        for b, name in enumerate(study.inputs.building_names):
            _steps(ax, _hours(study), flows[b], color=COLORS[b % len(COLORS)], label=name)
    _axes_style(ax, study, "from community (+) / to community (-) [kW]")
    traded = float(study.community.flows_kw["comm_import"].sum() * slot_h)
    ax.set_title(f"Power flows between each building and the community ({traded:.0f} kWh traded)")
    if not traded:
        ax.text(0.5, 0.5, "no energy traded in the community", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="0.3")
    ax.legend(ncols=min(4, n), loc="upper left", fontsize=9)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def write_figures(study: CommunityStudy, out_dir: Path) -> list[Path]:
    """All three figures into ``out_dir``."""
    return [
        net_loads(study, out_dir / "fig2_net_loads.png"),
        building_net_load(study, out_dir / "fig3_building1_net_load.png"),
        community_flows(study, out_dir / "fig4_community_flows.png"),
    ]
