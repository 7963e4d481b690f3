"""A round's folder: built from a round file and a liabilities file, read back for proofs, audited.

``build_folder`` reads the liabilities (every bad row named, each problem with its reason code),
builds the sum tree and writes everything a round needs into a staging folder: the liabilities
copy, ``round.json``, the tree arrays proofs are read from and the round secret (mode 0600).
The service moves that folder into place only when its row is stored, so a failed round leaves
nothing behind. ``StoredTree`` answers proofs from the memory-mapped arrays in O(log n);
``leaf_keys`` and ``level_array`` recompute those arrays, for the auditor's comparison
(``service.audit_folder``, reported as an ``AuditReport``). The layout is
docs/formats/reserves-round.md. This module never touches the database.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.errors import Conflict, ExitCode, InvalidInput, NotFound
from assay.reserves import layout, sumtree
from assay.reserves.layout import Asset, Round, Salter
from assay.reserves.liabilities import AssetSpec, Liabilities, read_liabilities
from assay.reserves.proof import ProofAsset, ProofNode, build_proof, verify
from assay.reserves.sumtree import Node, Sibling, SumTree
from assay.reserves.sumtree import Path as TreePath

ROUND_FORMAT: Literal["assay-por-round/1"] = "assay-por-round/1"
FOLDER_FORMAT: Literal["assay-por-round-folder/1"] = "assay-por-round-folder/1"
ROUND_JSON = "round.json"
SECRET = "secret"  # noqa: S105 - the name of the file that holds it
TREE = "tree"
_ROUND_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PAD_BLOCK = 1 << 16
_CHUNK = 1 << 16
#: (stage, step, steps): what long work reports as it goes.
Progress = Callable[[str, int, int], None]


class LiabilitiesRejected(InvalidInput):
    """The liabilities file was refused; ``problems`` name each line, column and reason."""

    code = "liabilities-rejected"
    title = "Liabilities file rejected"


class RoundFileInvalid(InvalidInput):
    """The round file (id, snapshot time, assets) is not valid."""

    code = "round-file-invalid"
    title = "Invalid round file"


class RoundExists(Conflict):
    """A round with this id is already built (discard it first)."""

    code = "round-exists"
    title = "Round already exists"


class RoundPublished(Conflict):
    """The round is published, hence immutable: no rebuild, no discard."""

    code = "round-published"
    title = "Round is published"


class RoundDamaged(Conflict):
    """The round's folder is missing or does not match its row (run ``assay reserves audit``)."""

    code = "round-damaged"
    title = "Round folder damaged"
    exit_code = ExitCode.VERIFICATION_FAILED


# --- the round file -----------------------------------------------------------------------------


class AssetIn(BaseModel):
    """An asset of the round file: code, decimals, whether accounts may owe it."""

    model_config = ConfigDict(extra="forbid")
    code: str
    decimals: int = Field(ge=0, le=18)
    debt_allowed: bool = False


class RoundSpec(BaseModel):
    """The round file, ``assay-por-round/1``: what is fixed before the liabilities are read."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["assay-por-round/1"] = ROUND_FORMAT
    id: str
    snapshot_at: AwareDatetime
    capacity: int | None = Field(default=None, ge=1, le=layout.MAX_CAPACITY)
    assets: list[AssetIn] = Field(min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        value = value.isoformat() if isinstance(value, dt.date) else value
        if isinstance(value, str) and not _ROUND_ID.fullmatch(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    def asset_specs(self) -> tuple[AssetSpec, ...]:
        """The assets as the liabilities reader takes them (codes checked there)."""
        try:
            specs = tuple(AssetSpec(a.code, a.decimals, a.debt_allowed) for a in self.assets)
        except InvalidInput as exc:
            raise RoundFileInvalid(exc.message, field=exc.field, value=exc.value) from exc
        codes = [a.code for a in specs]
        if len(set(codes)) != len(codes):
            twice = next(c for c in codes if codes.count(c) > 1)
            raise RoundFileInvalid(f"asset {twice} is listed twice", field="assets", value=twice)
        return specs


def parse_round_spec(data: Any, *, source: str = "round file") -> RoundSpec:
    """A round spec from parsed YAML/JSON; RoundFileInvalid naming the field at fault."""
    try:
        spec = RoundSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "round"
        raise RoundFileInvalid(
            f"{source}: {where}: {error['msg']}", field=where, value=error.get("input")
        ) from exc
    spec.asset_specs()
    return spec


def asset_from_text(text: str, field: str = "--asset") -> dict[str, Any]:
    """An asset written ``CODE:DECIMALS`` or ``CODE:DECIMALS:debt`` (a command option, a form)."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit() or parts[2:] not in ([], ["debt"]):
        raise RoundFileInvalid(
            f"{field} {text!r}: write CODE:DECIMALS or CODE:DECIMALS:debt (e.g. USDT:6:debt)",
            field=field,
            value=text,
        )
    return {"code": parts[0], "decimals": int(parts[1]), "debt_allowed": len(parts) == 3}


