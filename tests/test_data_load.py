"""Building-load CSV: resampling to 15 minutes, irregular intervals, bad rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from v2b.data.errors import DataError
from v2b.data.sources import read_load


def write_series(tmp_path, minutes: int, values, name="load.csv", start="2023-03-06 00:00"):
    times = pd.date_range(start, periods=len(values), freq=f"{minutes}min")
    lines = ["timestamp,kw"] + [f"{t.isoformat()},{v}" for t, v in zip(times, values, strict=True)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_hourly_is_step_held_keeping_energy_and_peak(tmp_path):
    load = read_load(write_series(tmp_path, 60, [10.0, 30.0, 20.0]))
    s = load.series
    assert load.native_minutes == 60
    assert s.index[0] == pd.Timestamp("2023-03-06 00:00")
    assert s.index.freq is not None or (np.diff(s.index.asi8) == 15 * 60e9).all()
    assert s.tolist() == [10.0] * 4 + [30.0] * 4 + [20.0] * 4
    assert s.sum() * 0.25 == pytest.approx((10 + 30 + 20) * 1.0)


def test_five_minute_data_is_averaged_per_slot(tmp_path):
    load = read_load(write_series(tmp_path, 5, [1, 2, 3, 10, 20, 30]))
    assert load.series.tolist() == [2.0, 20.0]


def test_fifteen_minute_data_is_unchanged(tmp_path):
    assert read_load(write_series(tmp_path, 15, [5, 6, 7])).series.tolist() == [5, 6, 7]


def test_thirty_minute_data(tmp_path):
    assert read_load(write_series(tmp_path, 30, [5, 7])).series.tolist() == [5, 5, 7, 7]


def test_irregular_interval_is_an_error(tmp_path):
    path = tmp_path / "irregular.csv"
    path.write_text(
        "timestamp,kw\n2023-03-06T00:00,1\n2023-03-06T01:00,2\n2023-03-06T03:00,3\n2023-03-06T04:00,3\n"
    )
    with pytest.raises(DataError, match=r"irregular.csv: irregular interval: row 3 .* 120 min"):
        read_load(path)


def test_interval_that_does_not_fit_15_minutes(tmp_path):
    with pytest.raises(DataError, match="interval 7 min does not divide 15"):
        read_load(write_series(tmp_path, 7, [1, 2, 3]))
    with pytest.raises(DataError, match="interval 20 min is not a multiple of 15"):
        read_load(write_series(tmp_path, 20, [1, 2, 3]))


def test_bad_values_name_row_and_field(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,kw\n2023-03-06T00:00,1\n2023-03-06T01:00,-5\n2023-03-06T02:00,2\n")
    with pytest.raises(DataError, match=r"bad.csv: row 2 \(line 3\): field 'kw' = -5.0: must be >= 0"):
        read_load(path)
    path.write_text("timestamp,kw\n2023-03-06T00:00,1\n2023-03-06T01:00,x\n2023-03-06T02:00,2\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\): field 'kw' = 'x': is not a number"):
        read_load(path)
    path.write_text("timestamp,kw\n2023-03-06T00:00,1\nnoon,3\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\): field 'timestamp' = 'noon': is not a time"):
        read_load(path)


def test_skip_invalid_fills_bad_value_by_interpolation(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,kw\n2023-03-06T00:00,1\n2023-03-06T01:00,-5\n2023-03-06T02:00,3\n")
    load = read_load(path, skip_invalid=True)
    assert load.report.dropped == 1
    assert load.series.tolist() == [1.0] * 4 + [2.0] * 4 + [3.0] * 4


def test_missing_columns_and_two_column_fallback(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("when,power,other\n2023-03-06T00:00,1,2\n")
    with pytest.raises(DataError, match="need a time column"):
        read_load(path)
    path.write_text("when,power\n2023-03-06T00:00,1\n2023-03-06T00:15,2\n")
    assert read_load(path).series.tolist() == [1.0, 2.0]


def test_offset_timestamps_convert_to_local_wall_clock(tmp_path):
    path = tmp_path / "utc.csv"
    path.write_text("timestamp,kw\n2023-03-06T16:00:00Z,1\n2023-03-06T17:00:00Z,2\n")
    s = read_load(path, timezone="America/Los_Angeles").series
    assert s.index[0] == pd.Timestamp("2023-03-06 08:00")
    assert s.tolist() == [1.0] * 4 + [2.0] * 4


def test_builtin_load_is_a_year_at_15_minutes():
    load = read_load("builtin:doe-large-office")
    assert load.series.size == 365 * 96
    assert load.native_minutes == 60
    assert load.series.min() > 0
