"""``v2b community`` and ``v2b community-bench``: the renewable energy community of buildings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from v2b.cli.app import app
from v2b.cli.common import check_output_dir, check_range, check_seed, console, user_errors

if TYPE_CHECKING:
    from v2b.community.study import CommunityStudy

COMMUNITY_HELP = (
    "Optimise a renewable energy community of buildings that use parked EVs as flexibility "
    "(Moura, Yu & Mohammadi: the paper's Table I and Figs. 2-4).\n\n"
    "Each EV user asks for parking, charging and (optionally) discharging TIME, not energy. The "
    "building earns the parking and charging tariffs, pays a flexibility reward and a "
    "discharging tariff, and buys or sells energy with the grid or, under community "
    "management, with the other buildings. Three cases are solved, one LP each (HiGHS): "
    "baseline (no EVs), individual management (each building alone) and community management.\n\n"
    "Without --config the paper's scenario is synthesised: four March weekdays of the DOE large "
    "office scaled to 500 MWh/yr, PV from pvlib clear sky at Coimbra with seeded daily clouds "
    "(50 % of annual demand), 6 EVs per building from a seeded pool of 30, the paper's tariffs.\n\n"
    "Writes to --out: table.json (Table I rows), flows.csv (slot, building, import_kw, "
    "export_kw to/from the community), summary.json (clearing tariffs, self-consumption, the "
    "paper's findings on these data, timings) and three PNG figures.\n\n"
    "Your own data: a TOML file that names CSV files for buildings (load and PV), EVs and "
    "tariffs; any part left out is synthesised. Try: "
    "v2b community --out out/example --config src/v2b/community/data/example/community.toml"
)


STUDY_FILES = ("table.json", "flows.csv", "summary.json", "fig2_net_loads.png",
               "fig3_building1_net_load.png", "fig4_community_flows.png")


@app.command("community", help=COMMUNITY_HELP)
def community(
    out: Annotated[str, typer.Option(help="Folder for table.json, flows.csv, summary.json, PNGs.")],
    config: Annotated[
        Path | None,
        typer.Option(help="TOML file naming buildings/EVs/tariffs CSV files and scenario values."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of the synthetic clouds and EV draws, 0..2^32-1 (default: the "
                     "config's, else 1)."),
    ] = None,
    slot_minutes: Annotated[
        int | None,
        typer.Option(help="Slot length in minutes: 60 as in the paper, 15 for quarter hours."),
    ] = None,
    exclusivity: Annotated[
        str,
        typer.Option(help="Import/export binaries (Eq. 10): auto = only where the tariffs "
                     "do not already rule simultaneity out, lp = never, milp = everywhere."),
    ] = "auto",
) -> None:
    from v2b.community.config import CommunityConfig, inputs_from_config, load_config
    from v2b.community.inputs import CommunityInputError
    from v2b.community.outputs import write_study
    from v2b.community.solver import SolveError
    from v2b.community.study import run_study

    with user_errors():
        if exclusivity not in ("auto", "lp", "milp"):
            raise CommunityInputError(
                f"--exclusivity {exclusivity!r} is not allowed; expected auto, lp or milp"
            )
        check_range("--slot-minutes", slot_minutes, 1, 1440)
        check_seed(seed)
        out_dir = check_output_dir(out, "--out", STUDY_FILES)
        parsed = load_config(config) if config else CommunityConfig()
        base = config.parent if config else None
        inputs = inputs_from_config(parsed, base, seed, slot_minutes)
        mode = exclusivity if exclusivity != "auto" else parsed.solver.exclusivity
        try:
            study = run_study(inputs, exclusivity=mode)  # type: ignore[arg-type]
        except SolveError as err:
            raise CommunityInputError(str(err)) from None
        extra = {"seed": parsed.seed if seed is None else seed,
                 "config": str(config) if config else None}
        written = write_study(study, out_dir, extra=extra)
    console.print(_table(study.table_rows(), with_paper=config is None))
    console.print(_extras(study))
    console.print("wrote " + ", ".join(str(path) for path in written))


def _table(rows: list[dict[str, float | str]], with_paper: bool) -> Table:
    table = Table(
        title="Costs by building and scenario (EUR), as the community paper's Table I",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("building", no_wrap=True)
    for header in ("base.\nC_E", "indiv.\nC_E", "indiv.\nC_EV", "indiv.\nobj.",
                   "comm.\nC_E", "comm.\nC_EV", "comm.\nobj."):
        table.add_column(header, justify="right", no_wrap=True, min_width=6)
    keys = ("baseline_ce", "individual_ce", "individual_cev", "individual_obj",
            "community_ce", "community_cev", "community_obj")
    for row in rows:
        style = "bold" if row["building"] == "total" else None
        table.add_row(str(row["building"]), *(f"{float(row[k]):.1f}" for k in keys), style=style)
    if with_paper:
        table.add_row("paper", "561.5", "587.5", "-132.4", "455.0", "564.6", "-128.3", "436.4",
                      style="dim")
    table.caption = "C_EV is minus the EV revenue (the paper's sign); obj. = C_E + C_EV"
    return table


def _extras(study: CommunityStudy) -> Table:
    table = Table(title="Market, self-consumption and the paper's findings", show_header=False)
    clearing = study.clearing_summary()
    if "import_eur_per_mwh" in clearing:
        table.add_row(
            "community tariffs (import / export, volume-weighted)",
            f"{clearing['import_eur_per_mwh']:.1f} / {clearing['export_eur_per_mwh']:.1f} EUR/MWh"
            f" over {clearing['traded_mwh'] * 1000:.0f} kWh traded (paper: 85.8 / -35.8)",
        )
    else:
        table.add_row("community tariffs", "no energy traded: no clearing price")
    for case, ratios in study.self_consumption().items():
        per = " ".join("-" if v is None else f"{v:.0%}" for v in ratios["per_building"])
        whole = ratios["community"]
        table.add_row(f"self-consumption {case}", f"{per} | all "
                      f"{'-' if whole is None else f'{whole:.0%}'}")
    f = study.findings()
    table.add_row("EVs: energy net / gross vs cost (paper +12.3 % vs +4.6 %)",
                  f"{f['ev_consumption_increase_pct']:+.1f} % / "
                  f"{f['ev_charging_gross_pct']:+.1f} % vs {f['ev_cost_increase_pct']:+.1f} %")
    table.add_row("community vs individual C_E (paper -3.9 %)",
                  f"{f['community_vs_individual_ce_pct']:+.1f} %")
    table.add_row("total vs baseline, individual / community (paper -19 % / -22.3 %)",
                  f"{f['individual_total_vs_baseline_pct']:+.1f} % / "
                  f"{f['community_total_vs_baseline_pct']:+.1f} %")
    return table


@app.command("community-bench")
def community_bench(
    buildings: Annotated[int, typer.Option(help="Number of buildings B (1..10000).")] = 50,
    days: Annotated[int, typer.Option(help="Days D in one LP (1..200).")] = 30,
    slot_minutes: Annotated[
        int, typer.Option(help="Slot length in minutes (a multiple of 5 dividing 1440).")
    ] = 60,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data (0..2^32-1).")] = 1,
    individual: Annotated[
        bool, typer.Option("--individual", help="Individual instead of community management.")
    ] = False,
    whole: Annotated[
        bool, typer.Option("--whole", help="One HiGHS call for the whole model instead of one "
                           "per independent part (same optimum, slower).")
    ] = False,
) -> None:
    """Time build + solve of a synthetic B-building, D-day community LP (speed check).

    Example: `v2b community-bench --buildings 50 --days 30` (target: under a minute);
    `v2b community-bench --buildings 4 --days 1` (the paper's case, target: under 1 s).
    """
    from v2b.community.bench import run_bench
    from v2b.community.config import check_synthetic_slot

    with user_errors():
        check_range("--buildings", buildings, 1, 10_000)
        check_range("--days", days, 1, 200)
        check_synthetic_slot(slot_minutes, "--slot-minutes")
        check_seed(seed)
        result = run_bench(buildings, days, slot_minutes, seed, community=not individual,
                           split=not whole)
    table = Table(title=f"community LP: {buildings} buildings x {days} days, "
                        f"{slot_minutes}-min slots", show_header=False)
    table.add_row("management", "individual" if individual else "community")
    table.add_row("EV sessions", f"{result.ev_sessions}")
    table.add_row("columns / rows / nonzeros",
                  f"{result.columns} / {result.rows} / {result.nonzeros}")
    table.add_row("binaries", f"{result.binaries}")
    table.add_row("independent parts solved", f"{result.parts}")
    table.add_row("data generation", f"{result.data_s:.2f} s (not counted)")
    table.add_row("model build", f"{result.build_s:.3f} s")
    table.add_row("HiGHS solve", f"{result.solve_s:.3f} s")
    table.add_row("build + solve", f"[bold]{result.total_s:.3f} s[/]")
    table.add_row("objective", f"{result.objective_eur:.2f} EUR")
    console.print(table)
