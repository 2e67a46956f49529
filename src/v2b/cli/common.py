"""What every CLI module shares: the console, user-error handling, progress bars."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


class OutputPathError(UserError):
    """An output path that cannot be written."""


def check_output_file(out: Path, option: str = "--out") -> None:
    """Fail before any work when ``out`` cannot be written as a file (its directory is
    created if missing)."""
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
