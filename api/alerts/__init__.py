"""Alerts (a sharp rise, a worse tier, a critical indicator, a model that disagrees) and due re-assessments."""