def read_round_file(text: str | bytes, *, source: str = "round file") -> RoundSpec:
    """A round spec from the text of a YAML or JSON round file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoundFileInvalid(f"{source}: not YAML or JSON: {exc}", field="round") from exc
    if not isinstance(data, dict):
        raise RoundFileInvalid(f"{source}: expected a mapping of fields", field="round")
    return parse_round_spec(data, source=source)


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


# --- round.json -------------------------------------------------------------------------------


class FileDigest(BaseModel):
    """A file the round was made from: its name where it came from, its SHA-256."""

    model_config = ConfigDict(extra="forbid")
    source: str
    sha256: str


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


# --- reading proofs back ------------------------------------------------------------------------


def _load(path: Path, shape: tuple[int, ...], kind: str) -> npt.NDArray[Any]:
    try:
        array: npt.NDArray[Any] = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RoundDamaged(f"{path}: unreadable: {exc}", field=path.name) from exc
    if array.dtype.kind != kind or array.shape[: len(shape)] != shape:
        raise RoundDamaged(
            f"{path}: shape {array.shape} of {array.dtype}, expected {shape} ({kind})",
            field=path.name,
        )
    return array


class StoredTree(SumTree):
    """A built round read back from its folder: any node or path from memory-mapped arrays.

    Levels from ``stored_from_level`` up are read as stored; a path recomputes the block of
    leaves below (at most 32) from the account arrays and the secret, as ``SumTree`` does.
    """

    def __init__(self, folder: Path, manifest: RoundManifest, secret: bytes) -> None:
        self.round = manifest.layout_round()
        self._salter = Salter(secret)
        self._keep = manifest.stored_from_level
        self._height = manifest.height
        capacity, n, count = manifest.capacity, manifest.accounts, len(manifest.assets)
        self._mask = (1 << max(1, (capacity - 1).bit_length())) - 1
        base = folder / TREE
        self._keys = _load(base / "keys.npy", (capacity,), "u")
        self._ids = _load(base / "accounts.npy", (n,), "S")
        self._equity = _load(base / "equity.npy", (n, count), "u")
        self._debt = _load(base / "debt.npy", (n, count), "u")
        width = 32 + 2 * sum(a.width for a in self.round.assets)
        self._levels = {
            level: _load(base / f"level-{level:02d}.npy", (-(-capacity >> level), width), "u")
            for level in range(self._keep, self._height + 1)
        }
        self.root = self.node(self._height, 0)

    @property
    def accounts(self) -> int:
        """How many real accounts the round holds."""
        return int(self._ids.shape[0])

    @property
    def height(self) -> int:
        """The root's level."""
        return self._height

    def position(self, account_id: str) -> int:
        """Where ``account_id``'s leaf is; NotFound if it is not in the round."""
        raw = layout.account_id_bytes(account_id)
        key = int.from_bytes(self._salter(raw)[:8], "big") & ~self._mask
        lo = int(np.searchsorted(self._keys, np.uint64(key), side="left"))
        hi = int(np.searchsorted(self._keys, np.uint64(key | self._mask), side="right"))
        for position in range(lo, hi):
            leaf = int(self._keys[position]) & self._mask
            if leaf < self.accounts and bytes(self._ids[leaf]) == raw:
                return position
        raise NotFound(
            f"account {account_id!r} is not in round {self.round.id}",
            field="account_id",
            value=account_id,
        )

    def leaf_salt(self, position: int) -> bytes:
        """The salt of the leaf at ``position``."""
        leaf = int(self._keys[position]) & self._mask
        if leaf < self.accounts:
            return self._salter(bytes(self._ids[leaf]))
        return self._salter.pad(leaf - self.accounts)

    def node(self, level: int, index: int) -> Node:
        """Node ``index`` of ``level`` (0: leaves)."""
        if not 0 <= level <= self._height or not 0 <= index < -(-self.round.capacity >> level):
            raise InvalidInput(
                f"there is no node {index} at level {level}", field="node", value=[level, index]
            )
        if level >= self._keep:
            return self._decode(bytes(self._levels[level][index]))
        shift = self._keep - level
        return self._leaf_levels(index >> shift)[level][index - ((index >> shift) << shift)]

    def path(self, account_id: str) -> TreePath:
        """The data of ``account_id``'s proof: its leaf, its siblings bottom up, the root."""
        position = self.position(account_id)
        block = self._leaf_levels(position >> self._keep) if self._keep else []
        siblings, index = [], position
        for level, side in enumerate(layout.path_sides(position, self.round.capacity)):
            if side is not None:
                other = index ^ 1
                if level < self._keep:
                    node = block[level][other - ((position >> self._keep) << (self._keep - level))]
                else:
                    node = self._decode(bytes(self._levels[level][other]))
                siblings.append(Sibling(side, node))
            index >>= 1
        own = self.node(0, position)
        return TreePath(
            account_id=account_id,
            position=position,
            salt=self.leaf_salt(position),
            equity=own.equity,
            debt=own.debt,
            siblings=tuple(siblings),
            root=self.root,
        )

    def _decode(self, row: bytes) -> Node:
        values, at = [], 32
        for _side in ("equity", "debt"):
            for a in self.round.assets:
                values.append(int.from_bytes(row[at : at + a.width], "big"))
                at += a.width
        k = len(self.round.assets)
        return Node(row[:32], tuple(values[:k]), tuple(values[k:]))

    def _leaf_levels(self, block: int) -> list[list[Node]]:
        """Levels 0 to keep - 1 of the block of 2^keep leaves ``block``, recomputed."""
        rnd, n = self.round, self.accounts
        zeros = (0,) * len(rnd.assets)
        lo = block << self._keep
        hi = min(rnd.capacity, lo + (1 << self._keep))
        nodes = []
        for position in range(lo, hi):
            leaf = int(self._keys[position]) & self._mask
            if leaf < n:
                raw = bytes(self._ids[leaf])
                equity = tuple(int(v) for v in self._equity[leaf])
                debt = tuple(int(v) for v in self._debt[leaf])
                amounts = layout.encode_amounts(rnd.assets, equity, debt)
                digest = layout.leaf_hash(rnd.digest, self._salter(raw), amounts, raw)
                nodes.append(Node(digest, equity, debt))
            else:
                salt = self._salter.pad(leaf - n)
                nodes.append(Node(layout.pad_hash(rnd.digest, salt), zeros, zeros))
        levels = [nodes]
        for _ in range(1, self._keep):
            below, nodes = nodes, []
            for i in range(0, len(below) - 1, 2):
                left, right = below[i], below[i + 1]
                digest = layout.node_hash(
                    left.hash,
                    right.hash,
                    layout.encode_amounts(rnd.assets, left.equity, left.debt),
                    layout.encode_amounts(rnd.assets, right.equity, right.debt),
                )
                equity = tuple(x + y for x, y in zip(left.equity, right.equity, strict=True))
                debt = tuple(x + y for x, y in zip(left.debt, right.debt, strict=True))
                nodes.append(Node(digest, equity, debt))
            if len(below) & 1:
                nodes.append(below[-1])
            levels.append(nodes)
        return levels


