"""The service's clock: site time, and how it moves (``--clock realtime|manual|x60``).

Site time is an aware datetime in the site's time zone. Episode slot ``k`` starts at
``origin + k x 15 minutes`` (``origin``: midnight of the service's first day). The clock
only says what time it is; the service advances its engine up to it.

- ``realtime``: site time is the wall clock (the first day is the day the database was
  created).
- ``x60``: site time runs 60 times faster than the wall clock from the moment the database
  was created (a day in 24 minutes), starting at the first day of the episode.
- ``manual``: site time moves only when told (``POST /api/clock/step``), one slot at a
  time, starting at the first day of the episode; tests and demos.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from v2b.errors import UserError
from v2b.timegrid import SLOT_MINUTES

CLOCKS = ("realtime", "manual", "x60")

#: How much faster than the wall clock each clock runs (manual: not at all).
SPEED = {"realtime": 1.0, "x60": 60.0, "manual": 0.0}

SLOT = dt.timedelta(minutes=SLOT_MINUTES)


class ClockError(UserError):
    """An unknown clock, or a time the clock cannot place."""


def check_clock(kind: str) -> str:
    if kind not in CLOCKS:
        raise ClockError(f"--clock {kind!r} is not one of {', '.join(CLOCKS)}")
    return kind


def midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)


class Clock:
    """Site time of one service.

    Parameters
    ----------
    kind : str
        ``realtime``, ``manual`` or ``x60``.
    origin : datetime
        Site time of slot 0's start (aware).
    wall_origin_s : float
        Wall time [Unix seconds] at which site time was ``origin`` (``realtime``, ``x60``).
    manual_slot : int
        The current slot of a manual clock.
    wall : callable, optional
        The wall clock [Unix seconds]; ``time.time`` by default (tests replace it).
    """

    def __init__(self, kind: str, origin: dt.datetime, wall_origin_s: float = 0.0, manual_slot: int = 0,
                 wall: Callable[[], float] = time.time):
        if origin.tzinfo is None:
            raise ClockError(f"clock origin {origin.isoformat()} has no time zone")
        self.kind = check_clock(kind)
        self.origin = origin
        self.wall_origin_s = wall_origin_s
        self.manual_slot = manual_slot
        self._wall = wall

    @property
    def zone(self) -> dt.tzinfo:
        assert self.origin.tzinfo is not None
        return self.origin.tzinfo

    def now(self) -> dt.datetime:
        """The current site time."""
        if self.kind == "manual":
            return self.slot_start(self.manual_slot)
        elapsed_s = (self._wall() - self.wall_origin_s) * SPEED[self.kind]
        return self._local(self.origin + dt.timedelta(seconds=elapsed_s))

    def _local(self, moment: dt.datetime) -> dt.datetime:
        # Arithmetic on aware datetimes is wall-clock arithmetic in Python; go through UTC so
        # that a slot is always 15 real minutes, across daylight-saving changes too.
        return moment.astimezone(dt.UTC).astimezone(self.zone)

    def slot_start(self, slot: int) -> dt.datetime:
        """Site time at which ``slot`` starts."""
        return self._local(self.origin.astimezone(dt.UTC) + slot * SLOT)

    def slot_at(self, moment: dt.datetime) -> int:
        """The slot ``moment`` falls in (may be negative or past the episode)."""
        return math.floor(self._minutes(moment) / SLOT_MINUTES)

    def slot_ending_by(self, moment: dt.datetime) -> int:
        """The first slot that starts at or after ``moment`` (a departure at ``moment``
        leaves in the slot before: the car is connected up to it, exclusive)."""
        return math.ceil(self._minutes(moment) / SLOT_MINUTES)

    def _minutes(self, moment: dt.datetime) -> float:
        if moment.tzinfo is None:
            raise ClockError(f"time {moment.isoformat()} has no UTC offset")
        # through UTC: two times in the same zone subtract as wall-clock times in Python
        return (moment.astimezone(dt.UTC) - self.origin.astimezone(dt.UTC)).total_seconds() / 60.0

    def wall_seconds_until(self, moment: dt.datetime) -> float:
        """Wall seconds until site time reaches ``moment`` (infinite on a manual clock)."""
        if self.kind == "manual":
            return math.inf
        gap = moment.astimezone(dt.UTC) - self.now().astimezone(dt.UTC)
        return gap.total_seconds() / SPEED[self.kind]
