"""A JSON object kept as its text (`EncodedObject`): read as the object it encodes, written as the text it is."""

from __future__ import annotations

import hashlib
import pickle

from hypothesis import given
from hypothesis import strategies as st

from api.encoding import EncodedObject, dumps, dumps_bytes, encoded_sorted

VALUES = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                   max_size=3), max_leaves=10)
OBJECTS = st.dictionaries(st.text(max_size=6), VALUES, max_size=6)


@given(OBJECTS, st.data())
def test_an_encoded_object_reads_as_its_object_and_writes_its_text(value, data):
    at_hand = {key: value[key] for key in data.draw(st.lists(st.sampled_from(sorted(value)), unique=True))} \
        if value else {}
    encoded = EncodedObject(dumps_bytes(value), at_hand)
    assert dict(encoded) == value and len(encoded) == len(value)
    assert all(encoded[key] == value[key] for key in value)
    assert encoded.get("\x00absent") is None
    assert dumps(encoded) == dumps(value)
    assert dumps({"inner": encoded, "list": [encoded]}) == dumps({"inner": value, "list": [value]})
    again = pickle.loads(pickle.dumps(encoded))
    assert again.text == encoded.text and dict(again) == value


def test_keys_at_hand_are_read_without_the_text():
    """What is at hand is answered from it: a text that is not JSON is never read for those keys."""
    encoded = EncodedObject(b"not json", {"index": 12.5})
    assert encoded["index"] == 12.5
    assert dumps(encoded) == "not json"  # written as it is


@given(OBJECTS)
def test_an_object_encoded_with_sorted_keys_reads_as_itself(value):
    encoded = encoded_sorted(value)
    if isinstance(encoded, EncodedObject):
        assert dict(encoded) == value and list(encoded) == sorted(value)
        assert pickle.loads(pickle.dumps(encoded)).data == encoded.data
    else:  # text orjson cannot write (a lone surrogate): kept as it is
        assert encoded is value


def test_a_fingerprint_is_the_same_for_answers_as_sorted_text():
    """request_hash of answers encoded with sorted keys (as an import's worker sends them) is the SHA-256 of the
    payload's JSON with sorted keys, as for the dict."""
    from datetime import date

    from api.assessments.submission import request_hash

    answers = {"b": [2, 1], "a": {"y": 1.5, "x": "是"}, "c": None}
    written = '{"answers":{"a":{"x":"是","y":1.5},"b":[2,1],"c":null},"assessed_on":"2026-03-01","corrects":null,' \
              '"household_id":7}'
    expected = hashlib.sha256(written.encode("utf-8")).hexdigest()
    assert request_hash(7, answers, date(2026, 3, 1), None) == expected
    assert request_hash(7, encoded_sorted(answers), date(2026, 3, 1), None) == expected
