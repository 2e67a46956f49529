"""Example input files for ``v2b community --config``."""
