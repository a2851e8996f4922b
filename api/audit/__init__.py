"""The audit log: every read or change of personal data and every override."""
