"""Errors and skip reports shared by every loader.

Loaders validate whole columns at once (vectorised masks) and then either raise a
:class:`DataError` naming the first offending row, or, with ``skip_invalid=True``,
drop every offending row and return a :class:`SkipReport` saying how many rows
went and why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from v2b.errors import UserError


class DataError(UserError):
    """Input data that cannot be used; the message names file, row, field and value.

    A :class:`ValueError` (through :class:`v2b.errors.UserError`), so the CLI prints it
    as a message and exits with status 2.
    """


@dataclass
class SkipReport:
    """What ``skip_invalid=True`` dropped from one file.

    ``reasons`` maps a reason (``"field 'x': rule"``) to the number of rows dropped
    for it (each row counts once, under its first failing check); ``examples``
    holds the full message of the first dropped row for each reason.
    """

    source: str
    total_rows: int = 0
    dropped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.total_rows - self.dropped

    def summary(self) -> str:
        """One line per reason, e.g. ``dropped 3 of 120 rows: 2 x field 'soc' ...``."""
        if not self.dropped:
            return f"{self.source}: all {self.total_rows} rows valid"
        lines = [f"{self.source}: dropped {self.dropped} of {self.total_rows} rows"]
        for reason, count in self.reasons.most_common():
            lines.append(f"  {count} x {reason} (first: {self.examples[reason]})")
        return "\n".join(lines)

    def merge(self, other: SkipReport) -> None:
        """Add another report's counts (e.g. a second file of the same data set)."""
        self.total_rows += other.total_rows
        self.dropped += other.dropped
        self.reasons.update(other.reasons)
        for reason, example in other.examples.items():
            self.examples.setdefault(reason, example)


def _show(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "(missing)"
    return repr(value.item() if isinstance(value, np.generic) else value)


class RowChecks:
    """Collects per-row checks on a table, then raises or drops.

    Parameters
    ----------
    source : str
        File name used in messages.
    n_rows : int
        Number of data rows.
    skip_invalid : bool
        Drop bad rows instead of raising.
    unit : str
        How a row is named in messages: ``"row"`` (CSV: 1-based data row, plus the
        file line) or ``"item"`` (JSON list element, 1-based).
    header_lines : int
        Lines before the first data row (CSV header), for the ``line N`` hint.
    """

    def __init__(
        self,
        source: str,
        n_rows: int,
        skip_invalid: bool,
        unit: str = "row",
        header_lines: int = 1,
    ) -> None:
        self.source = source
        self.n_rows = n_rows
        self.skip_invalid = skip_invalid
        self.unit = unit
        self.header_lines = header_lines
        self.bad = np.zeros(n_rows, dtype=bool)
        self._failures: list[tuple[int, str, str]] = []
        self.report = SkipReport(source=source, total_rows=n_rows)

    def where(self, index: int) -> str:
        """``row 3 (line 4)`` or ``item 3`` for 0-based ``index``."""
        if self.unit == "row":
            return f"row {index + 1} (line {index + 1 + self.header_lines})"
        return f"{self.unit} {index + 1}"

    def message(self, index: int, field_name: str, value: object, rule: str) -> str:
        return f"{self.source}: {self.where(index)}: field '{field_name}' = {_show(value)}: {rule}"

    def check(self, bad_mask: np.ndarray, field_name: str, values: object, rule: str) -> None:
        """Register rows where ``bad_mask`` is true as failing ``rule`` on ``field_name``.

        ``values`` is indexable by row position (array, list or Series) and gives
        the offending value for the message.
        """
        bad_mask = np.asarray(bad_mask, dtype=bool)
        new = bad_mask & ~self.bad
        if not new.any():
            return
        first = int(np.flatnonzero(new)[0])
        value = values.iloc[first] if hasattr(values, "iloc") else values[first]
        reason = f"field '{field_name}': {rule}"
        self._failures.append((first, reason, self.message(first, field_name, value, rule)))
        self.report.reasons[reason] += int(new.sum())
        self.report.examples.setdefault(reason, self._failures[-1][2])
        self.bad |= new

    def finish(self) -> np.ndarray:
        """Raise for the earliest bad row, or return the mask of rows to keep."""
        if self._failures and not self.skip_invalid:
            raise DataError(min(self._failures)[2])
        self.report.dropped = int(self.bad.sum())
        return ~self.bad
