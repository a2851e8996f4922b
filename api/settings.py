"""Service settings, read from environment variables prefixed `ASSESS_`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'assess.db'}"


class Settings(BaseSettings):
    """Everything the service reads from its environment.

    In `production` the data key and the hash key must be given; in `development` (the default)
    missing keys are generated once and kept in a key file beside the database, with a warning.
    """

    model_config = SettingsConfigDict(env_prefix="ASSESS_", extra="ignore")

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses to start without ASSESS_DATA_KEY and ASSESS_HASH_KEY.")
    database_url: str = Field(default_factory=default_database_url)
    data_key: SecretStr | None = Field(
        None, description="Fernet key(s) for personal data; comma-separated, the first encrypts, all decrypt.")
    hash_key: SecretStr | None = Field(None, description="Secret for the keyed hash (HMAC-SHA256) of ID numbers.")
    key_file: Path | None = Field(None, description="Where development keys are kept; default beside the database.")
    catalog_dir: Path | None = Field(None, description="Catalog folder; the default catalog when unset.")
    mlflow_tracking_uri: str | None = Field(
        None, description="MLflow store of the optional model; default ./mlflow.db when it exists.")
    model_name: str = Field("hardship-champion", description="Registered model whose champion is shown.")
    model_refresh_seconds: float = Field(60.0, description="How often the champion is looked up again.")
    model_review_tier_steps: int = Field(
        2, description="Model and index tiers this many steps apart flag the household for review.")
    model_review_min_probability: float = Field(
        0.1, description="The model giving the index's tier less than this flags the household for review.")
    token_valid_days: int = Field(
        180, ge=0, description="Days a new bearer token is valid (0: until revoked). An expired token is a 401 "
                               "`token_expired`; an admin issues a new one.")
    migrate_on_start: bool = True
    max_body_bytes: int = Field(
        1_048_576, ge=1, description="The largest request body accepted, in bytes (default 1 MiB); a larger one is "
                                     "a 413 problem, refused before it is read.")
    worker_threads: int = Field(
        8, ge=1, description="Threads that run the requests of one server process at a time (anyio's thread "
                              "limiter; its default is 40). Others wait their turn on the event loop.")
    writer_threads: int = Field(
        3, ge=1, description="On PostgreSQL, the asyncio connections of one server process's event loop that "
                             "submissions and the callers' authentication use at a time (others wait their turn "
                             "on the event loop). SQLite's writers always take turns.")
    sqlite_busy_timeout_ms: int = 15000
    earliest_assessed_on: date = Field(
        date(2000, 1, 1), description="The earliest interview date (`assessed_on`) a submission or a score preview "
                                      "may give; a later date than tomorrow is refused as well.")
    alert_index_rise: float = Field(10.0, description="Index rise (points) between assessments that raises an alert.")
    rescoring_batch_size: int = Field(20000, description="Assessments re-scored per committed batch.")
