"""A round folder's own files: ``round.json`` (:class:`RoundManifest`) and the round secret.

A built round is a folder (docs/formats/reserves-round.md): the liabilities copy, ``round.json``
with the round's parameters, root, totals and the digests of its inputs, the tree arrays under
``tree/`` (read by :mod:`assay.reserves.stored_tree`) and the round secret in ``secret`` (mode
0600), all written by :mod:`assay.reserves.round_build`. This module names those files and
reads ``round.json`` and the secret back; either missing or malformed is ``RoundDamaged``.

It never writes and never touches the database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from assay.errors import InvalidInput
from assay.reserves import layout
from assay.reserves.layout import Asset, Round
from assay.reserves.proof import ProofAsset, ProofNode
from assay.reserves.rounds import FileDigest, RoundDamaged
from assay.reserves.sumtree import Node

FOLDER_FORMAT: Literal["assay-por-round-folder/1"] = "assay-por-round-folder/1"
ROUND_JSON = "round.json"
SECRET = "secret"  # noqa: S105 - the name of the file that holds it
TREE = "tree"


class RoundManifest(BaseModel):
    """``round.json``: the round's parameters, root, totals and the digests of its inputs."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["assay-por-round-folder/1"] = FOLDER_FORMAT
    id: str
    snapshot_at: AwareDatetime
    created_at: AwareDatetime
    capacity: int
    accounts: int
    height: int
    stored_from_level: int
    assets: list[ProofAsset]
    root: ProofNode
    totals: dict[str, dict[str, str]]
    liabilities: FileDigest
    liabilities_file: Literal["liabilities.csv", "liabilities.parquet"]
    round_file: FileDigest | None = None

    def layout_round(self) -> Round:
        """The round as the layout defines it (its digest is in every leaf)."""
        assets = tuple(Asset(a.code, a.decimals, a.width, a.debt_allowed) for a in self.assets)
        return Round(self.id, assets, self.capacity)


def read_manifest(folder: Path) -> RoundManifest:
    """``folder/round.json``; RoundDamaged if it is missing or malformed."""
    try:
        return RoundManifest.model_validate_json((folder / ROUND_JSON).read_bytes())
    except (OSError, ValidationError, InvalidInput) as exc:
        raise RoundDamaged(f"{folder / ROUND_JSON}: unreadable: {exc}", field="round.json") from exc


def read_secret(folder: Path) -> bytes:
    """The round secret (hex in ``folder/secret``); RoundDamaged if missing or too short."""
    try:
        secret = bytes.fromhex((folder / SECRET).read_text().strip())
        return layout.check_secret(secret)
    except (OSError, ValueError, InvalidInput) as exc:
        raise RoundDamaged(
            f"{folder / SECRET}: no usable round secret: {exc}", field="secret"
        ) from exc


def totals_of(rnd: Round, root: Node) -> dict[str, dict[str, str]]:
    """Per asset, the root's equity and debt as decimal strings (``"1.5"``)."""
    return {
        a.code: {"equity": layout.format_units(e, a), "debt": layout.format_units(d, a)}
        for a, e, d in zip(rnd.assets, root.equity, root.debt, strict=True)
    }
