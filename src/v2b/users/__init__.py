"""Drivers: how they answer the menu offered at plug-in."""
