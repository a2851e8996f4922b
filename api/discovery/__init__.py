"""Proactive discovery: department records matched against the rolls, candidates and visit lists."""
