"""Site configuration: the default site, user files, and validation messages."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tomli_w

from v2b.site import SiteError, builtin_site_names, load_site


def test_default_site_matches_the_paper():
    site = load_site("santa-clara-office")
    ch = site.charger_arrays
    assert len(ch) == 15
    assert ch.bidirectional.sum() == 5
    assert set(ch.max_kw) == {20.0} and set(ch.min_kw) == {-20.0, 0.0}
    prices = site.tariff.price_per_kwh_by_slot()
    assert prices[23] == 0.137 and prices[24] == 0.178  # 06:00 starts the peak
    assert prices[87] == 0.178 and prices[88] == 0.137  # 22:00 ends it
    assert site.tariff.demand_charge_usd_per_kw == 11.67
    assert site.penalties.soc_penalty_usd_per_kwh == 0.5
    assert site.penalties.degradation_usd_per_kwh == 0.05
    assert site.users.external_price_usd_per_kwh == 0.30
    assert "santa-clara-office" in builtin_site_names()


def test_charge_curve_is_concave_and_matches_segments():
    site = load_site("santa-clara-office")
    soc = np.linspace(0, 1, 101)
    a, b = site.battery.segments()
    np.testing.assert_allclose(site.battery.charge_fraction(soc), np.min(a * soc[:, None] + b, axis=1))
    assert site.battery.charge_fraction(0.5) == 1.0
    assert site.battery.charge_fraction(1.0) == pytest.approx(0.1)


def _write(tmp_path, data, suffix=".toml"):
    path = tmp_path / f"my-site{suffix}"
    path.write_text(tomli_w.dumps(data) if suffix == ".toml" else json.dumps(data))
    return path


def base():
    return {
        "name": "mine",
        "chargers": [{"count": 2, "kind": "unidirectional", "max_kw": 7.2, "level": "L1"}],
        "tariff": {
            "demand_charge_usd_per_kw": 5.0,
            "energy": [{"name": "flat", "start": "00:00", "end": "00:00", "price_per_kwh": 0.2}],
        },
    }


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_user_site_file_loads(tmp_path, suffix):
    site = load_site(_write(tmp_path, base(), suffix))
    assert site.name == "mine" and len(site.charger_list) == 2
    assert (site.tariff.price_per_kwh_by_slot() == 0.2).all()
    assert site.resolve("load.csv") == tmp_path.resolve() / "load.csv"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["chargers"][0].update(kind="tesla"), "chargers.0.kind"),
        (lambda d: d["chargers"][0].update(max_kw=-3), "chargers.0.max_kw' = -3"),
        (lambda d: d["chargers"][0].update(charge_efficiency=1.5), "less than or equal to 1"),
        (lambda d: d["chargers"][0].update(min_kw=-5), "unidirectional charger cannot discharge"),
        (
            lambda d: d["tariff"]["energy"][0].update(start="06:00", end="22:00"),
            "leave 00:00 without a price",
        ),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d.update(scenarios={"episodes": 10, "pool": 10}), "pool=10 must be smaller"),
        (
            lambda d: d.update(battery={"charge_curve": [[0, 0.5], [0.5, 0.5], [1.0, 1.0]]}),
            "concave",
        ),
    ],
)
def test_bad_site_names_file_field_and_value(tmp_path, change, expected):
    data = base()
    change(data)
    path = _write(tmp_path, data)
    with pytest.raises(SiteError) as err:
        load_site(path)
    message = str(err.value)
    assert str(path) in message
    assert expected in message


def test_unknown_site_name_lists_the_bundled_ones():
    with pytest.raises(SiteError, match="santa-clara-office"):
        load_site("no-such-site")


def test_unparseable_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("name = [unclosed")
    with pytest.raises(SiteError, match="cannot parse"):
        load_site(path)
