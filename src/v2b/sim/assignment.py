"""Charger assignment at arrival: first come, first served (CONSENT 4.1; ``docs/model.md``,
"Arrivals and assignment").

An arriving EV gets the most capable free charger: bidirectional before
unidirectional, higher power first, then the lower charger index. EVs arriving
in the same slot are served earliest requested departure first.
"""

from __future__ import annotations

import numpy as np

from v2b.episode import Session
from v2b.site import ChargerArrays


def preference_order(chargers: ChargerArrays) -> np.ndarray:
    """Charger indices from most to least preferred."""
    index = np.arange(len(chargers))
    return np.lexsort((index, -chargers.max_kw, ~chargers.bidirectional))


def pick_charger(free: np.ndarray, order: np.ndarray) -> int | None:
    """The first free charger in preference ``order``, or ``None`` when all are busy."""
    candidates = order[free[order]]
    return int(candidates[0]) if candidates.size else None


def arrival_order(sessions: tuple[Session, ...] | list[Session]) -> list[Session]:
    """Sessions in service order: by arrival slot, then earliest departure, then id."""
    return sorted(sessions, key=lambda s: (s.arrival_slot, s.departure_slot, s.session_id))
