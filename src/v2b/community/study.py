"""The paper's experiment: baseline, individual and community management of the same buildings.

:func:`run_study` solves the three cases; :class:`CommunityStudy` turns them into
Table I rows, self-consumption ratios, clearing tariffs and the paper's findings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.community.inputs import CommunityInputs
from v2b.community.lp import Exclusivity
from v2b.community.results import ManagementResult, manage

MWH = 1000.0


@dataclass(frozen=True)
class CommunityStudy:
    """Baseline (no EVs, individual), individual and community management of ``inputs``."""

    inputs: CommunityInputs
    baseline: ManagementResult
    individual: ManagementResult
    community: ManagementResult

    def table_rows(self) -> list[dict[str, float | str]]:
        """The paper's Table I: one row per building and a ``total`` row [EUR].

        ``*_cev`` is minus the EV revenue (the paper's sign: Obj. = C_E + C_EV column),
        ``*_obj`` is C_E + that column.
        """
        columns = {"baseline_ce": self.baseline.electricity_cost_eur}
        for name, result in (("individual", self.individual), ("community", self.community)):
            cev = -result.ev_revenue_by_building(self.inputs)
            columns[f"{name}_ce"] = result.electricity_cost_eur
            columns[f"{name}_cev"] = cev
            columns[f"{name}_obj"] = result.electricity_cost_eur + cev
        rows: list[dict[str, float | str]] = [
            {"building": name, **{key: float(values[b]) for key, values in columns.items()}}
            for b, name in enumerate(self.inputs.building_names)
        ]
        rows.append({"building": "total", **{k: float(v.sum()) for k, v in columns.items()}})
        return rows

    def self_consumption(self) -> dict[str, dict[str, float | list[float] | None]]:
        """Self-consumption ratios per management mode (see :func:`self_consumption`)."""
        out = {}
        for name, result in self.cases().items():
            per_building, whole = self_consumption(self.inputs, result)
            out[name] = {
                "per_building": [_finite_or_none(v) for v in per_building],
                "community": _finite_or_none(whole),
            }
        return out

    def cases(self) -> dict[str, ManagementResult]:
        return {"baseline": self.baseline, "individual": self.individual,
                "community": self.community}

    def clearing_summary(self) -> dict[str, object]:
        """Community tariffs from the market clearing [EUR/MWh] and Eqs. (13)-(14) checks."""
        result, tariffs = self.community, self.inputs.tariffs
        traded_kwh = result.flows_kw["comm_import"].sum(axis=0) * self.inputs.slot_h
        slots = np.flatnonzero(~np.isnan(result.clearing_import_eur_per_kwh))
        cic = result.clearing_import_eur_per_kwh[slots]
        cec = result.clearing_export_eur_per_kwh[slots]
        weights = traded_kwh[slots]
        summary: dict[str, object] = {
            "traded_mwh": float(traded_kwh.sum() / MWH),
            "trading_slots": slots.tolist(),
            "import_eur_per_mwh_by_slot": (cic * MWH).round(3).tolist(),
            "export_eur_per_mwh_by_slot": (cec * MWH).round(3).tolist(),
        }
        if slots.size:
            summary |= {
                "import_eur_per_mwh": float(np.average(cic, weights=weights) * MWH),
                "export_eur_per_mwh": float(np.average(cec, weights=weights) * MWH),
                "eq13_export_not_above_grid_export": bool(
                    (cec <= tariffs.export_eur_per_kwh[slots] + 1e-9).all()
                ),
                "eq14_import_not_above_grid_import": bool(
                    (cic <= tariffs.import_eur_per_kwh[slots] + 1e-9).all()
                ),
            }
        return summary

    def findings(self) -> dict[str, float]:
        """The paper's Section IV findings on these data [%].

        Energy added by the EVs relative to the buildings' load, net of V2B
        (``ev_consumption_increase_pct``) and gross charging (``ev_charging_gross_pct``),
        the change of grid imports, and the cost changes the paper reports.
        """
        rows = {row["building"]: row for row in self.table_rows()}
        total = rows["total"]
        load_kwh = self.inputs.load_kw.sum() * self.inputs.slot_h
        ev_kwh = self.individual.ev_power_by_building(self.inputs).sum() * self.inputs.slot_h
        charged_kwh = self.individual.ev_charge_kw.sum() * self.inputs.slot_h
        base_import = self.baseline.flows_kw["grid_import"].sum()
        ind_import = self.individual.flows_kw["grid_import"].sum()
        return {
            "ev_consumption_increase_pct": 100.0 * ev_kwh / load_kwh,
            "ev_charging_gross_pct": 100.0 * charged_kwh / load_kwh,
            "grid_import_increase_pct": 100.0 * (ind_import / base_import - 1.0),
            "ev_cost_increase_pct": _pct(total["individual_ce"], total["baseline_ce"]),
            "community_vs_individual_ce_pct": _pct(total["community_ce"], total["individual_ce"]),
            "individual_total_vs_baseline_pct": _pct(total["individual_obj"], total["baseline_ce"]),
            "community_total_vs_baseline_pct": _pct(total["community_obj"], total["baseline_ce"]),
        }

    def timings(self) -> dict[str, dict[str, float | bool | int]]:
        return {
            name: {"build_s": r.build_s, "solve_s": r.solve_s, "binaries": int(
                r.model.layout.direction_cells.shape[0]), "objective_eur": r.objective_eur}
            for name, r in self.cases().items()
        }


def self_consumption(
    inputs: CommunityInputs, result: ManagementResult
) -> tuple[np.ndarray, float]:
    """Share of PV energy used inside a building and inside the community [-].

    Building b: ``1 - (grid export + community export) / PV`` -- what its own load and
    EVs use. Community: ``1 - grid export / PV`` summed over buildings -- what any
    building of the community uses. Exports come only from PV because EVs never
    discharge into an export (see ``no_discharge_export``). NaN without PV.
    """
    dt = inputs.slot_h
    pv_kwh = inputs.pv_kw.sum(axis=1) * dt
    grid_out = result.flows_kw["grid_export"].sum(axis=1) * dt
    comm_out = result.flows_kw["comm_export"].sum(axis=1) * dt
    with np.errstate(divide="ignore", invalid="ignore"):
        per_building = np.where(pv_kwh > 0, 1.0 - (grid_out + comm_out) / pv_kwh, np.nan)
    whole = 1.0 - grid_out.sum() / pv_kwh.sum() if pv_kwh.sum() > 0 else float("nan")
    return per_building, float(whole)


def run_study(inputs: CommunityInputs, exclusivity: Exclusivity = "auto") -> CommunityStudy:
    """Solve the baseline (no EVs, individual), individual and community cases."""
    return CommunityStudy(
        inputs=inputs,
        baseline=manage(inputs.without_evs(), community=False, exclusivity=exclusivity),
        individual=manage(inputs, community=False, exclusivity=exclusivity),
        community=manage(inputs, community=True, exclusivity=exclusivity),
    )


def _pct(value: float | str, reference: float | str) -> float:
    return 100.0 * (float(value) / float(reference) - 1.0)


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
