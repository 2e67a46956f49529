"""The report over a ``v2b experiment`` output directory: one self-contained HTML page.

The page holds what was run (command, versions, site, seed, executor, times), every table with the
paper's values and our difference beside ours, every figure (embedded as a data URI) and the failed
tasks. It loads nothing from anywhere: CSS is inline, images are data URIs, there is no script, and
a Content-Security-Policy forbids any other request.

Reading (:func:`read_run`) is kept apart from writing the page (:func:`render`, a pure function of
what was read); :func:`build_report` does both. A partial run (tables, figures or failures missing
or unreadable) still gives a page, which says what is missing. :func:`screenshot` renders a page to
a PNG with a headless Chromium.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from v2b.errors import UserError

EXPERIMENT_FILE = "experiment.json"
#: the folders of a run directory the report reads (an output path inside them is refused)
INPUT_FOLDERS = ("tables", "figures", "failures", "tasks")
#: how many traceback lines the page shows of each failed task
TRACEBACK_LINES = 12
#: image types a figure may have, by file suffix
IMAGE_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
DASH = "—"


class RunDirError(UserError):
    """A directory that is not the output of ``v2b experiment``."""


@dataclass(frozen=True)
class Figure:
    file: str
    title: str
    caption: str
    mime: str
    data: bytes


@dataclass(frozen=True)
class Failure:
    key: str
    error: str
    traceback: str
    spec: Any = None


@dataclass(frozen=True)
class Run:
    """What the report shows of one run directory."""

    experiment: dict[str, Any]
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: what the page should have shown but could not, one sentence each
    missing: list[str] = field(default_factory=list)


# --- reading -----------------------------------------------------------------------------------


def read_experiment(directory: str | Path, name: str = "DIR") -> dict[str, Any]:
    """The run's ``experiment.json``; fails with a one-line message naming ``name`` and the
    directory when the directory or the file is not there or not a run's."""
    text = str(directory)
    if not text.strip():
        raise RunDirError(f"{name} '': the path is empty; give the --out directory of `v2b experiment`")
    path = Path(directory)
    if not path.exists():
        raise RunDirError(f"{name} {path}: does not exist")
    if not path.is_dir():
        raise RunDirError(f"{name} {path}: is a file, not a directory; give the --out directory of "
                          "`v2b experiment`")
    file = path / EXPERIMENT_FILE
    if not file.is_file():
        raise RunDirError(f"{name} {path}: has no {EXPERIMENT_FILE}; is it the --out directory of "
                          "`v2b experiment`?")
    value, problem = _load_json(file)
    if problem is not None:
        raise RunDirError(f"{name} {path}: {EXPERIMENT_FILE} {problem}")
    if not isinstance(value, dict):
        raise RunDirError(f"{name} {path}: {EXPERIMENT_FILE} holds {_kind(value)}, not a JSON object")
    return value


def read_run(directory: str | Path) -> Run:
    """Everything the report shows of ``directory``; fails only when ``experiment.json`` is
    missing or unreadable (anything else missing is listed in :attr:`Run.missing`)."""
    root = Path(directory)
    experiment = read_experiment(root)
    missing: list[str] = []
    tables = _read_tables(root, _names(experiment.get("experiments")), missing)
    figures = _read_figures(root, missing)
    failures = _read_failures(root, missing)
    for name in _names(experiment.get("experiments")):
        has_table = any(t.get("experiment") == name for t in tables)
        has_figure = any(f.file.startswith(name) for f in figures)
        if not has_table and not has_figure and not _explained(missing, name):
            missing.append(f"{name}: no tables/{name}.json and no figure {name}* in figures/index.json "
                           "(not run, failed or not finished)")
    tasks = experiment.get("tasks")
    failed = tasks.get("failed") if isinstance(tasks, dict) else None
    if isinstance(failed, int) and failed > len(failures):
        missing.append(f"failures/: {failed} task(s) failed but {len(failures)} failure file(s) found")
    return Run(experiment=experiment, tables=tables, figures=figures, failures=failures, missing=missing)


