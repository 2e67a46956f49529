"""Live equals offline: a whole day of test episode 0 played through the API on the manual
clock gives the set-points, payments and bill of ``v2b simulate --policy consent --days 1``."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")

from fastapi.testclient import TestClient  # noqa: E402

from service_support import (  # noqa: E402
    OPERATOR,
    OPERATOR_TOKEN,
    SPEC,
    assert_same_as_offline,
    database_url,
    offline_day,
    play_day,
)
from v2b.service.app import create_app  # noqa: E402
from v2b.service.db import Database  # noqa: E402
from v2b.service.live import LiveSite, ServiceConfig  # noqa: E402

CONFIG = ServiceConfig(site=SPEC.site, policy=SPEC.policy, episode=SPEC.episode, seed=SPEC.seed,
                       days=SPEC.days, clock="manual", options=SPEC.options,
                       menu_deadline_s=None)  # the offline run has no deadline


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_day_through_the_api_equals_the_offline_run(kind, tmp_path):
    offline = offline_day()
    with database_url(kind, tmp_path) as url:
        db = Database(url)
        live = LiveSite(CONFIG, db)
        with TestClient(create_app(live, OPERATOR_TOKEN)) as client:
            ids = play_day(client, offline, live.charger_ids)
            served = [r for r in offline.result.trace.sessions if r.reject_reason != "no charger"]
            assert len(ids) == len(served)
            assert_same_as_offline(client, offline, ids)
        db.dispose()


def test_a_service_rebuilt_from_its_database_mid_day_ends_with_the_same_bill(tmp_path):
    """In process: stop at 12:00, build a new service on the same database, finish the day."""
    offline = offline_day()
    url = f"sqlite:///{tmp_path / 'service.sqlite'}"
    dbs = [Database(url)]
    live = LiveSite(CONFIG, dbs[0])

    def restart(slot: int):
        if slot != 48:
            return None
        dbs.append(Database(url))
        fresh = LiveSite(CONFIG, dbs[-1])
        assert fresh.sim.slot == live.sim.slot
        assert fresh.replay_mismatches == 0
        assert (fresh.sim.trace.power_kw == live.sim.trace.power_kw).all()
        return TestClient(create_app(fresh, OPERATOR_TOKEN))

    client = TestClient(create_app(live, OPERATOR_TOKEN))
    ids = play_day(client, offline, live.charger_ids, before_slot=restart)
    final = TestClient(create_app(LiveSite(CONFIG, Database(url)), OPERATOR_TOKEN))
    assert_same_as_offline(final, offline, ids)


def test_the_demo_plays_the_offline_day(tmp_path):
    """``v2b serve --demo`` (here on the manual clock): the episode's drivers arrive and answer
    as simulated, and the day ends with the offline run's set-points and bill."""
    offline = offline_day()
    db = Database(f"sqlite:///{tmp_path / 'service.sqlite'}")
    live = LiveSite(CONFIG, db)
    with TestClient(create_app(live, OPERATOR_TOKEN, demo=True)) as client:
        r = client.post("/api/clock/step", json={"slots": 95}, headers=OPERATOR)
        assert r.status_code == 200, r.text
        sessions = client.get("/api/sessions", headers=OPERATOR).json()
        ids = {}
        for rec, row in zip([r for r in offline.result.trace.sessions if r.reject_reason != "no charger"],
                            sessions, strict=True):
            ids[rec.session_id] = row["session_id"]
        assert_same_as_offline(client, offline, ids)
    db.dispose()
