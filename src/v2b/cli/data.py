"""``v2b data fit`` and ``v2b data show``: bring your own sessions and load."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import (
    OptionError,
    check_output_dir,
    check_output_file,
    check_range,
    check_seed,
    console,
    err_console,
    progress,
    user_errors,
)
from v2b.data.errors import DataError, SkipReport
from v2b.data.fleet import read_fleet
from v2b.data.load import LoadData
from v2b.data.openv2b import read_openv2b
from v2b.data.sessions import SessionData
from v2b.data.sources import SESSION_FORMATS, detect_kind, read_load, read_sessions
from v2b.data.zones import check_time_zone
from v2b.scenarios.model import GenerativeModel
from v2b.scenarios.site import fit_site_model
from v2b.scenarios.validate import DEFAULT_CHARGERS, DEFAULT_MONTHS, Validation, validate
from v2b.site import load_site

#: Generated months of the quick validation ``v2b data fit`` prints.
FIT_VALIDATION_MONTHS = 20

data_app = typer.Typer(help="Fit the generative model from your data, or summarise a data file.")
app.add_typer(data_app, name="data")

TZ_HELP = "Site time zone; times with a UTC offset are converted to it."
DEFAULT_SITE = "santa-clara-office"
DEFAULT_LOAD = "builtin:doe-large-office"
DEFAULT_TIMEZONE = "America/Los_Angeles"


def _table(title: str, rows: dict[str, object]) -> Table:
    table = Table(title=title, show_header=False)
    for key, value in rows.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    return table


def _print_report(report: SkipReport | None) -> None:
    if report is not None:
        err_console.print(report.summary(), highlight=False, markup=False)


def _check_format(value: str | None) -> str | None:
    if value is not None and value not in SESSION_FORMATS:
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
    _quick_validation(s, ld, sessions, load, format, timezone, skip_invalid)


def _quick_validation(s: SessionData, ld: LoadData, sessions: str, load: str, format: str,
                      timezone: str, skip_invalid: bool) -> None:
    """The validation summary ``v2b data fit`` ends with (fewer months, no files)."""
    start = time.perf_counter()
    try:
        result = validate(s, ld, read_fleet(), np.random.default_rng(1), months=FIT_VALIDATION_MONTHS)
    except DataError as err:
        console.print(f"validation skipped: {err}", highlight=False)
        return
    seconds = time.perf_counter() - start
    title = (f"validation: refitted on alternate months, {FIT_VALIDATION_MONTHS} generated months "
             "against the other months")
    console.print(validation_table(result, title, brief=True))
    options = f"--sessions {sessions} --load {load}"
    if format != "auto":
        options += f" --format {format}"
    if timezone != DEFAULT_TIMEZONE:
        options += f" --timezone {timezone}"
    if skip_invalid:
        options += " --skip-invalid"
    console.print(
        f"{result.passed} of {len(result.rows)} features within the two-halves reference "
        f"({seconds:.1f} s). Plots and details: v2b data validate {options} --out DIR",
        highlight=False,
    )


def validation_table(result: Validation, title: str, brief: bool = False) -> Table:
    """Feature, statistic, generated vs held-out, two-halves reference and pass/FAIL."""
    table = Table(title=title)
    table.add_column("feature")
    table.add_column("statistic")
    table.add_column("generated vs held-out", justify="right")
    if not brief:
        table.add_column("p", justify="right")
    table.add_column("two halves", justify="right")
    if not brief:
        table.add_column("p", justify="right")
    table.add_column("")
    for r in result.rows:
        verdict = "[green]pass[/]" if r.passes else "[bold red]FAIL[/]"
        cells = [r.name, r.statistic, f"{r.value:.3g}"]
        cells += [] if brief else [f"{r.p_value:.2g}"]
        cells += [f"{r.reference:.3g}"]
        cells += [] if brief else [f"{r.reference_p:.2g}"]
        table.add_row(*cells, verdict)
    return table


def _validation_data(site: str | None, sessions: str | None, load: str | None, format: str | None,
                     timezone: str | None, skip_invalid: bool) -> tuple[SessionData, LoadData, int, str]:
    """Sessions, load, the site's charger count and the data options for the command line."""
    if site is not None and (sessions is not None or load is not None):
        raise OptionError("give either --site or --sessions (with --load), not both")
    if sessions is None:
        if load is not None or format is not None or timezone is not None:
            raise OptionError("--load, --format and --timezone go with --sessions; a site names its own data")
        the_site = load_site(site or DEFAULT_SITE)
        _, s, ld = fit_site_model(the_site, skip_invalid)
        return s, ld, len(the_site.charger_list), f"--site {site or DEFAULT_SITE}"
    tz = timezone or DEFAULT_TIMEZONE
    check_time_zone(tz, "--timezone")
    s = read_sessions(sessions, format or "auto", timezone=tz, skip_invalid=skip_invalid)
    _print_report(s.report)
    ld = read_load(load or DEFAULT_LOAD, timezone=tz, skip_invalid=skip_invalid)
    _print_report(ld.report)
    options = f"--sessions {sessions} --load {load or DEFAULT_LOAD}"
    options += f" --format {format}" if format else ""
    options += f" --timezone {timezone}" if timezone else ""
    return s, ld, DEFAULT_CHARGERS, options


