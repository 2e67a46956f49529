"""The menu-based baseline (CONSENT policy 6): one static price per level.

The precursor of CONSENT (Bae et al. 2021; Ghosh & Aggarwal 2017, the paper's
[5, 8]) offers every driver the same levels and "reject all", at prices that do
not depend on the state: each level's largest deviation at one price per kWh.
``v2b menu calibrate`` sets those prices once, on the sampling pool: it runs
smart charging on pool months and prices, at every arrival, each level's
largest deviation by CONSENT Eq. 3; a level's static price is the energy-weighted
mean of those prices ($ per kWh). The file it writes is what a site names as
``negotiation.menu`` (``docs/model.md``, "Negotiation: the menu baseline").
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from v2b.errors import UserError
from v2b.interface import ArrivalRequest, Menu, Option
from v2b.negotiation.pricing import driver_surplus_usd
from v2b.negotiation.settings import NegotiationSettings
from v2b.site import Site
from v2b.timegrid import SLOT_MINUTES, clip_departure_slot


class StaticMenuError(UserError):
    """A static menu file that is missing, malformed or made for other levels."""


@dataclass(frozen=True)
class StaticMenu:
    """Static prices per level (index 0: the request as is).

    Attributes
    ----------
    price_per_kwh : tuple of float
        Price of each level's option [$ per kWh delivered].
    levels : tuple of (float, int)
        The levels they were calibrated for: (SoC points, delay slots), level 0 first.
    arrivals : int
        Arrivals priced in the calibration.
    note : str
        How it was calibrated (site, alpha, episodes).
    """

    price_per_kwh: tuple[float, ...]
    levels: tuple[tuple[float, int], ...]
    arrivals: int = 0
    note: str = ""

    def to_toml(self) -> str:
        lines = [
            "# Static menu prices (CONSENT policy 6), written by `v2b menu calibrate`.",
            f'note = "{self.note}"',
            f"arrivals = {self.arrivals}",
            "",
        ]
        for k, (price, (pct, slots)) in enumerate(zip(self.price_per_kwh, self.levels, strict=True)):
            lines += [
                "[[levels]]",
                f"level = {k}",
                f"max_soc_reduction_pct = {pct:g}",
                f"max_delay_minutes = {slots * SLOT_MINUTES}",
                f"price_per_kwh = {price:.6f}",
                "",
            ]
        return "\n".join(lines)


def read_static_menu(path: Path) -> StaticMenu:
    """A static menu file; errors name the file, the field and the value."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise StaticMenuError(f"static menu file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise StaticMenuError(f"{path}: cannot parse as TOML: {err}") from None
    rows = data.get("levels")
    if not isinstance(rows, list) or not rows:
        raise StaticMenuError(f"{path}: needs [[levels]] tables, level 0 first")
    prices, levels = [], []
    for i, row in enumerate(rows):
        for key in ("level", "max_soc_reduction_pct", "max_delay_minutes", "price_per_kwh"):
            value = row.get(key) if isinstance(row, dict) else None
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                raise StaticMenuError(f"{path}: field 'levels[{i}].{key}' = {value!r} must be a number")
        if row["level"] != i:
            raise StaticMenuError(f"{path}: field 'levels[{i}].level' = {row['level']!r}, expected {i}")
        if row["max_delay_minutes"] % SLOT_MINUTES:
            raise StaticMenuError(f"{path}: field 'levels[{i}].max_delay_minutes' must be a multiple of 15")
        prices.append(float(row["price_per_kwh"]))
        levels.append((float(row["max_soc_reduction_pct"]), int(row["max_delay_minutes"]) // SLOT_MINUTES))
    return StaticMenu(tuple(prices), tuple(levels), int(data.get("arrivals", 0)), str(data.get("note", "")))


def site_levels(settings: NegotiationSettings) -> tuple[tuple[float, int], ...]:
    return ((0.0, 0), *settings.levels)


def load_site_menu(site: Site, settings: NegotiationSettings) -> StaticMenu:
    """The site's static menu (``negotiation.menu``), checked against its levels."""
    if site.negotiation.menu is None:
        raise StaticMenuError(
            f"site {site.name!r} names no static menu file (negotiation.menu); create one with "
            f"`v2b menu calibrate --site {site.name} --out menu.toml` and name it in the site file"
        )
    path = site.resolve(site.negotiation.menu)
    menu = read_static_menu(path)
    if menu.levels != site_levels(settings):
        raise StaticMenuError(
            f"{path} was calibrated for levels {menu.levels}, the site has {site_levels(settings)}; "
            "run `v2b menu calibrate` again"
        )
    return menu


def level_outcome(request: ArrivalRequest, bounds: tuple[float, int]) -> tuple[int, float]:
    """(departure slot, target SoC) of a level's largest deviation, never below the
    arrival SoC (before the engine's day-end clip)."""
    s = request.session
    pct, slots = bounds
    departure = request.requested_departure_slot + slots
    target = max(s.soc_requested - pct / 100.0, min(s.soc_arrival, s.soc_requested))
    return departure, target


def static_menu(request: ArrivalRequest, settings: NegotiationSettings, menu: StaticMenu) -> Menu:
    """Each level's largest deviation at its static price, those no better for the
    average driver than a lower level dropped, and reject."""
    s = request.session
    wanted = request.requested_departure_slot
    kept: list[tuple[Option, float]] = []
    for level, (bounds, price) in enumerate(zip(site_levels(settings), menu.price_per_kwh, strict=True)):
        departure, target = level_outcome(request, bounds)
        departure = clip_departure_slot(s.arrival_slot, departure, request.departure_cap_slot)
        energy = max(0.0, (target - s.soc_arrival) * s.battery_kwh)
        surplus = driver_surplus_usd(
            settings.external_price_per_kwh, energy, price * energy, settings.menu_soc_weight_usd_per_pct,
            settings.menu_time_weight_usd_per_min, 100.0 * (s.soc_requested - target),
            SLOT_MINUTES * (departure - wanted),
        )
        name = "as-requested" if level == 0 else f"level-{level}"
        option = Option(name, departure, target, 0.0, price, level)
        same = any(o.departure_slot == departure and abs(o.soc_target - target) < 1e-9 for o, _ in kept)
        if level == 0 or (not same and surplus > max(y for _, y in kept) + 1e-6):
            kept.append((option, surplus))
    return Menu(tuple(o for o, _ in kept), True, settings.external_price_per_kwh)


def calibrate_static_menu(
    site: Site,
    pool_episodes: list[int],
    days: int | None,
    seed: int = 1,
    options: dict | None = None,
    progress: Callable[[int], None] | None = None,
) -> StaticMenu:
    """Static prices per level from Eq. 3 prices on pool months (module docstring).

    Parameters
    ----------
    site : Site
        The site (its levels, alpha and drivers).
    pool_episodes : list of int
        Sampling-pool months to run (never test months).
    days : int, optional
        Only the first ``days`` days of each.
    seed : int
        Seeds the runs.
    options : dict, optional
        Run options (``alpha``...).
    progress : callable, optional
        Called with the number of months done.
    """
    from v2b.negotiation.calibration import priced_levels_on

    settings = NegotiationSettings.from_site(site, options)
    price_usd = np.zeros(len(settings.levels) + 1)
    energy_kwh = np.zeros_like(price_usd)
    arrivals = 0
    for k, e in enumerate(pool_episodes):
        rows = priced_levels_on(site, e, days, seed, options)
        arrivals += len(rows)
        for row in rows:
            for level, option in enumerate(row):
                price_usd[level] += option.price_usd
                energy_kwh[level] += option.energy_kwh
        if progress:
            progress(k + 1)
    if arrivals == 0 or (energy_kwh <= 0).any():
        raise StaticMenuError("the calibration months had no arrival to price; use more or longer months")
    note = (f"site {site.name}, alpha {settings.alpha:g}, pool months {pool_episodes}, "
            f"{'whole months' if days is None else f'{days} day(s) each'}, seed {seed}, "
            f"{dt.date.today().isoformat()}")
    return StaticMenu(tuple(float(x) for x in price_usd / energy_kwh), site_levels(settings), arrivals, note)
