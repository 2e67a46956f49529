"""The Gymnasium environment (``v2b.gym``, ``docs/gym.md``) drives the same engine: its rewards
add up to minus the bill, and replaying its actions, or running a policy through it, gives the
bill ``simulate`` / ``v2b simulate`` gives."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from v2b.errors import UserError
from v2b.experiments.runner import RunSpec, chooser_for, episode_for, run
from v2b.gym import COST_PARTS, ENV_ID, EnvError, PolicyAgent, V2BEnv
from v2b.interface import Observation, Policy
from v2b.scenarios import site_scenarios
from v2b.sim import simulate
from v2b.site import load_site
from v2b.timegrid import SLOTS_PER_DAY

SITE = "santa-clara-office"
DAYS = 2


class Replay(Policy):
    """Plays recorded set-points, slot by slot."""

    name = "replay"

    def __init__(self, actions: dict[int, np.ndarray]):
        self.actions = actions

    def decide(self, obs: Observation) -> np.ndarray:
        return self.actions[obs.slot]


def play_random(env: V2BEnv, action_seed: int, seed: int | None = None) -> dict[str, Any]:
    """A seeded random agent to the end of the episode; what it saw, did and got."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    out: dict[str, Any] = {"obs": [obs], "actions": {}, "rewards": [], "costs": [], "info": None}
    done = False
    while not done:
        slot = env.engine_observation().slot
        action = env.action_space.sample()
        out["actions"][slot] = action.copy()
        obs, reward, done, truncated, info = env.step(action)
        assert not truncated
        out["obs"].append(obs)
        out["rewards"].append(reward)
        out["costs"].append(info["cost_usd"])
        out["info"] = info
    return out


