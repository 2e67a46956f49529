"""A building with its own surplus (PV): exports earn the tariff's export price, and the
controllers charge from the surplus, which costs only the export it replaces."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from helpers import tiny_site
from v2b.control.registry import make_policy
from v2b.data.errors import DataError
from v2b.episode import Episode, Session
from v2b.interface import Future, Observation
from v2b.sim import simulate
from v2b.site import SiteError, site_from_dict
from v2b.timegrid import SLOTS_PER_DAY

DATES = (dt.date(2023, 7, 14),)
LOAD = np.full(SLOTS_PER_DAY, 20.0)
LOAD[48:64] = -12.0  # 12:00-16:00 (the tiny site's dear half of the day): PV beyond the building's use
#: 08:00-16:00, 30 kWh into the battery (0.2 -> 0.7 of 60 kWh)
CAR = Session("pv", 32, 64, 60.0, 0.2, 0.7)
SURPLUS = np.r_[48:64]


class KnownDay:
    """Futures that are the day itself (a perfect forecast), so smart sees the surplus coming."""

    def sample(self, obs: Observation, n: int, rng: np.random.Generator) -> list[Future]:
        return [Future(LOAD[obs.slot_of_day :].copy(), ()) for _ in range(n)]

    def expected(self, obs: Observation) -> Future:
        return Future(LOAD[obs.slot_of_day :].copy(), ())


def _site(export: float | None):
    # no demand charge: only the energy price tells the controllers when to charge (in the cheap
    # morning at 0.1 $/kWh, or from the surplus in the afternoon, which costs the 0.04 $/kWh export)
    data = tiny_site().model_dump(exclude={"base_dir"})
    data["tariff"]["demand_charge_usd_per_kw"] = 0.0
    if export is not None:
        data["tariff"]["export_price_per_kwh"] = export
    return site_from_dict(data)


def _run(policy: str, export: float | None = 0.04):
    episode = Episode("tiny", "replay", 0, DATES, LOAD.copy(), (CAR,))
    return simulate(_site(export), episode, make_policy(policy), seed=3, futures=KnownDay(),
                    policy_options={"scenarios": 2, "load_info": "paper", "month_peak": "none"})


def test_exports_earn_the_export_price_and_nothing_without_one():
    result = _run("uncontrolled")
    total = result.trace.total_kw
    exported_kwh = float(np.maximum(-total, 0).sum() * 0.25)
    imported = float((result.trace.price_per_kwh * np.maximum(total, 0)).sum() * 0.25)
    s = result.summary
    assert exported_kwh > 0
    assert s["exported_kwh"] == pytest.approx(exported_kwh)
    assert s["export_credit_usd"] == pytest.approx(0.04 * exported_kwh)
    assert s["energy_cost_usd"] == pytest.approx(imported - 0.04 * exported_kwh)
    plain = _run("uncontrolled", export=None).summary
    assert plain["energy_cost_usd"] == pytest.approx(imported) and "export_credit_usd" not in plain


@pytest.mark.parametrize("policy", ["oracle", "smart"])
def test_the_controllers_charge_from_the_surplus(policy):
    result = _run(policy)
    ev = result.trace.power_kw.sum(axis=1)
    assert result.trace.sessions[0].soc_departure == pytest.approx(0.7, abs=1e-6)
    # every kWh it charges comes from the surplus hours (4 h x 10 kW hold the 33.3 kWh it needs;
    # it may take more there, for V2B later)
    outside = np.setdiff1d(np.arange(SLOTS_PER_DAY), SURPLUS)
    assert ev[outside].max() <= 1e-6
    assert ev[SURPLUS].sum() * 0.25 >= 30.0 / 0.9 - 1e-6
    assert result.summary["energy_cost_usd"] < _run("uncontrolled").summary["energy_cost_usd"] - 1.0


def test_the_oracles_objective_is_its_bill_with_exports():
    s = _run("oracle").summary
    assert s["building_cost_usd"] == pytest.approx(s["oracle_objective_usd"], rel=1e-7)


def test_an_export_price_above_an_import_price_is_refused():
    with pytest.raises(SiteError, match="export_price_per_kwh"):
        _site(0.15)  # the tiny site's morning price is 0.1 $/kWh
    data = tiny_site().model_dump(exclude={"base_dir"})
    data["tariff"]["export_price_per_kwh"] = 0.05
    data["tariff"]["demand_response"] = [{"name": "cheap", "start": "2023-07-14T02:00",
                                          "end": "2023-07-14T03:00", "price_adder_per_kwh": -0.08}]
    episode = Episode("tiny", "replay", 0, DATES, LOAD.copy(), (CAR,))
    with pytest.raises(DataError, match="below export_price_per_kwh"):
        simulate(site_from_dict(data), episode, make_policy("uncontrolled"))
