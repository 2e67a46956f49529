"""Drivers: types by share, weights per driver, their own random streams, logit choice (Eq. 5)."""

from __future__ import annotations

import numpy as np
import pytest

from v2b.episode import Session
from v2b.interface import ArrivalRequest, Menu, Option
from v2b.users.choice import LogitChooser, acceptance_usd, deviation, logit_probabilities
from v2b.users.drivers import Driver, draw_driver, driver_rng
from v2b.users.types import PROFILES, UserTypesError, load_user_types, user_types_from_dict

TYPES = load_user_types("builtin:consent-survey")
REQUEST = ArrivalRequest(Session("s", 40, 70, 50.0, 0.2, 0.9), 0)


def test_acceptance_utility_by_hand():
    # 10 SoC points and 30 minutes given up: E = (0.8 - 0.2) x 50 = 30 kWh, price 0.15 $/kWh.
    option = Option("x", 72, 0.8, 0.0, 0.15)
    assert deviation(option, REQUEST) == (pytest.approx(10.0), 30.0)
    driver = Driver("t", 0.05, 0.1)
    assert acceptance_usd(option, REQUEST, driver, 0.30) == pytest.approx(0.30 * 30 - 0.15 * 30 - 0.5 - 3.0)


def test_energy_beyond_the_request_is_worth_nothing_and_leaving_early_costs_nothing():
    more = Option("x", 60, 1.0, 0.0, 0.1)  # more than asked, earlier than asked
    value = acceptance_usd(more, REQUEST, Driver("t", 0.05, 0.1), 0.30)
    assert value == pytest.approx(0.30 * 35 - 0.1 * 40)


def test_logit_probabilities():
    y = np.array([1.0, 0.0, -2.0])
    p = logit_probabilities(y, 1.0, 0.0)
    np.testing.assert_allclose(p, np.exp(y) / np.exp(y).sum())
    np.testing.assert_allclose(logit_probabilities(y + 1000.0, 1.0, 0.0), p)  # stable
    assert logit_probabilities(y, 0.0, 1e-6).tolist() == [1.0, 0.0, 0.0]  # the rational driver
    assert (logit_probabilities(np.array([0.0, -500.0]), 1.0, 1e-6) > 0).all()


def test_driver_draws_follow_the_shares_and_never_go_negative():
    drivers = [draw_driver(TYPES, np.random.default_rng(i)) for i in range(4000)]
    names = [d.type_name for d in drivers]
    shares = np.array([names.count(t.name) for t in TYPES.types]) / len(names)
    np.testing.assert_allclose(shares, TYPES.shares, atol=0.025)
    assert min(d.soc_weight_usd_per_pct for d in drivers) >= 0.0
    ii = [d for d in drivers if d.type_name == "ii"]
    assert np.mean([d.time_weight_usd_per_min for d in ii]) == pytest.approx(0.0346, abs=0.004)


def test_each_driver_has_a_stream_of_their_own():
    a = driver_rng(1, "site/test/0", "s1").random(3)
    np.testing.assert_array_equal(a, driver_rng(1, "site/test/0", "s1").random(3))
    assert not np.array_equal(a, driver_rng(1, "site/test/0", "s2").random(3))
    assert not np.array_equal(a, driver_rng(1, "site/test/1", "s1").random(3))
    assert not np.array_equal(a, driver_rng(2, "site/test/0", "s1").random(3))


def test_a_rational_driver_rejects_every_bad_option_and_takes_the_best():
    chooser = LogitChooser(TYPES, 0.30, temperature_usd=0.0)
    bad = Option("bad", 70, 0.9, 0.0, 0.50)  # 0.50 $/kWh when elsewhere costs 0.30
    good = Option("good", 70, 0.9, 0.0, 0.10)
    for seed in range(20):
        assert chooser(Menu((bad,), True), REQUEST, np.random.default_rng(seed)).option is None
        choice = chooser(Menu((bad, good), True), REQUEST, np.random.default_rng(seed))
        assert choice.option is good and choice.acceptance_usd > 0
    forced = chooser(Menu((bad,), False), REQUEST, np.random.default_rng(0))
    assert forced.option is bad and forced.acceptance_usd < 0


def test_profiles_scale_the_weights_as_the_paper_table_2():
    w1, w2 = TYPES.mean_weights()
    for name, (f1, f2) in PROFILES.items():
        m1, m2 = TYPES.with_profile(name).mean_weights()
        assert (m1, m2) == (pytest.approx(w1 * f1), pytest.approx(w2 * f2))
    with pytest.raises(UserTypesError, match="unknown user profile"):
        TYPES.with_profile("lazy")


def test_bad_type_files_name_the_field():
    good = {"name": "a", "soc_weight_usd_per_pct": 0.1, "soc_weight_sd": 0.0,
            "time_weight_usd_per_min": 0.1, "time_weight_sd": 0.0, "share": 1.0}
    with pytest.raises(UserTypesError, match=r"types\[0\].share"):
        user_types_from_dict({"types": [{**good, "share": 2.0}]}, "f.toml")
    with pytest.raises(UserTypesError, match="sum to 0.5"):
        user_types_from_dict({"types": [{**good, "share": 0.5}]}, "f.toml")
    with pytest.raises(UserTypesError, match="unknown field"):
        user_types_from_dict({"types": [{**good, "w3": 1}]}, "f.toml")
    with pytest.raises(UserTypesError, match="does not exist"):
        load_user_types("no/such/types.toml")
