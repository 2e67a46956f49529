"""Time-zone names, checked where the user gives them (a site's ``timezone``, ``--timezone``,
a data file's ``timezone`` column) so a bad name is blamed there and not on the data it
would later fail to convert."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from v2b.data.errors import DataError

EXAMPLES = "e.g. America/Los_Angeles, Europe/Lisbon, UTC"


def is_time_zone(name: object) -> bool:
    """Whether ``name`` is an IANA time-zone name (case-sensitive, as the database spells it)."""
    if not isinstance(name, str) or not name:
        return False
    try:
        ZoneInfo(name)
    except (LookupError, ValueError, OSError):  # unknown key / not a key / a folder such as "America"
        return False
    return True


def check_time_zone(name: str, what: str) -> str:
    """``name`` if it is a time zone; else a :class:`DataError` naming ``what`` (the field or
    option it came from) and the value."""
    if not is_time_zone(name):
        raise DataError(f"{what} {name!r} is not a known IANA time zone ({EXAMPLES})")
    return name
