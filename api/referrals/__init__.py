"""Service providers and referrals: the loop from a recommended service to its delivery."""
