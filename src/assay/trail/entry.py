"""The canonical, versioned serialisation of a trail entry (docs/formats/trail-entry.md).

An entry is what the Merkle log commits to for one recorded change: which event, when, who, what,
to which object, and SHA-256 digests of the state before and after (the states themselves stay in
the record of changes, so the log holds no personal data beyond the actor). Version 1 is a JSON
object with sorted keys, no insignificant whitespace, UTF-8, holding only strings, integers and
null: the RFC 8785 (JCS) canonical form for such values. These bytes must never change for a
stored version; a new layout is a new ``v``.

The bytes are written out by one format string rather than by a JSON encoder (several times
faster: the append path builds one per recorded change); the tests hold them to the
``canonical_json`` of the entry's fields.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

ENTRY_VERSION = 1
DIGEST_PREFIX = "sha256:"

# json.dumps with these arguments builds this same encoder on every call; one is enough.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    """JCS-style bytes of ``value``: sorted keys, no spaces, UTF-8, no NaN."""
    return _CANONICAL.encode(value).encode("utf-8")


def state_digest(state: Mapping[str, Any] | None) -> str | None:
    """``sha256:<hex>`` of the canonical JSON of a before/after state, or None when absent."""
    if state is None:
        return None
    return DIGEST_PREFIX + hashlib.sha256(canonical_json(state)).hexdigest()


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
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: entries need UTC time")
    utc = at.astimezone(dt.UTC)
    if utc.year < 1000:  # strftime writes these years unpadded, and version 1 used it
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The same text as the strftime above, in half the time: "+00:00" becomes "Z".
    return utc.isoformat(timespec="microseconds")[:-6] + "Z"


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
    """``entry_for(...).to_bytes()``, without building the :class:`Entry` (the append path)."""
    return _layout(
        event=event,
        at=timestamp(at),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=state_digest(before),
        after=state_digest(after),
    )


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
