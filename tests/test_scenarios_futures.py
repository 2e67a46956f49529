"""Futures from the sampling pool: conditioning on the observation, determinism, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from v2b.interface import Observation
from v2b.scenarios import site_scenarios
from v2b.scenarios.futures import RATIO_HIGH, RATIO_LOW
from v2b.site import load_site
from v2b.timegrid import SLOTS_PER_DAY


@pytest.fixture(scope="module")
def sc():
    return site_scenarios(load_site("santa-clara-office"))


def observation(load_today_kw: np.ndarray, day: int, n_chargers: int = 15,
                known: bool = True) -> Observation:
    """The paper's knowledge (``known``: the last value is the slot being decided) or a
    meter's (the slot being decided comes after the values given)."""
    k = load_today_kw.size - 1 if known else load_today_kw.size
    zeros = np.zeros(n_chargers)
    return Observation(
        slot=day * SLOTS_PER_DAY + k,
        day=day,
        slot_of_day=k,
        episode_days=21,
        load_today_kw=load_today_kw,
        peak_so_far_kw=0.0,
        occupied=zeros.astype(bool),
        session_ids=("",) * n_chargers,
        energy_kwh=zeros,
        battery_kwh=zeros,
        target_kwh=zeros,
        floor_kwh=zeros,
        arrival_slot=zeros - 1,
        departure_slot=zeros - 1,
        departure_floor_kwh=zeros,
        current_load_known=known,
        last_load_kw=float(load_today_kw[-1]) if load_today_kw.size else float("nan"),
    )


@pytest.mark.parametrize("k", [0, 1, 30, 47, 80, 95])
def test_futures_are_conditioned_on_the_observation(sc, k):
    ep = sc.test_episode(0)
    day = 4
    obs = observation(ep.load_kw[day * SLOTS_PER_DAY : day * SLOTS_PER_DAY + k + 1], day)
    futures = sc.future_sampler().sample(obs, 30, np.random.default_rng(5))
    assert len(futures) == 30
    end_of_day = (day + 1) * SLOTS_PER_DAY
    for f in futures:
        assert f.load_kw.shape == (SLOTS_PER_DAY - k,)
        assert f.load_kw[0] == obs.load_today_kw[-1]
        assert (f.load_kw > 0).all()
        for s in f.arrivals:
            assert s.arrival_slot > obs.slot
            assert s.arrival_slot < s.departure_slot <= end_of_day
            assert 0 <= s.soc_arrival <= s.soc_requested <= 1
        ids = [s.session_id for s in f.arrivals]
        assert len(set(ids)) == len(ids)
    if k == 95:
        assert all(not f.arrivals for f in futures)


def test_load_is_rescaled_to_todays_level(sc):
    """Ratio = today's load so far / the pool day's load in the same slots, bounded."""
    sampler = sc.future_sampler()
    k = 40
    for factor in (1.3, 10.0, 0.01):
        obs = observation(sampler.load_kw[0, : k + 1] * factor, day=0)
        futures = sampler.sample(obs, 50, np.random.default_rng(0))
        drawn = np.random.default_rng(0).integers(sampler.n_days, size=50)  # same draws
        for f, d in zip(futures, drawn, strict=True):
            ratio = obs.load_today_kw.sum() / sampler.load_kw[d, : k + 1].sum()
            expected = np.clip(ratio, RATIO_LOW, RATIO_HIGH)
            np.testing.assert_allclose(f.load_kw[1:], sampler.load_kw[d, k + 1 :] * expected)
    assert sampler.sample(observation(sampler.load_kw[0, :5] * 10, 0), 1, np.random.default_rng(0))


def test_same_generator_same_futures(sc):
    ep = sc.test_episode(1)
    obs = observation(ep.load_kw[:40], day=0)
    sampler = sc.future_sampler()
    a = sampler.sample(obs, 10, np.random.default_rng(3))
    b = sampler.sample(obs, 10, np.random.default_rng(3))
    assert [f.arrivals for f in a] == [f.arrivals for f in b]
    assert all(np.array_equal(x.load_kw, y.load_kw) for x, y in zip(a, b, strict=True))


def test_futures_come_from_the_pool_only(sc):
    """No future carries a test episode's session: ids name pool episodes."""
    obs = observation(sc.test_episode(0).load_kw[:20], day=2)
    futures = sc.future_sampler().sample(obs, 50, np.random.default_rng(9))
    ids = [s.session_id for f in futures for s in f.arrivals]
    assert ids and all(i.split("-")[1].startswith("p") for i in ids)
    pool_ids = {int(i.split("-")[1][1:]) for i in ids}
    assert max(pool_ids) < sc.n_pool


def test_expected_future(sc):
    sampler = sc.future_sampler()
    obs = observation(sc.test_episode(0).load_kw[:33], day=1)
    f = sampler.expected(obs)
    assert f.load_kw.shape == (SLOTS_PER_DAY - 32,) and f.load_kw[0] == obs.load_today_kw[-1]
    assert all(s.arrival_slot > obs.slot for s in f.arrivals)
    samples = sampler.sample(obs, 400, np.random.default_rng(1))
    mean_count = np.mean([len(s.arrivals) for s in samples])
    assert abs(len(f.arrivals) - mean_count) <= max(2.0, 0.25 * mean_count)
    again = sampler.expected(obs)
    assert again.arrivals == f.arrivals and np.array_equal(again.load_kw, f.load_kw)


def test_sampling_is_fast(sc):
    sampler = sc.future_sampler()
    obs = observation(sc.test_episode(0).load_kw[:29], day=3)
    rng = np.random.default_rng(0)
    sampler.sample(obs, 30, rng)
    start = time.perf_counter()
    for _ in range(20):
        sampler.sample(obs, 30, rng)
    # Measured 0.3-1.1 ms per call here; the bound leaves room for a loaded CI machine.
    assert (time.perf_counter() - start) / 20 < 0.025


