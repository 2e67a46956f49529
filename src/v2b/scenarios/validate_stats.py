"""Two-sample statistics and per-month features for ``v2b data validate`` (pure functions).

Every statistic here compares two samples of one feature: generated months against held-out
recorded months, and, as the yardstick, two halves of the recorded months against each other
(``docs/data.md``, "Validation against held-out months").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Width of the arrival-hour bands the requested energy is compared in [h].
BAND_HOURS = 3
#: Bands with fewer sessions than this in any sample are not compared (too noisy).
BAND_MIN_SESSIONS = 20
#: Permutations behind the p-value of the load-profile distance.
PERMUTATIONS = 999


def ks_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov distance and its p-value (NaN when a sample is empty).

    The distance is the largest gap between the two empirical CDFs (0: identical, 1: disjoint);
    the p-value is scipy's (exact for small samples, asymptotic otherwise) and assumes
    independent draws.
    """
    # imported here: scipy.stats costs ~0.8 s, which every CLI command would pay at start-up
    from scipy.stats import ks_2samp

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan")
    result = ks_2samp(a, b)
    return float(result.statistic), float(result.pvalue)


def lag1_autocorrelation(x: np.ndarray) -> float:
    """Lag-1 sample autocorrelation ``sum (x_t - m)(x_{t+1} - m) / sum (x_t - m)^2``.

    The usual (biased) estimator, ``m`` the mean of ``x``. NaN for fewer than three values
    or a constant sequence (no variation to correlate).
    """
    x = np.asarray(x, dtype=float)
    if x.size < 3:
        return float("nan")
    dev = x - x.mean()
    denom = float(dev @ dev)
    if denom == 0.0:
        return float("nan")
    return float(dev[:-1] @ dev[1:]) / denom


def occupancy(arrival_slot: np.ndarray, departure_slot: np.ndarray, n_slots: int) -> np.ndarray:
    """Connected EVs per slot: a stay occupies ``arrival_slot .. departure_slot - 1``."""
    delta = np.zeros(n_slots + 1, dtype=np.int64)
    np.add.at(delta, np.clip(arrival_slot, 0, n_slots), 1)
    np.add.at(delta, np.clip(departure_slot, 0, n_slots), -1)
    return np.cumsum(delta)[:n_slots]


def busy_share(arrival_slot: np.ndarray, departure_slot: np.ndarray, n_slots: int, chargers: int) -> float:
    """Share of the ``n_slots`` slots in which at least ``chargers`` EVs are connected.

    Stays as recorded or drawn, no simulation: every EV is counted as if it had a charger.
    """
    if n_slots <= 0:
        return float("nan")
    return float(np.mean(occupancy(arrival_slot, departure_slot, n_slots) >= chargers))


@dataclass(frozen=True)
class BandResult:
    """The worst arrival-hour band of a banded KS comparison.

    ``statistic`` is the largest KS distance over the compared bands, ``p_value`` that band's
    p-value times the number of bands compared (Bonferroni, at most 1), ``band`` its first hour.
    """

    statistic: float
    p_value: float
    band: int
    bands: int


def common_bands(hours: Sequence[np.ndarray], width: int = BAND_HOURS,
                 min_sessions: int = BAND_MIN_SESSIONS) -> list[int]:
    """First hours of the bands holding at least ``min_sessions`` arrivals in every sample."""
    starts = list(range(0, 24, width))
    return [
        h for h in starts
        if all(int(np.count_nonzero((x >= h) & (x < h + width))) >= min_sessions for x in hours)
    ]


def banded_ks(hour_a: np.ndarray, value_a: np.ndarray, hour_b: np.ndarray, value_b: np.ndarray,
              bands: Sequence[int], width: int = BAND_HOURS) -> BandResult:
    """KS distance of ``value`` within each arrival-hour band; the worst band (:class:`BandResult`)."""
    best = BandResult(float("nan"), float("nan"), -1, len(bands))
    for h in bands:
        in_a = (hour_a >= h) & (hour_a < h + width)
        in_b = (hour_b >= h) & (hour_b < h + width)
        d, p = ks_test(value_a[in_a], value_b[in_b])
        if np.isfinite(d) and not d <= best.statistic:
            best = BandResult(d, min(1.0, p * len(bands)), h, len(bands))
    return best


def profile_rms(days_a: np.ndarray, days_b: np.ndarray) -> float:
    """Root mean square over slots of the gap between two mean daily profiles [kW].

    ``days_a``, ``days_b``: (days, slots) loads [kW].
    """
    gap = days_a.mean(axis=0) - days_b.mean(axis=0)
    return float(np.sqrt(np.mean(gap**2)))


def permutation_p(days_a: np.ndarray, days_b: np.ndarray, rng: np.random.Generator,
                  permutations: int = PERMUTATIONS) -> float:
    """Permutation p-value of :func:`profile_rms`: how often days relabelled at random between
    the two samples are at least as far apart, ``(1 + hits) / (1 + permutations)``.

    Days are treated as exchangeable; days of one month share its season, so the p-value is
    optimistic (too small) when the samples' months differ.
    """
    observed = profile_rms(days_a, days_b)
    pooled = np.concatenate([days_a, days_b])
    n_a = days_a.shape[0]
    total = pooled.sum(axis=0)
    hits = 0
    for _ in range(permutations):
        pick = rng.permutation(pooled.shape[0])[:n_a]
        sum_a = pooled[pick].sum(axis=0)
        gap = sum_a / n_a - (total - sum_a) / (pooled.shape[0] - n_a)
        hits += float(np.sqrt(np.mean(gap**2))) >= observed - 1e-12
    return (1 + hits) / (1 + permutations)
