"""Driver types: how much a deviation from the request costs a driver (CONSENT Sec. 5).

A driver's inconvenience for an option is ``I = w1 x dSoC + w2 x dt``
(``docs/model.md``, "Drivers"): ``w1`` in $ per percentage point of SoC given up,
``w2`` in $ per minute of later departure. A population is a mix of types, each
with mean weights, their standard deviations and a share. Types live in a TOML
file (``v2b survey fit`` writes one); the CONSENT survey's four types ship as
``builtin:consent-survey``. The paper's sensitivity profiles (Table 2) scale the
weights of every type (:data:`PROFILES`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from v2b.errors import UserError

BUILTIN_PREFIX = "builtin:"
BUILTIN_TYPES = {"consent-survey": "consent-survey-types.toml"}

#: CONSENT Table 2's user profiles: (SoC weight factor, time weight factor).
PROFILES: dict[str, tuple[float, float]] = {
    "survey": (1.0, 1.0),
    "more-flexible": (0.75, 0.75),
    "range-sensitive": (1.5, 1.0),
    "time-sensitive": (1.0, 1.5),
    "less-flexible": (1.25, 1.25),
}


class UserTypesError(UserError):
    """A user-type file that cannot be used; the message names file, field and value."""


@dataclass(frozen=True)
class UserType:
    """One driver type.

    Attributes
    ----------
    name : str
        Label (``i``, ``ii``... in the paper).
    soc_weight_usd_per_pct : float
        Mean w1 [$ per SoC percentage point given up].
    soc_weight_sd : float
        Standard deviation of w1 across drivers of the type [$ per point].
    time_weight_usd_per_min : float
        Mean w2 [$ per minute of later departure].
    time_weight_sd : float
        Standard deviation of w2 [$ per minute].
    share : float
        Fraction of drivers of this type.
    """

    name: str
    soc_weight_usd_per_pct: float
    soc_weight_sd: float
    time_weight_usd_per_min: float
    time_weight_sd: float
    share: float

    def scaled(self, soc_factor: float, time_factor: float) -> UserType:
        """The type with both moments of w1 and w2 multiplied by the factors."""
        return replace(
            self,
            soc_weight_usd_per_pct=self.soc_weight_usd_per_pct * soc_factor,
            soc_weight_sd=self.soc_weight_sd * soc_factor,
            time_weight_usd_per_min=self.time_weight_usd_per_min * time_factor,
            time_weight_sd=self.time_weight_sd * time_factor,
        )


@dataclass(frozen=True)
class UserTypes:
    """A population of driver types whose shares sum to 1."""

    types: tuple[UserType, ...]
    source: str = ""

    @property
    def shares(self) -> np.ndarray:
        return np.array([t.share for t in self.types])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types)

    def mean_weights(self) -> tuple[float, float]:
        """Share-weighted mean ``(w1, w2)``: what a building that does not know the
        driver's type expects [$ per point, $ per minute] (the inconvenience I-bar,
        ``docs/model.md``, "Negotiation")."""
        w = self.shares
        w1 = float(w @ [t.soc_weight_usd_per_pct for t in self.types])
        w2 = float(w @ [t.time_weight_usd_per_min for t in self.types])
        return w1, w2

    def with_profile(self, profile: str) -> UserTypes:
        """Every type scaled by a named profile of :data:`PROFILES`."""
        if profile not in PROFILES:
            raise UserTypesError(
                f"unknown user profile {profile!r}; known profiles: {', '.join(PROFILES)}"
            )
        soc, time = PROFILES[profile]
        if (soc, time) == (1.0, 1.0):
            return self
        label = f"{self.source} ({profile})" if self.source else profile
        return UserTypes(tuple(t.scaled(soc, time) for t in self.types), label)

    def to_toml(self) -> str:
        """The population as a user-type file (read back by :func:`load_user_types`)."""
        lines = [f"source = {_quote(self.source)}", ""]
        for t in self.types:
            lines += [
                "[[types]]",
                f"name = {_quote(t.name)}",
                f"soc_weight_usd_per_pct = {t.soc_weight_usd_per_pct:.6g}",
                f"soc_weight_sd = {t.soc_weight_sd:.6g}",
                f"time_weight_usd_per_min = {t.time_weight_usd_per_min:.6g}",
                f"time_weight_sd = {t.time_weight_sd:.6g}",
                f"share = {t.share:.6g}",
                "",
            ]
        return "\n".join(lines)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FIELDS = {
    "soc_weight_usd_per_pct": (0.0, 100.0),
    "soc_weight_sd": (0.0, 100.0),
    "time_weight_usd_per_min": (0.0, 100.0),
    "time_weight_sd": (0.0, 100.0),
    "share": (0.0, 1.0),
}


def user_types_from_dict(data: dict, origin: str) -> UserTypes:
    """Validate a parsed user-type mapping; errors name ``origin``, the field and the value."""
    raw = data.get("types")
    if not isinstance(raw, list) or not raw:
        raise UserTypesError(f"{origin}: needs at least one [[types]] table")
    types = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise UserTypesError(f"{origin}: types[{i}] is not a table")
        unknown = set(entry) - set(_FIELDS) - {"name"}
        if unknown:
            raise UserTypesError(f"{origin}: types[{i}] has unknown field(s) {', '.join(sorted(unknown))}")
        values = {}
        for key, (lo, hi) in _FIELDS.items():
            value = entry.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise UserTypesError(
                    f"{origin}: field 'types[{i}].{key}' = {value!r} must be a number in {lo}..{hi}"
                )
            values[key] = float(value)
        types.append(UserType(name=str(entry.get("name", f"type-{i + 1}")), **values))
    total = sum(t.share for t in types)
    if abs(total - 1.0) > 0.01:
        raise UserTypesError(f"{origin}: type shares sum to {total:.4f}, they must sum to 1 (+-0.01)")
    types = [replace(t, share=t.share / total) for t in types]
    return UserTypes(tuple(types), str(data.get("source", origin)))


def load_user_types(source: str | Path, base_dir: str | Path | None = None) -> UserTypes:
    """A user-type file by path (relative to ``base_dir``) or ``builtin:NAME``."""
    text = str(source)
    if text.startswith(BUILTIN_PREFIX):
        name = text[len(BUILTIN_PREFIX):]
        if name not in BUILTIN_TYPES:
            raise UserTypesError(
                f"unknown built-in user types {text!r}; known: "
                + ", ".join(BUILTIN_PREFIX + n for n in BUILTIN_TYPES)
            )
        res = resources.files("v2b.users.data") / BUILTIN_TYPES[name]
        return user_types_from_dict(tomllib.loads(res.read_text()), origin=text)
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserTypesError(f"user-type file {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserTypesError(f"{path}: cannot parse as TOML: {err}") from None
    return user_types_from_dict(data, origin=str(path))
