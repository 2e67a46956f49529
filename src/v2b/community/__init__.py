"""Renewable energy community of buildings using parked EVs as flexibility.

Implements P. Moura, G. K. W. Yu, J. Mohammadi, "Management of Electric Vehicles as
Flexibility Resource for Optimized Integration of Renewable Energy with Large
Buildings" (Eqs. 1-14) as one sparse LP over all buildings and slots, solved with
HiGHS. Start with :func:`synthetic_inputs` (the paper's scenario) or
:func:`inputs_from_config` (your files), then :func:`run_study`; decisions are in
``docs/model.md`` ("Community").
"""

from v2b.community.checks import violations
from v2b.community.config import CommunityConfig, inputs_from_config, load_config
from v2b.community.inputs import CommunityInputError, CommunityInputs, EvSessions, Tariffs
from v2b.community.lp import build_lp, simultaneity_unprofitable
from v2b.community.results import ManagementResult, manage
from v2b.community.solver import SolveError, solve
from v2b.community.study import CommunityStudy, run_study, self_consumption
from v2b.community.synthetic import ScenarioSpec, synthetic_inputs

__all__ = [
    "CommunityConfig", "CommunityInputError", "CommunityInputs", "CommunityStudy",
    "EvSessions", "ManagementResult", "ScenarioSpec", "SolveError", "Tariffs", "build_lp",
    "inputs_from_config", "load_config", "manage", "run_study", "self_consumption",
    "simultaneity_unprofitable", "solve", "synthetic_inputs", "violations",
]
