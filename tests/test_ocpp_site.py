"""Declaring OCPP charge points in a site: checked at the edge, and absent from the JSON of
sites that declare none (experiment task keys and the service's site hash are unchanged)."""

from __future__ import annotations

import hashlib

import pytest

from v2b.site import SiteError, load_site, site_from_dict

#: SHA-256 of the bundled sites' JSON (without base_dir) before OCPP was added.
BEFORE_OCPP = {"santa-clara-office": "5952b70b159ee1f8e1a91843a8eff13e471b68a4ca1b49454480aef8d9152fcb",
               "santa-clara-office-paper": "c773ddfed5da136a13508de9419abcf818a7c8e5cfd39d07e4a1791075d5ed18"}


@pytest.mark.parametrize("name", sorted(BEFORE_OCPP))
def test_a_site_without_ocpp_serialises_as_before(name):
    site = load_site(name)
    assert site.ocpp is None
    text = site.model_dump_json(exclude={"base_dir"})
    assert "ocpp" not in text and "ocpp" not in site.model_dump()
    assert hashlib.sha256(text.encode()).hexdigest() == BEFORE_OCPP[name]


def _with(ocpp: dict) -> dict:
    data = load_site("santa-clara-office").model_dump(exclude={"base_dir"})
    data["ocpp"] = ocpp
    return data


def _cp(**kw) -> dict:
    return {"id": "CP1", "version": "1.6", "connectors": [{"connector_id": 1, "charger": "U01"}]} | kw


def test_a_bidirectional_charger_on_1_6_is_planned_charge_only():
    site = site_from_dict(_with({"charge_points": [_cp(connectors=[{"connector_id": 1, "charger": "B01"}])]}))
    chargers = {c.charger_id: c for c in site.charger_list}
    assert chargers["B01"].kind == "unidirectional" and chargers["B01"].min_kw == 0.0
    assert chargers["B02"].min_kw == -20.0
    assert '"ocpp"' in site.model_dump_json()


def test_discharge_declared_on_2_0_1_keeps_the_charger_bidirectional():
    site = site_from_dict(_with({"charge_points": [_cp(version="2.0.1", connectors=[
        {"connector_id": 1, "charger": "B01", "discharge": True}])]}))
    assert site.charger_list[0].min_kw == -20.0


@pytest.mark.parametrize("ocpp, message", [
    ({"charge_points": [_cp(connectors=[{"connector_id": 1, "charger": "X9"}])]},
     "charger 'X9' is not a charger"),
    ({"charge_points": [_cp(connectors=[{"connector_id": 1, "charger": "B01", "discharge": True}])]},
     "discharge=true needs OCPP 2.0.1"),
    ({"charge_points": [_cp(version="2.0.1", connectors=[{"connector_id": 1, "charger": "U01",
                                                          "discharge": True}])]}, "U01' is unidirectional"),
    ({"charge_points": [_cp(), _cp()]}, "charge point id 'CP1' is declared twice"),
    ({"charge_points": [_cp(), _cp(id="CP2")]}, "charger 'U01' is on two OCPP connectors"),
    ({"charge_points": [_cp(version="1.5")]}, "version"),
    ({"charge_points": [_cp(password_sha256="secret")]}, "password_sha256"),
    ({"charge_points": [_cp(limit_unit="kW")]}, "limit_unit"),
])
def test_a_bad_declaration_names_the_field_and_value(ocpp, message):
    with pytest.raises(SiteError, match=message):
        site_from_dict(_with(ocpp))
