"""The pool days' peaks with their EVs (``v2b.opt.daypeak``), every kWh delivered or under the
month's trade-off between the demand charge and the unmet-energy penalty."""

from __future__ import annotations

import numpy as np
import pytest

from v2b.control.mpc_peak import MonthPeakPrior
from v2b.opt.daypeak import ev_day_peaks_kw

LOAD = np.full((2, 96), 50.0)
LOAD[1, 60:64] = 80.0  # day 1 has a building peak of 80 kW
# day 0: one car asking 40 kWh in 2 hours (8 slots) on a 20 kW charger at 100 %
ONE_CAR = dict(session_day=np.array([0]), arrival_sod=np.array([40]), departure_sod=np.array([48]),
               energy_kwh=np.array([40.0]), rate_kw=20.0, efficiency=1.0)


def test_every_kwh_delivered_sets_the_days_peak():
    peaks = ev_day_peaks_kw(LOAD, **ONE_CAR)
    assert peaks == pytest.approx([70.0, 80.0])  # 40 kWh in 2 h = 20 kW on top of 50


def test_a_cheap_penalty_leaves_energy_unmet_below_the_months_peak():
    # 1 kW more peak costs 10 $, a kWh unmet 0.1 $: the car is charged only under day 1's 80 kW
    # (which the building sets anyway): 30 kW x 2 h would fit, so everything is delivered ...
    peaks = ev_day_peaks_kw(LOAD, **ONE_CAR, month_tradeoff=(10.0, 0.1))
    assert peaks[0] <= 80.0 + 1e-6 and peaks[1] == pytest.approx(80.0)
    # ... and with a flat building month, the car is left unmet rather than raise the peak
    flat = np.full((2, 96), 50.0)
    peaks = ev_day_peaks_kw(flat, **ONE_CAR, month_tradeoff=(10.0, 0.1))
    assert peaks == pytest.approx([50.0, 50.0], abs=1e-6)


def test_a_dear_penalty_delivers_everything_as_without_the_tradeoff():
    peaks = ev_day_peaks_kw(np.full((2, 96), 50.0), **ONE_CAR, month_tradeoff=(10.0, 100.0))
    assert peaks[0] == pytest.approx(70.0)


def test_the_prior_modes_come_from_the_pool():
    class Pool:
        def pool_months(self):
            keys = ("session_day", "arrival_sod", "departure_sod", "energy_kwh")
            return [(LOAD, *[ONE_CAR[k] for k in keys])]

    from helpers import tiny_site

    site = tiny_site()
    building = MonthPeakPrior.from_sampler(Pool(), site, "pool")
    tradeoff = MonthPeakPrior.from_sampler(Pool(), site, "pool-tradeoff")
    assert building.peak_kw[0].tolist() == [50.0, 80.0]
    assert tradeoff.peak_kw[0, 1] == pytest.approx(80.0)


@pytest.mark.parametrize("mode", ["pool", "pool-tradeoff"])
def test_the_prior_takes_the_pools_calendar_months_and_the_season_width(mode):
    class Pool:
        month_of_year = np.array([7])

        def pool_months(self):
            keys = ("session_day", "arrival_sod", "departure_sod", "energy_kwh")
            return [(LOAD, *[ONE_CAR[k] for k in keys])]

    from helpers import tiny_site

    prior = MonthPeakPrior.from_sampler(Pool(), tiny_site(), mode, season_months=1.5)
    assert prior.month_of_year.tolist() == [7] and prior.season_months == 1.5
