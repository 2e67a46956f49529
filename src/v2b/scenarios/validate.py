"""Generated months against recorded months the fit did not see (``v2b data validate``).

Hold-out rule (deterministic): the recorded session months (:func:`replay_months`, time
order) alternate, the 1st, 3rd, 5th, ... into the *fit half* and the 2nd, 4th, ... into
the *held-out half*. The load data's months (those with a complete weekday, time order;
for the shipped one-year load: January fit, February held out, March fit, ...) are split
the same way. The model is fitted on the fit half of both only.

Samples, each a list of months:

- *held-out*: the held-out session months replayed with every recorded session
  (:func:`replay_episode` at an infinite rate, so nothing is thinned) and the held-out
  load months' complete weekdays as recorded (holidays included);
- *generated*: ``months`` episodes of the fit-half model (:func:`generate_episode` at the
  fit half's own rate ``data_arrivals_per_day``, load scale 1; its calendar month drawn
  as in every episode, which for sessions only sets the weekdays) for the session
  features, and ``months`` months of load days (``building.sample_days``, what
  ``generate_episode`` draws) cycling over the held-out load months' calendar months;
- *fit half*: the fit-half months, recorded, built like the held-out ones.

Every feature is compared generated against held-out, and fit half against held-out as
the reference: how much recorded months differ among themselves. A feature *passes*
when the first is no larger than the second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from v2b.data.errors import DataError
from v2b.data.fleet import Fleet
from v2b.data.load import LoadData
from v2b.data.sessions import SessionData
from v2b.scenarios.episodes import EpisodeArrays, generate_episode, weekdays_of_month
from v2b.scenarios.model import GenerativeModel
from v2b.scenarios.replay import replay_episode, replay_months
from v2b.scenarios.validate_features import (
    DEFAULT_CHARGERS,
    Comparison,
    LoadFeatures,
    Month,
    Sample,
    SessionFeatures,
    compare,
    recorded_weekdays,
)

DEFAULT_MONTHS = 40
FitFunction = Callable[[SessionData, LoadData, Fleet], GenerativeModel]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class HoldoutSplit:
    """(year, month) of the fit and held-out halves, sessions and load (module docstring)."""

    fit_months: tuple[Month, ...]
    held_out_months: tuple[Month, ...]
    fit_load_months: tuple[Month, ...]
    held_out_load_months: tuple[Month, ...]


def alternate(months: Sequence[Month]) -> tuple[tuple[Month, ...], tuple[Month, ...]]:
    """1st, 3rd, 5th, ... month into the fit half, 2nd, 4th, ... into the held-out half."""
    ordered = sorted(months)
    return tuple(ordered[0::2]), tuple(ordered[1::2])


def load_months(load: LoadData) -> list[Month]:
    """(year, month) of every month of the load with at least one complete weekday."""
    index = load.series.index
    candidates = sorted(set(zip(index.year.tolist(), index.month.tolist(), strict=True)))
    days = recorded_weekdays(load, candidates)
    return [m for m, d in zip(candidates, days, strict=True) if d.shape[0] > 0]


def _names(months: Sequence[Month]) -> str:
    return ", ".join(f"{y}-{m:02d}" for y, m in months)


def holdout_split(sessions: SessionData, load: LoadData) -> HoldoutSplit:
    """Split sessions and load months alternately; at least two of each are needed."""
    session_months = replay_months(sessions)
    if len(session_months) < 2:
        raise DataError(
            f"{sessions.source}: validation holds out whole months and needs sessions on weekdays "
            f"of at least 2 months; found {len(session_months)} ({_names(session_months)})"
        )
    months_of_load = load_months(load)
    if len(months_of_load) < 2:
        raise DataError(
            f"{load.source}: validation holds out whole months and needs complete weekdays of "
            f"at least 2 months of load; found {len(months_of_load)} ({_names(months_of_load)})"
        )
    fit, held = alternate(session_months)
    fit_load, held_load = alternate(months_of_load)
    return HoldoutSplit(fit, held, fit_load, held_load)


def restrict_sessions(sessions: SessionData, months: Sequence[Month]) -> SessionData:
    """The sessions arriving in ``months``."""
    arrival = sessions.frame["arrival"]
    key = arrival.dt.year * 100 + arrival.dt.month
    frame = sessions.frame[key.isin([y * 100 + m for y, m in months])].reset_index(drop=True)
    return replace(sessions, frame=frame, source=f"{sessions.source} ({_names(months)})")


def restrict_load(load: LoadData, months: Sequence[Month]) -> LoadData:
    """The load slots in ``months``."""
    index = load.series.index
    keep = pd.Index(index.year * 100 + index.month).isin([y * 100 + m for y, m in months])
    return replace(load, series=load.series[keep], source=f"{load.source} ({_names(months)})")


@dataclass(frozen=True)
class Validation:
    """What :func:`validate` found: the comparisons and the samples behind them."""

    rows: list[Comparison]
    split: HoldoutSplit
    generated: Sample
    held_out: Sample
    fit_half: Sample
    months: int
    chargers: int
    arrivals_per_day: float
    generated_load_months: tuple[Month, ...]

    @property
    def passed(self) -> int:
        return sum(r.passes for r in self.rows)


def validate(
    sessions: SessionData,
    load: LoadData,
    fleet: Fleet,
    rng: np.random.Generator,
    *,
    fit: FitFunction = GenerativeModel.fit,
    months: int = DEFAULT_MONTHS,
    chargers: int = DEFAULT_CHARGERS,
    progress: Progress | None = None,
) -> Validation:
    """Fit on one half of the months, compare generated months with the other half.

    Parameters
    ----------
    sessions, load : SessionData, LoadData
        All recorded data; :func:`holdout_split` decides which months the fit sees.
    fleet : Fleet
        Battery table for the fit and for recorded sessions without a battery.
    rng : numpy.random.Generator
        Every random draw (replayed SoC, generated months, permutations) comes from it.
    fit : callable
        ``fit(sessions, load, fleet) -> GenerativeModel``, the fit being validated.
    months : int
        Generated months per comparison (>= 1).
    chargers : int
        Occupancy threshold of the ``busy_share`` feature [EVs].
    progress : callable, optional
        ``progress(done, total)`` after each step.
    """
    if months < 1:
        raise ValueError(f"months = {months}: need at least one generated month")
    split = holdout_split(sessions, load)
    total = 2 + len(split.fit_months) + len(split.held_out_months) + 2 * months
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    model = fit(restrict_sessions(sessions, split.fit_months),
                restrict_load(load, split.fit_load_months), fleet)
    step()

    def recorded(half: Sequence[Month]) -> list[EpisodeArrays]:
        out = []
        for year, month in half:
            out.append(replay_episode(model, sessions, year, month, rng, arrivals_per_day=float("inf"),
                                      load_scale=1.0))
            step()
        return out

    fit_episodes, held_episodes = recorded(split.fit_months), recorded(split.held_out_months)
    rate = model.arrivals.data_arrivals_per_day
    generated = []
    for _ in range(months):
        generated.append(generate_episode(model, rng, arrivals_per_day=rate, load_scale=1.0))
        step()
    load_months_cycled = tuple(split.held_out_load_months[k % len(split.held_out_load_months)]
                               for k in range(months))
    generated_load = []
    for year, month in load_months_cycled:
        n_days = len(weekdays_of_month(year, month))
        generated_load.append(model.building.sample_days(month, n_days, rng))
        step()
    samples = [
        Sample(SessionFeatures.of(episodes, chargers), LoadFeatures.of(days))
        for episodes, days in (
            (generated, generated_load),
            (held_episodes, recorded_weekdays(load, split.held_out_load_months)),
            (fit_episodes, recorded_weekdays(load, split.fit_load_months)),
        )
    ]
    rows = compare(*samples, rng, chargers)
    step()
    return Validation(rows, split, *samples, months=months, chargers=chargers, arrivals_per_day=rate,
                      generated_load_months=load_months_cycled)
