"""A Gymnasium environment over the v2b engine (optional extra: ``pip install 'v2b[gym]'``).

``V2BEnv`` plays one episode of a site slot by slot with the agent's charger set-points;
``PolicyAgent`` drives it with a registered policy. Importing this package registers the
environment as ``v2b/V2B-v0`` for :func:`gymnasium.make`. See ``docs/gym.md``.
"""

from __future__ import annotations

import gymnasium

from v2b.gym.env import COST_PARTS, AgentSetpoints, EnvError, PolicyAgent, V2BEnv

ENV_ID = "v2b/V2B-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="v2b.gym.env:V2BEnv")

__all__ = ["COST_PARTS", "ENV_ID", "AgentSetpoints", "EnvError", "PolicyAgent", "V2BEnv"]
