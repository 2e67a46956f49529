"""Site configuration: chargers, tariff, penalties, battery model and data sources.

A site is a TOML or JSON file validated with pydantic. Validation happens here,
at the edge; everything downstream trusts a :class:`Site`. Errors name the file,
the field, the value and the allowed range (:class:`SiteError`).
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from v2b.data.zones import check_time_zone
from v2b.errors import UserError
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY, clock_to_slot, slot_to_clock

BUILTIN_SITES_PACKAGE = "v2b.sites"


class SiteError(UserError):
    """A site file that cannot be used; the message names file, field and value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChargerGroup(_Model):
    """``count`` identical chargers.

    ``min_kw`` is negative for a bidirectional charger (its largest discharge
    power at the charger) and 0 for a unidirectional one. ``min_charge_kw`` is the
    hardware's lowest non-zero charging power (e.g. 6 A on J1772): set-points
    between 0 and it deliver nothing, and optimising controllers switch to their
    MILP mode.
    """

    count: int = Field(ge=1, le=10_000)
    kind: Literal["unidirectional", "bidirectional"]
    level: Literal["L1", "L2", "DC"] = "L2"
    max_kw: float = Field(gt=0, le=1000)
    min_kw: float = Field(default=0.0, ge=-1000, le=0)
    charge_efficiency: float = Field(default=0.95, gt=0, le=1)
    discharge_efficiency: float = Field(default=0.95, gt=0, le=1)
    controllable: bool = True
    min_charge_kw: float = Field(default=0.0, ge=0, le=1000)
    id_prefix: str | None = Field(default=None, min_length=1, max_length=8)

    @model_validator(mode="after")
    def _direction_matches_min(self) -> ChargerGroup:
        if self.min_charge_kw > self.max_kw:
            raise ValueError(
                f"min_charge_kw={self.min_charge_kw} exceeds max_kw={self.max_kw}: the lowest "
                "non-zero charging power must lie in [0, max_kw]"
            )
        if self.kind == "unidirectional" and self.min_kw != 0:
            raise ValueError(
                f"min_kw={self.min_kw} but a unidirectional charger cannot discharge: use 0"
            )
        if self.kind == "bidirectional" and self.min_kw >= 0:
            raise ValueError(
                f"min_kw={self.min_kw} but a bidirectional charger needs min_kw < 0"
            )
        return self


class ClockWindow(_Model):
    """A daily window ``[start, end)`` in local clock time (may wrap midnight), optionally on
    weekdays or weekends only and in some months only.

    Times are ``HH:MM`` on the 15-minute slot grid (``docs/model.md``, "Time and
    episodes"): a window starting at 06:07 could only be billed from 06:00 or 06:15,
    so it is refused rather than shown one way and billed another.
    """

    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")
    #: which days the window applies on (``docs/model.md``, "Tariff")
    days: Literal["all", "weekdays", "weekends"] = "all"
    #: the months it applies in (1-12; empty: every month), for seasonal tariffs
    months: tuple[int, ...] = ()

    @field_validator("start", "end")
    @classmethod
    def _on_slot_grid(cls, text: str) -> str:
        hours, minutes = (int(part) for part in text.split(":"))
        if minutes >= 60 or hours * 60 + minutes > 24 * 60:
            raise ValueError(f"{text} is not a time of day between 00:00 and 24:00")
        if minutes % SLOT_MINUTES:
            raise ValueError(
                f"{text} is not on a {SLOT_MINUTES}-minute boundary (prices change only at "
                f"slot starts: :00, :15, :30 or :45)"
            )
        return text

    @field_validator("months")
    @classmethod
    def _real_months(cls, months: tuple[int, ...]) -> tuple[int, ...]:
        bad = [m for m in months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months {bad} are not months 1-12")
        return months

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)  # a site without day types or seasons keeps its JSON (and keys)
        if isinstance(data, dict):
            if data.get("days") == "all":
                del data["days"]
            if data.get("months") in ((), []):
                del data["months"]
            if "name" in data:  # the name first, as before windows had a base class
                data = {"name": data.pop("name"), **data}
        return data

    def slots(self) -> np.ndarray:
        first, last = clock_to_slot(self.start), clock_to_slot(self.end)
        if last > first:
            return np.arange(first, last)
        return np.concatenate([np.arange(first, SLOTS_PER_DAY), np.arange(0, last)])

    def applies(self, weekday: int, month: int) -> bool:
        """Whether the window applies on a day of ``weekday`` (0 = Monday) in ``month``."""
        weekend = weekday >= 5
        day_ok = self.days == "all" or (self.days == "weekends") == weekend
        return day_ok and (not self.months or month in self.months)


