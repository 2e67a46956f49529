"""``v2b report DIR``: one self-contained HTML page over the output of ``v2b experiment``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from v2b.cli.app import app
from v2b.cli.common import OptionError, OutputPathError, check_output_file, console, user_errors
from v2b.experiments.report import (
    EXPERIMENT_FILE,
    INPUT_FOLDERS,
    build_report,
    find_chromium,
    parse_size,
    read_experiment,
    screenshot,
)
from v2b.experiments.sweep import rebuild_outputs


def _check_out(out: str | Path, option: str, run_dir: Path) -> Path:
    """An output file whose directory exists and is writable, and that is none of the run's
    own files."""
    if str(out).strip():  # an empty path is refused as such below
        given = Path(out)
        if not given.is_dir() and not given.parent.exists():
            raise OutputPathError(f"{option} {given}: directory {given.parent} does not exist")
    path = check_output_file(out, option)
    resolved, root = path.resolve(), run_dir.resolve()
    inputs = [root / EXPERIMENT_FILE, *(root / folder for folder in INPUT_FOLDERS)]
    if any(resolved == p or p in resolved.parents for p in inputs):
        raise OutputPathError(f"{option} {path}: is inside the run's own files; write it beside them "
                              f"(e.g. {run_dir / 'report.html'})")
    return path


@app.command("report")
def report(
    directory: Annotated[str, typer.Argument(
        metavar="DIR", show_default=False,
        help="The --out directory of `v2b experiment` (it holds experiment.json, tables/, figures/, "
             "failures/).")],
    out: Annotated[str | None, typer.Option(
        "--out", metavar="FILE", show_default=False,
        help="Where to write the page (default: DIR/report.html).")] = None,
    shot: Annotated[str | None, typer.Option(
        "--screenshot", metavar="PNG", show_default=False,
        help="Also render the page to this PNG with a headless Chromium (which must be installed).")] = None,
    size: Annotated[str, typer.Option(
        "--screenshot-size", metavar="WIDTHxHEIGHT",
        help="Window size of the screenshot in pixels (390x844 looks like a phone).")] = "1280x2000",
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="First redraw DIR's tables, figures and timing.json from its stored tasks "
        "(runs nothing; for a DIR made by an older v2b).")] = False,
) -> None:
    """Write one HTML page over a finished or partial `v2b experiment` run.

    The page shows what was run (command, versions, code version, site, episodes,
    seed, executor, times), each table with the paper's values and our difference
    beside ours (mean ± std over the episodes), each figure with its caption, and
    the failed tasks with their errors. It is self-contained: images are embedded,
    nothing is loaded from the network, so it can be mailed or published as is.
    Whatever a partial run lacks is listed on the page.

    Example: v2b experiment all --out results/paper && v2b report results/paper
    (writes results/paper/report.html)
    """
    with user_errors():  # every path first: reading and rendering come after
        experiment_dir = Path(directory)
        read_experiment(directory, "DIR")
        page = _check_out(out if out is not None else experiment_dir / "report.html", "--out", experiment_dir)
        picture, browser, window = None, None, (0, 0)
        if shot is not None:
            picture = _check_out(shot, "--screenshot", experiment_dir)
            if picture.resolve() == page.resolve():
                raise OutputPathError(f"--screenshot {picture}: is the same file as --out")
            window = parse_size(size)
            browser = find_chromium()
            if browser is None:
                raise OptionError(f"--screenshot {picture}: no Chromium found on PATH; install it "
                                      "(Debian: apt-get install chromium)")
        if rebuild:
            written = rebuild_outputs(experiment_dir)
            console.print(f"rebuilt {len(written)} table, figure and timing files in {experiment_dir}")
        html = build_report(experiment_dir)
        page.write_text(html, encoding="utf-8")
        console.print(f"wrote {page}")
        if picture is not None:
            screenshot(page, picture, window, browser)
            console.print(f"wrote {picture}")
