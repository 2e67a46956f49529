"""The planning grid: the LP's time steps, one slot each near the present and
coarser blocks further out ("move blocking").

A block is a run of consecutive 15-minute slots over which every set-point is
held constant. The first block is always the current slot alone, because that is
the decision the controller applies; later blocks may span several slots to make
the LP smaller (``docs/model.md``, "Controller: planning grid").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from v2b.timegrid import SLOT_H


@dataclass(frozen=True)
class TimeGrid:
    """Consecutive blocks covering ``horizon_slots`` slots from the current slot.

    Parameters
    ----------
    block_slots : ndarray of int
        Length of each block [slots]; the first is 1.
    """

    block_slots: np.ndarray

    def __post_init__(self) -> None:
        if self.block_slots.ndim != 1 or self.block_slots.size == 0:
            raise ValueError("a time grid needs at least one block")
        if self.block_slots[0] != 1 or (self.block_slots < 1).any():
            raise ValueError(f"block lengths {self.block_slots} must be >= 1 and start with 1")

    @property
    def n_blocks(self) -> int:
        return int(self.block_slots.size)

    @property
    def horizon_slots(self) -> int:
        return int(self.block_slots.sum())

    @property
    def starts(self) -> np.ndarray:
        """First slot of each block, relative to the current slot."""
        return np.concatenate([[0], np.cumsum(self.block_slots)[:-1]])

    @property
    def dt_h(self) -> np.ndarray:
        """Duration of each block [h]."""
        return self.block_slots * SLOT_H

    def block_mean(self, per_slot: np.ndarray) -> np.ndarray:
        """Mean of a per-slot array over each block (along the last axis)."""
        sums = np.add.reduceat(per_slot, self.starts, axis=-1)
        return sums / self.block_slots

    def block_max(self, per_slot: np.ndarray) -> np.ndarray:
        """Maximum of a per-slot array over each block (along the last axis)."""
        return np.maximum.reduceat(per_slot, self.starts, axis=-1)

    def block_min(self, per_slot: np.ndarray) -> np.ndarray:
        """Minimum of a per-slot array over each block (along the last axis)."""
        return np.minimum.reduceat(per_slot, self.starts, axis=-1)

    def presence(self, start_slot: np.ndarray, end_slot: np.ndarray) -> np.ndarray:
        """Fraction of each block during which each interval ``[start, end)`` is present.

        Returns an array of shape ``(len(start_slot), n_blocks)`` in [0, 1].
        """
        lo = self.starts[None, :]
        hi = lo + self.block_slots[None, :]
        overlap = np.minimum(end_slot[:, None], hi) - np.maximum(start_slot[:, None], lo)
        return np.clip(overlap, 0, None) / self.block_slots[None, :]


def planning_grid(
    horizon_slots: int, fine_slots: int | None = None, coarse_slots: int = 4, slot_of_day: int = 0
) -> TimeGrid:
    """Single-slot blocks for ``fine_slots`` slots, then blocks of ``coarse_slots``.

    Coarse blocks end on multiples of ``coarse_slots`` in the day (hours for 4), so
    they never straddle a tariff change on the hour. ``fine_slots`` 0 or ``None``
    keeps every slot its own block (the exact problem).

    Parameters
    ----------
    horizon_slots : int
        Slots from the current one to the end of the horizon.
    fine_slots : int, optional
        Slots planned one by one, including the current one.
    coarse_slots : int
        Length of the later blocks [slots].
    slot_of_day : int
        Slot of day of the current slot (aligns coarse blocks to the clock).
    """
    if horizon_slots < 1:
        raise ValueError(f"horizon_slots={horizon_slots} must be >= 1")
    if not fine_slots or coarse_slots <= 1 or fine_slots >= horizon_slots:
        return TimeGrid(np.ones(horizon_slots, dtype=int))
    fine = max(int(fine_slots), 1)
    first_coarse = slot_of_day + fine
    align = (-first_coarse) % coarse_slots
    fine = min(fine + align, horizon_slots)
    rest = horizon_slots - fine
    coarse = np.full(rest // coarse_slots, coarse_slots, dtype=int)
    tail = [rest % coarse_slots] if rest % coarse_slots else []
    return TimeGrid(np.concatenate([np.ones(fine, dtype=int), coarse, np.array(tail, dtype=int)]))