class EnergyPeriod(ClockWindow):
    """A time-of-use period: the energy price inside its window."""

    name: str
    price_per_kwh: float = Field(ge=-10, le=10)


class DemandCharge(ClockWindow):
    """A demand charge on the month's highest 15-minute power inside its window (e.g. the
    on-peak hours of summer weekdays), billed on top of the all-hours monthly charge."""

    name: str = Field(min_length=1)
    usd_per_kw: float = Field(ge=0, le=1000)


def _local_clock(when: dt.datetime) -> dt.datetime:
    """``when`` if it is a local clock time (a site's times carry no UTC offset)."""
    if when.tzinfo is not None:
        raise ValueError(f"{when.isoformat()} has a UTC offset; give the site's local clock time")
    return when


class DemandResponseEvent(_Model):
    """A demand-response event: from ``start`` to ``end`` (local clock times on the 15-minute
    grid) the site committed to draw at most ``limit_kw`` (each kWh above it costs
    ``penalty_per_kwh``; an event kept entirely under the limit earns ``incentive_usd_per_kw``
    x (``baseline_kw`` - ``limit_kw``)) and/or pays ``price_adder_per_kwh`` on top of the
    energy price (``docs/model.md``, "Demand response")."""

    name: str = Field(min_length=1)
    start: dt.datetime
    end: dt.datetime
    limit_kw: float | None = Field(default=None, ge=0, le=1_000_000)
    penalty_per_kwh: float = Field(default=0.0, ge=0, le=1000)
    incentive_usd_per_kw: float = Field(default=0.0, ge=0, le=10_000)
    baseline_kw: float | None = Field(default=None, ge=0, le=1_000_000)
    price_adder_per_kwh: float = Field(default=0.0, ge=-10, le=10)

    @field_validator("start", "end")
    @classmethod
    def _local_on_grid(cls, when: dt.datetime) -> dt.datetime:
        _local_clock(when)
        if when.minute % SLOT_MINUTES or when.second or when.microsecond:
            raise ValueError(f"{when.isoformat()} is not on a {SLOT_MINUTES}-minute boundary")
        return when

    @model_validator(mode="after")
    def _meaningful(self) -> DemandResponseEvent:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        if self.limit_kw is None and self.price_adder_per_kwh == 0:
            raise ValueError("an event needs a limit_kw, a price_adder_per_kwh or both")
        if self.limit_kw is None and (self.penalty_per_kwh or self.incentive_usd_per_kw):
            raise ValueError("penalty_per_kwh and incentive_usd_per_kw need a limit_kw")
        if self.incentive_usd_per_kw and self.baseline_kw is None:
            raise ValueError("incentive_usd_per_kw needs the baseline_kw it is measured against")
        return self

    @model_serializer(mode="wrap")
    def _plain(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        if isinstance(data, dict):
            for key in ("start", "end"):
                data[key] = getattr(self, key).isoformat(timespec="minutes")
            for key in ("limit_kw", "baseline_kw"):
                if data.get(key) is None:
                    del data[key]
        return data


class PricePoint(_Model):
    """One price of an inline price series: from ``time`` (local clock) until the next point."""

    time: dt.datetime
    price_per_kwh: float = Field(ge=-10, le=10)

    @field_validator("time")
    @classmethod
    def _local(cls, when: dt.datetime) -> dt.datetime:
        return _local_clock(when)

    @model_serializer(mode="wrap")
    def _plain(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        if isinstance(data, dict):
            data["time"] = self.time.isoformat()
        return data


class Tariff(_Model):
    """Utility tariff: energy prices and a monthly demand charge.

    Energy prices come from time-of-use ``energy`` periods (each may apply on weekdays or
    weekends only, and in some months only: seasons) or from ``price_series``, a CSV of
    local times and prices (a day-ahead or real-time series; ``v2b.tariff``). For every day
    type and month the periods must cover the day exactly once.
    """

    demand_charge_usd_per_kw: float = Field(ge=0, le=1000)
    energy: tuple[EnergyPeriod, ...] = ()
    price_series: str | None = Field(default=None, min_length=1)
    #: the same as a price series, written in the site itself (an imported scenario's prices)
    price_points: tuple[PricePoint, ...] = ()
    #: charges on the month's peak inside a window, on top of ``demand_charge_usd_per_kw``
    demand_charges: tuple[DemandCharge, ...] = ()
    #: dated demand-response events (a power limit with a penalty and an incentive, or a price adder)
    demand_response: tuple[DemandResponseEvent, ...] = ()
    #: what the site earns per kWh it exports (the building's own surplus, e.g. PV; the chargers
    #: never export); ``None``: exports earn nothing (``docs/model.md``, "Tariff")
    export_price_per_kwh: float | None = Field(default=None, ge=0, le=10)

    @model_serializer(mode="wrap")
    def _without_absent_parts(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        if isinstance(data, dict):
            for key in ("price_series", "export_price_per_kwh"):
                if key in data and data[key] is None:
                    del data[key]
            for key in ("demand_charges", "demand_response", "price_points"):
                if data.get(key) in ((), []):
                    del data[key]
        return data

    @field_validator("demand_response")
    @classmethod
    def _events_apart(cls, events: tuple[DemandResponseEvent, ...]) -> tuple[DemandResponseEvent, ...]:
        _names_once("demand-response event", [e.name for e in events])
        ordered = sorted(events, key=lambda e: e.start)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start < a.end:
                raise ValueError(f"demand-response events {a.name!r} and {b.name!r} overlap")
        return events

    @field_validator("demand_charges")
    @classmethod
    def _distinct_names(cls, charges: tuple[DemandCharge, ...]) -> tuple[DemandCharge, ...]:
        _names_once("demand charge", [c.name for c in charges])
        return charges

    @model_validator(mode="after")
    def _export_below_import(self) -> Tariff:
        prices = [p.price_per_kwh for p in (*self.energy, *self.price_points)]
        if self.export_price_per_kwh is not None and prices:
            lowest = min(prices)
            if self.export_price_per_kwh > lowest:
                raise ValueError(
                    f"export_price_per_kwh={self.export_price_per_kwh} is above the lowest energy price "
                    f"({lowest} $/kWh): the site would earn by importing to export; v2b needs export "
                    "<= import")
        return self

    @model_validator(mode="after")
    def _periods_cover_day(self) -> Tariff:
        if self.price_points:
            if self.energy or self.price_series is not None:
                raise ValueError("give one of energy periods, price_series or price_points")
            times = [p.time for p in self.price_points]
            if sorted(times) != times or len(set(times)) != len(times):
                raise ValueError("price_points must be in time order, each time once")
            return self
        if self.price_series is not None:
            if self.energy:
                raise ValueError("give either energy periods or price_series, not both")
            return self
        if not self.energy:
            raise ValueError("energy periods are missing (or give price_series)")
        for weekday, month in _DAY_KINDS:
            covered = np.zeros(SLOTS_PER_DAY, dtype=int)
            for period in self.energy:
                if period.applies(weekday, month):
                    covered[period.slots()] += 1
            where = "" if self.uniform else f" on {_DAY_NAMES[weekday >= 5]} in month {month}"
            if (covered == 0).any():
                first = int(np.flatnonzero(covered == 0)[0])
                raise ValueError(
                    f"energy periods leave {slot_to_clock(first)}{where} without a "
                    "price; periods must cover 00:00-24:00"
                )
            if (covered > 1).any():
                first = int(np.flatnonzero(covered > 1)[0])
                raise ValueError(
                    f"energy periods overlap at {slot_to_clock(first)}{where}"
                )
        return self

    @property
    def uniform(self) -> bool:
        """The same prices every day (no day types, seasons or series)."""
        return (self.price_series is None and not self.price_points
                and all(p.days == "all" and not p.months for p in self.energy))

    def day_price_per_kwh(self, weekday: int, month: int) -> np.ndarray:
        """Energy price of each slot of a day of ``weekday`` in ``month`` [$/kWh], shape (96,)."""
        if self.price_series is not None or self.price_points:
            raise ValueError("a price series has no daily table; use v2b.tariff.episode_prices_per_kwh")
        prices = np.empty(SLOTS_PER_DAY)
        for period in self.energy:
            if period.applies(weekday, month):
                prices[period.slots()] = period.price_per_kwh
        return prices

    def price_per_kwh_by_slot(self) -> np.ndarray:
        """Energy price of each slot of every day [$/kWh], shape (96,); only for a
        :attr:`uniform` tariff (others: :func:`v2b.tariff.episode_prices_per_kwh`)."""
        if not self.uniform:
            raise ValueError("this tariff's prices depend on the day; ask for a date's prices")
        return self.day_price_per_kwh(0, 1)


def _names_once(what: str, names: list[str]) -> None:
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{what} names {twice} are used twice")


#: Every (weekday, month) kind of day a tariff must price: a weekday and a Saturday per month.
_DAY_KINDS = tuple((weekday, month) for month in range(1, 13) for weekday in (0, 5))
_DAY_NAMES = ("weekdays", "weekends")


class Penalties(_Model):
    soc_penalty_usd_per_kwh: float = Field(default=0.5, ge=0, le=100)
    degradation_usd_per_kwh: float = Field(default=0.05, ge=0, le=100)


class Users(_Model):
    """The site's drivers (CONSENT Sec. 5, ``docs/model.md``, "Drivers").

    ``external_price_usd_per_kwh`` is E_bar, what charging elsewhere costs a driver
    who rejects. ``types`` names a user-type file (``builtin:consent-survey`` or a
    path relative to the site file, as ``v2b survey fit`` writes it); ``profile``
    scales its weights as the paper's Table 2 does. Drivers choose by logit with
    ``choice_temperature_usd`` (0: always the best option) and ``choice_epsilon``.
    """

    external_price_usd_per_kwh: float = Field(default=0.30, ge=0, le=100)
    types: str = Field(default="builtin:consent-survey", min_length=1)
    profile: Literal["survey", "more-flexible", "range-sensitive", "time-sensitive", "less-flexible"] = (
        "survey"
    )
    choice_temperature_usd: float = Field(default=1.0, ge=0, le=1000)
    choice_epsilon: float = Field(default=1e-6, ge=0, le=1)


class FlexibilityLevel(_Model):
    """One negotiation level: how far an option may deviate from the request
    (CONSENT Sec. 6: the levels come from the survey)."""

    max_soc_reduction_pct: float = Field(ge=0, le=100)
    max_delay_minutes: int = Field(ge=0, le=24 * 60)

    @field_validator("max_delay_minutes")
    @classmethod
    def _whole_slots(cls, minutes: int) -> int:
        if minutes % 15:
            raise ValueError(f"max_delay_minutes={minutes} must be a multiple of 15 (one slot)")
        return minutes


#: CONSENT Sec. 6: l=1 (6.25 %, 30 min), l=2 (10 %, 15 min), l=3 (20 %, 105 min); l=0 is implicit.
PAPER_LEVELS = (
    FlexibilityLevel(max_soc_reduction_pct=6.25, max_delay_minutes=30),
    FlexibilityLevel(max_soc_reduction_pct=10.0, max_delay_minutes=15),
    FlexibilityLevel(max_soc_reduction_pct=20.0, max_delay_minutes=105),
)


class Negotiation(_Model):
    """How the building negotiates at plug-in (``docs/model.md``, "Negotiation").

    ``levels`` are the flexibility levels beyond level 0 (the request as is);
    ``futures`` is N_neg; ``alpha`` the share of a positive marginal utility passed
    to the driver (Eq. 3); ``selection`` picks each level's option by the
    average driver's surplus (``driver-surplus``, ours) or by ``alpha x U - I``
    (``building-utility``, the paper's). ``fixed_price_per_kwh`` is policy 4's
    price; ``menu`` names the static menu price file of policy 6 (``v2b menu
    calibrate`` writes it; relative to the site file).
    """

    levels: tuple[FlexibilityLevel, ...] = PAPER_LEVELS
    futures: int = Field(default=10, ge=1, le=1000)
    alpha: float = Field(default=1.0, gt=0, le=1)
    selection: Literal["driver-surplus", "building-utility"] = "driver-surplus"
    fixed_price_per_kwh: float = Field(default=0.178, ge=-10, le=10)
    menu: str | None = None


class Battery(_Model):
    """Battery model shared by every EV at the site.

    ``charge_curve`` lists ``(soc, fraction)`` points: the charge power limit is
    ``fraction(soc) x charger max_kw``, linear between points. The curve must be
    concave (slopes non-increasing) so the limit is a set of LP constraints.
    ``discharge_floor_soc``: V2B never takes a battery below this SoC (or below its
    arrival SoC when that is lower) during a stay. ``keep_arrival_energy``: every
    car leaves with at least the energy it arrived with, V2B energy is paid back
    before departure (``docs/model.md``, "Driver protections"); ``false`` lets a
    car leave emptier, which the paper does not rule out.
    """

    charge_curve: tuple[tuple[float, float], ...] = (
        (0.0, 1.0),
        (0.7, 1.0),
        (0.9, 0.45),
        (1.0, 0.1),
    )
    discharge_floor_soc: float = Field(default=0.2, ge=0, le=1)
    keep_arrival_energy: bool = True

    @field_validator("charge_curve")
    @classmethod
    def _concave(cls, curve: tuple[tuple[float, float], ...]) -> tuple[tuple[float, float], ...]:
        socs = np.array([p[0] for p in curve])
        fracs = np.array([p[1] for p in curve])
        if len(curve) < 2 or socs[0] != 0.0 or socs[-1] != 1.0:
            raise ValueError("charge_curve must start at soc 0.0 and end at soc 1.0")
        if (np.diff(socs) <= 0).any():
            raise ValueError("charge_curve soc values must increase")
        if ((fracs < 0) | (fracs > 1)).any():
            raise ValueError("charge_curve fractions must lie in [0, 1]")
        slopes = np.diff(fracs) / np.diff(socs)
        if (np.diff(slopes) > 1e-9).any():
            raise ValueError("charge_curve must be concave (slopes non-increasing)")
        return curve

    def segments(self) -> tuple[np.ndarray, np.ndarray]:
        """Slopes and intercepts ``(a, b)`` of the curve: fraction(soc) = min_s a_s*soc + b_s."""
        socs = np.array([p[0] for p in self.charge_curve])
        fracs = np.array([p[1] for p in self.charge_curve])
        slopes = np.diff(fracs) / np.diff(socs)
        intercepts = fracs[:-1] - slopes * socs[:-1]
        return slopes, intercepts

    def charge_fraction(self, soc: np.ndarray | float) -> np.ndarray:
        """Charge limit as a fraction of charger power at ``soc`` (vectorised)."""
        return curve_fraction(soc, *self.segments())


def curve_fraction(soc: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Concave charge curve ``min_s a_s * soc + b_s`` clipped to [0, 1] (vectorised).

    Parameters
    ----------
    soc : ndarray
        State of charge [-].
    slopes, intercepts : ndarray
        Segments from :meth:`Battery.segments`.
    """
    return np.clip(np.min(slopes * np.asarray(soc, dtype=float)[..., None] + intercepts, axis=-1), 0.0, 1.0)


class LoadSource(_Model):
    """Where the building load comes from.

    ``source`` is ``builtin:NAME`` (shipped data) or a CSV path (timestamp, kW;
    relative paths are relative to the site file). ``scale`` multiplies it.
    """

    source: str = "builtin:doe-large-office"
    scale: float = Field(default=1.0, gt=0, le=1e6)


class SessionSource(_Model):
    """Where EV sessions come from and how many arrive.

    ``format``: ``acn`` (ACN-Data CSV/JSON export), ``plain`` (arrival, departure,
    energy_kwh[, battery_kwh, soc_arrival, soc_requested]), ``openv2b``
    (scenario directory) or ``auto`` (from the file).
    """

    source: str = "builtin:acn-jpl"
    format: Literal["auto", "acn", "plain", "openv2b"] = "auto"
    arrivals_per_day: float = Field(default=20.0, gt=0, le=100_000)


class Scenarios(_Model):
    """Episode generation: ``episodes`` months from ``seed``, the first ``pool`` form
    the Monte-Carlo sampling pool, the rest are test episodes. ``model`` names a
    generative model saved by ``v2b data fit`` to use instead of fitting one on the
    site's data (the data files are still read for ``--replay``)."""

    seed: int = Field(default=2026, ge=0)
    episodes: int = Field(default=100, ge=2, le=100_000)
    pool: int = Field(default=50, ge=1)
    model: str | None = None

    @model_validator(mode="after")
    def _pool_smaller(self) -> Scenarios:
        if self.pool >= self.episodes:
            raise ValueError(f"pool={self.pool} must be smaller than episodes={self.episodes}")
        return self


class Charger(_Model):
    """One physical charger (a :class:`ChargerGroup` expanded)."""

    charger_id: str
    kind: Literal["unidirectional", "bidirectional"]
    level: Literal["L1", "L2", "DC"]
    max_kw: float
    min_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    controllable: bool
    min_charge_kw: float = 0.0

    @property
    def bidirectional(self) -> bool:
        return self.kind == "bidirectional"


class OcppConnector(_Model):
    """One connector (OCPP 1.6 ``connectorId``) or EVSE (OCPP 2.0.1 ``evseId``) of a charge
    point, and the site charger it is. ``discharge``: V2B set-points (negative limits) are
    sent to it; only on OCPP 2.0.1 and a bidirectional site charger. A bidirectional site
    charger on a connector without ``discharge`` is planned as charge-only."""

    connector_id: int = Field(ge=1, le=100)
    charger: str = Field(min_length=1, max_length=64)
    discharge: bool = False


class OcppChargePoint(_Model):
    """A charge point that connects to ``v2b serve`` at ``/ocpp/{id}`` (``docs/ocpp.md``).

    ``limit_unit``: what its charging profiles are in (``W``, or ``A`` per phase through
    ``voltage_v`` and ``phases``). ``fallback_kw``: the limit of the default profile sent at
    boot, what the charger applies when it stops hearing from v2b (and what the controller
    assumes of a charger that rejects its profiles or stops answering). ``password_sha256``:
    SHA-256 (hex) of the basic-auth password the charger must present (OCPP security
    profile 1); none: no password asked.
    """

    id: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._:*+|@-]+$")
    version: Literal["1.6", "2.0.1"]
    connectors: tuple[OcppConnector, ...] = Field(min_length=1)
    limit_unit: Literal["W", "A"] = "W"
    voltage_v: float = Field(default=230.0, gt=0, le=1000)
    phases: int = Field(default=3, ge=1, le=3)
    fallback_kw: float = Field(default=0.0, ge=0, le=1000)
    password_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _connectors(self) -> OcppChargePoint:
        ids = [c.connector_id for c in self.connectors]
        if len(set(ids)) != len(ids):
            raise ValueError(f"charge point {self.id!r} lists connector_id {_first_repeat(ids)} twice")
        for c in self.connectors:
            if c.discharge and self.version != "2.0.1":
                raise ValueError(f"charge point {self.id!r} connector {c.connector_id}: discharge=true "
                                 f"needs OCPP 2.0.1 (version={self.version!r} cannot send a discharge limit)")
        return self


class Ocpp(_Model):
    """The site's chargers that speak OCPP (``v2b serve`` is then their CSMS)."""

    charge_points: tuple[OcppChargePoint, ...] = Field(min_length=1)
    #: Seconds a charger has to answer a call before it counts as not answering.
    response_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: Heartbeat interval given to chargers at boot [s].
    heartbeat_s: int = Field(default=300, ge=10, le=86_400)

    @model_validator(mode="after")
    def _unique(self) -> Ocpp:
        ids = [cp.id for cp in self.charge_points]
        if len(set(ids)) != len(ids):
            raise ValueError(f"charge point id {_first_repeat(ids)!r} is declared twice")
        chargers = [c.charger for cp in self.charge_points for c in cp.connectors]
        if len(set(chargers)) != len(chargers):
            raise ValueError(f"charger {_first_repeat(chargers)!r} is on two OCPP connectors")
        return self

    def connector_of(self, charger_id: str) -> tuple[OcppChargePoint, OcppConnector] | None:
        for cp in self.charge_points:
            for c in cp.connectors:
                if c.charger == charger_id:
                    return cp, c
        return None


def _first_repeat(values: list) -> object:
    seen = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return None


#: Site fields left out of the site's JSON when not set, so that the content of sites without
#: them (and the experiment keys hashed from it) does not change as fields are added.
_OMITTED_WHEN_ABSENT = ("ocpp", "connection_limit_kw")


class Site(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    timezone: str = "America/Los_Angeles"
    chargers: tuple[ChargerGroup, ...] = Field(min_length=1)
    tariff: Tariff
    penalties: Penalties = Penalties()
    users: Users = Users()
    negotiation: Negotiation = Negotiation()
    battery: Battery = Battery()
    load: LoadSource = LoadSource()
    sessions: SessionSource = SessionSource()
    scenarios: Scenarios = Scenarios()
    #: chargers that speak OCPP to ``v2b serve`` (``docs/ocpp.md``); absent from the site's
    #: JSON when not declared, so the content of other sites (and the keys hashed from it) is
    #: unchanged
    ocpp: Ocpp | None = None
    #: the site's grid connection (transformer) [kW]: the engine never lets the site draw more,
    #: the controllers plan within it (``docs/model.md``, "Site connection limit"); absent from
    #: the JSON when not set, as ``ocpp``
    connection_limit_kw: float | None = Field(default=None, gt=0, le=1e6)
    #: directory of the site file, for resolving relative data paths (not user-set)
    base_dir: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        return check_time_zone(name, "time zone")

    @model_validator(mode="after")
    def _ocpp_chargers_exist(self) -> Site:
        if self.ocpp is None:
            return self
        known = {c.charger_id: c for c in self.charger_list}
        for cp in self.ocpp.charge_points:
            for c in cp.connectors:
                charger = known.get(c.charger)
                if charger is None:
                    raise ValueError(f"ocpp charge point {cp.id!r} connector {c.connector_id}: charger "
                                     f"{c.charger!r} is not a charger of the site ({', '.join(known)})")
                if c.discharge and not charger.bidirectional:
                    raise ValueError(f"ocpp charge point {cp.id!r} connector {c.connector_id}: "
                                     f"discharge=true but charger {c.charger!r} is unidirectional")
        return self

    @model_serializer(mode="wrap")
    def _without_absent_options(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        for key in _OMITTED_WHEN_ABSENT:
            if isinstance(data, dict) and key in data and data[key] is None:
                del data[key]
        return data

    @cached_property
    def charger_list(self) -> tuple[Charger, ...]:
        """Every charger, ids like ``B01`` (bidirectional) and ``U01`` (unidirectional)."""
        out: list[Charger] = []
        used: dict[str, int] = {}
        for group in self.chargers:
            prefix = group.id_prefix or ("B" if group.kind == "bidirectional" else "U")
            for _ in range(group.count):
                used[prefix] = used.get(prefix, 0) + 1
                charger_id = f"{prefix}{used[prefix]:02d}"
                charge_only = group.kind == "bidirectional" and self._ocpp_charge_only(charger_id)
                out.append(
                    Charger(
                        charger_id=charger_id,
                        kind="unidirectional" if charge_only else group.kind,
                        level=group.level,
                        max_kw=group.max_kw,
                        min_kw=0.0 if charge_only else group.min_kw,
                        charge_efficiency=group.charge_efficiency,
                        discharge_efficiency=group.discharge_efficiency,
                        controllable=group.controllable,
                        min_charge_kw=group.min_charge_kw,
                    )
                )
        return tuple(out)

    def _ocpp_charge_only(self, charger_id: str) -> bool:
        """A charger on an OCPP connector that cannot discharge (OCPP 1.6, or ``discharge``
        not set) is planned as charge-only."""
        if self.ocpp is None:
            return False
        found = self.ocpp.connector_of(charger_id)
        return found is not None and not found[1].discharge

    @cached_property
    def charger_arrays(self) -> ChargerArrays:
        return ChargerArrays(self.charger_list)

    def resolve(self, path: str) -> Path:
        """A data path from the site file, relative to the file's directory."""
        p = Path(path)
        if not p.is_absolute() and self.base_dir is not None:
            p = Path(self.base_dir) / p
        return p


class ChargerArrays:
    """Per-charger parameters as arrays, the form the engine and the LP use."""

    def __init__(self, chargers: tuple[Charger, ...]):
        self.ids = [c.charger_id for c in chargers]
        self.max_kw = np.array([c.max_kw for c in chargers])
        self.min_kw = np.array([c.min_kw for c in chargers])
        self.charge_efficiency = np.array([c.charge_efficiency for c in chargers])
        self.discharge_efficiency = np.array([c.discharge_efficiency for c in chargers])
        self.controllable = np.array([c.controllable for c in chargers])
        self.min_charge_kw = np.array([c.min_charge_kw for c in chargers])
        self.bidirectional = self.min_kw < 0

    def __len__(self) -> int:
        return len(self.ids)


def _format_errors(origin: str, err: ValidationError) -> str:
    lines = [f"{origin}: invalid site configuration"]
    errors = err.errors()
    inner = {e["loc"][:k] for e in errors for k in range(len(e["loc"]))}
    for e in errors:
        if e["type"] == "too_short" and e["loc"] in inner:
            continue  # a list left empty by its own invalid items: those items say why
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        value = e.get("input")
        shown = repr(value) if not isinstance(value, dict) else "{...}"
        lines.append(f"  field '{field}' = {shown}: {e['msg']}")
    return "\n".join(lines)


def site_from_dict(data: object, origin: str = "<dict>", base_dir: str | None = None) -> Site:
    """Validate a parsed site mapping; raise :class:`SiteError` naming ``origin``."""
    if not isinstance(data, dict):
        kinds = {list: "a list", int: "a number", float: "a number", str: "a string", bool: "a boolean"}
        found = "null" if data is None else kinds.get(type(data), type(data).__name__)
        raise SiteError(
            f"{origin}: a site file must hold one table/object of fields (name, chargers, tariff, ...), "
            f"found {found}"
        )
    data = dict(data)
    data.pop("base_dir", None)
    try:
        return Site(**data, base_dir=base_dir)
    except ValidationError as err:
        raise SiteError(_format_errors(origin, err)) from None
    except TypeError as err:
        raise SiteError(f"{origin}: {err}") from None


def builtin_site_names() -> list[str]:
    """Bundled sites: the ``.toml`` files of ``v2b.sites`` (``*.menu.toml`` are their menu prices)."""
    files = resources.files(BUILTIN_SITES_PACKAGE).iterdir()
    return sorted(f.name[: -len(".toml")] for f in files
                  if f.name.endswith(".toml") and not f.name.endswith(".menu.toml"))


def load_site(name_or_path: str | Path) -> Site:
    """Load a built-in site by name or a site file (``.toml`` / ``.json``) by path."""
    text_path = str(name_or_path)
    if text_path in builtin_site_names():
        folder = resources.files(BUILTIN_SITES_PACKAGE)
        res = folder / f"{text_path}.toml"
        # Files a bundled site names (menu prices, user types) ship next to it.
        return site_from_dict(tomllib.loads(res.read_text()), origin=f"builtin site {text_path}",
                              base_dir=str(folder))
    path = Path(name_or_path)
    if not text_path.strip() or not path.exists():
        names = ", ".join(builtin_site_names())
        raise SiteError(f"no site named {text_path!r}: not a built-in site ({names}) nor a file")
    if path.is_dir():
        raise SiteError(f"{path}: is a directory, not a site file (.toml or .json)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise SiteError(
            f"{path}: not a text site file (.toml or .json in UTF-8): byte {err.start} cannot be decoded"
        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise SiteError(f"{path}: cannot parse: {err}") from None
    return site_from_dict(data, origin=str(path), base_dir=str(path.parent.resolve()))
