"""Reading files as text for the loaders, with errors that name the file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from v2b.data.errors import DataError


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a CSV (optionally .gz) keeping every cell as text; errors name the file."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not a readable CSV file: {err}") from None


def read_json(path: Path, missing_hint: str = "") -> object:
    """Parse a JSON file; errors name the file (``missing_hint`` is added when absent)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file{missing_hint}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON: {err}") from None
