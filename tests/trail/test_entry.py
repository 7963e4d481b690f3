"""Trail entries: canonical bytes, stable digests, strict parsing."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.trail.entry import (
    Entry,
    canonical_json,
    entry_bytes,
    entry_for,
    state_digest,
    timestamp,
)

AT = dt.datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)


def test_an_entry_has_one_canonical_form() -> None:
    entry = entry_for(
        event=7,
        at=AT,
        actor="cli:root",
        action="platform.user.add",
        object_type="user",
        object_id="3",
        before=None,
        after={"role": "admin", "email": "a@b.example"},
    )
    assert entry.to_bytes() == (
        b'{"action":"platform.user.add","actor":"cli:root","after":"sha256:'
        + str(state_digest({"email": "a@b.example", "role": "admin"}))
        .removeprefix("sha256:")
        .encode()
        + b'","at":"2026-03-01T09:00:00.123456Z","before":null,"event":7,'
        b'"object":{"id":"3","type":"user"},"v":1}'
    )
    assert Entry.from_bytes(entry.to_bytes()) == entry


def test_state_digests_ignore_key_order_but_not_values() -> None:
    assert state_digest({"a": 1, "b": "x"}) == state_digest({"b": "x", "a": 1})
    assert state_digest({"a": 1}) != state_digest({"a": 2})
    assert state_digest(None) is None
    assert state_digest({"name": "Zoë"}) == (
        "sha256:" + __import__("hashlib").sha256('{"name":"Zoë"}'.encode()).hexdigest()
    )


def test_times_are_utc_with_microseconds() -> None:
    plus_two = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    entry = entry_for(
        event=1,
        at=plus_two,
        actor="a",
        action="a.b",
        object_type="t",
        object_id="1",
        before=None,
        after=None,
    )
    assert entry.at == "2026-03-01T09:00:00.000000Z"
    with pytest.raises(ValueError, match="naive"):
        entry_for(
            event=1,
            at=dt.datetime(2026, 3, 1),
            actor="a",
            action="a.b",
            object_type="t",
            object_id="1",
            before=None,
            after=None,
        )


@pytest.mark.parametrize(
    "data",
    [
        b'{"v":2}',  # a version this code does not know
        b"not json",  # not JSON at all
        b'{"action":"a","v":1}',  # fields missing
    ],
)
def test_bad_entry_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Entry.from_bytes(data)


def test_an_entry_that_is_valid_json_but_not_canonical_is_refused() -> None:
    good = entry_for(
        event=1,
        at=AT,
        actor="a",
        action="a.b",
        object_type="t",
        object_id="1",
        before=None,
        after=None,
    ).to_bytes()
    with pytest.raises(ValueError, match="not in canonical form"):
        Entry.from_bytes(good.replace(b'{"action"', b'{ "action"'))


_TEXT = st.text(st.characters(codec="utf-8"))  # any text UTF-8 can carry
_NUMBER = st.integers() | st.floats(allow_nan=False, allow_infinity=False)  # JSON has no others
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBER | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
_STATE = st.none() | st.dictionaries(_TEXT, _JSON, max_size=4)
_TIME = st.datetimes(
    min_value=dt.datetime(1, 1, 2),
    max_value=dt.datetime(9999, 12, 30),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-7, minutes=-30))]),
)


@given(
    event=st.integers(min_value=0, max_value=2**63),
    at=_TEXT,
    actor=_TEXT,
    action=_TEXT,
    object_type=_TEXT,
    object_id=_TEXT,
    before=st.none() | _TEXT,
    after=st.none() | _TEXT,
)
def test_entry_bytes_are_the_canonical_json_of_its_fields(
    *,
    event: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
) -> None:
    entry = Entry(event, at, actor, action, object_type, object_id, before, after)
    assert entry.to_bytes() == canonical_json(entry.fields())
    assert Entry.from_bytes(entry.to_bytes()) == entry


@given(
    event=st.integers(min_value=1, max_value=2**63),
    at=_TIME,
    actor=_TEXT,
    object_id=_TEXT,
    before=_STATE,
    after=_STATE,
)
def test_the_append_paths_entry_bytes_are_the_entrys_canonical_bytes(
    *,
    event: int,
    at: dt.datetime,
    actor: str,
    object_id: str,
    before: dict[str, object] | None,
    after: dict[str, object] | None,
) -> None:
    fields = {
        "at": at,
        "actor": actor,
        "action": "test.change",
        "object_type": "item",
        "object_id": object_id,
        "before": before,
        "after": after,
    }
    whole = entry_for(event=event, **fields)  # type: ignore[arg-type]
    assert entry_bytes(event=event, **fields) == whole.to_bytes()  # type: ignore[arg-type]
    assert whole.to_bytes() == canonical_json(whole.fields())


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # a whole second, then the first year with four digits
        (dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC), "2026-03-01T09:00:00.000000Z"),
        (dt.datetime(1000, 1, 1, 0, 0, 0, 5, tzinfo=dt.UTC), "1000-01-01T00:00:00.000005Z"),
        # before year 1000, the text version 1 always had: the year unpadded
        (dt.datetime(999, 12, 31, tzinfo=dt.UTC), "999-12-31T00:00:00.000000Z"),
    ],
)
def test_timestamps_keep_their_version_1_text(at: dt.datetime, expected: str) -> None:
    assert timestamp(at) == expected
