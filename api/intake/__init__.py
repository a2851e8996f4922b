"""Intake: answers collected outside the service (bulk files, KoboToolbox and ODK submissions)."""
