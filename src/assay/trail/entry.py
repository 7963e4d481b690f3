"""The canonical, versioned serialisation of a trail entry (docs/formats/trail-entry.md).

An entry is what the Merkle log commits to for one recorded change: which event, when, who, what,
to which object, and SHA-256 digests of the state before and after (the states themselves stay in
the record of changes, so the log holds no personal data beyond the actor). Version 1 is a JSON
object with sorted keys, no insignificant whitespace, UTF-8, holding only strings, integers and
null: the RFC 8785 (JCS) canonical form for such values. These bytes must never change for a
stored version; a new layout is a new ``v``.

The bytes are written out by one format string rather than by a JSON encoder (several times
faster: the append path builds one per recorded change), and the states' canonical JSON by a C
encoder built once; the tests hold them to ``json.dumps`` with the canonical settings.
"""

from __future__ import annotations

import _json
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, NamedTuple, Protocol

ENTRY_VERSION = 1
DIGEST_PREFIX = "sha256:"

# json.dumps with these arguments builds this same encoder on every call; one is enough.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


# ... and the C encoder that encode() builds on every call, built once (it costs more than
# encoding a small state). Anything that goes wrong (a state that contains itself, a type JSON
# does not have) is handed to _CANONICAL.encode, which raises as json.dumps would.
_markers: dict[int, Any] = {}
_canonical_chunks = _json.make_encoder(
    _markers, _CANONICAL.default, _json.encode_basestring, None, ":", ",", True, False, False
)


def _canonical_text(value: Any) -> str:
    try:
        return "".join(_canonical_chunks(value, 0))
    except Exception:  # noqa: BLE001 - encode() raises the same, with a fresh encoder
        _markers.clear()  # a failed call leaves the containers it was in marked
        return _CANONICAL.encode(value)


_sha256 = hashlib.sha256
_UTC = dt.UTC


def canonical_json(value: Any) -> bytes:
    """JCS-style bytes of ``value``: sorted keys, no spaces, UTF-8, no NaN."""
    return _canonical_text(value).encode("utf-8")


def state_digest(state: Mapping[str, Any] | None) -> str | None:
    """``sha256:<hex>`` of the canonical JSON of a before/after state, or None when absent."""
    if state is None:
        return None
    return DIGEST_PREFIX + _sha256(_canonical_text(state).encode("utf-8")).hexdigest()


def _string(value: str | None) -> str:
    """A JSON string as the canonical encoder writes it (``null`` for None)."""
    return "null" if value is None else encode_basestring(value)


# The version-1 layout: keys in code-point order (action, actor, after, at, before, event,
# object (id, type), v), no whitespace.
_LAYOUT = (
    '{"action":%s,"actor":%s,"after":%s,"at":%s,"before":%s,"event":%d,'
    '"object":{"id":%s,"type":%s},"v":' + str(ENTRY_VERSION) + "}"
)


def _layout(
    *,
    event: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
) -> bytes:
    text = _LAYOUT % (
        _string(action),
        _string(actor),
        _string(after),
        _string(at),
        _string(before),
        event,
        _string(object_id),
        _string(object_type),
    )
    return text.encode("utf-8")


def timestamp(at: dt.datetime) -> str:
    """RFC 3339 UTC timestamp with microseconds, as entries carry it."""
    if at.tzinfo is not _UTC:
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r}: entries need UTC time")
        at = at.astimezone(_UTC)
    year = at.year
    if year < 1000:  # strftime writes these years unpadded, and version 1 used it
        return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, in a third of the time.
    return _TIMESTAMP % (year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond)


_TIMESTAMP = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


