"""``v2b serve --demo``: the episode's own drivers arrive at the service and answer its menus
as the simulator's drivers would, so a new user sees the service at work with no hardware.

Each session of the test episode arrives while the clock is in the slot before its arrival
slot (the engine's next decision is its arrival slot), takes the charger first come, first
served would give it, and answers with the site's simulated driver (its own seeded stream,
:func:`v2b.users.drivers.driver_rng`), as in ``v2b simulate``.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal

from v2b.experiments.runner import chooser_for
from v2b.service.live import ArrivalRequest, LiveSite, ServiceError
from v2b.sim.assignment import arrival_order
from v2b.sim.engine import episode_key
from v2b.users.drivers import driver_rng

log = logging.getLogger("v2b.service.demo")


class DemoDrivers:
    """A thread that plays the episode's arrivals against ``live`` on its own clock."""

    def __init__(self, live: LiveSite):
        self.live = live
        self.chooser = chooser_for(live.site, live.config.options)
        self.key = episode_key(live.site, live.full_episode)
        self.sessions = arrival_order(live.full_episode.sessions)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="v2b-demo", daemon=True)
        self.arrived = 0

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _run(self) -> None:
        live = self.live
        for s in self.sessions:
            while not self.stop.is_set() and live.sim.slot < s.arrival_slot and not live.sim.done:
                self.stop.wait(min(max(live.seconds_to_next_decision(), 0.05), 1.0))
                live.tick()
            if self.stop.is_set() or live.sim.done:
                return
            if live.sim.slot > s.arrival_slot:
                continue  # the service started later than this arrival (a restart): it is gone
            try:
                self._arrive(s)
            except ServiceError as err:
                log.info("demo driver %s: %s", s.session_id, err.message)

    def _arrive(self, s) -> None:
        live = self.live
        with live.lock:
            request = live.sim.request_for(s)
            if request is None:
                log.info("demo driver %s: every charger is busy", s.session_id)
                return
            departure = live.clock.slot_start(s.departure_slot)
            answer, _ = live.arrive(ArrivalRequest(
                live.charger_ids[request.charger_index], s.battery_kwh, _pct(s.soc_arrival),
                _pct(s.soc_requested), departure), f"demo-{s.session_id}")
            sid = answer["session_id"]
            if sid not in live.pending:
                return
            pending = live.pending[sid]
            rng = driver_rng(live.config.seed, self.key, s.session_id)
            choice = self.chooser(pending.menu, pending.request, rng)
            live.choose(sid, "reject" if choice.option is None else choice.option.name, None, operator=True)
            self.arrived += 1


def _pct(fraction: float) -> Decimal:
    return Decimal(repr(fraction)).scaleb(2)
