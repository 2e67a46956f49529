"""Charging policies. Each takes an Observation and returns charger set-points."""
