"""The priority ranking, its exports and its snapshots."""