def build_report(directory: str | Path) -> str:
    """The HTML page over the run directory ``directory``."""
    return render(read_run(directory))


def _load_json(path: Path) -> tuple[Any, str | None]:
    """``(value, None)``, or ``(None, why it cannot be read)``."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except UnicodeDecodeError:
        return None, "is not a UTF-8 text file"
    except json.JSONDecodeError as err:
        return None, f"is not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})"
    except OSError as err:
        return None, f"cannot be read ({err.strerror})"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", dict: "an object"}.get(type(value), type(value).__name__)


def _names(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _explained(missing: list[str], name: str) -> bool:
    return any(m.startswith(f"tables/{name}.json") for m in missing)


def _read_tables(root: Path, experiments: list[str], missing: list[str]) -> list[dict[str, Any]]:
    folder = root / "tables"
    present = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
    # the experiments in the order they were asked for, then any other table found
    order = [name for name in experiments if name in present] + [n for n in present if n not in experiments]
    tables = []
    for name in order:
        value, problem = _load_json(folder / f"{name}.json")
        if problem is None and not (isinstance(value, dict) and isinstance(value.get("columns"), list)
                                    and isinstance(value.get("rows"), list)):
            problem = f"holds {_kind(value)} without a list of columns and of rows, not a table"
        if problem is not None:
            missing.append(f"tables/{name}.json {problem}")
            continue
        tables.append({**value, "experiment": str(value.get("experiment") or name)})
    return tables


def _read_figures(root: Path, missing: list[str]) -> list[Figure]:
    folder = root / "figures"
    if not folder.is_dir():
        return []
    index, problem = _load_json(folder / "index.json")
    if problem is None and not isinstance(index, list):
        problem = f"holds {_kind(index)}, not a list of figures"
    if problem is not None:
        missing.append(f"figures/index.json {problem}")
        # the images are still worth showing, under their file names
        index = [{"file": p.name} for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_TYPES]
    figures = []
    for entry in index:
        name = str(entry.get("file", "")) if isinstance(entry, dict) else ""
        mime = IMAGE_TYPES.get(Path(name).suffix.lower())
        if not name or Path(name).name != name or name in (".", ".."):
            missing.append(f"figures/index.json: entry {json.dumps(entry)[:80]} has no plain file name")
            continue
        if mime is None:
            missing.append(f"figures/{name}: not an image this report embeds "
                           f"({', '.join(sorted(IMAGE_TYPES))})")
            continue
        try:
            data = (folder / name).read_bytes()
        except OSError as err:
            missing.append(f"figures/{name}: cannot be read ({err.strerror})")
            continue
        figures.append(Figure(file=name, title=str(entry.get("title") or name),
                              caption=str(entry.get("caption") or ""), mime=mime, data=data))
    return figures


def _read_failures(root: Path, missing: list[str]) -> list[Failure]:
    folder = root / "failures"
    if not folder.is_dir():
        return []
    failures = []
    for path in sorted(folder.glob("*.json")):
        value, problem = _load_json(path)
        if problem is None and not isinstance(value, dict):
            problem = f"holds {_kind(value)}, not a failure"
        if problem is not None:
            missing.append(f"failures/{path.name} {problem}")
            failures.append(Failure(key=path.stem, error=f"(failure file {problem})", traceback=""))
            continue
        failures.append(Failure(key=str(value.get("key") or path.stem), error=str(value.get("error") or ""),
                                traceback=str(value.get("traceback") or ""), spec=value.get("spec")))
    return failures


# --- numbers -----------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _decimals(column: dict[str, Any]) -> int:
    d = column.get("decimals")
    return d if isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 12 else 2


def fmt(value: float, decimals: int, sign: bool = False) -> str:
    """``value`` with thousands separators and ``decimals`` decimals, a ``+`` before a positive
    one when ``sign``; what rounds to zero is shown as ``0`` (never ``-0`` nor ``+0``)."""
    if math.isinf(value):
        return ("+" if sign and value > 0 else "") + ("inf" if value > 0 else "-inf")
    text = f"{value:{'+' if sign else ''},.{decimals}f}"
    return text.lstrip("+-") if float(text.replace(",", "")) == 0 else text


def mean_std(stats: Any, decimals: int) -> str | None:
    """``mean ± std`` of a ``{"mean": ..., "std": ...}`` figure, or None where there is no mean."""
    if not isinstance(stats, dict):
        return None
    mean, std = _number(stats.get("mean")), _number(stats.get("std"))
    if mean is None or math.isnan(mean):
        return None
    if std is None or math.isnan(std):
        return fmt(mean, decimals)
    return f"{fmt(mean, decimals)} ± {fmt(std, decimals)}"


def difference(ours: Any, paper: Any, decimals: int) -> str | None:
    """Our mean minus the paper's, and relative to the paper's where it is not 0; None unless
    both have a finite mean."""
    if not (isinstance(ours, dict) and isinstance(paper, dict)):
        return None
    a, b = _number(ours.get("mean")), _number(paper.get("mean"))
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    text = fmt(a - b, decimals, sign=True)
    if b != 0:
        text += f" ({fmt(100 * (a - b) / abs(b), 1, sign=True)}%)"
    return text


# --- the page ----------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; --muted: #5b6470; --line: #d8dde3; --soft: #f4f6f8; --bad: #a4161a; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1c232b; background: #fff; }
main { max-width: 80rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.3rem; margin: 2.25rem 0 0.5rem; padding-top: 0.75rem; border-top: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 0.25rem; }
p, li { max-width: 60rem; }
code, pre { font: 0.875rem/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
code { overflow-wrap: anywhere; }
pre { background: var(--soft); padding: 0.75rem; overflow-x: auto; border-radius: 4px; margin: 0.25rem 0; }
.sub { color: var(--muted); margin: 0 0 1rem; }
.muted { color: var(--muted); }
nav ul { padding-left: 1.2rem; margin: 0.25rem 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0.5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.banner { border-left: 4px solid var(--bad); background: #fdf0f0; padding: 0.5rem 0.75rem;
  margin: 0.75rem 0; }
.banner.ok { border-color: #2b7a3d; background: #eff8f1; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5rem 0; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9rem; border: 1px solid var(--line); }
caption { caption-side: bottom; text-align: left; color: var(--muted); padding: 0.5rem; font-size: 0.85rem; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); text-align: center; font-weight: 600; }
thead tr.sub th { font-weight: 400; color: var(--muted); font-size: 0.8rem; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.paper { background: #fafbfc; }
td.diff { color: var(--muted); }
th.row { text-align: left; font-weight: 500; position: sticky; left: 0; background: #fff; min-width: 11rem; }
thead th.row { background: var(--soft); z-index: 1; }
tr.group th { text-align: left; background: #eef1f4; font-weight: 600; font-size: 0.85rem; }
.first { border-left: 1px solid var(--line); }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.35rem; }
.failure { margin: 1rem 0; }
.failure .error { color: var(--bad); font-weight: 600; overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--muted); }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  main { padding: 0.75rem 0.6rem 2rem; }
  h1 { font-size: 1.35rem; }
  dl.facts { grid-template-columns: 1fr; gap: 0; }
  dl.facts dd { margin-bottom: 0.4rem; }
  th.row { min-width: 8rem; }
}
"""

