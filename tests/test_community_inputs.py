"""User files for the community (TOML + CSV): good files load, bad ones say exactly what is wrong."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from v2b.community.config import CommunityConfig, inputs_from_config, load_config, resample
from v2b.community.inputs import CommunityInputError, parked_fraction
from v2b.community.synthetic import ScenarioSpec, price_shape, synthetic_inputs

EXAMPLE = Path(str(resources.files("v2b.community").joinpath("data/example")))

BUILDINGS = "slot,building,load_kw,pv_kw\n" + "".join(
    f"{h},{name},{load},{pv}\n"
    for name, loads, pvs in (("north", (10, 10, 10, 10), (0, 30, 30, 0)),
                             ("south", (20, 25, 25, 20), (0, 5, 5, 0)))
    for h, (load, pv) in enumerate(zip(loads, pvs, strict=True))
)
EVS = "ev_id,building,arrival_h,departure_h,charge_h,discharge_h\ncar,north,0,4,1,0.5\n"
TARIFFS = "slot,import_eur_per_mwh,charging_eur_per_h\n" + "".join(
    f"{h},{p},2\n" for h, p in enumerate((100, 120, 140, 160))
)


def write_case(tmp_path: Path, **overrides: str) -> Path:
    files = {"buildings.csv": BUILDINGS, "evs.csv": EVS, "tariffs.csv": TARIFFS}
    files |= {f"{k}.csv" if not k.endswith(".toml") else k: v for k, v in overrides.items()}
    toml = files.pop("community.toml", (
        'slot_minutes = 60\n[files]\nbuildings = "buildings.csv"\nevs = "evs.csv"\n'
        'tariffs = "tariffs.csv"\n'
    ))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "community.toml"
    path.write_text(toml)
    return path


def load(path: Path, **kwargs):
    return inputs_from_config(load_config(path), path.parent, **kwargs)


def test_user_files_load(tmp_path):
    inputs = load(write_case(tmp_path))
    assert inputs.building_names == ("north", "south")
    assert inputs.net_load_kw[0].tolist() == [10, -20, -20, 10]
    assert inputs.tariffs.import_eur_per_kwh.tolist() == pytest.approx([0.1, 0.12, 0.14, 0.16])
    assert inputs.tariffs.export_eur_per_kwh == pytest.approx([-0.0358] * 4)
    assert inputs.evs.charge_kw.tolist() == [10.0] and inputs.evs.efficiency.tolist() == [0.93]


def test_files_resample_to_quarter_hours(tmp_path):
    inputs = load(write_case(tmp_path), slot_minutes=15)
    assert inputs.n_slots == 16 and inputs.slot_minutes == 15
    assert inputs.load_kw.sum() * inputs.slot_h == pytest.approx(40.0 + 90.0)
    assert resample(np.arange(4.0), 15, 60).tolist() == [1.5]


def test_example_config_loads():
    inputs = load(EXAMPLE / "community.toml")
    assert inputs.n_buildings == 3 and len(inputs.evs) == 12 and inputs.n_slots == 24


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"buildings": BUILDINGS.replace("north,10,30", "north,-10,30")},
         "buildings.csv: line 3, column load_kw: value '-10' is not allowed; expected [0, 1e+06]"),
        ({"buildings": BUILDINGS.replace("2,south,25", "2,south,lots")},
         "line 8, column load_kw: value 'lots' is not allowed; expected a number"),
        ({"buildings": BUILDINGS.replace("3,south", "2,south")},
         "building 'south' has slot 2 2 time(s)"),
        ({"buildings": "slot,building,load_kw\n0,a,1\n"}, "missing column(s) pv_kw"),
        ({"buildings": BUILDINGS.replace("pv_kw", "pv_kw,colour")}, "unknown column(s) colour"),
        ({"evs": EVS.replace("car,north", "car,west")},
         "evs.csv: line 2, column building: value 'west' is not allowed; expected one of the "
         "buildings north, south"),
        ({"evs": EVS.replace("0,4,1", "3,2,1")},
         "evs.csv: line 2 (ev car), field departure_h: value 2 is not allowed; expected later "
         "than arrival_h"),
        ({"evs": EVS.replace("0,4,1,", "0,4,5,")},
         "field charge_h: value 5 is not allowed; expected at most the parking period"),
        ({"evs": EVS.replace("0,4,1,", "0,4,0,")},
         "field charge_h: value 0 is not allowed; expected > 0 h (paper Eq. 8)"),
        ({"evs": EVS.replace("0,4,1,", "0,9,1,")},
         "field departure_h: value 9 is not allowed; expected [0, 4] h"),
        ({"tariffs": TARIFFS.replace("3,160,2\n", "")},
         "the tariff has slot 3 0 time(s); every slot 0..3 must appear exactly once"),
        ({"community.toml": 'slot_minutes = 60\n[files]\nbuildings = "buildings.csv"\n'},
         "the horizon is 4 h; synthetic tariffs need whole days"),
        ({"community.toml": "[scenario]\ngrid_use_eur_per_mwh = -5\n"},
         "community.toml: field scenario.grid_use_eur_per_mwh: value -5 is not allowed: "
         "Input should be greater than or equal to 0"),
        ({"community.toml": "[scenario]\ncolour = 1\n"}, "field scenario.colour"),
        ({"community.toml": "[scenario]\nevs_per_building = 40\n"},
         "evs_per_building=40 exceeds ev_profiles=30"),
        ({"community.toml": '[scenario]\ndates = ["2020-03-02"]\n'}, "dates must be in 2023"),
        ({"community.toml": "slot_minutes = [\n"}, "not valid TOML"),
        ({"community.toml": '[files]\nbuildings = "nowhere.csv"\n'}, "nowhere.csv: file not found"),
    ],
)
def test_bad_input_names_file_row_field_and_range(tmp_path, override, message):
    with pytest.raises(CommunityInputError) as err:
        load(write_case(tmp_path, **override))
    assert message in str(err.value)


def test_slot_length_that_does_not_fit_the_files(tmp_path):
    with pytest.raises(CommunityInputError, match="cannot be made from the files' 60-minute"):
        load(write_case(tmp_path), slot_minutes=45)


def test_synthetic_scenario_matches_the_paper_settings():
    spec = ScenarioSpec()
    inputs = synthetic_inputs(spec, seed=1, slot_minutes=60)
    assert inputs.n_buildings == 4 and len(inputs.evs) == 24
    assert inputs.tariffs.import_eur_per_kwh.mean() == pytest.approx(0.1228)
    assert inputs.tariffs.charging_eur_per_h.mean() == pytest.approx(2.0)
    assert price_shape().mean() == pytest.approx(1.0)
    evs = inputs.evs
    assert (evs.arrival_h >= 8).all() and (evs.departure_h <= 20).all()
    for b in range(4):  # six distinct profiles per building
        assert len(set(np.array(evs.ev_id)[evs.building == b])) == 6


def test_synthetic_scenario_is_seeded():
    first = synthetic_inputs(ScenarioSpec(), seed=8)
    again = synthetic_inputs(ScenarioSpec(), seed=8)
    other = synthetic_inputs(ScenarioSpec(), seed=9)
    assert np.array_equal(first.pv_kw, again.pv_kw)
    assert np.array_equal(first.evs.arrival_h, again.evs.arrival_h)
    assert not np.array_equal(first.pv_kw, other.pv_kw)


def test_pv_is_half_the_annual_load():
    """Annual PV (clouds included) equals pv_share x annual load, within the difference
    between the hourly sizing grid and the 5-minute daily profiles."""
    import datetime as dt

    from v2b.community.solar import daily_cloud_factors, pv_kw_for_days

    cloud = daily_cloud_factors(2023, np.random.default_rng(3))
    year = [dt.date(2023, 1, 1) + dt.timedelta(days=k) for k in range(365)]
    pv = pv_kw_for_days(year, 60, 250_000.0, cloud)
    assert pv.sum() == pytest.approx(250_000.0, rel=0.005)
    march = pv[59:90].sum(axis=1)
    assert 0.3 * 250_000 / 365 < march.mean() < 1.3 * 250_000 / 365


def test_parked_fraction_covers_partial_slots():
    session, slot, fraction = parked_fraction(np.array([8.25]), np.array([10.5]), 1.0, 24)
    assert slot.tolist() == [8, 9, 10]
    assert fraction.tolist() == pytest.approx([0.75, 1.0, 0.5])
    assert session.tolist() == [0, 0, 0]


def test_default_config_is_the_paper_scenario():
    config = CommunityConfig()
    assert config.spec() == ScenarioSpec()


def test_office_load_is_scaled_to_the_annual_target():
    import datetime as dt

    from v2b.community.synthetic import office_load_kw

    year = [dt.date(2023, 1, 1) + dt.timedelta(days=k) for k in range(365)]
    hourly = office_load_kw(year, 60, 500.0)
    assert hourly.sum() == pytest.approx(500_000.0)
    quarter = office_load_kw(year[:3], 15, 500.0)
    assert quarter.sum() / 4 == pytest.approx(hourly[:3].sum())