def simulated_bill(policy: Policy, episode: int = 0, seed: int = 1, days: int = DAYS,
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``simulate`` on the episode the environment plays, the way ``runner.run`` builds it."""
    site = load_site(SITE)
    options = options or {"load_info": "measured"}
    return simulate(
        site,
        episode_for(site, episode, False, days),
        policy,
        seed=seed,
        futures=site_scenarios(site).future_sampler(),
        chooser=chooser_for(site, options),
        policy_options=options,
    ).summary


@pytest.fixture(scope="module")
def env() -> V2BEnv:
    return V2BEnv(SITE, episode=0, seed=1, days=DAYS)


def test_check_env_passes_with_only_advisory_warnings(env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    advisory = ("infinity", "symmetric and normalized")
    unexpected = [str(w.message) for w in caught if not any(a in str(w.message) for a in advisory)]
    assert unexpected == []


def test_spaces_follow_the_site(env):
    site = load_site(SITE)
    n = len(site.charger_list)
    assert env.action_space.shape == (n,)
    assert np.array_equal(env.action_space.low, site.charger_arrays.min_kw)
    assert np.array_equal(env.action_space.high, site.charger_arrays.max_kw)
    assert env.observation_space["occupied"].shape == (n,)


def test_random_agent_rewards_add_up_to_minus_the_bill_and_replay_gives_that_bill(env):
    played = play_random(env, action_seed=7, seed=1)
    assert len(played["rewards"]) == DAYS * SLOTS_PER_DAY
    bill = played["info"]["bill"]
    assert sum(played["rewards"]) == pytest.approx(-bill["building_cost_usd"], rel=1e-9, abs=1e-9)
    for part in COST_PARTS:  # each part of the bill, as the steps incurred it (none: no such part)
        assert sum(c[part] for c in played["costs"]) == pytest.approx(bill.get(part, 0.0), rel=1e-9, abs=1e-9)
    assert bill["users"] > 0 and bill["discharged_kwh"] > 0  # EVs came, V2B was used
    replayed = simulated_bill(Replay(played["actions"]))
    for key in ("building_cost_usd", "energy_cost_usd", "demand_charge_usd", "peak_kw", "soc_penalty_usd",
                "degradation_usd", "user_payments_usd", "unmet_kwh", "users"):
        assert bill[key] == replayed[key], key
    assert env.result is not None and env.result.summary is bill


def test_same_seed_twice_gives_identical_trajectories():
    a = play_random(V2BEnv(SITE, days=1), action_seed=3, seed=5)
    b = play_random(V2BEnv(SITE, days=1), action_seed=3, seed=5)
    assert a["rewards"] == b["rewards"]
    assert len(a["obs"]) == len(b["obs"])
    for x, y in zip(a["obs"], b["obs"], strict=True):
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]), key


def test_smart_through_the_env_gets_the_bill_of_v2b_simulate():
    env = V2BEnv(SITE, episode=0, seed=1, days=DAYS, negotiator="smart")
    agent = PolicyAgent(env)
    env.reset()
    done, total = False, 0.0
    while not done:
        _, reward, done, _, info = env.step(agent.act())
        total += reward
    bill = info["bill"]
    expected = run(RunSpec(site=SITE, policy="smart", episode=0, seed=1, days=DAYS,
                           options={"load_info": "measured"})).summary
    assert bill["building_cost_usd"] == expected["building_cost_usd"]
    assert bill["peak_kw"] == expected["peak_kw"]
    assert bill["lp_solves"] == expected["lp_solves"] and bill["negotiator"] == "smart-free"
    assert total == pytest.approx(-bill["building_cost_usd"], rel=1e-9)


def test_a_negotiating_policy_and_idle_skipping_keep_the_bill():
    """consent's menus and payments through the env, with the idle slots run inside steps."""
    options = {"load_info": "paper", "scenarios": 5}
    env = V2BEnv(SITE, episode=1, seed=2, days=1, load_info="paper", skip_idle=True,
                 negotiator="consent", options={"scenarios": 5})
    agent = PolicyAgent(env)
    env.reset()
    done, total, steps = False, 0.0, 0
    while not done:
        _, reward, done, _, info = env.step(agent.act())
        total += reward
        steps += 1
    bill = info["bill"]
    expected = run(RunSpec(site=SITE, policy="consent", episode=1, seed=2, days=1, options=options)).summary
    assert steps < SLOTS_PER_DAY
    assert bill["building_cost_usd"] == expected["building_cost_usd"]
    assert bill["user_payments_usd"] == expected["user_payments_usd"] != 0  # drivers paid or were paid
    assert total == pytest.approx(-bill["building_cost_usd"], rel=1e-9)


@pytest.mark.parametrize("load_info, lag", [("measured", 1), ("paper", 0)])
def test_load_window_shows_what_load_info_allows(load_info, lag):
    env = V2BEnv(SITE, days=1, load_info=load_info)
    obs, _ = env.reset()
    building = env.episode.load_kw
    for _ in range(40):
        obs, *_ = env.step(np.zeros(env.action_space.shape))
    t = env.engine_observation().slot
    window = obs["load_kw"]
    known = building[: t + 1 - lag]
    assert np.allclose(window[-known.size:], known.astype(np.float32))
    assert np.all(window[: SLOTS_PER_DAY - known.size] == 0)
    assert obs["slot_of_day"] == t and obs["slots_left"][0] == SLOTS_PER_DAY - t


def test_observation_describes_the_connected_evs(env):
    env.reset()
    for _ in range(SLOTS_PER_DAY // 2):  # midday: the car park is busy
        obs, *_ = env.step(env.action_space.high)
    eo = env.engine_observation()
    occ = eo.occupied
    assert occ.any() and np.array_equal(obs["occupied"], occ.astype(np.int8))
    assert np.allclose(obs["soc"][occ], eo.energy_kwh[occ] / eo.battery_kwh[occ], atol=1e-6)
    assert np.allclose(obs["energy_needed_kwh"][occ], np.maximum(eo.target_kwh - eo.energy_kwh, 0)[occ],
                       atol=1e-4)
    assert np.array_equal(obs["slots_to_departure"][occ], (eo.departure_slot - eo.slot)[occ])
    assert np.all(obs["soc"][~occ] == 0) and np.all(obs["slots_to_departure"][~occ] == 0)
    assert obs["peak_so_far_kw"][0] == np.float32(eo.peak_so_far_kw)
    price = load_site(SITE).tariff.price_per_kwh_by_slot()[eo.slot_of_day]
    assert obs["price_per_kwh"][0] == np.float32(price)


def test_gymnasium_make_builds_it():
    env = gymnasium.make(ENV_ID, days=1)
    obs, _ = env.reset(seed=1)
    assert obs in env.observation_space
    env.close()


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"site": "no-such-site"}, ["no-such-site"]),
        ({"episode": 999}, ["999"]),
        ({"episode": -1}, ["episode", "-1"]),
        ({"days": 0}, ["days", "0"]),
        ({"days": 40}, ["days", "40"]),
        ({"seed": -3}, ["seed", "-3"]),
        ({"load_info": "psychic"}, ["load_info", "psychic"]),
        ({"negotiator": "nobody"}, ["nobody"]),
        ({"negotiator": "oracle"}, ["negotiator", "oracle"]),
    ],
)
def test_bad_arguments_name_the_field_and_value(kwargs, words):
    with pytest.raises(UserError) as err:
        V2BEnv(**{"days": 1, **kwargs})
    for word in words:
        assert word in str(err.value)