@pytest.mark.parametrize("k", [1, 40, 95])
def test_with_measured_load_the_coming_slot_is_sampled_from_the_pools_steps(sc, k):
    sampler = sc.future_sampler()
    measured = sc.test_episode(0).load_kw[2 * SLOTS_PER_DAY : 2 * SLOTS_PER_DAY + k]
    obs = observation(measured, day=2, known=False)
    assert obs.slot_of_day == k
    futures = sampler.sample(obs, 200, np.random.default_rng(4))
    first = np.array([f.load_kw[0] for f in futures])
    drawn = np.random.default_rng(4).integers(sampler.n_days, size=200)
    move = sampler.load_kw[drawn, k] / sampler.load_kw[drawn, k - 1]
    np.testing.assert_allclose(first, measured[-1] * np.clip(move, 0.1, 10.0))
    assert first.std() > 0  # the futures disagree about the slot nobody has measured yet


def test_before_any_measurement_the_pool_value_is_kept(sc):
    sampler = sc.future_sampler()
    obs = observation(np.zeros(0), day=0, known=False)
    assert obs.slot_of_day == 0 and np.isnan(obs.last_load_kw)
    futures = sampler.sample(obs, 5, np.random.default_rng(2))
    drawn = np.random.default_rng(2).integers(sampler.n_days, size=5)
    np.testing.assert_allclose([f.load_kw[0] for f in futures], sampler.load_kw[drawn, 0])


def test_the_sampled_coming_slot_is_calibrated_on_test_months(sc):
    # How often the real load of the slot being decided exceeds the largest of 30 samples,
    # over the working hours of two test months: 1/31 = 3.2 % if exactly calibrated
    # (docs/model.md, "What is known of the load"). Five months measured 3.4 %.
    sampler, rng, above, n = sc.future_sampler(), np.random.default_rng(0), 0, 0
    for e in range(2):
        load = sc.test_episode(e).load_kw
        for t in range(1, load.size):
            k = t % SLOTS_PER_DAY
            if not 24 <= k <= 72:
                continue
            obs = observation(load[t - k : t], day=t // SLOTS_PER_DAY, known=False)
            first = [f.load_kw[0] for f in sampler.sample(obs, 30, rng)]
            above += load[t] > max(first)
            n += 1
    assert 0.01 <= above / n <= 0.06


def test_the_coming_slot_from_similar_days_is_sharper_and_still_calibrated(sc):
    # The samples the LP's expected-excess term uses (docs/model.md, "What is known of the
    # load"): moves of the pool days shaped most like today so far. Over the working hours of
    # test months 0-9, their 95 % quantile must be exceeded about 5 % of the time (calibrated)
    # and keep less headroom than the same quantile over every pool day.
    sampler = sc.future_sampler()
    everyday = np.arange(sampler.n_days)
    exceeded = {"similar": [], "all": []}
    headroom = {"similar": [], "all": []}
    for e in range(10):
        load = sc.test_episode(e).load_kw
        for t in range(1, load.size):
            k = t % SLOTS_PER_DAY
            if not 24 <= k < 76:
                continue
            obs = observation(load[t - k : t], day=t // SLOTS_PER_DAY, known=False)
            similar = np.quantile(sampler.coming_slot_samples_kw(obs), 0.95)
            moved = np.clip(sampler.load_kw[everyday, k] / sampler.load_kw[everyday, k - 1], 0.1, 10.0)
            every = np.quantile(obs.last_load_kw * moved, 0.95)
            for name, q in (("similar", similar), ("all", every)):
                exceeded[name].append(load[t] > q)
                headroom[name].append(q - load[t])
    share = {k: float(np.mean(v)) for k, v in exceeded.items()}
    kept = {k: float(np.mean(np.array(headroom[k])[~np.array(v)])) for k, v in exceeded.items()}
    print(f"exceeded {share}, headroom kept [kW] {kept}")
    assert 0.035 <= share["similar"] <= 0.07
    assert kept["similar"] < 0.9 * kept["all"]
    assert sampler.similar_days(observation(load[:0], day=0, known=False)).size == sampler.n_days


def test_futures_drawn_among_the_similar_days_come_from_those_days_only(sc):
    sampler = sc.future_sampler()
    load = sc.test_episode(1).load_kw
    obs = observation(load[:40], day=0, known=True)
    near = set(sampler.similar_days(obs, 10).tolist())
    futures = sampler.sample(obs, 30, np.random.default_rng(2), among=10)
    # each future's load after the current slot is one of the ten days', rescaled by one ratio
    for f in futures:
        rest = np.asarray(f.load_kw[1:])
        after = SLOTS_PER_DAY - rest.size
        shapes = {d: sampler.load_kw[d, after:] / sampler.load_kw[d, after:].mean() for d in near}
        fits = [d for d, shape in shapes.items() if np.allclose(rest / rest.mean(), shape)]
        assert len(fits) >= 1
    # without ``among`` the same generator draws from the whole pool, as before
    a = sampler.sample(obs, 5, np.random.default_rng(3))
    b = sampler.sample(obs, 5, np.random.default_rng(3), among=None)
    assert all(np.array_equal(x.load_kw, y.load_kw) for x, y in zip(a, b, strict=True))


def test_the_pool_knows_each_months_calendar_month(sc):
    sampler = sc.future_sampler()
    months = [sc.pool_episode(i).dates[0].month for i in range(sc.n_pool)]
    assert sampler.month_of_year.tolist() == months and len(set(months)) > 6