def open_tree(folder: Path) -> StoredTree:
    """The stored tree of the round folder ``folder``."""
    return StoredTree(folder, read_manifest(folder), read_secret(folder))


# --- what an audit reports ----------------------------------------------------------------------


@dataclass(frozen=True)
class Discrepancy:
    """One thing a round folder says that the recomputation does not (``code`` is stable)."""

    code: str
    message: str
    where: str = ""


@dataclass
class AuditReport:
    """What a recomputation of a round folder found: the figures and every discrepancy."""

    folder: str
    round_id: str | None = None
    accounts: int | None = None
    capacity: int | None = None
    root: str | None = None
    totals: dict[str, dict[str, str]] = field(default_factory=dict)
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing differs."""
        return not self.discrepancies

    def add(self, code: str, message: str, where: str = "") -> None:
        """Note a discrepancy."""
        self.discrepancies.append(Discrepancy(code, message, where))

    def to_json(self) -> dict[str, Any]:
        """The report as the API and ``--json`` give it."""
        return {
            "ok": self.ok,
            "folder": self.folder,
            "round": self.round_id,
            "accounts": self.accounts,
            "capacity": self.capacity,
            "root": self.root,
            "totals": self.totals,
            "discrepancies": [d.__dict__ for d in self.discrepancies],
        }
