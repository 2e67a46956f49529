"""The lowest peak each day's EVs need: one LP per month of days, solved once per pool.

For every day, the smallest metered peak ``P_d`` such that every session's energy
can be delivered within its own stay at its charger's rating, on top of the
building's load. No V2B, no prices: a floor on what charging those EVs costs in
peak, used to tell the controller how high the month's peak will go anyway
(:mod:`v2b.control.mpc_peak`). Days are independent; a month is one LP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from v2b.opt.highs import HighsSolver
from v2b.opt.lp import LinearProgram
from v2b.timegrid import SLOT_H, SLOTS_PER_DAY

#: Cost of a kWh no schedule can deliver (a stay too short for the request) [$/kWh]:
#: far above any peak, so the LP delivers whatever it can.
UNDELIVERABLE_USD_PER_KWH = 1e4
#: With the month's trade-off: a cost per kW of each day's own peak, far below any real cost,
#: so that a day below the month's peak is planned as low as it can be.
DAY_PEAK_TIE_BREAK_USD_PER_KW = 1e-4


@dataclass(frozen=True)
class ChargeColumns:
    """Sessions spread over their stays: one charge column per (session, slot of stay).

    ``keep``: sessions with a stay and energy to take; ``session``: each column's session
    (index into all sessions); ``rank``: each session's row among the kept ones; ``cells``:
    the distinct (day, slot) cells the columns fall in (``day x 96 + slot``), ``cell_row``: each
    column's index into ``cells``.
    """

    keep: np.ndarray
    session: np.ndarray
    rank: np.ndarray
    cells: np.ndarray
    cell_row: np.ndarray

    @property
    def n_columns(self) -> int:
        return int(self.session.size)

    @property
    def n_sessions(self) -> int:
        return int(self.keep.sum())


def charge_columns(session_day: np.ndarray, arrival_sod: np.ndarray, departure_sod: np.ndarray,
                   energy_kwh: np.ndarray) -> ChargeColumns:
    """The charge columns of sessions (:class:`ChargeColumns`), vectorised."""
    stay = np.maximum(departure_sod - arrival_sod, 0)
    keep = (stay > 0) & (energy_kwh > 1e-9)
    session = np.repeat(np.flatnonzero(keep), stay[keep])
    offset = np.arange(session.size) - np.repeat(np.cumsum(stay[keep]) - stay[keep], stay[keep])
    cell = session_day[session] * SLOTS_PER_DAY + arrival_sod[session] + offset
    cells, cell_row = np.unique(cell, return_inverse=True)
    return ChargeColumns(keep, session, np.cumsum(keep) - 1, cells, cell_row)


def ev_day_peaks_kw(
    load_kw: np.ndarray,
    session_day: np.ndarray,
    arrival_sod: np.ndarray,
    departure_sod: np.ndarray,
    energy_kwh: np.ndarray,
    rate_kw: float,
    efficiency: float,
    month_tradeoff: tuple[float, float] | None = None,
) -> np.ndarray:
    """Each day's lowest peak with its EVs charged [kW], shape (days,).

    With ``month_tradeoff = (K_DC, K_SOC)`` the EVs need not all be charged: the month's
    peak costs ``K_DC`` per kW and a kWh left unmet ``K_SOC``, the trade-off the month's
    cost function makes (``docs/model.md``, "Controller: month-aware demand charge"); each
    day's peak is then the lowest it can be under the month's optimal peak.

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
    month_tradeoff : (float, float), optional
        The demand charge [$/kW] and the unmet-energy penalty [$/kWh] of the month.
    """
    days = load_kw.shape[0]
    cc = charge_columns(session_day, arrival_sod, departure_sod, energy_kwh)
    keep, cells, cell_row = cc.keep, cc.cells, cc.cell_row
    n_c, n_s = cc.n_columns, cc.n_sessions
    # Columns: charge per (session, slot), shortfall per session, peak per day.
    col_z = n_c + np.arange(n_s)
    col_p = n_c + n_s + np.arange(days)
    energy_rows = (cc.rank[cc.session], np.arange(n_c), np.full(n_c, efficiency * SLOT_H))
    z_rows = (np.arange(n_s), col_z, np.ones(n_s))
    base = n_s
    peak_rows = (base + cell_row, np.arange(n_c), -np.ones(n_c))
    p_rows = (base + np.arange(cells.size), col_p[cells // SLOTS_PER_DAY], np.ones(cells.size))
    rows, cols, vals = (np.concatenate(x) for x in zip(energy_rows, z_rows, peak_rows, p_rows, strict=True))
    n_cols = n_c + n_s + days
    n_rows = base + cells.size
    if month_tradeoff is not None:  # one month peak column M >= every day's peak
        col_m = n_cols
        day_rows = n_rows + np.arange(days)
        rows = np.concatenate([rows, day_rows, day_rows])
        cols = np.concatenate([cols, np.full(days, col_m), col_p])
        vals = np.concatenate([vals, np.ones(days), -np.ones(days)])
        n_cols, n_rows = n_cols + 1, n_rows + days
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_rows, n_cols))
    lower_cols = np.zeros(n_cols)
    lower_cols[col_p] = load_kw.max(axis=1)
    upper_cols = np.full(n_cols, np.inf)
    upper_cols[:n_c] = rate_kw
    cost = np.zeros(n_cols)
    cost[col_z] = UNDELIVERABLE_USD_PER_KWH
    cost[col_p] = 1.0
    row_lower = [energy_kwh[keep], load_kw.reshape(-1)[cells]]
    if month_tradeoff is not None:
        demand_usd_per_kw, unmet_usd_per_kwh = month_tradeoff
        cost[col_z] = unmet_usd_per_kwh
        cost[col_p] = DAY_PEAK_TIE_BREAK_USD_PER_KW  # each day as low as the month's peak lets it
        cost[col_m] = demand_usd_per_kw
        row_lower.append(np.zeros(days))
    lp = LinearProgram(
        cost=cost, offset=0.0, col_lower=lower_cols, col_upper=upper_cols, matrix=matrix,
        row_lower=np.concatenate(row_lower), row_upper=np.full(n_rows, np.inf),
    )
    result = HighsSolver().solve(lp)
    if not result.optimal:
        raise RuntimeError(f"day-peak LP not solved: {result.status}")
    return np.asarray(result.x[col_p])


#: Headroom above each day's own building peak at which :func:`ev_unmet_curves_kwh` measures
#: what the day's EVs leave unmet [kW]: dense near the building's peak, where a month's peak
#: usually settles, sparse beyond (on the default site's first five pool months the curves are
#: flat from 40 kW above it: what is left there no cap delivers, the stays being too short).
UNMET_HEADROOM_KW = np.array([0.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0, 80.0, 120.0])


def ev_unmet_curves_kwh(
    load_kw: np.ndarray,
    session_day: np.ndarray,
    arrival_sod: np.ndarray,
    departure_sod: np.ndarray,
    energy_kwh: np.ndarray,
    rate_kw: float,
    efficiency: float,
    headroom_kw: np.ndarray = UNMET_HEADROOM_KW,
) -> np.ndarray:
    """The energy each day's EVs leave unmet under a cap on metered power [kWh], shape
    (caps, days): the cap is the day's own building peak plus each of ``headroom_kw``.

    The most energy the day's sessions can take within their stays at the charger's rating
    while building plus EVs stay under the cap (no V2B, no prices): one LP per headroom,
    every day of the month in it. Unmet energy falls, convex and piecewise linear, as the
    cap rises (the delivered energy of an LP is concave in its right-hand side); the
    month-aware controller prices a higher peak by it (:mod:`v2b.control.mpc_peak`).
    Arguments as :func:`ev_day_peaks_kw`.
    """
    days = load_kw.shape[0]
    asked = np.bincount(session_day, weights=energy_kwh, minlength=days)
    cc = charge_columns(session_day, arrival_sod, departure_sod, energy_kwh)
    if not cc.n_sessions:
        return np.broadcast_to(asked, (len(headroom_kw), days)).copy()
    keep, s_idx, cells, cell_row = cc.keep, cc.session, cc.cells, cc.cell_row
    n_c, n_s = cc.n_columns, cc.n_sessions
    per_kw = efficiency * SLOT_H  # kWh stored per kW over one slot
    rows = np.concatenate([cc.rank[s_idx], n_s + cell_row])
    cols = np.concatenate([np.arange(n_c), np.arange(n_c)])
    vals = np.concatenate([np.full(n_c, per_kw), np.ones(n_c)])
    matrix = sp.csc_matrix((vals, (rows, cols)), shape=(n_s + cells.size, n_c))
    day_peak = load_kw.max(axis=1)
    building = load_kw.reshape(-1)[cells]
    cap_rows = n_s + np.arange(cells.size)
    solver = HighsSolver()
    unmet = np.empty((len(headroom_kw), days))
    for k, extra in enumerate(np.asarray(headroom_kw, dtype=float).tolist()):
        room = np.maximum(day_peak[cells // SLOTS_PER_DAY] + extra - building, 0.0)
        if k == 0:  # later headrooms re-solve warm from the previous basis
            solver.load(LinearProgram(
                cost=np.full(n_c, -per_kw), offset=0.0, col_lower=np.zeros(n_c),
                col_upper=np.full(n_c, rate_kw), matrix=matrix, row_lower=np.full(n_s + cells.size, -np.inf),
                row_upper=np.concatenate([energy_kwh[keep], room]),
            ))
        else:
            solver.change_row_bounds(cap_rows, np.full(cells.size, -np.inf), room)
        result = solver.run()
        if not result.optimal:
            raise RuntimeError(f"unmet-energy LP not solved: {result.status}")
        delivered = np.bincount(session_day[s_idx], weights=np.asarray(result.x) * per_kw, minlength=days)
        unmet[k] = np.maximum(asked - delivered, 0.0)
    return unmet
