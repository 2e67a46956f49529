"""CONSENT's negotiation: options priced by marginal utility, the static-menu
baseline, and the settings they share (``docs/model.md``, "Negotiation")."""
