"""Data of the community module (see ATTRIBUTION.md)."""
