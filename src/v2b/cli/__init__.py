"""Command-line interface: ``v2b COMMAND --help`` explains each command.

Each submodule registers its commands on :data:`v2b.cli.app.app`; importing them
here is what makes the commands exist.
"""

from __future__ import annotations

from v2b.cli import data, sim, sites  # noqa: F401  (registers commands)
from v2b.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()


from v2b.cli import bench  # noqa: F401,E402,I001  (registers commands)
from v2b.cli import community  # noqa: F401,E402  (registers commands)
from v2b.cli import survey  # noqa: F401,E402  (registers commands)
from v2b.cli import negotiation  # noqa: F401,E402  (registers commands)
from v2b.cli import experiment  # noqa: F401,E402  (registers commands)
from v2b.cli import report  # noqa: F401,E402  (registers commands)
from v2b.cli import serve  # noqa: F401,E402  (registers commands)
