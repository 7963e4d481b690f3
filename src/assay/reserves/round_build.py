"""Building a round folder from a round file and a liabilities file.

:func:`build_folder` reads the liabilities (:func:`read_checked`: every bad row named, each
problem with its reason code), builds the sum tree and writes everything a round needs into a
staging folder: the liabilities copy, ``round.json``, the tree arrays proofs are read from and
the round secret (mode 0600); then it checks a proof read back from what it wrote. The service
moves that folder into place only when its row is stored, so a failed round leaves nothing
behind. :func:`leaf_keys` and :func:`level_array` compute the stored arrays, also for the
auditor's comparison (``service.audit_folder``). The layout is docs/formats/reserves-round.md.

It writes only inside the new staging folder and never touches the database.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assay.errors import InvalidInput
from assay.reserves import layout, sumtree
from assay.reserves.layout import Asset, Round, Salter
from assay.reserves.liabilities import AssetSpec, Liabilities, read_liabilities
from assay.reserves.proof import ProofAsset, ProofNode, build_proof, verify
from assay.reserves.round_folder import ROUND_JSON, SECRET, TREE, RoundManifest, totals_of
from assay.reserves.rounds import FileDigest, LiabilitiesRejected, RoundSpec
from assay.reserves.stored_tree import StoredTree
from assay.reserves.sumtree import SumTree

_PAD_BLOCK = 1 << 16
_CHUNK = 1 << 16
#: (stage, step, steps): what long work reports as it goes.
Progress = Callable[[str, int, int], None]


# --- the liabilities, with a reason per problem -------------------------------------------------

_FILE = (
    ("truncated", "truncated-file"),
    ("empty", "empty-file"),
    ("UTF-8", "not-utf8"),
)


def _reason(message: str, table: Sequence[tuple[str, str]], default: str) -> str:
    return next((code for phrase, code in table if phrase in message), default)


def read_checked(path: Path, assets: Sequence[AssetSpec]) -> Liabilities:
    """Read a liabilities file; LiabilitiesRejected with a ``reason`` for each problem."""
    try:
        found = read_liabilities(path, assets)
    except InvalidInput as exc:
        problems = list(exc.details.get("problems", []))
        if problems:
            reason = problems[0]["reason"]
        elif exc.field == "header":
            reason = "unknown-asset" if "unknown column" in exc.message else "bad-header"
        else:
            reason = _reason(exc.message, _FILE, "unreadable-file")
        raise LiabilitiesRejected(
            exc.message, field=exc.field, value=exc.value, reason=reason, problems=problems
        ) from exc
    if not found.accounts:
        raise LiabilitiesRejected(
            f"{path.name}: the file holds no accounts", field="file", reason="no-accounts"
        )
    return found


# --- building -----------------------------------------------------------------------------------


def leaf_keys(rnd: Round, secret: bytes, account_ids: Sequence[str]) -> npt.NDArray[np.uint64]:
    """The tree order, per position: the salt's top bits with the leaf number packed below.

    Recomputed from the layout (salts, then ``sumtree.order_by_salt``): accounts are leaves 0 to
    n - 1 in file order, padding leaf k is leaf n + k.
    """
    salter = Salter(secret)
    n, capacity = len(account_ids), rnd.capacity
    keys = np.empty(capacity, dtype=np.uint64)
    for lo in range(0, n, _CHUNK):
        salts = salter.many([a.encode() for a in account_ids[lo : lo + _CHUNK]])
        keys[lo : lo + len(salts)] = np.frombuffer(b"".join(salts), dtype=">u8")[::4]
    pads = capacity - n
    for block in range(-(-pads // _PAD_BLOCK)):
        count = min(_PAD_BLOCK, pads - block * _PAD_BLOCK)
        at = n + block * _PAD_BLOCK
        keys[at : at + count] = np.frombuffer(salter.pad_block(block, count), dtype=">u8")[::4]

    def salt_of(leaf: int) -> bytes:
        return salter(account_ids[leaf].encode()) if leaf < n else salter.pad(leaf - n)

    same = sumtree.order_by_salt(keys, max(1, (capacity - 1).bit_length()), salt_of)
    if same is not None:
        raise InvalidInput(
            f"account id {account_ids[same[0]]!r} appears more than once",
            field="account_ids",
            reason="duplicate-account",
        )
    return keys


def stored_levels(tree: SumTree) -> range:
    """The levels a round folder keeps (the ones the tree keeps): proofs recompute the rest."""
    return range(min(sumtree.KEEP, tree.height), tree.height + 1)


def level_array(tree: SumTree, level: int) -> npt.NDArray[np.uint8]:
    """Every node of ``level`` as rows of hash then amounts (the layout's bytes)."""
    assets, size = tree.round.assets, -(-tree.round.capacity >> level)
    nodes = (tree.node(level, i) for i in range(size))
    raw = b"".join(n.hash + layout.encode_amounts(assets, n.equity, n.debt) for n in nodes)
    return np.frombuffer(raw, dtype=np.uint8).reshape(size, -1)


def _write_secret(path: Path, secret: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret.hex() + "\n")


def build_folder(
    spec: RoundSpec,
    liabilities: Path,
    staging: Path,
    secret: bytes,
    *,
    created_at: dt.datetime,
    source: str | None = None,
    round_file: FileDigest | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> RoundManifest:
    """Read, build and write a round into ``staging`` (a new folder); its manifest.

    Raises:
        LiabilitiesRejected: the file was refused (every problem listed with its reason).
        InvalidInput: a capacity below the account count, a sum beyond its width.
    """
    step = progress or (lambda _stage, _step, _steps: None)
    step("reading liabilities", 0, 4)
    read = read_checked(liabilities, spec.asset_specs())
    capacity = spec.capacity or layout.capacity_for(read.accounts)
    if capacity < read.accounts:
        raise InvalidInput(
            f"capacity {capacity} is below the file's {read.accounts} accounts",
            field="capacity",
            value=capacity,
        )
    assets = tuple(Asset(a.code, a.decimals, 16, a.debt_allowed) for a in read.assets)
    rnd = sumtree.fit_widths(Round(spec.id, assets, capacity), read.equity, read.debt)
    step("building the tree", 1, 4)
    tree = sumtree.build(rnd, secret, read.account_ids, read.equity, read.debt, workers=workers)
    step("writing the round folder", 2, 4)
    staging.mkdir(mode=0o700, parents=False)
    copy = "liabilities.parquet" if liabilities.suffix.lower() == ".parquet" else "liabilities.csv"
    (staging / copy).write_bytes(liabilities.read_bytes())
    _write_secret(staging / SECRET, secret)
    _write_tree(staging / TREE, tree, rnd, secret, read)
    manifest = RoundManifest(
        id=spec.id,
        snapshot_at=spec.snapshot_at,
        created_at=created_at,
        capacity=capacity,
        accounts=read.accounts,
        height=tree.height,
        stored_from_level=stored_levels(tree).start,
        assets=[
            ProofAsset(code=a.code, decimals=a.decimals, width=a.width, debt_allowed=a.debt_allowed)
            for a in rnd.assets
        ],
        root=ProofNode(
            hash=tree.root.hash.hex(),
            equity=[str(v) for v in tree.root.equity],
            debt=[str(v) for v in tree.root.debt],
        ),
        totals=totals_of(rnd, tree.root),
        liabilities=FileDigest(source=source or liabilities.name, sha256=read.sha256),
        liabilities_file=copy,
        round_file=round_file,
    )
    (staging / ROUND_JSON).write_text(manifest.model_dump_json(indent=2) + "\n")
    step("checking a proof", 3, 4)
    stored = StoredTree(staging, manifest, secret)
    verify(build_proof(stored, read.account_ids[0]), root=manifest.root.hash, round_id=spec.id)
    step("done", 4, 4)
    return manifest


def _write_tree(folder: Path, tree: SumTree, rnd: Round, secret: bytes, read: Liabilities) -> None:
    folder.mkdir(mode=0o700)
    np.save(folder / "keys.npy", leaf_keys(rnd, secret, read.account_ids))
    np.save(folder / "accounts.npy", np.array([a.encode() for a in read.account_ids]))
    np.save(folder / "equity.npy", read.equity)
    np.save(folder / "debt.npy", read.debt)
    for level in stored_levels(tree):
        np.save(folder / f"level-{level:02d}.npy", level_array(tree, level))
