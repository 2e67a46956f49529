"""The paper's experiments as lists of tasks: which runs make each table's rows.

An experiment is a list of :class:`Cell` s (one row of a table on one episode), each
pointing at a :class:`~v2b.experiments.runner.RunSpec`. The same run can serve several
experiments (CONSENT on the survey drivers is a row of Table 1, of Table 2 and, at
alpha = 1, of Table 3); the store keeps it once (``docs/experiments.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from v2b.experiments.runner import RunSpec
from v2b.site import Site

EXPERIMENTS: tuple[str, ...] = ("table1", "table2", "table3", "figure2")

#: Table 1's policies in the paper's order, with the paper's label and group.
TABLE1_ROWS: tuple[tuple[str, str, str], ...] = (
    ("building-only", "Building-Only Reference", "Reference Baseline"),
    ("uncontrolled", "Uncoordinated Charging + Free Cost", "Non-Negotiation Baselines"),
    ("smart-free", "Smart Charging + Free Cost", "Non-Negotiation Baselines"),
    ("smart-fixed", "Smart Charging + Fixed User Cost", "Non-Negotiation Baselines"),
    ("smart-utility", "Smart Charging + Utility-based Cost", "Non-Negotiation Baselines"),
    ("menu", "Menu-based Negotiation", "Negotiation-Based Policies"),
    ("consent", "CONSENT (Our Approach)", "Negotiation-Based Policies"),
    ("consent-no-reject", "CONSENT (without Reject Option)", "Ablation Study"),
)

#: Table 2's policies (groups) and driver profiles (rows), in the paper's order.
TABLE2_POLICIES: tuple[tuple[str, str], ...] = (
    ("consent", "CONSENT (with Reject option)"),
    ("consent-no-reject", "CONSENT without Reject option"),
    ("menu", "Menu-based Negotiation"),
)
TABLE2_PROFILES: tuple[tuple[str, str], ...] = (
    ("survey", "Baseline (Survey)"),
    ("more-flexible", "More Flexible (-25% w1, w2)"),
    ("range-sensitive", "Range-Sens. (+50% w1)"),
    ("time-sensitive", "Time-Sens. (+50% w2)"),
    ("less-flexible", "Less Flexible (+25% w1, w2)"),
)

#: Table 3's shares of the marginal utility passed on to drivers (alpha of Eq. 3).
TABLE3_ALPHAS: tuple[float, ...] = (1.0, 0.9, 0.75, 0.5, 0.25, 0.1)

#: Figure 2: arrival intensity as a multiple of the site's, the policies timed, and
#: how much of each episode (runtime per decision needs days, not whole months).
FIGURE2_SCALES: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
FIGURE2_POLICIES: tuple[str, ...] = ("smart-free", "consent")
FIGURE2_DAYS = 3
FIGURE2_EPISODES = 5


@dataclass(frozen=True)
class Cell:
    """One row of one experiment's table, on one episode, and the run that fills it."""

    experiment: str
    row: str
    label: str
    group: str
    episode: int
    spec: RunSpec

    def as_dict(self, key: str) -> dict[str, Any]:
        return {"experiment": self.experiment, "row": self.row, "label": self.label, "group": self.group,
                "episode": self.episode, "key": key}


@dataclass(frozen=True)
class Sweep:
    """What the user asked for: the site, episodes and options shared by every run."""

    site: str
    episodes: int
    seed: int = 1
    days: int | None = None
    options: dict[str, Any] | None = None

    def spec(self, policy: str, episode: int, days: int | None = None, **extra: Any) -> RunSpec:
        options = {**(self.options or {}), **extra}
        return RunSpec(self.site, policy, episode, self.seed, days if days is not None else self.days,
                       options=options)


def expand(names: list[str]) -> list[str]:
    """``all`` becomes every experiment; duplicates dropped, the paper's order kept."""
    wanted = set(EXPERIMENTS) if "all" in names else set(names)
    return [e for e in EXPERIMENTS if e in wanted]


def plan(experiments: list[str], sweep: Sweep, site: Site) -> list[Cell]:
    """Every cell of the named experiments (see :data:`EXPERIMENTS`).

    An option is set on a run only where it differs from the site's own value, so a
    run that means the same thing in two tables is the same run.
    """
    cells: list[Cell] = []
    for name in expand(experiments):
        cells.extend(_BUILDERS[name](sweep, site))
    return cells


def _table1(sweep: Sweep, site: Site) -> list[Cell]:
    return [Cell("table1", policy, label, group, ep, sweep.spec(policy, ep))
            for policy, label, group in TABLE1_ROWS for ep in range(sweep.episodes)]


def _table2(sweep: Sweep, site: Site) -> list[Cell]:
    cells = []
    for policy, group in TABLE2_POLICIES:
        for profile, label in TABLE2_PROFILES:
            extra = {} if profile == site.users.profile else {"user_profile": profile}
            cells.extend(Cell("table2", f"{policy}/{profile}", label, group, ep,
                              sweep.spec(policy, ep, **extra)) for ep in range(sweep.episodes))
    return cells


def _table3(sweep: Sweep, site: Site) -> list[Cell]:
    cells = []
    for alpha in TABLE3_ALPHAS:
        extra = {} if math.isclose(alpha, site.negotiation.alpha) else {"alpha": alpha}
        cells.extend(Cell("table3", f"alpha={alpha:g}", f"{alpha:.0%}", "", ep,
                          sweep.spec("consent", ep, **extra)) for ep in range(sweep.episodes))
    return cells


def _figure2(sweep: Sweep, site: Site) -> list[Cell]:
    days = min(sweep.days or FIGURE2_DAYS, FIGURE2_DAYS)
    cells = []
    for policy in FIGURE2_POLICIES:
        for scale in FIGURE2_SCALES:
            extra = {} if scale == 1.0 else {"arrival_scale": scale}
            cells.extend(Cell("figure2", f"{policy}@x{scale:g}", f"{policy}, {scale:g}x arrivals", policy,
                              ep, sweep.spec(policy, ep, days=days, **extra))
                         for ep in range(min(sweep.episodes, FIGURE2_EPISODES)))
    return cells


_BUILDERS = {"table1": _table1, "table2": _table2, "table3": _table3, "figure2": _figure2}
