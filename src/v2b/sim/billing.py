"""The building's bill and the run's metrics, computed from a trace alone.

Building cost follows CONSENT Eq. (1) minus user payments (``docs/model.md``,
"Billing and metrics"): ``energy + demand (+ demand-response penalties - incentives) +
K_SOC x unmet + K_batt x discharged - payments``. A target counts as met within ``TARGET_TOLERANCE_KWH``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from v2b.sim.trace import Trace
from v2b.site import Site
from v2b.tariff import dr_settlements, episode_demand_windows, episode_dr_limits, window_peaks_kw
from v2b.timegrid import SLOT_H


def energy_cost_usd(total_kw: np.ndarray, price_per_kwh: np.ndarray, export_price_per_kwh: float | None = None
                    ) -> float:
    """Energy cost of metered power [$]: imports at their slot's price, minus exports (the
    building's own surplus) at ``export_price_per_kwh`` (``None``: exports earn nothing)."""
    imported = float(np.sum(price_per_kwh * np.maximum(total_kw, 0.0)) * SLOT_H)
    return imported - export_credit_usd(total_kw, export_price_per_kwh)


def export_credit_usd(total_kw: np.ndarray, export_price_per_kwh: float | None) -> float:
    """What the exported energy earns [$] (0 without an export price)."""
    if export_price_per_kwh is None:
        return 0.0
    return float(export_price_per_kwh * np.sum(np.maximum(-total_kw, 0.0)) * SLOT_H)


def demand_charge_usd(total_kw: np.ndarray, demand_charge_usd_per_kw: float) -> float:
    """Monthly demand charge on the highest 15-minute average power [$]."""
    return demand_charge_usd_per_kw * float(np.max(total_kw, initial=0.0))


def bill(trace: Trace, site: Site) -> dict[str, Any]:
    """Every money and energy figure of ``summary.json`` derived from ``trace``."""
    total_kw = trace.total_kw
    served = [s for s in trace.sessions if not s.rejected]
    discharged_kwh = float(np.maximum(-trace.power_kw, 0.0).sum() * SLOT_H)
    charged_kwh = float(np.maximum(trace.power_kw, 0.0).sum() * SLOT_H)
    unmet_kwh = float(sum(s.unmet_kwh for s in served))
    delivered_kwh = float(sum(s.delivered_kwh for s in served))
    payments_usd = float(sum(s.payment_usd for s in trace.sessions))
    export_price = site.tariff.export_price_per_kwh
    energy = energy_cost_usd(total_kw, trace.price_per_kwh, export_price)
    windows = episode_demand_windows(site, trace.dates)
    window_usd = {w.name: w.usd_per_kw * peak for w, peak in zip(windows, window_peaks_kw(total_kw, windows),
                                                                  strict=True)}
    demand = demand_charge_usd(total_kw, site.tariff.demand_charge_usd_per_kw) + sum(window_usd.values())
    dr = _dr_figures(dr_settlements(total_kw, episode_dr_limits(site, trace.dates)))
    dr_net = dr.get("demand_response_usd", 0.0)
    soc_penalty = site.penalties.soc_penalty_usd_per_kwh * unmet_kwh
    degradation = site.penalties.degradation_usd_per_kwh * discharged_kwh
    users = len(trace.sessions)
    rejected = sum(1 for s in trace.sessions if s.rejected)
    no_charger = sum(1 for s in trace.sessions if s.reject_reason == "no charger")
    declined = sum(1 for s in trace.sessions if s.reject_reason == "declined")
    return {
        "energy_cost_usd": energy,
        "demand_charge_usd": demand,
        "peak_kw": float(np.max(total_kw, initial=0.0)),
        "soc_penalty_usd": soc_penalty,
        "degradation_usd": degradation,
        "user_payments_usd": payments_usd,
        "building_cost_usd": energy + demand + dr_net + soc_penalty + degradation - payments_usd,
        "utility_bill_usd": energy + demand + dr_net,
        "energy_delivered_kwh": delivered_kwh,
        "charged_kwh": charged_kwh,
        "discharged_kwh": discharged_kwh,
        "unmet_kwh": unmet_kwh,
        "users": users,
        "rejected": rejected,
        "rejected_no_charger": no_charger,
        "rejected_declined": declined,
        "reject_rate": rejected / users if users else 0.0,
        "reject_rate_no_charger": no_charger / users if users else 0.0,
        "reject_rate_declined": declined / users if users else 0.0,
        "targets_met_share": sum(s.target_met for s in served) / len(served) if served else 1.0,
        "left_below_arrival": sum(1 for s in served if s.soc_departure < s.soc_arrival - 1e-9),
        "user_cost_usd_per_kwh": payments_usd / delivered_kwh if delivered_kwh > 0 else 0.0,
        **_limit_figures(trace, site.connection_limit_kw),
        **({"window_demand_charges_usd": window_usd} if window_usd else {}),
        **dr,
        **(_export_figures(total_kw, export_price) if export_price is not None else {}),
    }


def _export_figures(total_kw: np.ndarray, export_price_per_kwh: float) -> dict[str, float]:
    """With an export price: the energy exported and what it earned (inside ``energy_cost_usd``)."""
    exported_kwh = float(np.sum(np.maximum(-total_kw, 0.0)) * SLOT_H)
    return {"export_credit_usd": export_price_per_kwh * exported_kwh, "exported_kwh": exported_kwh}


def _dr_figures(settled: list[dict]) -> dict[str, Any]:
    """Demand-response money: penalties for energy above a limit, incentives for events kept
    (nothing without an event)."""
    if not settled:
        return {}
    penalty = float(sum(e["penalty_usd"] for e in settled))
    incentive = float(sum(e["incentive_usd"] for e in settled))
    return {
        "dr_penalty_usd": penalty,
        "dr_incentive_usd": incentive,
        "demand_response_usd": penalty - incentive,
        "dr_events": settled,
    }


def _limit_figures(trace: Trace, limit_kw: float | None) -> dict[str, Any]:
    """With a connection limit: the slots the site drew at it, and those the building alone
    passed it (no charger can help there)."""
    if limit_kw is None:
        return {}
    return {
        "site_limit_kw": limit_kw,
        "slots_at_site_limit": int(np.sum(trace.total_kw >= limit_kw - 1e-6)),
        "slots_building_over_limit": int(np.sum(trace.building_kw > limit_kw + 1e-9)),
        "max_import_kw": float(np.max(trace.total_kw, initial=0.0)),
    }


def tariff_summary(site: Site) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slot_hours": SLOT_H,
        "demand_charge_usd_per_kw": site.tariff.demand_charge_usd_per_kw,
        "soc_penalty_usd_per_kwh": site.penalties.soc_penalty_usd_per_kwh,
        "degradation_usd_per_kwh": site.penalties.degradation_usd_per_kwh,
    }
    if site.tariff.demand_charges:
        out["demand_charges"] = [c.model_dump() for c in site.tariff.demand_charges]
    return out
