"""PV generation for the synthetic community: pvlib clear sky at Coimbra times a daily cloud factor.

The community paper scales the PV of a Coimbra university building so that it
covers 50 % of the annual demand (Section III.A). We have no measured PV, so we
compute it: Ineichen clear-sky irradiance (pvlib, with the Linke turbidity
climatology that ships inside pvlib) on a south-facing 30 deg tilted plane,
multiplied by one seeded cloud factor per day, and scaled so that the annual
energy equals the requested share of the annual load. Times are local standard
time (UTC+0, "Etc/GMT"): Portugal's winter time, no daylight-saving jump.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pvlib

LATITUDE_DEG = 40.2033
LONGITUDE_DEG = -8.4103
ALTITUDE_M = 100.0
TIMEZONE = "Etc/GMT"
TILT_DEG = 30.0
AZIMUTH_DEG = 180.0
FINE_MINUTES = 5

# Mean ratio of daily all-sky to clear-sky irradiation per month. An assumption, not
# measured data: a smooth seasonal curve (cloudier winters, clear summers) in line
# with Coimbra's climate. Only March relative to the year matters here, because the
# PV is rescaled to its annual target.
MONTHLY_CLEAR_SHARE = np.array(
    [0.55, 0.60, 0.65, 0.70, 0.74, 0.82, 0.88, 0.87, 0.78, 0.66, 0.57, 0.53]
)
# Beta concentration a + b of the daily factor. With 3 and a mean of 0.6-0.9 the
# distribution is skewed towards clear days with a tail of overcast ones, the shape of
# the Liu-Jordan daily clearness distributions for sunny climates.
CLOUD_CONCENTRATION = 3.0


def daily_cloud_factors(
    year: int, rng: np.random.Generator, concentration: float = CLOUD_CONCENTRATION
) -> np.ndarray:
    """One cloud factor per day of ``year`` (share of clear-sky energy reaching the panel).

    Beta-distributed with the month's mean clear share and ``concentration`` = a + b,
    clipped to [0.05, 1].

    Parameters
    ----------
    year : int
        Calendar year.
    rng : np.random.Generator
        Source of the draws.
    concentration : float
        Beta a + b; lower means more spread between clear and overcast days [-].

    Returns
    -------
    np.ndarray
        Cloud factor per day of the year [-], shape (365,) or (366,).
    """
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    mean = MONTHLY_CLEAR_SHARE[days.month.to_numpy() - 1]
    draws = rng.beta(mean * concentration, (1.0 - mean) * concentration)
    return np.clip(draws, 0.05, 1.0)


def clear_sky_plane_w_per_m2(times: pd.DatetimeIndex) -> np.ndarray:
    """Clear-sky irradiance on the tilted plane at Coimbra [W/m2] at ``times``."""
    site = pvlib.location.Location(
        LATITUDE_DEG, LONGITUDE_DEG, tz=TIMEZONE, altitude=ALTITUDE_M
    )
    sky = site.get_clearsky(times)
    sun = site.get_solarposition(times)
    plane = pvlib.irradiance.get_total_irradiance(
        TILT_DEG, AZIMUTH_DEG, sun["apparent_zenith"], sun["azimuth"],
        sky["dni"], sky["ghi"], sky["dhi"], model="isotropic",
    )
    return np.nan_to_num(plane["poa_global"].to_numpy(), nan=0.0)


def pv_kw_for_days(
    dates: list[dt.date],
    slot_minutes: int,
    annual_energy_kwh: float,
    cloud: np.ndarray,
) -> np.ndarray:
    """PV power per slot for each date, sized to ``annual_energy_kwh`` over the year.

    Parameters
    ----------
    dates : list of datetime.date
        Days to return, all in the year ``cloud`` belongs to.
    slot_minutes : int
        Slot length [min], a multiple of :data:`FINE_MINUTES` dividing 1440.
    annual_energy_kwh : float
        PV energy over the whole year [kWh] (cloud factors included).
    cloud : np.ndarray
        Cloud factor per day of the year, from :func:`daily_cloud_factors`.

    Returns
    -------
    np.ndarray
        Average PV power per slot [kW], shape (len(dates), 1440 // slot_minutes).
    """
    year = dates[0].year
    hours = pd.date_range(
        f"{year}-01-01 00:30", periods=cloud.shape[0] * 24, freq="h", tz=TIMEZONE
    )
    annual_clear = clear_sky_plane_w_per_m2(hours).reshape(-1, 24).sum(axis=1)
    # Plane area at 100 % efficiency that yields the annual target [m2].
    area_m2 = annual_energy_kwh / (float(annual_clear @ cloud) / 1000.0)

    per_day = 1440 // FINE_MINUTES
    starts = np.array([np.datetime64(day, "m") for day in dates])
    offsets = (np.arange(per_day) * FINE_MINUTES * 60 + FINE_MINUTES * 30).astype("timedelta64[s]")
    times = pd.DatetimeIndex((starts[:, None] + offsets[None, :]).ravel()).tz_localize(TIMEZONE)
    fine = clear_sky_plane_w_per_m2(times).reshape(len(dates), per_day)
    day_of_year = np.array([day.timetuple().tm_yday - 1 for day in dates])
    fine_kw = fine * cloud[day_of_year, None] * area_m2 / 1000.0
    per_slot = slot_minutes // FINE_MINUTES
    return fine_kw.reshape(len(dates), -1, per_slot).mean(axis=2)