@data_app.command("validate")
def validate_command(
    out: Annotated[str, typer.Option(help="Directory for index.html, validation.json/.csv and the plots.")],
    site: Annotated[
        str | None,
        typer.Option(help=f"Bundled site name or site file whose data to use (default {DEFAULT_SITE})."),
    ] = None,
    sessions: Annotated[
        str | None, typer.Option(help="Your session file or openv2b directory (instead of --site).")
    ] = None,
    load: Annotated[
        str | None, typer.Option(help=f"Building load CSV with --sessions (default {DEFAULT_LOAD}).")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="Session format with --sessions: auto, acn, plain or openv2b.",
                     callback=_check_format),
    ] = None,
    timezone: Annotated[str | None, typer.Option(help=TZ_HELP + " With --sessions.")] = None,
    months: Annotated[int, typer.Option(help="Generated months to compare (1..1000).")] = DEFAULT_MONTHS,
    seed: Annotated[int, typer.Option(help="Seeds every random draw (0..2^32-1).")] = 1,
    chargers: Annotated[
        int | None,
        typer.Option(help="Occupancy threshold: share of slots with at least this many EVs connected "
                     "(default: the site's chargers, 15 with --sessions)."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Drop bad rows of your files and report them instead of stopping.")
    ] = False,
) -> None:
    """Compare generated months with recorded months the fit did not see.

    The recorded months alternate into a fit half and a held-out half; the model is fitted
    on the first, and each feature (arrivals per day, arrival time, stay, requested energy,
    occupancy, building load, monthly peak, ...) is compared between generated and held-out
    months and, as the reference, between the two recorded halves. Writes OUT/index.html
    (table and plots), validation.json, validation.csv and one PNG per feature.

    Example: v2b data validate --out runs/validation
    """
    # imported here: matplotlib costs ~0.3 s, which every CLI command would pay at start-up
    from v2b.scenarios.validate_report import REPORT_FILES, write_report

    with user_errors():
        check_range("--months", months, 1, 1000)
        check_seed(seed)
        check_range("--chargers", chargers, 1, 100_000)
        out_dir = check_output_dir(out, "--out", REPORT_FILES)
        s, ld, site_chargers, options = _validation_data(site, sessions, load, format, timezone,
                                                         skip_invalid)
        chargers = chargers or site_chargers
        command = (f"v2b data validate {options} --out {out} --months {months} --seed {seed} "
                   f"--chargers {chargers}")
        start = time.perf_counter()
        with progress() as bar:
            task = bar.add_task("validating (steps)", total=None)
            result = validate(s, ld, read_fleet(), np.random.default_rng(seed), months=months,
                              chargers=chargers,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))
        written = write_report(result, out_dir, seed=seed, command=command)
        seconds = time.perf_counter() - start
    split = result.split
    console.print(validation_table(result, f"generated ({months} months) vs held-out recorded months"))
    for r in result.rows:
        if not r.passes:
            console.print(f"[red]FAIL[/] {r.name}: {r.note}", highlight=False)
    console.print(
        f"sessions: fit on {_months(split.fit_months)}; held out {_months(split.held_out_months)}\n"
        f"load: fit on {_months(split.fit_load_months)}; held out {_months(split.held_out_load_months)}\n"
        f"{result.passed} of {len(result.rows)} features pass (generated no further from the held-out "
        f"months than the other recorded half); {seconds:.1f} s\n"
        f"wrote {len(written)} files to {out_dir} (open {out_dir / 'index.html'})",
        highlight=False,
    )


def _months(months: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{y}-{m:02d}" for y, m in months)


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
