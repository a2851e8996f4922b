"""Fast JSON (orjson) for stored JSON columns and for the responses of the busiest routes; times as ISO 8601;
and the text no database stores.

It reads back as the standard library's JSON does: keys that are not strings become strings, tuples become
lists, and a NumPy scalar becomes its Python number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone

import orjson
from fastapi.responses import JSONResponse

OPTIONS = orjson.OPT_NON_STR_KEYS
# A lone surrogate cannot be encoded as UTF-8, and PostgreSQL stores no NUL character.
INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")


def shown_text(text: str) -> str:
    """`text` with every NUL and lone surrogate written as its escape (`\\u0000`), so it can be shown."""
    return INVALID_TEXT.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class EncodedObject(Mapping):
    """A JSON object kept as its UTF-8 text (`data`), with some of its keys at hand: the others are read from the
    text when asked for. `dumps` writes the text as it is, so an object encoded where it was made (an import's
    worker process) is not encoded again, nor rebuilt to be passed on; kept as bytes, it is sent between processes
    and loaded into PostgreSQL without being decoded (api.db.bulk.load_frame)."""

    __slots__ = ("data", "_at_hand", "_whole")

    def __init__(self, data: bytes, at_hand: dict):
        self.data, self._at_hand, self._whole = data, at_hand, None

    def __reduce__(self):  # sent without the decoded object
        return EncodedObject, (self.data, self._at_hand)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def __getitem__(self, key):
        if key in self._at_hand:
            return self._at_hand[key]
        return self._decoded()[key]

    def __iter__(self):
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def _decoded(self) -> dict:
        if self._whole is None:
            self._whole = orjson.loads(self.data)
        return self._whole


def encoded_sorted(value: dict) -> Mapping:
    """`value` as an EncodedObject of its JSON with sorted keys (as a request's fingerprint writes it), or as it is
    when orjson cannot write it."""
    try:
        return EncodedObject(orjson.dumps(value, option=orjson.OPT_SORT_KEYS), {})
    except TypeError:
        return value


def _fallback(value):
    if isinstance(value, EncodedObject):
        return orjson.Fragment(value.data)
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps_bytes(value) -> bytes:
    try:  # keys that are all text (nearly always) are written faster without OPT_NON_STR_KEYS, and alike
        return orjson.dumps(value, default=_fallback)
    except TypeError:
        return orjson.dumps(value, default=_fallback, option=OPTIONS)


def dumps(value) -> str:
    """The JSON text of `value` (UTF-8, compact)."""
    if type(value) is EncodedObject:
        return value.text
    return dumps_bytes(value).decode("utf-8")


class FastJSONResponse(JSONResponse):
    """A JSONResponse rendered by orjson."""

    def render(self, content) -> bytes:
        return dumps_bytes(content)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which are UTC here."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
