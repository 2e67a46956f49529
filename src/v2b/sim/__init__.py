"""Discrete-event simulation of a site: engine, physics, trace and billing."""

from v2b.sim.engine import PolicyError, SimResult, simulate

__all__ = ["PolicyError", "SimResult", "simulate"]
