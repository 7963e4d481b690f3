"""Trail entries: canonical bytes, stable digests, strict parsing."""

from __future__ import annotations

import datetime as dt

import pytest

from assay.trail.entry import Entry, entry_for, state_digest

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
