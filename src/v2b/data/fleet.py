"""EV fleet table (``model, battery_kwh, share``): where battery sizes come from
when the session data has none (ACN-Data records no vehicle)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from v2b.data.errors import DataError, RowChecks
from v2b.data.files import read_csv_text
from v2b.data.plain import check_number
from v2b.data.sessions import require_named

BUILTIN_FLEET = "fleet.csv"


@dataclass(frozen=True)
class Fleet:
    """Vehicle models with usable battery capacity [kWh] and fleet share (sums to 1)."""

    models: tuple[str, ...]
    battery_kwh: np.ndarray
    share: np.ndarray

    def draw_battery_kwh(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` battery sizes [kWh], models drawn by share."""
        return self.battery_kwh[rng.choice(len(self.models), size=n, p=self.share)]

    def mean_battery_kwh(self) -> float:
        return float(self.share @ self.battery_kwh)


def read_fleet(path: str | Path | None = None) -> Fleet:
    """Read a fleet table; ``None`` reads the shipped one. Shares are normalised."""
    if path is None:
        with resources.as_file(resources.files("v2b.data") / BUILTIN_FLEET) as p:
            return read_fleet(p)
    path = Path(path)
    raw = read_csv_text(path)
    cols = list(raw.columns)
    require_named(str(path), cols, ("model", "battery_kwh", "share"))
    checks = RowChecks(str(path), len(raw), skip_invalid=False)
    battery = check_number(checks, raw["battery_kwh"], "battery_kwh", required=True)
    share = check_number(checks, raw["share"], "share", required=True)
    checks.check(battery <= 0, "battery_kwh", battery, "must be > 0 kWh")
    checks.check(share < 0, "share", share, "must be >= 0")
    checks.finish()
    if share.sum() <= 0:
        raise DataError(f"{path}: shares sum to 0")
    return Fleet(tuple(raw["model"]), battery, share / share.sum())
