"""Property tests: whatever a policy asks, the engine's physics keeps every limit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import tiny_site
from v2b.sim import physics
from v2b.site import site_from_dict

SITE = tiny_site(flat_curve=False)
MIN_SITE = site_from_dict(
    {**SITE.model_dump(exclude={"base_dir", "chargers"}),
     "chargers": [
         {"count": 2, "kind": "bidirectional", "max_kw": 11.0, "min_kw": -7.0, "min_charge_kw": 3.0,
          "charge_efficiency": 0.9, "discharge_efficiency": 0.85},
         {"count": 1, "kind": "unidirectional", "max_kw": 22.0, "controllable": False},
     ]}
)

finite = st.floats(-1e4, 1e4, allow_nan=False)
weird = st.one_of(finite, st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


@st.composite
def states(draw, site):
    n = len(site.charger_arrays)
    occupied = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    battery = np.array(draw(st.lists(st.floats(5, 120), min_size=n, max_size=n)))
    soc = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    floor_soc = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    asked = np.array(draw(st.lists(weird, min_size=n, max_size=n)))
    building = draw(st.floats(0, 500))
    energy = soc * battery
    return occupied, battery, energy, np.minimum(floor_soc, soc) * battery, asked, building


def check(site, state):
    occupied, battery, energy, floor, asked, building = state
    ch = site.charger_arrays
    p = physics.enforce(asked, energy, battery, floor, occupied, building, ch, site.battery)
    assert np.isfinite(p).all()
    assert (p[~occupied] == 0).all()
    assert (p <= ch.max_kw + 1e-9).all() and (p >= ch.min_kw - 1e-9).all()
    assert (p[~ch.bidirectional] >= 0).all()
    assert building + p.sum() >= -1e-9
    charging = p > 0
    assert (p[charging] >= ch.min_charge_kw[charging] - 1e-9).all()
    curve = ch.max_kw * site.battery.charge_fraction(np.clip(energy / battery, 0, 1))
    assert (p <= curve + 1e-9).all()
    after = energy + physics.energy_step_kwh(p, ch)
    assert (after[occupied] <= battery[occupied] + 1e-9).all()
    assert (after[occupied] >= floor[occupied] - 1e-9).all()


@settings(max_examples=300, deadline=None)
@given(states(SITE))
def test_enforce_keeps_every_limit(state):
    check(SITE, state)


@settings(max_examples=300, deadline=None)
@given(states(MIN_SITE))
def test_enforce_keeps_every_limit_with_minimums_and_uncontrolled_chargers(state):
    check(MIN_SITE, state)


@settings(max_examples=300, deadline=None)
@given(states(MIN_SITE), st.floats(1.0, 400.0), st.lists(st.floats(0, 48), min_size=3, max_size=3))
def test_the_site_never_draws_more_than_its_connection(state, limit_kw, slots_left):
    occupied, battery, energy, floor, asked, building = state
    ch = MIN_SITE.charger_arrays
    args = (asked, energy, battery, floor, occupied, building, ch, MIN_SITE.battery,
            energy * 0.5, np.floor(np.asarray(slots_left)))
    free = physics.enforce(*args)
    p = physics.enforce(*args, site_limit_kw=limit_kw)
    if building <= limit_kw:
        assert building + p.sum() <= limit_kw + 1e-6
    else:  # the building alone is over: nothing charges
        assert (p <= 0).all()
    assert (p <= free + 1e-9).all()  # the limit only lowers charging ...
    assert (np.minimum(p, 0) >= np.minimum(free, 0) - 1e-9).all()  # ... and never adds discharge
    charging = p > 0
    assert (p[charging] >= ch.min_charge_kw[charging] - 1e-9).all()
