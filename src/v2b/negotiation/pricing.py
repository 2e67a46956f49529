"""The money of one option: marginal utility, price, and what the driver makes of it.

Pure functions of a few numbers. Every one of them implements an equation of
CONSENT as ``docs/model.md`` ("Negotiation") decides to read it.
"""

from __future__ import annotations


def marginal_utility_usd(cost_without_usd: float, cost_with_excl_ev_energy_usd: float) -> float:
    """``U = E_f[J(without v) - J(with v)]`` (CONSENT Eq. 2) [$].

    Both costs are expectations over the same sampled futures; J *with* v
    excludes v's own energy cost ``sum_t w_t r_t^v``, which v pays through the
    first term of Eq. 3 (``docs/model.md``, "Negotiation: marginal utility").
    """
    return cost_without_usd - cost_with_excl_ev_energy_usd


def user_price_usd(energy_cost_usd: float, utility_usd: float, alpha: float) -> float:
    """``zeta = sum_t w_t r_t - alpha max(U, 0) + max(-U, 0)`` (CONSENT Eq. 3) [$].

    A driver pays the energy their charging costs at TOU rates, minus share
    ``alpha`` of a positive marginal utility; a driver whose request costs the
    building more than it saves (``U < 0``) pays that whole extra cost. Hence
    ``zeta >= energy - U``: the building's expected cost with the driver, net of
    the payment, is never above its cost without them (Theorem 2).

    Parameters
    ----------
    energy_cost_usd : float
        Expected TOU cost of the driver's planned charging [$].
    utility_usd : float
        Marginal utility U [$].
    alpha : float
        Share of a positive U passed to the driver, in (0, 1].
    """
    return energy_cost_usd - alpha * max(utility_usd, 0.0) + max(-utility_usd, 0.0)


def building_gain_usd(price_usd: float, energy_cost_usd: float, utility_usd: float) -> float:
    """Expected saving of the building from serving the driver at ``price_usd`` [$]:
    ``J(without) - (J(with) - zeta) = zeta - energy + U`` (Theorem 2 asks >= 0)."""
    return price_usd - energy_cost_usd + utility_usd


def driver_surplus_usd(
    external_price_per_kwh: float,
    energy_kwh: float,
    price_usd: float,
    soc_weight_usd_per_pct: float,
    time_weight_usd_per_min: float,
    soc_reduction_pct: float,
    delay_minutes: float,
) -> float:
    """``Y = E_bar x E - (zeta + w1 dSoC + w2 dt)`` (CONSENT Eq. 5) [$]; 0 is rejecting."""
    inconvenience = soc_weight_usd_per_pct * soc_reduction_pct + time_weight_usd_per_min * delay_minutes
    return external_price_per_kwh * energy_kwh - price_usd - inconvenience


def per_kwh_terms(price_usd: float, energy_kwh: float, tolerance_kwh: float = 1e-6) -> tuple[float, float]:
    """An option's price as ``(fixed $, $ per kWh)`` for settlement on delivered energy.

    The whole price is per kWh of the promised energy, so a missed target is paid
    pro rata (``docs/model.md``, "Settlement"); an option that promises no energy
    (the car arrives at or above its target) carries its price as a fixed amount.
    """
    if energy_kwh > tolerance_kwh:
        return 0.0, price_usd / energy_kwh
    return price_usd, 0.0
