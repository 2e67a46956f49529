"""``v2b data fit`` and ``v2b data show``: bring your own sessions and load."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import check_output_file, console, err_console, user_errors
from v2b.data.errors import DataError, SkipReport
from v2b.data.fleet import read_fleet
from v2b.data.openv2b import read_openv2b
from v2b.data.sources import SESSION_FORMATS, detect_kind, read_load, read_sessions
from v2b.data.zones import check_time_zone
from v2b.scenarios.model import GenerativeModel

data_app = typer.Typer(help="Fit the generative model from your data, or summarise a data file.")
app.add_typer(data_app, name="data")

TZ_HELP = "Site time zone; times with a UTC offset are converted to it."


def _table(title: str, rows: dict[str, object]) -> Table:
    table = Table(title=title, show_header=False)
    for key, value in rows.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    return table


def _print_report(report: SkipReport | None) -> None:
    if report is not None:
        err_console.print(report.summary(), highlight=False, markup=False)


def _check_format(value: str) -> str:
    if value not in SESSION_FORMATS:
        raise typer.BadParameter(f"{value!r}; use one of {', '.join(SESSION_FORMATS)}")
    return value


@data_app.command("fit")
def fit(
    sessions: Annotated[str, typer.Option(help="Session file, openv2b directory or builtin:acn-jpl.")],
    out: Annotated[str, typer.Option(help="Model file to write (.json; arrays go to .npz).")],
    load: Annotated[
        str, typer.Option(help="Building load CSV (timestamp, kW) or builtin:doe-large-office.")
    ] = "builtin:doe-large-office",
    format: Annotated[
        str, typer.Option("--format", help="auto, acn, plain or openv2b.", callback=_check_format)
    ] = "auto",
    arrivals_per_day: Annotated[
        float | None,
        typer.Option(help="Mean EV arrivals per weekday at your site (stored with the model)."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Drop bad rows and report them instead of stopping.")
    ] = False,
    timezone: Annotated[str, typer.Option(help=TZ_HELP)] = "America/Los_Angeles",
) -> None:
    """Fit the generative model (arrivals, stays, requests, load days) and save it."""
    with user_errors():
        if arrivals_per_day is not None and not 0 < arrivals_per_day <= 100_000:
            raise DataError(f"--arrivals-per-day = {arrivals_per_day}: must be in (0, 100000]")
        check_time_zone(timezone, "--timezone")
        json_path = check_output_file(out)
        if json_path.suffix.lower() != ".json":
            raise DataError(f"--out {out}: the model file must end in .json")
        check_output_file(json_path.with_suffix(".npz"), "--out (its arrays)")
        s = read_sessions(sessions, format, timezone=timezone, skip_invalid=skip_invalid)
        _print_report(s.report)
        ld = read_load(load, timezone=timezone, skip_invalid=skip_invalid)
        _print_report(ld.report)
        model = GenerativeModel.fit(s, ld, read_fleet())
        if arrivals_per_day is not None:
            model = replace(model, meta={**model.meta, "arrivals_per_day": arrivals_per_day})
        json_path, npz_path = model.save(json_path)
    console.print(_table("fitted generative model", model.describe()))
    console.print(f"wrote {json_path} and {npz_path}")


@data_app.command("show")
def show(
    path: Annotated[str, typer.Argument(help="Sessions/load file, openv2b directory or model .json.")],
    format: Annotated[
        str, typer.Option("--format", help="Session format when PATH holds sessions.", callback=_check_format)
    ] = "auto",
    skip_invalid: Annotated[bool, typer.Option(help="Drop bad rows and report them.")] = False,
    timezone: Annotated[str, typer.Option(help=TZ_HELP)] = "America/Los_Angeles",
) -> None:
    """Summarise a sessions file, a load file, an openv2b scenario or a fitted model."""
    with user_errors():
        check_time_zone(timezone, "--timezone")
        kind = detect_kind(path)
        if kind == "model":
            console.print(_table(f"generative model {path}", GenerativeModel.load(path).describe()))
            return
        if kind == "openv2b":
            scenario = read_openv2b(path, skip_invalid=skip_invalid)
            _print_report(scenario.report)
            console.print(_table("openv2b sessions", scenario.session_data().describe()))
            console.print(_table("openv2b building load", scenario.load_data().describe()))
            for note in scenario.ignored:
                console.print(f"not modelled by v2b: {note}")
            return
        if kind == "sessions":
            data = read_sessions(path, format, timezone=timezone, skip_invalid=skip_invalid)
            _print_report(data.report)
            console.print(_table(f"sessions {path}", data.describe()))
            return
        load = read_load(path, timezone=timezone, skip_invalid=skip_invalid)
        _print_report(load.report)
        console.print(_table(f"building load {path}", load.describe()))
