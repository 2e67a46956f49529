"""Generated and replayed episodes: determinism, invariants, save/load, user data sites."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from v2b.episode import Episode
from v2b.scenarios import GenerativeModel, generate_episode, site_scenarios
from v2b.scenarios.site import SiteScenarios
from v2b.site import load_site, site_from_dict
from v2b.timegrid import SLOTS_PER_DAY


@pytest.fixture(scope="module")
def default():
    return site_scenarios(load_site("santa-clara-office"))


def digest(ep: Episode) -> str:
    h = hashlib.sha256(ep.load_kw.tobytes())
    h.update(repr((ep.dates, ep.sessions)).encode())
    return h.hexdigest()


def test_counts_follow_the_site(default):
    assert (default.n_pool, default.n_test) == (50, 50)
    assert default.n_replay >= 12
    with pytest.raises(IndexError):
        default.test_episode(50)


def test_same_seed_same_episode_byte_for_byte(default):
    fresh = SiteScenarios(default.site, default.model, default.sessions)
    assert digest(fresh.test_episode(7)) == digest(default.test_episode(7))
    assert digest(default.test_episode(7)) != digest(default.test_episode(8))
    assert digest(default.pool_episode(0)) != digest(default.test_episode(0))


def test_episode_is_identical_in_another_process(default):
    code = (
        "from v2b.site import load_site; from v2b.scenarios import site_scenarios;"
        "import hashlib;"
        "ep = site_scenarios(load_site('santa-clara-office')).test_episode(3);"
        "h = hashlib.sha256(ep.load_kw.tobytes()); h.update(repr((ep.dates, ep.sessions)).encode());"
        "print(h.hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == digest(default.test_episode(3))


def check_invariants(ep: Episode) -> None:
    assert all(d.weekday() < 5 for d in ep.dates)
    assert len({(d.year, d.month) for d in ep.dates}) == 1
    assert ep.load_kw.shape == (ep.days * SLOTS_PER_DAY,) and (ep.load_kw > 0).all()
    ids = [s.session_id for s in ep.sessions]
    assert len(set(ids)) == len(ids)
    for s in ep.sessions:
        day = s.arrival_slot // SLOTS_PER_DAY
        assert s.departure_slot > s.arrival_slot
        assert s.departure_slot <= (day + 1) * SLOTS_PER_DAY
        assert 0.0 <= s.soc_arrival <= s.soc_requested <= 1.0
        assert s.battery_kwh > 0
        assert s.requested_kwh <= s.battery_kwh
        assert s.session_id.startswith(f"d{day:02d}-s")


def test_invariants_over_all_generated_episodes(default):
    per_day = []
    for i in range(default.n_test):
        ep = default.test_episode(i)
        check_invariants(ep)
        per_day.append(len(ep.sessions) / ep.days)
    for i in range(default.n_pool):
        check_invariants(default.pool_episode(i))
    assert np.mean(per_day) == pytest.approx(default.site.sessions.arrivals_per_day, rel=0.1)


def test_invariants_of_replay_months(default):
    for i in range(default.n_replay):
        ep = default.replay_episode(i)
        check_invariants(ep)
        year, month = default.replay_month(i)
        assert ep.dates[0].year == year and ep.dates[0].month == month
    rates = [len(e.sessions) / e.days for e in map(default.replay_episode, range(3))]
    assert max(rates) <= default.site.sessions.arrivals_per_day * 1.3


def test_load_scale_multiplies_the_load(default):
    scale = 2 * default.site.load.scale
    load = default.site.load.model_copy(update={"scale": scale})
    doubled = SiteScenarios(default.site.model_copy(update={"load": load}), default.model, default.sessions)
    np.testing.assert_allclose(doubled.test_episode(2).load_kw, 2 * default.test_episode(2).load_kw)


def test_model_save_load_round_trip(default, tmp_path):
    json_path, npz_path = default.model.save(tmp_path / "model.json")
    assert json_path.read_text().startswith("{") and npz_path.exists()
    loaded = GenerativeModel.load(json_path)
    kwargs = {"arrivals_per_day": 20.0, "load_scale": 0.1}
    a = generate_episode(default.model, np.random.default_rng([1, 2]), **kwargs)
    b = generate_episode(loaded, np.random.default_rng([1, 2]), **kwargs)
    np.testing.assert_array_equal(a.load_kw, b.load_kw)
    assert a.session_ids == b.session_ids
    np.testing.assert_array_equal(a.soc_arrival, b.soc_arrival)
    np.testing.assert_array_equal(a.departure_slot, b.departure_slot)


def test_model_load_rejects_other_json(tmp_path):
    from v2b.data.errors import DataError

    path = tmp_path / "x.json"
    path.write_text('{"format": "something"}')
    with pytest.raises(DataError, match="not a v2b generative model"):
        GenerativeModel.load(path)


def test_site_with_user_files(tmp_path):
    """A site whose sessions (plain CSV with SoC) and load (30-min CSV) are user files."""
    rows = ["arrival,departure,energy_kwh,battery_kwh,soc_arrival,soc_requested"]
    rng = np.random.default_rng(0)
    for day in range(2, 28):
        if dt.date(2023, 1, day).weekday() >= 5:
            continue
        for k in range(6):
            hour = 7 + k
            rows.append(
                f"2023-01-{day:02d}T{hour:02d}:10,2023-01-{day:02d}T{hour + 5:02d}:40,"
                f"{24.0:.1f},60,{0.4:.1f},{0.8:.1f}"
            )
    (tmp_path / "sessions.csv").write_text("\n".join(rows) + "\n")
    times = np.arange(np.datetime64("2023-01-02T00:00"), np.datetime64("2023-02-01T00:00"), 30)
    kw = 50 + 30 * rng.random(times.size)
    lines = ["timestamp,kw"] + [f"{t},{v:.3f}" for t, v in zip(times.astype(str), kw, strict=True)]
    (tmp_path / "load.csv").write_text("\n".join(lines) + "\n")
    site = site_from_dict(
        {
            "name": "user-site",
            "chargers": [{"count": 2, "kind": "unidirectional", "max_kw": 7.0}],
            "tariff": {
                "demand_charge_usd_per_kw": 10.0,
                "energy": [{"name": "flat", "start": "00:00", "end": "24:00", "price_per_kwh": 0.2}],
            },
            "load": {"source": "load.csv", "scale": 1.0},
            "sessions": {"source": "sessions.csv", "format": "plain", "arrivals_per_day": 4.0},
            "scenarios": {"seed": 1, "episodes": 6, "pool": 3},
        },
        base_dir=str(tmp_path),
    )
    sc = site_scenarios(site)
    assert (sc.n_pool, sc.n_test, sc.n_replay) == (3, 3, 1)
    ep = sc.test_episode(0)
    check_invariants(ep)
    # the data's own battery and SoC travel with the drawn stays
    assert {s.battery_kwh for s in ep.sessions} == {60.0}
    assert {round(s.soc_arrival, 6) for s in ep.sessions} == {0.4}
    assert ep.load_kw.min() >= 50 * 0.5
    check_invariants(sc.replay_episode(0))