#: no request of any kind leaves the page: images are data URIs, the CSS is inline, there is no script
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def render(run: Run) -> str:
    """The page over ``run``: a pure function of what was read."""
    e = run.experiment
    experiments = _names(e.get("experiments"))
    title = "v2b experiment report" + (f": {', '.join(experiments)}" if experiments else "")
    body = [
        f"<h1>{_h(title)}</h1>",
        f'<p class="sub">{_h(_subtitle(e))}</p>',
        _status(run),
        _contents(run),
        _what_ran(e),
        *(_table_section(t) for t in run.tables),
        _figures_section(run.figures),
        _failures_section(run.failures),
        _missing_section(run.missing),
        '<p class="muted">Made by <code>v2b report</code> from the run directory\'s files; '
        "this page loads nothing from elsewhere.</p>",
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_h(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_h(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        *(part for part in body if part),
        "</main>",
        "</body>",
        "</html>",
        "",
    ])


def _h(value: Any) -> str:
    return escape(str(value), quote=True)


def _anchor(prefix: str, name: str) -> str:
    return prefix + "-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x")


def _subtitle(e: dict[str, Any]) -> str:
    parts = []
    if e.get("site"):
        parts.append(f"site {e['site']}")
    if e.get("episodes") is not None:
        parts.append(f"{e['episodes']} episodes")
    if e.get("seed") is not None:
        parts.append(f"seed {e['seed']}")
    if e.get("started"):
        parts.append(f"started {e['started']}")
    return " · ".join(parts)


