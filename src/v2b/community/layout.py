"""Where each variable of the community LP lives in the column vector.

Columns, in order (B buildings, H slots, M parked EV-slots, K direction binaries):

============  ======  =====================================================
block         size    meaning
============  ======  =====================================================
grid_import   B*H     P_G^+ >= 0: power bought from the grid [kW]
grid_export   B*H     P_G^- >= 0: power sold to the grid [kW]
comm_import   B*H     P_c^- >= 0: power bought from the community [kW]
comm_export   B*H     P_c^+ >= 0: power sold to the community [kW]
ev_charge     M       P_EV^+ >= 0 at the charger while parked [kW]
ev_discharge  M       P_EV^- >= 0 at the charger while parked [kW]
ev_energy     M       battery energy above arrival at slot end [kWh]
direction     K       1 = the building imports in that slot, 0 = exports
============  ======  =====================================================

Building-slot blocks are indexed ``b * H + h``. EV-slots are ordered by session,
then slot (:func:`v2b.community.inputs.parked_fraction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BUILDING_BLOCKS = ("grid_import", "grid_export", "comm_import", "comm_export")
EV_BLOCKS = ("ev_charge", "ev_discharge", "ev_energy")


@dataclass(frozen=True)
class Layout:
    """Column offsets of the LP's variable blocks.

    Parameters
    ----------
    n_buildings, n_slots : int
        B and H.
    ev_session, ev_slot : np.ndarray
        Session and slot of each parked EV-slot, shape (M,).
    ev_fraction : np.ndarray
        Share of the slot the EV is parked [-], shape (M,).
    direction_cells : np.ndarray
        Building-slot indices ``b * H + h`` that carry a direction binary, shape (K,).
    """

    n_buildings: int
    n_slots: int
    ev_session: np.ndarray
    ev_slot: np.ndarray
    ev_fraction: np.ndarray
    direction_cells: np.ndarray

    @property
    def n_cells(self) -> int:
        """Building-slot pairs B*H."""
        return self.n_buildings * self.n_slots

    @property
    def n_ev_slots(self) -> int:
        return int(self.ev_session.shape[0])

    @property
    def n_cols(self) -> int:
        return 4 * self.n_cells + 3 * self.n_ev_slots + int(self.direction_cells.shape[0])

    def start(self, block: str) -> int:
        """First column of ``block``."""
        if block in BUILDING_BLOCKS:
            return BUILDING_BLOCKS.index(block) * self.n_cells
        if block in EV_BLOCKS:
            return 4 * self.n_cells + EV_BLOCKS.index(block) * self.n_ev_slots
        if block == "direction":
            return 4 * self.n_cells + 3 * self.n_ev_slots
        raise KeyError(block)

    def cols(self, block: str, index: np.ndarray | None = None) -> np.ndarray:
        """Columns of ``block`` (all of them, or those at ``index`` within the block)."""
        size = {"direction": int(self.direction_cells.shape[0])}.get(
            block, self.n_cells if block in BUILDING_BLOCKS else self.n_ev_slots
        )
        local = np.arange(size) if index is None else np.asarray(index)
        return self.start(block) + local

    def cell_of_ev_slot(self, building_of_session: np.ndarray) -> np.ndarray:
        """Building-slot cell ``b * H + h`` of each EV-slot, shape (M,)."""
        return building_of_session[self.ev_session] * self.n_slots + self.ev_slot

    def unpack(self, x: np.ndarray, block: str) -> np.ndarray:
        """Values of ``block`` from a solution vector; building blocks come as (B, H)."""
        values = x[self.cols(block)]
        if block in BUILDING_BLOCKS:
            return values.reshape(self.n_buildings, self.n_slots)
        return values
