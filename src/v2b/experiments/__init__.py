"""Experiments: run policies over episodes, aggregate tables, write results."""
