"""End-to-end `v2b offer`, `v2b menu calibrate` and negotiating policies in `v2b compare`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from v2b.cli import app
from v2b.negotiation.static_menu import read_static_menu

runner = CliRunner()
OFFER = ("offer", "--at", "07:00", "--battery-kwh", "62", "--arrival-soc-pct", "30",
         "--requested-soc-pct", "80", "--departure", "17:00")


def invoke(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, " ".join(result.output.split())


def test_offer_json_has_every_promised_field():
    # A real process, so the JSON on standard output is checked exactly as a script reads it.
    out = subprocess.run([sys.executable, "-m", "v2b", *OFFER, "--json", "--alpha", "0.9"],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["alpha"] == 0.9
    assert data["reject"] == {"price_usd_per_kwh": 0.3}
    first = data["options"][0]
    assert set(first) == {"level", "target_soc_pct", "departure", "energy_kwh", "energy_cost_usd",
                          "marginal_utility_usd", "price_usd", "price_usd_per_kwh"}
    assert first["level"] == 0 and first["target_soc_pct"] == 80.0 and first["departure"] == "17:00"
    assert first["energy_kwh"] == pytest.approx(31.0)
    levels = [o["level"] for o in data["options"]]
    assert levels == sorted(set(levels))


def test_offer_table():
    code, output = invoke(*OFFER)
    assert code == 0, output
    assert "or reject all: charge elsewhere at 0.30 $/kWh" in output and "17:00" in output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--at", "7h"), "--at '7h' is not a time of day HH:MM"),
        (("--departure", "06:00"), "--departure 06:00 must be after the arrival --at 07:00"),
        (("--arrival-soc-pct", "130"), "--arrival-soc-pct 130 is outside the allowed range 0..100"),
        (("--day", "40"), "--day 40 is outside the allowed range"),
        (("--alpha", "0"), "alpha=0.0 must be in (0, 1]"),
    ],
)
def test_offer_user_errors(change, message):
    args = list(OFFER)
    for key, value in zip(change[::2], change[1::2], strict=True):
        if key in args:
            args[args.index(key) + 1] = value
        else:
            args += [key, value]
    code, output = invoke(*args)
    assert code == 2 and message in output and "Traceback" not in output


def test_menu_calibrate_writes_a_file_the_menu_policy_reads(tmp_path):
    out = tmp_path / "menu.toml"
    code, output = invoke("menu", "calibrate", "--episodes", "1", "--days", "1", "--out", str(out))
    assert code == 0, output
    menu = read_static_menu(out)
    assert len(menu.price_per_kwh) == 4 and menu.arrivals > 0
    assert menu.levels[3] == (20.0, 7)
    site = tmp_path / "site.toml"
    text = (tmp_path / "site.toml")
    from importlib import resources

    base = (resources.files("v2b.sites") / "santa-clara-office.toml").read_text()
    text.write_text(base.replace('menu = "santa-clara-office.menu.toml"', f'menu = "{out}"'))
    code, output = invoke("simulate", "--policy", "menu", "--site", str(site), "--days", "1",
                          "--out", str(tmp_path / "run"))
    assert code == 0, output


def test_menu_calibrate_refuses_an_unwritable_output_before_working(tmp_path):
    code, output = invoke("menu", "calibrate", "--episodes", "1", "--out", str(tmp_path))
    assert code == 2 and "is a directory" in output


def test_compare_shows_negotiation_columns(tmp_path):
    code, output = invoke("compare", "--policies", "smart-free,consent", "--episodes", "1", "--days", "1",
                          "--workers", "1", "--out", str(tmp_path))
    assert code == 0, output
    assert "drivers and solver" in output and "consent" in output
    table = (tmp_path / "table.md").read_text()
    assert "| smart-free |" in table and "| consent |" in table
    for text in ("Declined (%)", "Targets met (%)", "Offer median (ms)", "Solver failures"):
        assert text in table


def test_offer_when_every_charger_is_busy(tmp_path):
    # One charger: by late morning the day's first car holds it.
    from importlib import resources

    base = (resources.files("v2b.sites") / "santa-clara-office.toml").read_text()
    start = base.index("[[chargers]]")
    end = base.index("[tariff]")
    one = '[[chargers]]\ncount = 1\nkind = "unidirectional"\nmax_kw = 20.0\n\n'
    site = tmp_path / "one.toml"
    site.write_text(base[:start] + one + base[end:])
    args = list(OFFER)
    args[args.index("--at") + 1] = "11:00"
    code, output = invoke(*args, "--site", str(site))
    assert code == 2 and "every charger is busy at 11:00 on day 0" in output
