"""The trail's public schemas: what its API returns, its commands print and its files contain.

Proof bundles are files for someone else (docs/formats/trail-proof.md), versioned by ``format``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.platform.schemas import EventPublic

INCLUSION_FORMAT: Literal["assay-trail-inclusion/1"] = "assay-trail-inclusion/1"
CONSISTENCY_FORMAT: Literal["assay-trail-consistency/1"] = "assay-trail-consistency/1"


class Schema(BaseModel):
    """Base: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class CheckpointPublic(Schema):
    """A signed checkpoint."""

    id: int
    size: int
    root: str = Field(description="hex SHA-256 root hash")
    key_id: str
    created_at: dt.datetime
    note: str = Field(description="the C2SP signed note")


class TrailStatus(Schema):
    """The log's head, its latest checkpoint and the keys that verify it."""

    origin: str
    size: int
    root: str
    latest_checkpoint: CheckpointPublic | None
    verifier_keys: list[str]


class InclusionBundle(Schema):
    """Everything needed to check offline that an entry is in the log (format version 1)."""

    format: Literal["assay-trail-inclusion/1"] = INCLUSION_FORMAT
    origin: str
    leaf_index: int
    tree_size: int
    entry: str = Field(description="the entry's canonical JSON (the leaf's data)")
    leaf_hash: str
    root: str
    proof: list[str]
    checkpoint: str | None = Field(description="signed checkpoint for tree_size, when one exists")
    verifier_keys: list[str]


class ConsistencyBundle(Schema):
    """Everything needed to check offline that a log of old_size grew into new_size."""

    format: Literal["assay-trail-consistency/1"] = CONSISTENCY_FORMAT
    origin: str
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]
    old_checkpoint: str | None
    new_checkpoint: str | None
    verifier_keys: list[str]


class LeafPublic(Schema):
    """One leaf: its entry and the recorded change it commits to."""

    leaf_index: int
    entry: dict[str, Any]
    leaf_hash: str
    event: EventPublic | None


class Problem(Schema):
    """One thing verification found wrong."""

    kind: str
    message: str
    leaf_index: int | None = None


class VerifyReport(Schema):
    """The result of recomputing the whole log."""

    ok: bool
    size: int
    leaves_checked: int
    checkpoints_checked: int
    first_bad_leaf: int | None
    problems: list[Problem]


class AnchorReceipt(Schema):
    """A value committed to the log."""

    kind: str
    digest: str
    event_id: int
    leaf_index: int