def test_bad_calls_are_clear(env):
    fresh = V2BEnv(SITE, days=1)
    with pytest.raises(EnvError, match="before reset"):
        fresh.step(np.zeros(fresh.action_space.shape))
    env.reset()
    with pytest.raises(EnvError, match=r"shape \(3,\), expected \(15,\)"):
        env.step(np.zeros(3))
    with pytest.raises(EnvError, match="'colour'"):
        env.reset(options={"colour": 1})
    with pytest.raises(EnvError, match="PolicyAgent|negotiator"):
        PolicyAgent(env)


def test_step_after_the_end_asks_for_reset():
    env = V2BEnv(SITE, days=1, skip_idle=True)
    env.reset()
    done = False
    while not done:
        obs, _, done, _, info = env.step(np.zeros(env.action_space.shape))
    assert obs["slots_left"][0] == 0 and not obs["occupied"].any() and "bill" in info
    with pytest.raises(EnvError, match="after the episode ended"):
        env.step(np.zeros(env.action_space.shape))


def test_reset_options_switch_the_episode():
    env = V2BEnv(SITE, days=1)
    env.reset(options={"episode": 3})
    assert env.episode.index == 3
    with pytest.raises(UserError, match="10000"):
        env.reset(options={"episode": 10_000})
    assert env.episode.index == 3


def test_cost_parts_are_reported_each_step(env):
    env.reset()
    _, reward, _, _, info = env.step(np.zeros(env.action_space.shape))
    assert set(info["cost_usd"]) == set(COST_PARTS)
    c = info["cost_usd"]
    assert reward == pytest.approx(-(c["energy_cost_usd"] + c["demand_charge_usd"] + c["demand_response_usd"]
                                     + c["soc_penalty_usd"] + c["degradation_usd"] - c["user_payments_usd"]))


def test_demand_response_and_exports_are_in_the_rewards():
    """A site with a demand-response event (kept or not), a price adder and an export price:
    the rewards still add up to minus the bill, part by part."""
    base = load_site(SITE)
    first = episode_for(base, 0, False, DAYS).dates
    tariff = base.tariff.model_dump()
    tariff["export_price_per_kwh"] = 0.02
    tariff["demand_response"] = [
        {"name": "tight", "start": f"{first[0]}T13:00", "end": f"{first[0]}T15:00", "limit_kw": 50.0,
         "penalty_per_kwh": 1.5},
        {"name": "loose", "start": f"{first[1]}T09:00", "end": f"{first[1]}T10:00", "limit_kw": 5000.0,
         "penalty_per_kwh": 1.0, "incentive_usd_per_kw": 2.0, "baseline_kw": 5100.0},
        {"name": "adder", "start": f"{first[1]}T17:00", "end": f"{first[1]}T18:00",
         "price_adder_per_kwh": 0.1}]
    data = base.model_dump(exclude={"base_dir"}) | {"tariff": tariff}
    from v2b.site import site_from_dict

    site = site_from_dict(data, base_dir=base.base_dir)
    env = V2BEnv(site, episode=0, seed=1, days=DAYS)
    played = play_random(env, action_seed=3, seed=1)
    bill = played["info"]["bill"]
    assert bill["dr_penalty_usd"] > 0 and bill["dr_incentive_usd"] == pytest.approx(200.0)
    assert sum(played["rewards"]) == pytest.approx(-bill["building_cost_usd"], rel=1e-9, abs=1e-9)
    for part in COST_PARTS:
        assert sum(c[part] for c in played["costs"]) == pytest.approx(bill.get(part, 0.0), rel=1e-9, abs=1e-9)
