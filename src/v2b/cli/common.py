"""What every CLI module shares: the console, user-error handling, progress bars, and the checks
every command runs on its options before any work (ranges, seeds, output paths)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from v2b.errors import UserError

console = Console()
err_console = Console(stderr=True)

#: Seeds are what numpy's and the community data's generators accept everywhere (0..2**32-1).
SEED_MAX = 2**32 - 1


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn a user-input error (bad value, file that cannot be read or written) into a
    one-paragraph message and exit status 2."""
    try:
        yield
    except (UserError, OSError) as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    )


class OptionError(UserError):
    """A command-line option whose value is outside what the command accepts."""


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_range(option: str, value: float | None, low: float | None = None,
                high: float | None = None) -> None:
    """Fail unless ``value`` is None or a finite number in ``low..high`` (bounds inclusive).

    The message names the option, the allowed range and the value, e.g.
    ``--seed must be in 0..4294967295, got -1``.
    """
    if value is None:
        return
    finite = isinstance(value, int) or math.isfinite(value)  # ints may be too large for a float
    if finite and (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        allowed = f"be in {_number(low)}..{_number(high)}"
    elif low is not None:
        allowed = f"be at least {_number(low)}"
    elif high is not None:
        allowed = f"be at most {_number(high)}"
    else:
        allowed = "be a finite number"
    raise OptionError(f"{option} must {allowed}, got {_number(value)}")


def check_seed(seed: int | None, option: str = "--seed") -> None:
    """Fail unless ``seed`` is None or in 0..2**32-1."""
    check_range(option, seed, 0, SEED_MAX)


def check_choice(option: str, value: str | None, choices: Iterable[str]) -> None:
    """Fail unless ``value`` is None or one of ``choices``."""
    allowed = tuple(choices)
    if value is not None and value not in allowed:
        raise OptionError(f"{option} {value!r} is not one of {', '.join(allowed)}")


class OutputPathError(UserError):
    """An output path that cannot be written."""


def _given(out: str | Path, option: str) -> Path:
    # typer turns an empty argument into Path("."), so output options arrive as text.
    if not str(out).strip():
        raise OutputPathError(f"{option} '': the path is empty; give a path")
    return Path(out)


def check_output_file(out: str | Path, option: str = "--out") -> Path:
    """Fail before any work when ``out`` cannot be written as a file (its directory is
    created if missing); returns it as a path."""
    out = _given(out, option)
    if out.is_dir():
        raise OutputPathError(f"{option} {out}: is a directory; give a file name")
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise OutputPathError(f"{option} {out}: {parent} is a file, not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputPathError(f"{option} {out}: cannot create directory {parent}: {err.strerror}") from None
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise OutputPathError(f"{option} {out}: not writable")
    return out


def check_output_dir(out: str | Path, option: str = "--out", files: Iterable[str] = ()) -> Path:
    """Fail before any work when ``out`` cannot take the command's ``files``: the directory is
    created if missing and must be a writable directory, each file in it writable. Returns the
    directory as a path."""
    out = _given(out, option)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{option} {out}: is a file, not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputPathError(f"{option} {out}: cannot create directory: {err.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {out}: directory not writable")
    for name in files:
        path = out / name
        if path.is_dir():
            raise OutputPathError(f"{option} {out}: {name} is a directory, cannot write the file")
        if path.exists() and not os.access(path, os.W_OK):
            raise OutputPathError(f"{option} {out}: {name} is not writable")
    return out
