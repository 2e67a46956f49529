"""An independent referee: re-derive every money figure of summary.json from the
run's CSV files alone, without calling v2b's billing code."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import random_episode, tiny_site
from v2b.experiments.outputs import write_run
from v2b.interface import Menu, Observation, Option, Policy
from v2b.sim import simulate


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def rederive(run_dir: Path) -> dict[str, float]:
    summary = json.loads((run_dir / "summary.json").read_text())
    tariff = summary["tariff"]
    slot_h = tariff["slot_hours"]
    slots = read_csv(run_dir / "slots.csv")
    power = read_csv(run_dir / "power.csv")
    sessions = read_csv(run_dir / "sessions.csv")

    ev_by_slot: dict[int, float] = {}
    for row in power:
        ev_by_slot[int(row["slot"])] = ev_by_slot.get(int(row["slot"]), 0.0) + float(row["power_kw"])
    energy = 0.0
    peak = 0.0
    for row in slots:
        building, ev, total = float(row["building_kw"]), float(row["ev_kw"]), float(row["total_kw"])
        assert ev == pytest.approx(ev_by_slot.get(int(row["slot"]), 0.0), abs=1e-9)
        assert total == pytest.approx(building + ev, abs=1e-9)
        energy += float(row["price_per_kwh"]) * total * slot_h
        peak = max(peak, total)
    discharged = -sum(min(float(r["power_kw"]), 0.0) for r in power) * slot_h
    unmet = delivered = payments = 0.0
    for row in sessions:
        payments += float(row["payment_usd"])
        if row["rejected"] == "True":
            continue
        battery = float(row["battery_kwh"])
        delivered += (float(row["soc_departure"]) - float(row["soc_arrival"])) * battery
        unmet += max(0.0, (float(row["soc_target"]) - float(row["soc_departure"])) * battery)
    demand = tariff["demand_charge_usd_per_kw"] * peak
    penalty = tariff["soc_penalty_usd_per_kwh"] * unmet
    degradation = tariff["degradation_usd_per_kwh"] * discharged
    return {
        "energy_cost_usd": energy,
        "demand_charge_usd": demand,
        "peak_kw": peak,
        "soc_penalty_usd": penalty,
        "degradation_usd": degradation,
        "user_payments_usd": payments,
        "utility_bill_usd": energy + demand,
        "building_cost_usd": energy + demand + penalty + degradation - payments,
        "energy_delivered_kwh": delivered,
        "discharged_kwh": discharged,
        "unmet_kwh": unmet,
    }


class ChargeAndDischarge(Policy):
    """Discharges bidirectional chargers in the afternoon, charges otherwise, and
    charges users a fixed fee plus a per-kWh price: exercises every bill term."""

    name = "mixed"

    def offer(self, obs, request):
        s = request.session
        return Menu((Option("paid", s.departure_slot, s.soc_requested, 0.5, 0.2),))

    def decide(self, obs: Observation) -> np.ndarray:
        bidi = self.ctx.site.charger_arrays.bidirectional
        sign = np.where(bidi & (obs.slot_of_day > 40), -1.0, 1.0)
        return np.where(obs.occupied, 7.0 * sign, 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_rederived_from_csvs(tmp_path, seed):
    site = tiny_site(flat_curve=False)
    run = simulate(site, random_episode(np.random.default_rng(seed)), ChargeAndDischarge(), seed=seed)
    write_run(run, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["discharged_kwh"] > 0 and summary["user_payments_usd"] > 0
    assert summary["unmet_kwh"] > 0
    for key, value in rederive(tmp_path).items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert (tmp_path / "power.png").stat().st_size > 10_000
    chargers = read_csv(tmp_path / "chargers.csv")
    assert [c["min_kw"] for c in chargers] == ["-10.0", "0.0"]


def _run_with_tariff(tmp_path: Path, episode, tariff: dict, seed: int) -> tuple[dict, list[dict[str, str]]]:
    """ChargeAndDischarge on the tiny site with ``tariff``; the summary and slots.csv."""
    from v2b.site import site_from_dict

    data = tiny_site(flat_curve=False).model_dump(exclude={"base_dir"})
    data["tariff"] = tariff
    out = tmp_path / "run"
    out.mkdir()
    write_run(simulate(site_from_dict(data), episode, ChargeAndDischarge(), seed=seed), out)
    return json.loads((out / "summary.json").read_text()), read_csv(out / "slots.csv")


def test_a_price_series_is_billed_at_its_own_prices(tmp_path):
    """A real-time price series, end to end: the energy cost re-derived from the series file as
    written here, not from the run's own price column."""

    rng = np.random.default_rng(5)
    episode = random_episode(rng)
    hourly = rng.uniform(-0.02, 0.6, size=(episode.days, 24)).round(4)  # a negative hour included
    hourly[0, 3] = -0.02
    rows = [f"{d.isoformat()}T{h:02d}:00:00,{hourly[k, h]}"
            for k, d in enumerate(episode.dates) for h in range(24)]
    (tmp_path / "prices.csv").write_text("time,price_per_kwh\n" + "\n".join(rows) + "\n")
    tariff = {"demand_charge_usd_per_kw": 10.0, "price_series": str(tmp_path / "prices.csv")}
    summary, slots = _run_with_tariff(tmp_path, episode, tariff, seed=5)
    own = [hourly[int(r["slot"]) // 96, int(r["slot"]) % 96 // 4] for r in slots]
    assert [float(r["price_per_kwh"]) for r in slots] == pytest.approx(own)
    energy = sum(p * max(float(r["total_kw"]), 0.0) * 0.25 for p, r in zip(own, slots, strict=True))
    assert summary["energy_cost_usd"] == pytest.approx(energy, rel=1e-9)
    for key, value in rederive(tmp_path / "run").items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


def test_an_on_peak_demand_charge_is_billed_on_the_windows_own_peak(tmp_path):
    """A monthly demand charge plus an on-peak one (weekdays 12:00-18:00), end to end: the
    demand charge re-derived from slots.csv with the window worked out here."""
    episode = random_episode(np.random.default_rng(9))
    tariff = tiny_site().tariff.model_dump()
    tariff["demand_charges"] = [{"name": "on-peak", "start": "12:00", "end": "18:00", "days": "weekdays",
                                 "usd_per_kw": 7.5}]
    summary, slots = _run_with_tariff(tmp_path, episode, tariff, seed=9)
    total = np.array([float(r["total_kw"]) for r in slots])
    slot_of_day = np.array([int(r["slot"]) % 96 for r in slots])
    weekday = np.array([episode.dates[int(r["slot"]) // 96].weekday() < 5 for r in slots])
    inside = weekday & (slot_of_day >= 48) & (slot_of_day < 72)
    on_peak = 7.5 * total[inside].max()
    assert summary["window_demand_charges_usd"] == {"on-peak": pytest.approx(on_peak)}
    assert summary["demand_charge_usd"] == pytest.approx(10.0 * total.max() + on_peak)
    derived = rederive(tmp_path / "run")
    assert summary["building_cost_usd"] == pytest.approx(derived["building_cost_usd"] + on_peak, rel=1e-9)


def test_a_demand_response_event_is_billed_on_the_power_inside_its_window(tmp_path):
    """A demand-response event (a limit with a penalty and an incentive, and a price adder
    after it), end to end: both re-derived from slots.csv with the window worked out here."""
    episode = random_episode(np.random.default_rng(11))
    day = episode.dates[1].isoformat()
    tariff = tiny_site().tariff.model_dump()
    tariff["demand_response"] = [
        {"name": "limit", "start": f"{day}T10:00", "end": f"{day}T13:00", "limit_kw": 15.0,
         "penalty_per_kwh": 2.0, "incentive_usd_per_kw": 3.0, "baseline_kw": 40.0},
        {"name": "adder", "start": f"{day}T17:00", "end": f"{day}T19:00", "price_adder_per_kwh": 0.4}]
    summary, slots = _run_with_tariff(tmp_path, episode, tariff, seed=11)
    slot = np.array([int(r["slot"]) for r in slots])
    total = np.array([float(r["total_kw"]) for r in slots])
    on_day, slot_of_day = slot // 96 == 1, slot % 96
    inside = on_day & (slot_of_day >= 40) & (slot_of_day < 52)
    overflow_kwh = float(np.maximum(total[inside] - 15.0, 0.0).sum() * 0.25)
    penalty = 2.0 * overflow_kwh
    incentive = 3.0 * (40.0 - 15.0) if overflow_kwh == 0 else 0.0
    assert summary["dr_penalty_usd"] == pytest.approx(penalty)
    assert summary["dr_incentive_usd"] == pytest.approx(incentive)
    adder = on_day & (slot_of_day >= 68) & (slot_of_day < 76)
    base = np.where(slot_of_day < 48, 0.1, 0.2)  # the tiny site's two periods
    own_prices = base + np.where(adder, 0.4, 0.0)
    assert [float(r["price_per_kwh"]) for r in slots] == pytest.approx(own_prices)
    energy = float(np.sum(own_prices * np.maximum(total, 0.0)) * 0.25)
    assert summary["energy_cost_usd"] == pytest.approx(energy, rel=1e-9)
    derived = rederive(tmp_path / "run")
    assert summary["building_cost_usd"] == pytest.approx(derived["building_cost_usd"] + penalty - incentive,
                                                         rel=1e-9)
