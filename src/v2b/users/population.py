"""A site's drivers: its user-type file, profile and choice settings as one chooser."""

from __future__ import annotations

from functools import lru_cache

from v2b.site import Site
from v2b.users.choice import LogitChooser
from v2b.users.types import UserTypes, load_user_types


@lru_cache(maxsize=64)
def _types(source: str, base_dir: str | None, profile: str) -> UserTypes:
    return load_user_types(source, base_dir).with_profile(profile)


def site_user_types(site: Site, profile: str | None = None) -> UserTypes:
    """The site's driver population (``users.types`` scaled by ``users.profile``, or by
    ``profile`` where given)."""
    return _types(site.users.types, site.base_dir, profile or site.users.profile)


def site_chooser(site: Site, temperature_usd: float | None = None,
                 profile: str | None = None) -> LogitChooser:
    """How the site's drivers answer a menu (``users`` section of the site; a
    temperature or profile given here overrides the site's)."""
    u = site.users
    return LogitChooser(
        types=site_user_types(site, profile),
        external_price_per_kwh=u.external_price_usd_per_kwh,
        temperature_usd=u.choice_temperature_usd if temperature_usd is None else temperature_usd,
        epsilon=u.choice_epsilon,
    )
