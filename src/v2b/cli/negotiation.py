"""``v2b offer`` (the menu a driver would see) and ``v2b menu calibrate`` (policy 6's prices)."""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import (
    OptionError,
    check_output_file,
    check_range,
    check_seed,
    console,
    err_console,
    progress,
    user_errors,
)
from v2b.errors import UserError
from v2b.experiments.runner import episode_for
from v2b.negotiation.offer import ArrivalQuery, clock, menu_json, offer_at
from v2b.negotiation.settings import NegotiationSettings
from v2b.negotiation.static_menu import calibrate_static_menu
from v2b.scenarios import site_scenarios
from v2b.site import load_site

menu_app = typer.Typer(help="The static menu baseline (CONSENT policy 6).", no_args_is_help=True)
app.add_typer(menu_app, name="menu")


class ClockError(UserError):
    pass


def minutes_of(text: str, option: str) -> int:
    """Minutes after midnight of ``HH:MM`` (``24:00`` allowed)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if not match or int(match[2]) >= 60 or int(match[1]) * 60 + int(match[2]) > 24 * 60:
        raise ClockError(f"{option} {text!r} is not a time of day HH:MM between 00:00 and 24:00")
    return int(match[1]) * 60 + int(match[2])


@app.command()
def offer(
    at: Annotated[str, typer.Option("--at", help="Arrival time of day, HH:MM.")],
    battery_kwh: Annotated[float, typer.Option("--battery-kwh", help="Battery capacity [kWh].")],
    arrival_soc_pct: Annotated[float, typer.Option("--arrival-soc-pct", help="SoC at arrival [%].")],
    requested_soc_pct: Annotated[float, typer.Option("--requested-soc-pct",
                                                     help="SoC asked for at departure [%].")],
    departure: Annotated[str, typer.Option("--departure", help="Requested departure, HH:MM (24:00 max).")],
    site: Annotated[str, typer.Option(help="Bundled site name or site file.")] = "santa-clara-office",
    episode: Annotated[int, typer.Option(help="Test episode whose state the driver finds.")] = 0,
    day: Annotated[int, typer.Option(help="Day of that episode (0-based).")] = 0,
    alpha: Annotated[float | None, typer.Option(help="Share of a positive marginal utility passed to "
                                                "the driver (Eq. 3); default: the site's.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds the futures sampled on the way (0..2^32-1).")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """The menu an arriving driver would be offered (CONSENT Algorithm 1).

    Plays test episode EPISODE under `consent` up to --at on --day, plugs the
    driver in (first free charger), samples the site's N_neg futures and prices
    every flexibility level: leave up to N minutes later and/or accept up to X
    SoC points less, each at its Eq. 3 price, plus "reject all" at the site's
    external price.

    Example: v2b offer --at 08:30 --battery-kwh 62 --arrival-soc-pct 30
    --requested-soc-pct 80 --departure 17:00 --json
    """
    with user_errors():
        check_seed(seed)
        query = ArrivalQuery(day, minutes_of(at, "--at"), minutes_of(departure, "--departure"), battery_kwh,
                             arrival_soc_pct, requested_soc_pct)
        the_site = load_site(site)
        options = {} if alpha is None else {"alpha": alpha}
        settings = NegotiationSettings.from_site(the_site, options)
        ep = episode_for(the_site, episode)
        query.validate(ep)  # before the episode is played up to the arrival
        menu, state = offer_at(the_site, ep, query, site_scenarios(the_site).future_sampler(), seed, options)
    data = menu_json(menu, settings.alpha, day)
    if as_json:
        console.print_json(json.dumps(data))
        return
    console.print(
        f"{the_site.name}, test episode {episode}, day {day} at {clock(query.at_minutes)}: charger "
        f"{state['charger']}, {state['connected_evs']} EVs connected, month peak so far "
        f"{state['peak_so_far_kw']:.0f} kW; alpha {settings.alpha:g}"
    )
    table = Table()
    for col in ("level", "leave", "SoC", "kWh", "you give up", "price $", "$/kWh", "energy $", "U $"):
        table.add_column(col, justify="left" if col == "you give up" else "right")
    for o, row in zip(menu.options, data["options"], strict=True):
        given = []
        if o.soc_reduction_pct > 1e-6:
            given.append(f"{o.soc_reduction_pct:.1f} % SoC")
        if o.delay_minutes > 0:
            given.append(f"{o.delay_minutes:.0f} min")
        per_kwh = row["price_usd_per_kwh"]
        table.add_row(str(o.level), row["departure"], f"{row['target_soc_pct']:.1f}%", f"{o.energy_kwh:.1f}",
                      ", ".join(given) or "-", f"{o.price_usd:.2f}",
                      "-" if per_kwh is None else f"{per_kwh:.3f}", f"{o.energy_cost_usd:.2f}",
                      f"{o.marginal_utility_usd:.2f}")
    console.print(table)
    if menu.reject_allowed:
        console.print(f"or reject all: charge elsewhere at {menu.external_price_per_kwh:.2f} $/kWh")
    console.print("energy $: expected cost of your charging at time-of-use rates; U $: what serving you "
                  "saves the building (Eq. 2); price = energy $ - alpha x U if U > 0, else energy $ - U.",
                  style="dim")


@menu_app.command("calibrate")
def calibrate(
    out: Annotated[str, typer.Option(help="The static menu file to write (TOML).")],
    site: Annotated[str, typer.Option(help="Bundled site name or site file.")] = "santa-clara-office",
    episodes: Annotated[int, typer.Option(help="Sampling-pool months to run (0..N-1).")] = 5,
    days: Annotated[int | None, typer.Option(help="Only the first N days of each month (at most the "
                                             "shortest month's length).")] = None,
    alpha: Annotated[float | None, typer.Option(help="Eq. 3's alpha; default: the site's.")] = None,
    seed: Annotated[int, typer.Option(help="Seeds the runs (0..2^32-1).")] = 1,
) -> None:
    """Calibrate the menu baseline's static prices on the sampling pool.

    Runs smart charging on the first N sampling-pool months (never test months)
    and, at every arrival, prices each level's largest deviation by CONSENT
    Eq. 3; a level's static price is the energy-weighted mean ($/kWh). Name the
    file in the site as `negotiation.menu = "FILE"` for the `menu` policy.
    """
    with user_errors():
        check_range("--episodes", episodes, 1)
        check_range("--days", days, 1)
        check_seed(seed)
        out_file = check_output_file(out)
        the_site = load_site(site)
        scenarios = site_scenarios(the_site)
        if episodes > scenarios.n_pool:
            raise UserError(
                f"--episodes {episodes}: site {the_site.name!r} has {scenarios.n_pool} pool months"
            )
        for e in range(episodes):  # a shorter month would be calibrated whole, silently
            month = scenarios.pool_episode(e)
            if days is not None and days > month.days:
                raise OptionError(
                    f"--days must be at most {month.days}, got {days}: pool month {e} has {month.days} days"
                )
        options = {} if alpha is None else {"alpha": alpha}
        NegotiationSettings.from_site(the_site, options)
        with progress() as bar:
            task = bar.add_task("calibrating on pool months", total=episodes)
            menu = calibrate_static_menu(the_site, list(range(episodes)), days, seed, options,
                                         progress=lambda k: bar.update(task, completed=k))
        out_file.write_text(menu.to_toml())
    table = Table(title=f"static menu for {the_site.name} ({menu.arrivals} arrivals priced)")
    for col in ("level", "up to SoC points", "up to minutes later", "price [$/kWh]"):
        table.add_column(col, justify="right")
    for level, (price, (pct, slots)) in enumerate(zip(menu.price_per_kwh, menu.levels, strict=True)):
        table.add_row(str(level), f"{pct:g}", f"{15 * slots}", f"{price:.4f}")
    console.print(table)
    err_console.print(f'wrote {out_file}; name it in the site file: [negotiation] menu = "{out_file.name}"',
                      markup=False, highlight=False)