def _status(run: Run) -> str:
    e = run.experiment
    tasks = e.get("tasks") if isinstance(e.get("tasks"), dict) else {}
    problems = []
    if e.get("finished") is None:
        problems.append("The run has not finished (no finish time in experiment.json): "
                        "it is still going or was stopped.")
    failed = _number(tasks.get("failed"))
    if failed:
        where = "#failures" if run.failures else "#missing"
        problems.append(f'<a href="{where}">{int(failed)} task(s) failed</a>.')
    if run.missing:
        problems.append(f'<a href="#missing">{len(run.missing)} thing(s) missing or unreadable</a>.')
    if not problems:
        return '<p class="banner ok">Every task finished.</p>'
    # the sentences above are built here from numbers only, apart from escaped text
    return '<div class="banner">' + " ".join(f"<span>{p}</span>" for p in problems) + "</div>"


def _contents(run: Run) -> str:
    items = ['<li><a href="#run">What was run</a></li>']
    items += [f'<li><a href="#{_anchor("table", t["experiment"])}">{_h(t.get("title") or t["experiment"])}'
              "</a></li>" for t in run.tables]
    if run.figures:
        items.append('<li><a href="#figures">Figures</a></li>')
    if run.failures:
        items.append(f'<li><a href="#failures">Failed tasks ({len(run.failures)})</a></li>')
    if run.missing:
        items.append('<li><a href="#missing">Missing</a></li>')
    return '<nav aria-label="contents"><ul>' + "".join(items) + "</ul></nav>"


def _duration(started: Any, finished: Any) -> str | None:
    try:
        seconds = (dt.datetime.fromisoformat(str(finished)) - dt.datetime.fromisoformat(str(started)))
    except (TypeError, ValueError):  # not ISO 8601, or one with and one without a time zone
        return None
    total = int(seconds.total_seconds())
    if total < 0:
        return None
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"


def _what_ran(e: dict[str, Any]) -> str:
    def text(value: Any) -> str:
        return DASH if value is None or value == "" else str(value)

    facts: list[tuple[str, str]] = []  # (label, HTML)
    facts.append(("command", f"<code>{_h(text(e.get('command')))}</code>"))
    facts.append(("experiments", _h(", ".join(_names(e.get("experiments"))) or DASH)))
    for key, label in (("site", "site"), ("episodes", "episodes"), ("seed", "seed"),
                       ("load_info", "load information")):
        facts.append((label, _h(text(e.get(key)))))
    facts.append(("days", _h("whole episodes" if e.get("days") is None else e["days"])))
    executor = text(e.get("executor"))
    if e.get("workers") is not None:
        executor += f", {e['workers']} workers"
    facts.append(("executor", _h(executor)))
    facts.append(("started", _h(text(e.get("started")))))
    finished = text(e.get("finished")) if e.get("finished") is not None else "not finished"
    took = _duration(e.get("started"), e.get("finished"))
    facts.append(("finished", _h(finished + (f" (took {took})" if took else ""))))
    tasks = e.get("tasks")
    if isinstance(tasks, dict):
        facts.append(("tasks", _h(f"{text(tasks.get('done'))} done, {text(tasks.get('failed'))} failed, "
                                  f"of {text(tasks.get('total'))}")))
    facts.append(("code version", f"<code>{_h(text(e.get('code_version')))}</code>"))
    versions = e.get("versions")
    if isinstance(versions, dict) and versions:
        facts.append(("versions", _h(", ".join(f"{k} {v}" for k, v in versions.items()))))
    rows = "".join(f"<dt>{_h(label)}</dt><dd>{value}</dd>" for label, value in facts)
    return f'<section id="run"><h2>What was run</h2><dl class="facts">{rows}</dl></section>'


