"""``v2b sites`` and ``v2b site show``: what a site is made of."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import console, user_errors
from v2b.site import Site, builtin_site_names, load_site

site_app = typer.Typer(help="Inspect a site (bundled name or your own .toml/.json file).")
app.add_typer(site_app, name="site")


@app.command()
def sites() -> None:
    """List the bundled sites.

    Use `v2b site show NAME` for details, or pass your own file anywhere a site is
    asked for: --site path/to/site.toml.
    """
    table = Table(title="bundled sites")
    table.add_column("name")
    table.add_column("chargers", justify="right")
    table.add_column("description")
    for name in builtin_site_names():
        site = load_site(name)
        table.add_row(name, str(len(site.charger_list)), site.description)
    console.print(table)


@site_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Bundled site name or path to a site file.")],
) -> None:
    """Chargers, tariff, penalties, battery model and data sources of a site."""
    with user_errors():
        site = load_site(name)
    console.print(f"[bold]{site.name}[/] — {site.description}")
    console.print(_chargers(site))
    console.print(_tariff(site))
    money = Table(title="penalties and prices", show_header=False)
    money.add_row("missing-SoC penalty K_SOC", f"{site.penalties.soc_penalty_usd_per_kwh} $/kWh")
    money.add_row("battery degradation K_batt", f"{site.penalties.degradation_usd_per_kwh} $/kWh")
    money.add_row("external charging price E_bar", f"{site.users.external_price_usd_per_kwh} $/kWh")
    console.print(money)
    battery = Table(title="battery model", show_header=False)
    curve = ", ".join(f"{s:.0%}→{f:.0%}" for s, f in site.battery.charge_curve)
    battery.add_row("charge limit (SoC → share of charger power)", curve)
    battery.add_row("V2B discharge floor", f"{site.battery.discharge_floor_soc:.0%} SoC")
    battery.add_row("cars leave with at least their arrival energy",
                    "yes" if site.battery.keep_arrival_energy else "no")
    console.print(battery)
    console.print(_negotiation(site))
    data = Table(title="data", show_header=False)
    data.add_row("building load", f"{site.load.source} × {site.load.scale}")
    data.add_row("sessions", f"{site.sessions.source} (format {site.sessions.format})")
    data.add_row("arrivals per weekday (mean)", f"{site.sessions.arrivals_per_day}")
    data.add_row(
        "episodes",
        f"{site.scenarios.episodes} from seed {site.scenarios.seed}: "
        f"{site.scenarios.pool} sampling pool, {site.scenarios.episodes - site.scenarios.pool} test",
    )
    console.print(data)


def _chargers(site: Site) -> Table:
    table = Table(title="chargers", show_header=False)
    for g in site.chargers:
        power = f"{g.min_kw:g}..{g.max_kw:g} kW"
        if g.min_charge_kw > 0:
            power += f", charging at >= {g.min_charge_kw:g} kW or not at all"
        control = "controllable" if g.controllable else "uncontrolled (full power)"
        table.add_row(
            f"{g.count} × {g.kind} {g.level}",
            f"{power}; η charge {g.charge_efficiency:g} / discharge {g.discharge_efficiency:g}; {control}",
        )
    return table


def _tariff(site: Site) -> Table:
    t = site.tariff
    table = Table(title=f"tariff — demand charge {t.demand_charge_usd_per_kw} $/kW per month")
    for col in ("part", "from", "to", "when", "rate"):
        table.add_column(col)
    if t.price_series is not None:
        table.add_row("energy: price series", "", "", "every slot", t.price_series)
    if t.price_points:
        first, last = t.price_points[0], t.price_points[-1]
        table.add_row(f"energy: {len(t.price_points)} price points", first.time.isoformat(sep=" "),
                      last.time.isoformat(sep=" "), "held to the next point",
                      f"{min(p.price_per_kwh for p in t.price_points):g}-"
                      f"{max(p.price_per_kwh for p in t.price_points):g} $/kWh")
    for p in t.energy:
        table.add_row(f"energy: {p.name}", p.start, p.end, _when(p), f"{p.price_per_kwh:g} $/kWh")
    for c in t.demand_charges:
        table.add_row(f"demand: {c.name}", c.start, c.end, _when(c), f"{c.usd_per_kw:g} $/kW (month's peak)")
    if t.export_price_per_kwh is not None:
        table.add_row("export (the building's surplus)", "", "", "every slot",
                      f"{t.export_price_per_kwh:g} $/kWh")
    for e in t.demand_response:
        terms = []
        if e.limit_kw is not None:
            terms.append(f"limit {e.limit_kw:g} kW, {e.penalty_per_kwh:g} $/kWh above")
        if e.incentive_usd_per_kw:
            terms.append(f"{e.incentive_usd_per_kw:g} $/kW below {e.baseline_kw:g} kW if kept")
        if e.price_adder_per_kwh:
            terms.append(f"+{e.price_adder_per_kwh:g} $/kWh")
        table.add_row(f"event: {e.name}", e.start.isoformat(sep=" ", timespec="minutes"),
                      e.end.isoformat(sep=" ", timespec="minutes"), "once", "; ".join(terms))
    return table


def _when(window) -> str:
    days = {"all": "every day", "weekdays": "weekdays", "weekends": "weekends"}[window.days]
    return days + (f", months {', '.join(map(str, window.months))}" if window.months else "")


def _negotiation(site: Site) -> Table:
    n, u = site.negotiation, site.users
    table = Table(title="negotiation and drivers", show_header=False)
    levels = "; ".join(
        f"{i + 1}: up to {lv.max_soc_reduction_pct:g} SoC points, {lv.max_delay_minutes} min later"
        for i, lv in enumerate(n.levels)
    )
    table.add_row("levels (0 = the request as is)", levels)
    table.add_row("futures per arrival (N_neg), alpha", f"{n.futures}, {n.alpha:g}")
    table.add_row("option selection", n.selection)
    table.add_row("fixed price (policy smart-fixed)", f"{n.fixed_price_per_kwh:g} $/kWh")
    table.add_row("static menu prices (policy menu)", n.menu or "none (v2b menu calibrate)")
    table.add_row("driver types, profile", f"{u.types}, {u.profile}")
    table.add_row("logit temperature", f"{u.choice_temperature_usd:g} $")
    return table
