"""Discrete-event simulation of a site: engine, physics, trace and billing."""

from v2b.sim.engine import PendingOffer, PolicyError, SimResult, Simulator, simulate

__all__ = ["PendingOffer", "PolicyError", "SimResult", "Simulator", "simulate"]
