"""Households: registration, personal data, search, their file and their status in the programme."""
