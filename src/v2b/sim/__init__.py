"""Discrete-event simulation of a site: engine, physics, trace and billing."""

from v2b.sim.engine import PolicyError, SimResult, Simulator, simulate

__all__ = ["PolicyError", "SimResult", "Simulator", "simulate"]
