"""Shipped driver data: the CONSENT survey's user types and a synthetic survey."""
