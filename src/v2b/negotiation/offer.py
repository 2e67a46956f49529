"""The menu one arriving driver would see, at a given moment of an episode
(``v2b offer``; the live service will answer the same question from its own state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from v2b.control.negotiating import Consent
from v2b.episode import Episode, Session
from v2b.errors import UserError
from v2b.interface import FutureSampler
from v2b.negotiation.options import PricedMenu, PricingFailed
from v2b.sim import Simulator
from v2b.site import Site
from v2b.timegrid import SLOT_MINUTES, SLOTS_PER_DAY


class OfferError(UserError):
    """A request that cannot be priced (bad value, no free charger...)."""


@dataclass(frozen=True)
class ArrivalQuery:
    """A driver's request at plug-in, in the units a driver uses.

    Attributes
    ----------
    day : int
        Day of the episode (0-based).
    at_minutes : int
        Arrival time of day [minutes after midnight].
    departure_minutes : int
        Requested departure time of day [minutes after midnight, up to 1440].
    battery_kwh : float
        Battery capacity [kWh].
    arrival_soc_pct, requested_soc_pct : float
        State of charge at arrival and asked for at departure [%].
    """

    day: int
    at_minutes: int
    departure_minutes: int
    battery_kwh: float
    arrival_soc_pct: float
    requested_soc_pct: float

    def validate(self, episode: Episode) -> None:
        checks = [
            ("--day", self.day, 0, episode.days - 1),
            ("--battery-kwh", self.battery_kwh, 1.0, 1000.0),
            ("--arrival-soc-pct", self.arrival_soc_pct, 0.0, 100.0),
            ("--requested-soc-pct", self.requested_soc_pct, 0.0, 100.0),
        ]
        for name, value, lo, hi in checks:
            if not lo <= value <= hi:
                raise OfferError(f"{name} {value:g} is outside the allowed range {lo:g}..{hi:g}")
        if self.departure_minutes <= self.at_minutes - self.at_minutes % SLOT_MINUTES:
            raise OfferError(
                f"--departure {clock(self.departure_minutes)} must be after the arrival --at "
                f"{clock(self.at_minutes)}"
            )

    def session(self) -> Session:
        day_start = self.day * SLOTS_PER_DAY
        arrival = day_start + self.at_minutes // SLOT_MINUTES
        departure = day_start + -(-self.departure_minutes // SLOT_MINUTES)  # the slot it leaves in ends
        return Session("offer", arrival, max(departure, arrival + 1), self.battery_kwh,
                       self.arrival_soc_pct / 100.0, self.requested_soc_pct / 100.0)


def clock(minutes: int) -> str:
    """``HH:MM`` of minutes after midnight (``24:00`` for the end of the day)."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def offer_at(
    site: Site,
    episode: Episode,
    query: ArrivalQuery,
    futures: FutureSampler | None,
    seed: int = 1,
    options: dict[str, Any] | None = None,
) -> tuple[PricedMenu, dict[str, Any]]:
    """Play ``episode`` under ``consent`` up to the arrival, then price the driver's menu.

    Returns the priced menu and the state it was priced in (slot, charger,
    connected EVs, the month's peak so far).
    """
    query.validate(episode)
    session = query.session()
    sim = Simulator(site, episode, Consent(), seed, futures, policy_options=options)
    while sim.slot < session.arrival_slot:
        sim.step()
    sim.begin_slot()
    request = sim.request_for(session)
    if request is None:
        raise OfferError(f"every charger is busy at {clock(query.at_minutes)} on day {query.day}")
    obs = sim.observe()
    try:
        menu = sim.policy.priced_menu(obs, request)
    except PricingFailed as err:
        raise OfferError(f"the options could not be priced: {err}") from None
    state = {
        "day": query.day,
        "slot": int(obs.slot),
        "charger": site.charger_list[request.charger_index].charger_id,
        "connected_evs": int(obs.occupied.sum()),
        "peak_so_far_kw": float(obs.peak_so_far_kw),
        "last_measured_load_kw": float(obs.last_load_kw),
    }
    return menu, state


def menu_json(menu: PricedMenu, alpha: float, day: int) -> dict[str, Any]:
    """The menu as ``v2b offer --json`` prints it (times of day, SoC in %)."""
    day_start = day * SLOTS_PER_DAY
    return {
        "alpha": alpha,
        "options": [
            {
                "level": o.level,
                "target_soc_pct": round(100.0 * o.soc_target, 4),
                "departure": clock((o.departure_slot - day_start) * SLOT_MINUTES),
                "energy_kwh": round(o.energy_kwh, 4),
                "energy_cost_usd": round(o.energy_cost_usd, 4),
                "marginal_utility_usd": round(o.marginal_utility_usd, 4) + 0.0,
                "price_usd": round(o.price_usd, 4),
                "price_usd_per_kwh": None if o.energy_kwh <= 1e-9 else round(o.price_per_kwh, 4),
            }
            for o in menu.options
        ],
        "reject": {"price_usd_per_kwh": menu.external_price_per_kwh} if menu.reject_allowed else None,
    }
