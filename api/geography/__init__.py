"""Regions (from the catalog), towns and referral stations."""
