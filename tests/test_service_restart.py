"""Nothing lost: the service is killed (SIGKILL) in the middle of the day and started again on
the same database; everything recorded before the kill is there, the controller resumes, and
the day ends with the bill of the run that was never killed (the offline run's)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service needs the [serve] extra (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")

from service_support import (  # noqa: E402
    OPERATOR,
    OPERATOR_TOKEN,
    SPEC,
    assert_same_as_offline,
    database_url,
    offline_day,
    play_day,
)

SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``v2b serve`` in a subprocess on a free port."""

    def __init__(self, db_url: str, log: Path):
        self.db_url, self.log = db_url, log
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> httpx.Client:
        env = {**os.environ, "V2B_OPERATOR_TOKEN": OPERATOR_TOKEN,
               "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
        cmd = [sys.executable, "-m", "v2b", "serve", "--site", SPEC.site, "--policy", SPEC.policy,
               "--episode", str(SPEC.episode), "--seed", str(SPEC.seed), "--days", str(SPEC.days),
               "--clock", "manual", "--db", self.db_url, "--port", str(self.port)]
        with self.log.open("a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        client = httpx.Client(base_url=self.base_url, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"v2b serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if client.get("/api/health").status_code == 200:
                    return client
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"v2b serve did not answer in 120 s:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
