"""Scoring configurations: drafts, impact previews, publishing, and re-scoring stored assessments."""
