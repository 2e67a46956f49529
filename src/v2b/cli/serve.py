"""``v2b serve``: the negotiation and the controller as a live web service (``docs/service.md``)."""

from __future__ import annotations

import logging
import os
import secrets
from typing import Annotated

import typer

from v2b.cli.app import app
from v2b.cli.common import check_choice, check_range, check_seed, console, err_console, user_errors
from v2b.cli.run_options import DaysOpt, LoadInfoOpt, SeedOpt, SiteOpt
from v2b.errors import UserError


class ServeExtraMissing(UserError):
    """The optional [serve] dependencies are not installed."""


@app.command()
def serve(
    site: SiteOpt = "santa-clara-office",
    db: Annotated[str, typer.Option(help="Database URL: sqlite:///FILE (default: v2b-service.sqlite "
                                         "here) or postgresql://user:password@host/dbname.")] = "",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    clock: Annotated[str, typer.Option(help="realtime (the wall clock), x60 (a day in 24 minutes) or manual "
                                            "(moves only on POST /api/clock/step).")] = "realtime",
    policy: Annotated[str, typer.Option(help="The negotiation and controller (`v2b policies`).")] = "consent",
    episode: Annotated[int, typer.Option(help="Test episode whose building load the site's meter "
                                              "plays (0-based).")] = 0,
    seed: SeedOpt = 1,
    days: DaysOpt = None,
    load_info: LoadInfoOpt = "measured",
    menu_minutes: Annotated[float, typer.Option(help="Minutes of site time a driver has to answer a "
                                                     "menu.")] = 5.0,
    on_expiry: Annotated[str, typer.Option(help="An unanswered menu becomes: reject (where the menu "
                                                "offers it; else the request) or request (the request "
                                                "as is, at its price).")] = "reject",
    menu_deadline_s: Annotated[float | None, typer.Option(
        help="Seconds to answer an arrival (default 0.25): a menu not priced by then is the site's "
             "static menu (or the request at the fixed price), marked as a fallback; 0: no limit. "
             "Raise it on a large site where drivers can wait.")] = None,
    arrival_scale: Annotated[float | None, typer.Option(help="Scale the site's chargers (rounded up) and "
                                                             "arrivals by this factor, as `v2b experiment "
                                                             "figure2` (load tests).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Replay the episode's arrivals against the service, "
                                                      "drivers answering as simulated (x60 clock unless "
                                                      "--clock is given).")] = False,
) -> None:
    """Run the site live: drivers ask for a menu through the API (or the page /driver), the
    controller sets every charger each 15 minutes, everything is stored in the database.

    API at /docs, driver page at /driver, operator page at /operator. Every operator
    endpoint needs the bearer token in $V2B_OPERATOR_TOKEN, or the one printed at start.

    Example: v2b serve --clock x60 --demo
    """
    with user_errors():
        try:
            import uvicorn

            from v2b.service.app import create_app
            from v2b.service.db import DEFAULT_DB, Database
            from v2b.service.live import ON_EXPIRY, LiveSite, ServiceConfig
        except ImportError as err:
            raise ServeExtraMissing(f"v2b serve needs the [serve] extra ({err.name} is missing): "
                                    "pip install -e '.[serve]'") from None
        from v2b.service.clock import CLOCKS

        if demo and clock == "realtime":
            clock = "x60"
        check_choice("--clock", clock, CLOCKS)
        check_choice("--on-expiry", on_expiry, ON_EXPIRY)
        check_seed(seed)
        check_range("--port", port, 1, 65535)
        check_range("--days", days, 1, 31)
        check_range("--menu-minutes", menu_minutes, 0.1, 24 * 60)
        check_range("--episode", episode, 0)
        check_range("--arrival-scale", arrival_scale, 0.01, 100)
        check_range("--menu-deadline-s", menu_deadline_s, 0, 600)
        deadline = {} if menu_deadline_s is None else {"menu_deadline_s": menu_deadline_s or None}
        config = ServiceConfig(site=site, policy=policy, episode=episode, seed=seed, days=days, clock=clock,
                               options={"load_info": load_info,
                                        **({"arrival_scale": arrival_scale} if arrival_scale else {})},
                               menu_minutes=menu_minutes,
                               on_expiry=on_expiry,
                               **deadline)
        database = Database(db or DEFAULT_DB)
        token = os.environ.get("V2B_OPERATOR_TOKEN") or secrets.token_urlsafe(24)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        err_console.print(f"opening {database.display_url} (rebuilding the site from it)...")
        live = LiveSite(config, database)
    console.print(f"v2b serve: site {live.site.name}, policy {policy}, clock {clock}, "
                  f"database {database.display_url}")
    console.print(f"site time {live.clock.now().isoformat(timespec='minutes')}, next decision slot "
                  f"{live.sim.slot}; {len(live.record_of)} session(s) restored")
    if not os.environ.get("V2B_OPERATOR_TOKEN"):
        console.print(f"operator token (set V2B_OPERATOR_TOKEN to choose it): [bold]{token}[/]")
    console.print(f"API http://{host}:{port}/docs · driver http://{host}:{port}/driver · "
                  f"operator http://{host}:{port}/operator")
    application = create_app(live, token, demo=demo)
    uvicorn.run(application, host=host, port=port, log_level="info")
