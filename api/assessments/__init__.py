"""Assessments: submission, scoring, the frozen record, and each household's latest row."""
