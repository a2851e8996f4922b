"""The HTTP service: FastAPI app, settings, persistence, authentication and personal-data protection."""
