"""The append path's own encoders give exactly what the general ones give.

The append path writes audit rows, state digests and timestamps without going through
SQLAlchemy's column types or ``json.dumps`` (they run once per recorded change); these properties
hold them to the text those would produce, over random states, texts and times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from assay.platform import record
from assay.platform.record import Change
from assay.trail.entry import canonical_json, state_digest, timestamp

_TEXT = st.text(st.characters(codec="utf-8"))
_NUMBER = st.integers() | st.floats(allow_nan=False, allow_infinity=False)
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBER | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_STATE = st.none() | st.dictionaries(_TEXT, _JSON, max_size=4)
_TIME = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=45))]),
)


def _canonical_reference(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@given(state=_STATE)
def test_state_digests_are_sha256_of_the_canonical_json_dumps(state: dict[str, Any] | None) -> None:
    expected = None
    if state is not None:
        expected = "sha256:" + hashlib.sha256(_canonical_reference(state)).hexdigest()
    assert state_digest(state) == expected
    assert canonical_json(state) == _canonical_reference(state)


@given(at=_TIME)
def test_timestamps_are_the_utc_strftime_text(at: dt.datetime) -> None:
    utc = at.astimezone(dt.UTC)
    assert timestamp(at) == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(
    at=_TIME,
    actor=_TEXT,
    object_id=_TEXT,
    before=_STATE,
    after=_STATE,
)
def test_sqlite_audit_values_are_what_the_column_types_give(
    at: dt.datetime,
    actor: str,
    object_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    change = Change(at, actor, "test.change", "item", object_id, before, after)
    dialect = sqlite.dialect()
    assert record._sqlite_row(change) == [None, *record._audit_values(change, dialect)]


@pytest.mark.parametrize(
    "value",
    [
        # a top-level string, which json.dumps writes without building its encoder
        "Zoë \u2028",
        # floats, including one whose repr has an exponent
        {"x": 1.5, "y": 1e300, "z": -0.0},
        # nested lists and dicts with non-ASCII keys
        {"é": [1, {"b": None, "a": True}], "": []},
    ],
)
def test_the_audit_json_is_json_dumps(value: Any) -> None:
    assert record._dumps(value) == json.dumps(value)


def test_a_state_that_contains_itself_is_refused_as_json_dumps_refuses_it() -> None:
    state: dict[str, Any] = {"a": 1}
    state["self"] = state
    with pytest.raises(ValueError, match="Circular reference"):
        state_digest(state)
    with pytest.raises(ValueError, match="Circular reference"):
        record._dumps(state)


def test_a_state_json_cannot_hold_is_refused_and_the_next_one_is_encoded() -> None:
    state: dict[str, Any] = {"inner": {"when": dt.date(2026, 1, 1)}}
    with pytest.raises(TypeError, match="not JSON serializable"):
        state_digest(state)
    with pytest.raises(TypeError, match="not JSON serializable"):
        record._dumps(state)
    state["inner"]["when"] = "2026-01-01"  # the same containers, now plain JSON
    assert canonical_json(state) == _canonical_reference(state)
    assert record._dumps(state) == json.dumps(state)
