"""Users, roles and scope, bearer tokens, and signing in to the pages."""
