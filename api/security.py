"""Keys, encryption of personal data, the keyed hashes of ID numbers and other texts, bearer tokens and masking."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

from api import id_numbers
from api.settings import Settings

log = logging.getLogger(__name__)


class KeysMissing(RuntimeError):
    """Production settings without the data key or the hash key."""


@dataclass(frozen=True)
class Keys:
    """The secrets that protect personal data."""

    data_keys: tuple[str, ...]
    hash_key: str

    @cached_property
    def cipher(self) -> MultiFernet:
        return MultiFernet([Fernet(k.encode("ascii")) for k in self.data_keys])

    @cached_property
    def hash_key_bytes(self) -> bytes:
        return self.hash_key.encode("utf-8")


def key_file_for(settings: Settings) -> Path:
    if settings.key_file is not None:
        return settings.key_file
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_suffix(".keys.json")
    return Path.cwd() / "assess.keys.json"


def resolve_keys(settings: Settings) -> Keys:
    """Keys from settings; in development, missing ones come from (or are written to) the key file."""
    data = settings.data_key.get_secret_value() if settings.data_key else None
    hashing = settings.hash_key.get_secret_value() if settings.hash_key else None
    if data and hashing:
        return Keys(tuple(k.strip() for k in data.split(",") if k.strip()), hashing)
    if settings.env == "production":
        raise KeysMissing("ASSESS_DATA_KEY and ASSESS_HASH_KEY must be set in production "
                          "(a data key: python -c 'from cryptography.fernet import Fernet; "
                          "print(Fernet.generate_key().decode())').")
    path = key_file_for(settings)
    stored = _development_keys(path)
    log.warning("!!! DEVELOPMENT KEYS: personal data is encrypted with keys stored in %s. Anyone who can "
                "read that file can read the data. Set ASSESS_DATA_KEY and ASSESS_HASH_KEY (and ASSESS_ENV="
                "production) for real use; losing the keys loses the data. !!!", path)
    return Keys((data or stored["data_key"],), hashing or stored["hash_key"])


def _development_keys(path: Path) -> dict:
    """The key file's keys, after creating it with new ones when it is missing. It is created whole or not at
    all (written to a private temporary file, then linked into place, which fails when another process made
    it first), readable and writable by its owner only; an existing file readable by others is made private."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = {"data_key": Fernet.generate_key().decode("ascii"), "hash_key": secrets.token_urlsafe(32)}
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".keys-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(keys, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process created it at the same moment: use theirs
        finally:
            os.unlink(temporary)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("the key file %s was readable by others; it is now readable by its owner only", path)
        path.chmod(0o600)
    return json.loads(path.read_text(encoding="utf-8"))


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps would make one per call for a non-default option


def encrypt_json(keys: Keys, value: dict) -> str:
    return keys.cipher.encrypt(_ENCODER.encode(value).encode("utf-8")).decode("ascii")


def decrypt_json(keys: Keys, token: str) -> dict:
    try:
        return json.loads(keys.cipher.decrypt(token.encode("ascii")))
    except InvalidToken as exc:
        raise RuntimeError("personal data cannot be decrypted with the configured data key") from exc


def id_number_hash(keys: Keys, id_number: str) -> str:
    """HMAC-SHA256 of the normalised ID number (`api.id_numbers.normalise`): equal numbers match however
    they were typed, and the number cannot be read back."""
    return keyed(keys, id_numbers.normalise(id_number))


def keyed(keys: Keys, text: str) -> str:
    """The keyed hash (HMAC-SHA256 with the hash key) of a text."""
    return hmac.digest(keys.hash_key_bytes, text.encode("utf-8"), "sha256").hex()


def new_token() -> str:
    return "as_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def mask(value, keep_start: int, keep_end: int) -> str | None:
    """Replace all but the first `keep_start` and last `keep_end` characters (of the text of `value`) with '*'."""
    if value is None:
        return None
    value = str(value)
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end:]


def listed_id_number(id_number: str | None) -> str | None:
    """An ID number as lists show it: its first 4 characters (the region) and its last 4, the rest masked
    (`3710**********6433`). The whole number is shown on request, audited."""
    return mask(id_number, 4, 4)


def masked_personal(personal: dict) -> dict:
    """The masked form of a household's personal data: surname, last 4 of ID number and phone."""
    return {"name": mask(personal.get("name"), 1, 0),
            "id_number": mask(personal.get("id_number"), 0, 4),
            "phone": mask(personal.get("phone"), 3, 4)}
