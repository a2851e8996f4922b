"""Keys and settings: production requires keys, development keeps generated ones, rotation keeps data."""

from __future__ import annotations

import stat

import pytest
from cryptography.fernet import Fernet

from api.security import KeysMissing, decrypt_json, encrypt_json, id_number_hash, mask, resolve_keys, token_hash
from api.settings import Settings


def test_production_refuses_to_start_without_keys(tmp_path):
    settings = Settings(env="production", database_url=f"sqlite:///{tmp_path / 'a.db'}",
                        data_key=None, hash_key=None)
    with pytest.raises(KeysMissing):
        resolve_keys(settings)


def test_development_keys_are_generated_once_private_and_reused(tmp_path):
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'a.db'}",
                        data_key=None, hash_key=None)
    first = resolve_keys(settings)
    key_file = tmp_path / "a.keys.json"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_keys(settings) == first
    assert decrypt_json(first, encrypt_json(first, {"name": "张三"})) == {"name": "张三"}


def test_rotated_key_still_reads_data_written_with_the_old_one(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    base = {"env": "production", "database_url": "sqlite://", "hash_key": "h" * 32}
    before = resolve_keys(Settings(data_key=old, **base))
    token = encrypt_json(before, {"id_number": "x"})
    after = resolve_keys(Settings(data_key=f"{new},{old}", **base))
    assert decrypt_json(after, token) == {"id_number": "x"}
    with pytest.raises(RuntimeError):
        decrypt_json(resolve_keys(Settings(data_key=new, **base)), token)


def test_keyed_hash_depends_on_the_key_and_ignores_spacing_and_case():
    base = {"env": "production", "database_url": "sqlite://", "data_key": Fernet.generate_key().decode()}
    one = resolve_keys(Settings(hash_key="a" * 32, **base))
    two = resolve_keys(Settings(hash_key="b" * 32, **base))
    assert id_number_hash(one, "11010119500307122x") == id_number_hash(one, "110101 19500307122X")
    assert id_number_hash(one, "110101195003071227") != id_number_hash(two, "110101195003071227")


def test_token_hash_is_sha256_hex():
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("value, start, end, expected", [
    ("王秀兰", 1, 0, "王**"), ("13800001234", 3, 4, "138****1234"), ("abc", 2, 2, "***"), (None, 1, 1, None)])
def test_mask(value, start, end, expected):
    assert mask(value, start, end) == expected