def _columns(table: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in table["columns"] if isinstance(c, dict) and c.get("key") is not None]


def _has_paper(table: dict[str, Any], key: str) -> bool:
    return any(isinstance(r, dict) and isinstance(r.get("paper"), dict)
               and mean_std(r["paper"].get(key), 0) is not None for r in table["rows"])


def _episodes(row: dict[str, Any]) -> str:
    """The row's episode count, ``2 of 50`` where fewer ran than were planned."""
    done, planned = row.get("episodes"), row.get("planned_episodes")
    if done is None:
        return DASH
    return f"{done} of {planned}" if isinstance(planned, int) and planned != done else str(done)


def _table_section(table: dict[str, Any]) -> str:
    name = table["experiment"]
    columns = _columns(table)
    paper = {c["key"]: _has_paper(table, c["key"]) for c in columns}
    two_rows = any(paper.values())
    span = ' rowspan="2"' if two_rows else ""
    top = [f'<th scope="col" class="row"{span}>Policy</th>', f'<th scope="col"{span}>Episodes</th>']
    sub = []
    for c in columns:
        title = _h(c.get("title") or c["key"])
        if paper[c["key"]]:
            top.append(f'<th scope="colgroup" colspan="3" class="first">{title}</th>')
            sub += ['<th scope="col" class="first">ours</th>', '<th scope="col">paper</th>',
                    '<th scope="col">difference</th>']
        elif two_rows:
            top.append(f'<th scope="col" class="first" rowspan="2">{title}<br>'
                       '<span class="muted">ours</span></th>')
        else:
            top.append(f'<th scope="col" class="first">{title}</th>')
    head = "<tr>" + "".join(top) + "</tr>" + (f'<tr class="sub">{"".join(sub)}</tr>' if sub else "")
    width = 2 + sum(3 if paper[c["key"]] else 1 for c in columns)
    body = []
    group: Any = None
    for row in table["rows"]:
        if not isinstance(row, dict):
            continue
        if row.get("group") and row.get("group") != group:
            body.append(f'<tr class="group"><th colspan="{width}" scope="colgroup">{_h(row["group"])}</th>'
                        "</tr>")
        group = row.get("group")
        ours = row.get("ours") if isinstance(row.get("ours"), dict) else {}
        theirs = row.get("paper") if isinstance(row.get("paper"), dict) else {}
        cells = [f'<th scope="row" class="row">{_h(row.get("label") or row.get("row") or DASH)}</th>',
                 f'<td class="num">{_h(_episodes(row))}</td>']
        for c in columns:
            key, d = c["key"], _decimals(c)
            cells.append(f'<td class="num first">{_h(mean_std(ours.get(key), d) or DASH)}</td>')
            if paper[key]:
                cells.append(f'<td class="num paper">{_h(mean_std(theirs.get(key), d) or DASH)}</td>')
                diff = difference(ours.get(key), theirs.get(key), d)
                cells.append(f'<td class="num diff">{_h(diff or DASH)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_h(table['caption'])}</caption>" if table.get("caption") else ""
    notes = [n for n in table.get("notes") or [] if n] if isinstance(table.get("notes"), list) else []
    notes_html = "<h3>Notes</h3><ul>" + "".join(f"<li>{_h(n)}</li>" for n in notes) + "</ul>" if notes else ""
    legend = ('<p class="muted">Ours: mean ± standard deviation over the episodes. '
              + ("Paper: the paper's value. Difference: ours minus the paper's mean, and relative to it. "
                 if two_rows else "")
              + f"{DASH} : no such figure.</p>")
    return (f'<section id="{_anchor("table", name)}"><h2>{_h(table.get("title") or name)}</h2>'
            f'{legend}<div class="scroll"><table>{caption}<thead>{head}</thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{notes_html}</section>')


def _figures_section(figures: list[Figure]) -> str:
    if not figures:
        return ""
    parts = ['<section id="figures"><h2>Figures</h2>']
    for f in figures:
        uri = f"data:{f.mime};base64,{base64.b64encode(f.data).decode('ascii')}"
        caption = f"<figcaption>{_h(f.caption)}</figcaption>" if f.caption else ""
        parts.append(f'<figure id="{_anchor("figure", Path(f.file).stem)}"><h3>{_h(f.title)}</h3>'
                     f'<img src="{uri}" alt="{_h(f.title)}">{caption}</figure>')
    parts.append("</section>")
    return "".join(parts)


def _failures_section(failures: list[Failure]) -> str:
    if not failures:
        return ""
    parts = [f'<section id="failures"><h2>Failed tasks ({len(failures)})</h2>']
    for f in failures:
        lines = f.traceback.rstrip().splitlines()
        shown = "\n".join(lines[:TRACEBACK_LINES])
        more = (f'<p class="muted">… {len(lines) - TRACEBACK_LINES} more line(s) in '
                f"failures/{_h(f.key)}.json</p>") if len(lines) > TRACEBACK_LINES else ""
        trace = f"<pre>{_h(shown)}</pre>{more}" if lines else ""
        spec = ("<details><summary>task spec</summary>"
                f"<pre>{_h(json.dumps(f.spec, indent=2))}</pre></details>" if f.spec is not None else "")
        parts.append(f'<div class="failure"><h3><code>{_h(f.key)}</code></h3>'
                     f'<p class="error">{_h(f.error or DASH)}</p>{trace}{spec}</div>')
    parts.append("</section>")
    return "".join(parts)


def _missing_section(missing: list[str]) -> str:
    if not missing:
        return ""
    items = "".join(f"<li>{_h(m)}</li>" for m in missing)
    return (f'<section id="missing"><h2>Missing</h2><p>This run directory is partial: the page shows '
            f"what is there.</p><ul>{items}</ul></section>")


# --- a picture of the page ---------------------------------------------------------------------

#: the flags that keep a headless Chromium off the network and out of the user's profile
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--disable-dev-shm-usage",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def parse_size(text: str, option: str = "--screenshot-size") -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels, each 200..20000."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX]\s*(\d{1,6})\s*", text)
    if match is None:
        raise UserError(f"{option} {text!r}: give WIDTHxHEIGHT in pixels, e.g. 1280x2000")
    width, height = int(match[1]), int(match[2])
    if not (200 <= width <= 20000 and 200 <= height <= 20000):
        raise UserError(f"{option} {text!r}: width and height must be in 200..20000 pixels")
    return width, height


def chromium(browser: str, args: list[str], timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run a headless ``browser`` with a fresh profile and ``args``; a one-line error if it
    cannot be started, fails or hangs."""
    with tempfile.TemporaryDirectory(prefix="v2b-chromium-") as profile:
        command = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise UserError(f"{browser} did not finish within {timeout_s:g} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"{browser} failed (exit status {done.returncode}): {last}")
    return done


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1280, 2000),
               browser: str | None = None) -> None:
    """Render the HTML file ``page`` to ``png`` at ``size`` (width, height) pixels."""
    browser = browser or find_chromium()
    if browser is None:
        raise UserError("no Chromium found on PATH; install it (Debian: apt-get install chromium)")
    png = png.resolve()
    png.unlink(missing_ok=True)
    chromium(browser, [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}",
                       page.resolve().as_uri()])
    if not png.is_file() or png.stat().st_size == 0:
        raise UserError(f"{browser} wrote no screenshot to {png}")
