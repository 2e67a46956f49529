"""The time grid every part of v2b shares: 15-minute slots, 96 per day.

Episodes are billing months of weekdays laid end to end, so slot ``t`` of an
episode falls on day ``t // SLOTS_PER_DAY`` at slot-of-day ``t % SLOTS_PER_DAY``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

SLOT_MINUTES = 15
SLOT_H = SLOT_MINUTES / 60.0
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES


def slot_of_day(slot: int | np.ndarray) -> int | np.ndarray:
    """Slot index within its day (0..95)."""
    return slot % SLOTS_PER_DAY


def day_of(slot: int | np.ndarray) -> int | np.ndarray:
    """Day index within the episode."""
    return slot // SLOTS_PER_DAY


def end_of_day(slot: int) -> int:
    """First slot of the next day: the exclusive end of ``slot``'s day."""
    return (slot // SLOTS_PER_DAY + 1) * SLOTS_PER_DAY


def clip_departure_slot(arrival_slot: int, departure_slot: int, latest_slot: int | None = None) -> int:
    """A departure the engine can apply: after arrival, by the end of the arrival's day
    (``docs/model.md``, "Time and episodes": every EV leaves by the end of its day), or by
    ``latest_slot`` where cars may stay overnight (an episode's end)."""
    latest = end_of_day(arrival_slot) if latest_slot is None else latest_slot
    return int(min(max(departure_slot, arrival_slot + 1), latest))


def slot_to_clock(slot: int) -> str:
    """``"HH:MM"`` of the start of ``slot`` (its slot of day), the inverse of :func:`clock_to_slot`."""
    minutes = int(slot) % SLOTS_PER_DAY * SLOT_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def clock_to_slot(text: str) -> int:
    """Parse ``"HH:MM"`` (``"24:00"`` allowed) into a slot of day, rounding down."""
    hours, minutes = text.split(":")
    total = int(hours) * 60 + int(minutes)
    if not 0 <= total <= 24 * 60:
        raise ValueError(f"time of day {text!r} is outside 00:00..24:00")
    return total // SLOT_MINUTES


def slot_start(dates: list[dt.date], slot: int) -> dt.datetime:
    """Wall-clock start of episode slot ``slot`` given the episode's dates."""
    day = dates[slot // SLOTS_PER_DAY]
    minutes = (slot % SLOTS_PER_DAY) * SLOT_MINUTES
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
