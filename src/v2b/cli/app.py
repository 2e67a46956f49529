"""The typer application every CLI module registers its commands on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="v2b",
    help=(
        "Vehicle-to-building charging: simulate sites, compare charging policies (CONSENT's "
        "MC-MPC and baselines) and optimise renewable building communities.\n\n"
        "Start with `v2b compare` (every policy on the default site), `v2b simulate --help` for one "
        "run, `v2b sites` for the bundled sites."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