@dataclass(frozen=True)
class Entry:
    """One entry of the log, version 1."""

    event: int
    at: str
    actor: str
    action: str
    object_type: str
    object_id: str
    before: str | None
    after: str | None

    def to_bytes(self) -> bytes:
        """The canonical bytes the log commits to (the Merkle leaf's data).

        The ``canonical_json`` of :meth:`fields`, written out directly.
        """
        return _layout(
            event=self.event,
            at=self.at,
            actor=self.actor,
            action=self.action,
            object_type=self.object_type,
            object_id=self.object_id,
            before=self.before,
            after=self.after,
        )

    def fields(self) -> dict[str, Any]:
        """The entry as the JSON object it is (``to_bytes`` is its canonical JSON)."""
        return {
            "v": ENTRY_VERSION,
            "event": self.event,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "object": {"type": self.object_type, "id": self.object_id},
            "before": self.before,
            "after": self.after,
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> Entry:
        """Parse canonical entry bytes; ValueError if they are not a version-1 entry."""
        try:
            raw = json.loads(data.decode("utf-8"))
            if raw.get("v") != ENTRY_VERSION:
                raise ValueError(f"unsupported entry version {raw.get('v')!r}")
            parsed = cls(
                event=int(raw["event"]),
                at=str(raw["at"]),
                actor=str(raw["actor"]),
                action=str(raw["action"]),
                object_type=str(raw["object"]["type"]),
                object_id=str(raw["object"]["id"]),
                before=raw["before"],
                after=raw["after"],
            )
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a trail entry: {exc}") from exc
        if parsed.to_bytes() != data:
            raise ValueError("entry bytes are not in canonical form")
        return parsed


def _digest_json(state: Mapping[str, Any] | None) -> str:
    """``state_digest`` as a JSON value: ``"sha256:<hex>"`` or ``null``."""
    if state is None:
        return "null"
    return '"sha256:' + _sha256(_canonical_text(state).encode("utf-8")).hexdigest() + '"'


class Change(Protocol):
    """What an entry is made of, but its event id (``assay.platform.record.Change``)."""

    @property
    def at(self) -> dt.datetime:
        """When (aware)."""

    @property
    def actor(self) -> str:
        """Who."""

    @property
    def action(self) -> str:
        """What."""

    @property
    def object_type(self) -> str:
        """The object's type."""

    @property
    def object_id(self) -> str:
        """The object's identifier."""

    @property
    def before(self) -> Mapping[str, Any] | None:
        """The state before."""

    @property
    def after(self) -> Mapping[str, Any] | None:
        """The state after."""


class Recorded(Change, Protocol):
    """A change once recorded (``assay.platform.record.RecordedEvent``): it has its event id."""

    @property
    def id(self) -> int:
        """The audit event's id."""


def entry_of(event: Recorded) -> bytes:
    """The entry bytes of a recorded change: the append path's call, once per change."""
    head, tail = entry_parts(event)
    return b"%s%d%s" % (head, event.id, tail)


def entry_parts(change: Change) -> tuple[bytes, bytes]:
    """The entry bytes of a change before and after its event id, which is not known yet.

    ``head + b"%d" % event_id + tail`` is the entry (:func:`entry_of`). The group commit builds
    these before it takes the database's write lock, which the id needs. The layout of
    :meth:`Entry.to_bytes`, with the parts that never need escaping (the timestamp: digits and
    ``-:.TZ``; the digests: ``sha256:`` and hex) written as they are.
    """
    quote = encode_basestring
    head = (
        f'{{"action":{quote(change.action)},"actor":{quote(change.actor)},'
        f'"after":{_digest_json(change.after)},"at":"{timestamp(change.at)}",'
        f'"before":{_digest_json(change.before)},"event":'
    )
    tail = (
        f',"object":{{"id":{quote(change.object_id)},"type":{quote(change.object_type)}}},'
        f'"v":{ENTRY_VERSION}}}'
    )
    return head.encode(), tail.encode()


class _Fields(NamedTuple):
    id: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


def entry_bytes(
    *,
    event: int,
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> bytes:
    """``entry_for(...).to_bytes()``, without building the :class:`Entry`."""
    return entry_of(_Fields(event, at, actor, action, object_type, object_id, before, after))


def entry_for(
    *,
    event: int,
    at: dt.datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> Entry:
    """The entry for one recorded change."""
    return Entry(
        event=event,
        at=timestamp(at),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=state_digest(before),
        after=state_digest(after),
    )
