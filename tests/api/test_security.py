"""Keys and settings: production requires keys, development keeps generated ones, rotation keeps data."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from api.security import KeysMissing, decrypt_json, encrypt_json, id_number_hash, mask, resolve_keys, token_hash
from api.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[2]


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


def test_development_keys_made_by_processes_starting_at_once_are_one_private_file(tmp_path, monkeypatch):
    """Several server workers start together: one creates the file, whole, and all use its keys."""
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'a.db'}", data_key=None,
                        hash_key=None)
    barrier = threading.Barrier(8)
    generate = Fernet.generate_key

    def slow_generate():  # every starter finds no file before the first has written one
        time.sleep(0.2)
        return generate()

    monkeypatch.setattr(Fernet, "generate_key", staticmethod(slow_generate))

    def start():
        barrier.wait()
        return resolve_keys(settings)

    previous = os.umask(0)  # the mode must not depend on the umask
    try:
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda _: start(), range(8)))
    finally:
        os.umask(previous)
    key_file = tmp_path / "a.keys.json"
    assert len(set(found)) == 1 and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["a.keys.json"]  # no temporary file left


def test_a_key_file_readable_by_others_is_made_private(tmp_path):
    settings = Settings(env="development", database_url=f"sqlite:///{tmp_path / 'a.db'}", data_key=None,
                        hash_key=None)
    first = resolve_keys(settings)
    key_file = tmp_path / "a.keys.json"
    key_file.chmod(0o644)
    assert resolve_keys(settings) == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_git_ignores_the_development_key_file():
    if shutil.which("git") is None or not (REPOSITORY / ".git").exists():
        pytest.skip("not a git checkout")
    for name in ("assess.keys.json", "data/city.keys.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", name], cwd=REPOSITORY)
        assert ignored.returncode == 0, name


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
