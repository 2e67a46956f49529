"""``v2b serve --demo``: the episode's own drivers arrive at the service and answer its menus
as the simulator's drivers would, so a new user sees the service at work with no hardware.

Right after the engine decides slot ``a - 1`` (the engine's next decision is ``a``), every
session of the test episode that arrives in slot ``a`` asks for a menu at the charger first
come, first served would give it, and answers at once with the site's simulated driver (its
own seeded stream, :func:`v2b.users.drivers.driver_rng`), as in ``v2b simulate``: on any
clock the demo's day is the offline run's day.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from v2b.episode import Session
from v2b.experiments.runner import chooser_for
from v2b.service.live import ArrivalRequest, LiveSite, ServiceError
from v2b.sim.assignment import arrival_order
from v2b.sim.engine import episode_key
from v2b.users.drivers import driver_rng

log = logging.getLogger("v2b.service.demo")


class DemoDrivers:
    """The episode's drivers, arriving at ``live`` as its engine reaches their arrival slots."""

    def __init__(self, live: LiveSite):
        self.live = live
        self.chooser = chooser_for(live.site, live.config.options)
        self.key = episode_key(live.site, live.full_episode)
        self.by_slot: dict[int, list[Session]] = {}
        for s in arrival_order(live.full_episode.sessions):
            self.by_slot.setdefault(s.arrival_slot, []).append(s)
        self.arrived = 0

    def attach(self) -> None:
        """Listen to the engine's slots, and serve the arrivals of the present one now."""
        with self.live.lock:
            self.live.slot_listeners.append(self)
            self()

    def __call__(self) -> None:
        live = self.live
        if live.sim.done:
            return
        for s in self.by_slot.get(live.sim.slot, []):
            try:
                self._arrive(s)
            except ServiceError as err:
                log.info("demo driver %s: %s", s.session_id, err.message)

    def _arrive(self, s: Session) -> None:
        live = self.live
        request = live.sim.request_for(s)
        if request is None:
            log.info("demo driver %s: every charger is busy", s.session_id)
            return
        asked = ArrivalRequest(live.charger_ids[request.charger_index], s.battery_kwh, _pct(s.soc_arrival),
                               _pct(s.soc_requested), live.clock.slot_start(s.departure_slot))
        answer, _ = live.arrive_now(asked, f"demo-{s.session_id}")
        sid = answer["session_id"]
        if sid not in live.pending:  # answered before a restart
            return
        pending = live.pending[sid]
        rng = driver_rng(live.config.seed, self.key, s.session_id)
        choice = self.chooser(pending.menu, pending.request, rng)
        live.choose_now(sid, "reject" if choice.option is None else choice.option.name, None, operator=True)
        self.arrived += 1


def _pct(fraction: float) -> Decimal:
    """``fraction`` in percent with every digit its float needs (exact at the API's edge)."""
    return Decimal(repr(fraction)).scaleb(2)
