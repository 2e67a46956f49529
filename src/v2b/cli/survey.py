"""``v2b survey fit`` and ``v2b survey synthesize``: driver types from a stated-preference survey."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import check_output_file, check_range, check_seed, console, user_errors
from v2b.users.survey import (
    SCENARIOS,
    cluster_types,
    fit_respondent_weights,
    read_survey,
    synthetic_survey,
    type_summary,
)
from v2b.users.types import UserTypes, load_user_types

COLUMNS_HELP = (
    "A survey CSV has one row per respondent x scenario with the columns: respondent (any label); "
    "soc_reduction_pct (SoC given up, percentage points 0..100); delay_min (minutes the car leaves "
    "later than requested, >= 0); required_discount_usd (the discount in $ the respondent needs to "
    "accept that scenario, >= 0). Each respondent needs at least 2 scenarios."
)
SYNTHETIC_HELP = (
    "builtin:consent-survey-synthetic is SYNTHETIC: 28 respondents simulated from the CONSENT paper's "
    "published type statistics, not real survey answers. It was made by: v2b survey synthesize "
    "--types builtin:consent-survey --respondents 28 --seed 1 "
    "--out src/v2b/users/data/consent-survey-synthetic.csv"
)

survey_app = typer.Typer(
    help=(
        "Driver types from a stated-preference survey (CONSENT Sec. 5): each respondent's inconvenience "
        "I = w1 x SoC points given up + w2 x minutes of delay is fitted by non-negative least squares, "
        "then respondents are clustered into types.\n\n" + COLUMNS_HELP + "\n\n" + SYNTHETIC_HELP
    ),
    no_args_is_help=True,
)
app.add_typer(survey_app, name="survey")


def _summary_table(types: UserTypes, respondents: int, title: str) -> Table:
    table = Table(title=title)
    for heading in ("type", "share", "w1 [$/SoC point] mean ± sd", "w2 [$/min] mean ± sd", "respondents"):
        table.add_column(heading, justify="left" if heading == "type" else "right")
    for row in type_summary(types, respondents).itertuples(index=False):
        table.add_row(
            row.type,
            f"{row.share_pct:.1f}%",
            f"{row.w1_mean:.4f} ± {row.w1_sd:.4f}",
            f"{row.w2_mean:.4f} ± {row.w2_sd:.4f}",
            str(row.respondents),
        )
    return table


@survey_app.command(
    "fit",
    short_help="Fit driver types from a survey CSV and write a user-type TOML file.",
    help="Fit driver types from a survey CSV and write a user-type TOML file: per respondent, w1 and w2 by "
    "non-negative least squares (no intercept: no deviation costs nothing), then k-means on the "
    "standardised (w1, w2). Types are ordered by decreasing mean w2 and named i, ii, iii...; names "
    "need not line up with the paper's.\n\n" + COLUMNS_HELP + "\n\n" + SYNTHETIC_HELP,
)
def fit(
    survey_csv: Annotated[
        str, typer.Argument(help="Survey CSV (columns above) or builtin:consent-survey-synthetic.")
    ],
    out: Annotated[
        str, typer.Option(help="User-type TOML to write (usable wherever user types are read).")
    ],
    types: Annotated[int, typer.Option("--types", help="Number of driver types N to cluster into.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the k-means++ initialisations (0..2^32-1).")] = 1,
    restarts: Annotated[int, typer.Option(help="k-means++ runs (1..1000); the tightest clustering "
                                          "is kept.")] = 10,
) -> None:
    with user_errors():
        check_seed(seed)
        check_range("--restarts", restarts, 1, 1000)
        out_path = check_output_file(out)
        survey = read_survey(survey_csv)
        weights = fit_respondent_weights(survey)
        source = (
            f"v2b survey fit {survey_csv} --types {types} --seed {seed}: "
            f"{len(weights)} respondents, {len(survey)} answers"
        )
        fitted = cluster_types(weights, types, np.random.default_rng(seed), restarts=restarts, source=source)
        out_path.write_text(fitted.to_toml())
        load_user_types(out_path)  # what we wrote must read back
    w1, w2 = fitted.mean_weights()
    console.print(_summary_table(fitted, len(weights), f"driver types fitted from {survey_csv}"))
    console.print(f"population mean: w1 = {w1:.4f} $/SoC point, w2 = {w2:.4f} $/min")
    console.print(f"wrote {out_path}")


@survey_app.command(
    "synthesize",
    short_help="Write a SYNTHETIC survey CSV simulated from user-type statistics.",
    help="Write a SYNTHETIC survey CSV answered by respondents simulated from user-type statistics: each "
    "draws w1, w2 from its type's Normal(mean, sd) clipped at 0 and prices "
    f"{len(SCENARIOS)} fixed scenarios (SoC cuts of 5/10/20 points, delays of 15/30/60/105 min and the "
    "paper's options (6.25 pt, 30 min), (10 pt, 15 min), (20 pt, 105 min)) with Normal(0, $0.10) noise, "
    "rounded to $0.05. Respondents are split over types by largest remainder "
    "(28 give the paper's 3/15/9/1).\n\n"
    + COLUMNS_HELP + "\n\n" + SYNTHETIC_HELP,
)
def synthesize(
    out: Annotated[str, typer.Option(help="Survey CSV to write.")],
    types: Annotated[
        str, typer.Option("--types", help="User-type TOML file or builtin:consent-survey.")
    ] = "builtin:consent-survey",
    respondents: Annotated[int, typer.Option(help="Number of simulated respondents (1..100000).")] = 28,
    seed: Annotated[int, typer.Option(help="Seed of every random draw (0..2^32-1).")] = 1,
) -> None:
    with user_errors():
        check_seed(seed)
        check_range("--respondents", respondents, 1)
        check_range("--respondents", respondents, None, 100_000)
        out_path = check_output_file(out)
        population = load_user_types(types)
        survey = synthetic_survey(population, respondents, np.random.default_rng(seed))
        survey.to_csv(out_path, index=False)
    console.print(
        f"wrote {out_path}: SYNTHETIC survey, {respondents} respondents x {len(SCENARIOS)} scenarios "
        f"from {population.source or types} (seed {seed})"
    )
