"""The drivers who arrive: one type and one pair of weights each, from their own stream.

Every session's driver draws from a generator derived from the run's seed, the
episode and the session id alone (:func:`driver_rng`), so every policy run on
the same episode and seed meets the same drivers making the same draws (common
random numbers), whatever the policy offers and whoever arrived before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from v2b.users.types import UserTypes


def _stable_int(text: str) -> int:
    """A 64-bit integer from ``text`` that is the same in every process."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def driver_rng(seed: int, episode_key: str, session_id: str) -> np.random.Generator:
    """The random stream of one session's driver.

    Parameters
    ----------
    seed : int
        The run's seed (``v2b simulate --seed``).
    episode_key : str
        Names the episode (site, kind and index), so two episodes' drivers differ.
    session_id : str
        The session.
    """
    entropy = [seed, _stable_int(episode_key), _stable_int(session_id)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


@dataclass(frozen=True)
class Driver:
    """One driver's inconvenience weights (CONSENT Sec. 5).

    Attributes
    ----------
    type_name : str
        The type drawn from the population.
    soc_weight_usd_per_pct : float
        w1 [$ per SoC percentage point given up].
    time_weight_usd_per_min : float
        w2 [$ per minute of later departure].
    """

    type_name: str
    soc_weight_usd_per_pct: float
    time_weight_usd_per_min: float

    def inconvenience_usd(self, soc_reduction_pct: float, delay_minutes: float) -> float:
        """``I = w1 x dSoC + w2 x dt`` [$]; deviations below zero cost nothing."""
        return (self.soc_weight_usd_per_pct * max(soc_reduction_pct, 0.0)
                + self.time_weight_usd_per_min * max(delay_minutes, 0.0))


def draw_driver(types: UserTypes, rng: np.random.Generator) -> Driver:
    """A type by share, then its weights from Normal(mean, sd) clipped at 0.

    Always three draws from ``rng`` (type, w1, w2), so what a driver draws next
    does not depend on the type they got.
    """
    k = int(rng.choice(len(types.types), p=types.shares))
    t = types.types[k]
    z = rng.standard_normal(2)
    w1 = max(0.0, t.soc_weight_usd_per_pct + t.soc_weight_sd * float(z[0]))
    w2 = max(0.0, t.time_weight_usd_per_min + t.time_weight_sd * float(z[1]))
    return Driver(t.name, w1, w2)
