"""The lowest peak each day's EVs need: one LP per month of days, solved once per pool.

For every day, the smallest metered peak ``P_d`` such that every session's energy
can be delivered within its own stay at its charger's rating, on top of the
building's load. No V2B, no prices: a floor on what charging those EVs costs in
peak, used to tell the controller how high the month's peak will go anyway
(:mod:`v2b.control.mpc_peak`). Days are independent; a month is one LP.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from v2b.opt.highs import HighsSolver
from v2b.opt.lp import LinearProgram
from v2b.timegrid import SLOT_H, SLOTS_PER_DAY

#: Cost of a kWh no schedule can deliver (a stay too short for the request) [$/kWh]:
#: far above any peak, so the LP delivers whatever it can.
UNDELIVERABLE_USD_PER_KWH = 1e4


def ev_day_peaks_kw(
    load_kw: np.ndarray,
    session_day: np.ndarray,
    arrival_sod: np.ndarray,
    departure_sod: np.ndarray,
    energy_kwh: np.ndarray,
    rate_kw: float,
    efficiency: float,
) -> np.ndarray:
    """Each day's lowest peak with its EVs charged [kW], shape (days,).

    Parameters
    ----------
    load_kw : ndarray, shape (days, 96)
        Building load [kW].
    session_day, arrival_sod, departure_sod : ndarray of int
        Each session's day and stay ``[arrival, departure)`` [slot of day].
    energy_kwh : ndarray
        Energy each session asks for [kWh].
    rate_kw : float
        Charger rating [kW].
    efficiency : float
        Charging efficiency.
    """
    days = load_kw.shape[0]
    stay = np.maximum(departure_sod - arrival_sod, 0)
    keep = (stay > 0) & (energy_kwh > 1e-9)
    s_idx = np.repeat(np.flatnonzero(keep), stay[keep])
    offset = np.arange(s_idx.size) - np.repeat(np.cumsum(stay[keep]) - stay[keep], stay[keep])
    slot = arrival_sod[s_idx] + offset
    n_c, n_s = s_idx.size, int(keep.sum())
    rank = np.cumsum(keep) - 1
    # Columns: charge per (session, slot), shortfall per session, peak per day.
    col_z = n_c + np.arange(n_s)
    col_p = n_c + n_s + np.arange(days)
    energy_rows = (rank[s_idx], np.arange(n_c), np.full(n_c, efficiency * SLOT_H))
    z_rows = (np.arange(n_s), col_z, np.ones(n_s))
    cell = session_day[s_idx] * SLOTS_PER_DAY + slot  # (day, slot) of each charge column
    cells, cell_row = np.unique(cell, return_inverse=True)
    base = n_s
    peak_rows = (base + cell_row, np.arange(n_c), -np.ones(n_c))
    p_rows = (base + np.arange(cells.size), col_p[cells // SLOTS_PER_DAY], np.ones(cells.size))
    rows, cols, vals = (np.concatenate(x) for x in zip(energy_rows, z_rows, peak_rows, p_rows, strict=True))
    n_cols = n_c + n_s + days
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(base + cells.size, n_cols))
    lower_cols = np.zeros(n_cols)
    lower_cols[col_p] = load_kw.max(axis=1)
    upper_cols = np.full(n_cols, np.inf)
    upper_cols[:n_c] = rate_kw
    cost = np.zeros(n_cols)
    cost[col_z] = UNDELIVERABLE_USD_PER_KWH
    cost[col_p] = 1.0
    flat = load_kw.reshape(-1)
    lp = LinearProgram(
        cost=cost, offset=0.0, col_lower=lower_cols, col_upper=upper_cols, matrix=matrix,
        row_lower=np.concatenate([energy_kwh[keep], flat[cells]]),
        row_upper=np.full(base + cells.size, np.inf),
    )
    result = HighsSolver().solve(lp)
    if not result.optimal:
        raise RuntimeError(f"day-peak LP not solved: {result.status}")
    return np.asarray(result.x[col_p])
