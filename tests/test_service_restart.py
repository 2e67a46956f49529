"""Nothing lost: the service is killed (SIGKILL) in the middle of the day and started again on
the same database; everything recorded before the kill is there, the controller resumes, and
the day ends with the bill of the run that was never killed (the offline run's)."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")

from service_support import (  # noqa: E402
    OPERATOR,
    Server,
    assert_same_as_offline,
    database_url,
    offline_day,
    play_day,
)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_mid_day_loses_nothing_and_the_bill_is_unchanged(kind, tmp_path):
    offline = offline_day()
    with database_url(kind, tmp_path) as url:
        server = Server(url, tmp_path / "serve.log")
        try:
            client = server.start()
            before: dict = {}

            def kill_and_restart(slot: int):
                if slot != 50:  # 12:30, with cars connected and some already gone
                    return None
                before["sessions"] = client.get("/api/sessions", headers=OPERATOR).json()
                before["slots"] = client.get("/api/slots", headers=OPERATOR).json()
                before["status"] = client.get("/api/status", headers=OPERATOR).json()
                assert before["status"]["connected"], "the kill should find cars charging"
                server.kill()
                client.close()
                fresh = server.start()
                after = {"sessions": fresh.get("/api/sessions", headers=OPERATOR).json(),
                         "slots": fresh.get("/api/slots", headers=OPERATOR).json(),
                         "status": fresh.get("/api/status", headers=OPERATOR).json()}
                assert after["sessions"] == before["sessions"]
                assert after["slots"] == before["slots"]
                for key in ("slot", "connected", "bill_to_date", "peak_kw_so_far"):
                    assert after["status"][key] == before["status"][key], key
                assert after["status"]["replay_mismatches"] == 0
                return fresh

            charger_ids = list(client.get("/api/slots", headers=OPERATOR).json()[0]["power_kw"])
            ids = play_day(client, offline, charger_ids, before_slot=kill_and_restart)
            assert before, "the server was never killed"
            final = httpx.Client(base_url=server.base_url, timeout=60)
            assert_same_as_offline(final, offline, ids)
        finally:
            server.stop()
