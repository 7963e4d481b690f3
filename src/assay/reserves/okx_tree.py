"""OKX's hashing rules, and its V2 liabilities tree file read as a stream.

OKX publishes its liabilities as a Merkle sum tree over three assets (BTC, ETH, USDT). Since March
2023 ("V2") the whole tree is one text file, ``full-liabilities-merkle-tree.txt``: one node per
line, ``<hash>,<height>,<balances JSON>``, the root first, then each level from the right end to
the left, a level with an odd number of nodes closed by a padding copy of its left neighbour (same
hash, zero balances) listed first. docs/formats/okx-proofs.md gives the byte-exact rules.

This module holds what every OKX format shares (amounts in minimal units, the leaf and parent
hashes, :class:`Problem`), the auditor :func:`audit_okx_v2_tree`, and the two passes a user check
needs to find its own leaves and their paths (:func:`scan_tree`, :func:`read_tree_lines`).

The auditor reads the file twice at once, in one pass: a child cursor ahead of a parent cursor.
Level ``h`` is listed right to left, so its nodes taken two by two are the children of level
``h + 1``'s real nodes in the same order; each parent line is compared with what its two stored
children recompute to as soon as the child cursor reaches them. Memory stays flat (two read
buffers); nothing trusts a stored parent. The file's shape comes from the root's height and the
padding rule alone, never from the height written on each line (that is checked, not used).
A file of 16 MB or more is first given to :mod:`assay.reserves.okx_parallel`, which checks it on
every core and returns this module's report when the file is clean; otherwise this streaming
audit runs and its report stands.

It must never hold the whole file, raise anything but ``InvalidInput``, or touch a database.
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from assay.errors import InvalidInput

ASSETS = ("BTC", "ETH", "USDT")
"""The assets every OKX proof carries, in the order they are hashed."""

UNIT = 10**8
"""Minimal units per coin: OKX amounts have at most 8 decimal places."""

Sums = tuple[int, int, int]
"""Balances of BTC, ETH, USDT in minimal units (1e-8)."""

ZERO: Sums = (0, 0, 0)
MAX_HEIGHT = 256
TreeInput = str | os.PathLike[str] | Iterable[str | bytes]
Progress = Callable[[int, int | None], None]
"""Called with (bytes read, file size or None) as the auditor advances."""

_HEX64 = re.compile(r"[0-9a-f]{64}")
_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_PAD8 = tuple(b"0" * (8 - n) for n in range(9))
# One tree line in the form OKX writes it; anything else (negatives included) takes the slow path.
_FAST_AMOUNT = rb'"([0-9]+)(?:\.([0-9]{1,8}))?"'
_FAST_LINE = re.compile(
    rb"^([0-9a-f]{64}),([1-9][0-9]{0,2}),\{"
    + b",".join(b'"' + a.encode() + b'":' + _FAST_AMOUNT for a in ASSETS)
    + rb"\}\r?$",
    re.MULTILINE,
)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify: a stable ``code``, a sentence, and where it is."""

    code: str
    message: str
    where: str


class Problems:
    """Collects problems up to a cap, counting the rest (a forged 10M-node file must not OOM)."""

    def __init__(self, cap: int | None = None) -> None:
        self.items: list[Problem] = []
        self.omitted = 0
        self.cap = cap

    def add(self, code: str, message: str, where: str) -> None:
        """Record a problem, or count it when the cap is reached."""
        if self.cap is not None and len(self.items) >= self.cap:
            self.omitted += 1
        else:
            self.items.append(Problem(code, message, where))

    def __bool__(self) -> bool:
        return bool(self.items) or self.omitted > 0


def bad_input(source: str, where: str, message: str, value: object = None) -> InvalidInput:
    """The error for unreadable input, naming the file, the line or field, and the fault."""
    return InvalidInput(f"{source}: {where}: {message}", field=where, value=value, source=source)


# --- amounts ---------------------------------------------------------------------------------


def parse_amount(text: object, *, source: str, where: str) -> int:
    """A decimal string (at most 8 places, optional minus) as an integer of 1e-8 units."""
    if not isinstance(text, str):
        raise bad_input(source, where, f"must be a decimal string, not {type(text).__name__}")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise bad_input(source, where, f"{text!r} is not a decimal number like '0.0012'", text)
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if len(frac) > 8:
        raise bad_input(source, where, f"{text!r} has more than 8 decimal places", text)
    units = int(whole + frac.ljust(8, "0"))
    return -units if sign else units


def format_amount(units: int) -> str:
    """Canonical text of an amount: no exponent, no trailing zeros ("0", "1.5", "-0.00000001")."""
    if units < 0:
        return "-" + format_amount(-units)
    whole, frac = divmod(units, UNIT)
    return f"{whole}.{frac:08d}".rstrip("0") if frac else str(whole)


def _format_bytes(units: int) -> bytes:
    if not units:
        return b"0"
    if units < 0:
        return b"-" + _format_bytes(-units)
    whole, frac = divmod(units, UNIT)
    return b"%d.%s" % (whole, (b"%08d" % frac).rstrip(b"0")) if frac else b"%d" % whole


def to_decimal(sums: Sums) -> dict[str, Decimal]:
    """Sums in minimal units as ``{asset: Decimal}`` (exact)."""
    return {a: Decimal(format_amount(v)) for a, v in zip(ASSETS, sums, strict=True)}


def add(a: Sums, b: Sums) -> Sums:
    """Per-asset sum."""
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def negative_assets(sums: Sums) -> list[str]:
    """The assets with a negative amount."""
    return [a for a, v in zip(ASSETS, sums, strict=True) if v < 0]


def describe(sums: Sums) -> str:
    """Sums as ``BTC 1.5, ETH 0, USDT 2`` for messages."""
    return ", ".join(f"{a} {format_amount(v)}" for a, v in zip(ASSETS, sums, strict=True))


# --- hashes (docs/formats/okx-proofs.md) -----------------------------------------------------


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def balances_json(amounts: tuple[str, str, str]) -> str:
    """The balances object exactly as OKX hashes it: ``{"BTC":"..","ETH":"..","USDT":".."}``."""
    return "{" + ",".join(f'"{a}":"{v}"' for a, v in zip(ASSETS, amounts, strict=True)) + "}"


def salted_hash(nonce: str, amounts: tuple[str, str, str]) -> str:
    """sha256(nonce + balances JSON): a v1 leaf, or a V2 user hash (over the user's total)."""
    return _sha256_hex(nonce + balances_json(amounts))


def v2_leaf_hash(user_hash: str, amounts: tuple[str, str, str]) -> str:
    """sha256(userHash + BTC + ETH + USDT): one of a V2 user's leaves, amounts as written."""
    return _sha256_hex(user_hash + "".join(amounts))


def parent_hash(left: str, right: str, sums: Sums, height: int) -> str:
    """sha256(left + right + BTC + ETH + USDT + height), sums canonical, height the parent's."""
    return _sha256_hex(left + right + "".join(format_amount(v) for v in sums) + str(height))


def check_hex(value: object, *, source: str, where: str) -> str:
    """A 64-digit lowercase hex string (a SHA-256 digest or a nonce), or ``InvalidInput``."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise bad_input(source, where, "must be 64 lowercase hex digits", value)
    return value


def strict_json(text: str | bytes, *, source: str, where: str) -> Any:
    """Parse JSON, refusing duplicate keys, NaN and Infinity (a verifier takes no guesses)."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in items:
            if key in found:
                raise bad_input(source, where, f"key {key!r} appears twice", key)
            found[key] = value
        return found

    def constant(name: str) -> Any:
        raise bad_input(source, where, f"{name} is not a number", name)

    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
    except UnicodeDecodeError as exc:
        raise bad_input(source, where, "not UTF-8 text") from exc
    try:
        return json.loads(decoded, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise bad_input(
            source, where, f"not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from exc


def parse_balances(value: object, *, source: str, where: str) -> tuple[tuple[str, str, str], Sums]:
    """A ``{BTC, ETH, USDT}`` object of decimal strings: its raw texts and its sums."""
    if not isinstance(value, dict) or set(value) != set(ASSETS):
        keys = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise bad_input(source, where, f"must be an object with exactly {list(ASSETS)}, not {keys}")
    texts = (value["BTC"], value["ETH"], value["USDT"])
    sums = tuple(
        parse_amount(t, source=source, where=f"{where}.{a}")
        for a, t in zip(ASSETS, texts, strict=True)
    )
    return texts, (sums[0], sums[1], sums[2])


# --- tree lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeNode:
    """One line of a V2 tree file, parsed and checked for form (not for truth)."""

    line: int
    hash: str
    height: int
    amounts: tuple[str, str, str]
    sums: Sums


def parse_tree_line(raw: bytes, *, source: str, line: int) -> TreeNode:
    """``<hash>,<height>,<balances JSON>``, or ``InvalidInput`` naming the line and the field."""
    where = f"line {line}"
    try:
        text = raw.decode("ascii").removesuffix("\n").removesuffix("\r")
    except UnicodeDecodeError as exc:
        raise bad_input(source, where, "not ASCII text") from exc
    if text != text.strip():
        raise bad_input(source, where, "has spaces or control characters at an end", text)
    parts = text.split(",", 2)
    if len(parts) != 3:
        hint = " (the file looks truncated)" if text else ""
        raise bad_input(source, where, f"expected '<hash>,<height>,<balances JSON>'{hint}", text)
    digest = check_hex(parts[0], source=source, where=f"{where} hash")
    if not re.fullmatch(r"[1-9][0-9]*", parts[1]) or int(parts[1]) > MAX_HEIGHT:
        raise bad_input(source, where + " height", f"must be 1 to {MAX_HEIGHT}", parts[1])
    balances = strict_json(parts[2], source=source, where=f"{where} balances")
    amounts, sums = parse_balances(balances, source=source, where=f"{where} balances")
    return TreeNode(line, digest, int(parts[1]), amounts, sums)


class TreeSource:
    """A tree file by path (read as often as needed) or in-memory lines, with a name for errors."""

    def __init__(self, path_or_lines: TreeInput, name: str | None = None) -> None:
        self.path: Path | None = None
        self._lines: list[bytes] | None = None
        if isinstance(path_or_lines, str | os.PathLike):
            self.path = Path(path_or_lines)
            self.name = name or str(self.path)
            try:
                self.size: int | None = self.path.stat().st_size
            except OSError as exc:
                raise bad_input(self.name, "file", f"cannot be read ({exc.strerror})") from exc
        else:
            self.name = name or "<tree lines>"
            got = [ln.encode() if isinstance(ln, str) else bytes(ln) for ln in path_or_lines]
            got = [ln.removesuffix(b"\n") for ln in got]
            while got and not got[-1].strip(b"\r"):
                got.pop()
            self._lines = got
            self.size = None

    def lines(self) -> Generator[bytes, None, None]:
        """Every line, in file order, ending in a newline unless it is the file's last."""
        if self._lines is not None:
            for line in self._lines:
                yield line + b"\n"
            return
        assert self.path is not None  # noqa: S101 (one of the two is always set)
        with self.path.open("rb") as handle:
            yield from handle

    def chunks(self) -> Generator[bytes, None, None]:
        """Blocks of whole lines, each ending in a newline; empty lines at the very end dropped."""
        if self._lines is not None:
            for start in range(0, len(self._lines), 4096):
                yield b"\n".join(self._lines[start : start + 4096]) + b"\n"
            return
        assert self.path is not None  # noqa: S101
        with self.path.open("rb") as handle:
            rest, pending = b"", b""
            while block := handle.read(_CHUNK):
                data = rest + block
                cut = data.rfind(b"\n") + 1
                if cut:
                    if pending:
                        yield pending
                    pending, rest = data[:cut], data[cut:]
                else:
                    rest = data
            tail = (pending + rest).rstrip(b"\r\n")
            if tail:
                yield tail + b"\n"

    def first_line(self) -> TreeNode:
        """The root line, parsed."""
        with contextlib.closing(self.lines()) as lines:
            raw = next(lines, b"")
        if not raw:
            raise bad_input(self.name, "line 1", "the tree file is empty")
        return parse_tree_line(raw, source=self.name, line=1)


Row = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
"""A tree line as the hot loop takes it: hash, height, then per asset the whole and fraction
digits (``int(whole + fraction + zeros)`` is the amount in minimal units; a minus sign stays on
the whole part)."""


def _blocks(
    source: TreeSource, problems: Problems, progress: Progress | None
) -> Generator[list[Row], None, None]:
    """The file's lines as :data:`Row` lists, a block at a time.

    A block whose every line has OKX's plain form is split by one regular expression, in C; any
    other block (a negative amount, a stray space, a broken line) is parsed line by line, which
    raises ``InvalidInput`` on a malformed line and reports negative balances here.
    """
    line = 0
    done = 0
    for chunk in source.chunks():
        count = chunk.count(b"\n")
        found: list[Row] = _FAST_LINE.findall(chunk)
        if len(found) != count:
            found = [
                _slow_row(raw, source.name, line + offset + 1, problems)
                for offset, raw in enumerate(chunk.split(b"\n")[:count])
            ]
        line += count
        done += len(chunk)
        yield found
        if progress is not None:
            progress(done, source.size)


def _slow_row(raw: bytes, source: str, line: int, problems: Problems) -> Row:
    node = parse_tree_line(raw, source=source, line=line)
    if negative_assets(node.sums):
        problems.add(
            "negative-balance",
            f"line {line} has a negative balance: {describe(node.sums)}",
            f"line {line}",
        )
    digits = [amount.encode().partition(b".") for amount in node.amounts]
    return (
        node.hash.encode(),
        b"%d" % node.height,
        digits[0][0],
        digits[0][2],
        digits[1][0],
        digits[1][2],
        digits[2][0],
        digits[2][2],
    )


# --- the audit -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeAudit:
    """What :func:`audit_okx_v2_tree` found.

    Attributes:
        ok: every parent recomputes from its children, the root and totals agree, no negatives.
        problems: the first ``max_problems`` discrepancies, each with its line.
        problems_omitted: how many more there were.
        root: the root hash (line 1).
        height: the root's height (leaves are height 1).
        totals: the root's balances per asset, as published.
        leaf_totals: the sum of every leaf line per asset, recomputed.
        leaf_count: leaves, padding excluded (one user may own several).
        node_count: lines read, padding included.
        padding_count: padding copies.
    """

    ok: bool
    problems: list[Problem]
    problems_omitted: int
    root: str
    height: int
    totals: dict[str, Decimal]
    leaf_totals: dict[str, Decimal]
    leaf_count: int
    node_count: int
    padding_count: int


def audit_okx_v2_tree(
    path_or_lines: TreeInput,
    *,
    root: str | None = None,
    progress: Progress | None = None,
    max_problems: int = 1000,
    name: str | None = None,
    workers: int | None = None,
) -> TreeAudit:
    """Recompute every parent of an OKX V2 tree file from its two children; check root and totals.

    A file of 16 MB or more is first checked on every core by :mod:`assay.reserves.okx_parallel`,
    which proves a clean file clean; anything else it finds (a problem, a malformed line, an
    unusual but valid spelling) is left to the streaming audit below, so the report is always
    the streaming audit's.

    Args:
        path_or_lines: the file's path (streamed, read by two cursors) or its lines.
        root: the root hash OKX published elsewhere, to compare with line 1.
        progress: called after each block with (bytes read, file size or None).
        max_problems: problems kept in the report; the rest are only counted.
        name: the file's name in messages (default: the path).
        workers: processes for the parallel check of a large file (None: one per CPU); 0 for
            the streaming audit alone (one core, memory flat whatever the file size).

    Raises:
        InvalidInput: a line that is not ``<hash>,<height>,<balances JSON>``, a file that ends
            before its last level is complete, or lines after it.
    """
    if workers != 0 and isinstance(path_or_lines, str | os.PathLike):
        # Imported here: okx_parallel builds on this module's types and checks.
        from assay.reserves.okx_parallel import fast_audit  # noqa: PLC0415

        found = fast_audit(
            path_or_lines,
            root=root,
            progress=progress,
            max_problems=max_problems,
            workers=workers,
        )
        if found is not None:
            return found
    source = TreeSource(path_or_lines, name)
    top = source.first_line()
    problems = Problems(max_problems)
    check_root(top, root, problems)
    walk = _Walk(source.name, problems)
    blocks = _blocks(source, problems, progress)
    with contextlib.closing(blocks), contextlib.closing(source.lines()) as parents:
        walk.run(top, itertools.chain.from_iterable(blocks), parents)
    return tree_audit(
        top,
        problems,
        leaf_sums=walk.leaf_sums,
        leaf_count=walk.real,
        node_count=walk.child_line,
        padding_count=walk.pads,
    )


def check_root(top: TreeNode, root: str | None, problems: Problems) -> None:
    """What line 1 alone can show: a negative total, a root other than the published one."""
    if negative_assets(top.sums):
        problems.add("negative-balance", f"line 1 (the root) has {describe(top.sums)}", "line 1")
    if root is not None and root != top.hash:
        problems.add(
            "root-mismatch", f"line 1 is root {top.hash}, not the published root {root}", "line 1"
        )


def tree_audit(
    top: TreeNode,
    problems: Problems,
    *,
    leaf_sums: Sums,
    leaf_count: int,
    node_count: int,
    padding_count: int,
) -> TreeAudit:
    """The report, once every parent is checked: the leaves' sums compared with the root's."""
    leaf_sums = leaf_sums if top.height > 1 else top.sums
    if leaf_sums != top.sums:
        problems.add(
            "total-mismatch",
            f"the leaves add up to {describe(leaf_sums)} but the root says {describe(top.sums)}",
            "line 1",
        )
    return TreeAudit(
        ok=not problems,
        problems=problems.items,
        problems_omitted=problems.omitted,
        root=top.hash,
        height=top.height,
        totals=to_decimal(top.sums),
        leaf_totals=to_decimal(leaf_sums),
        leaf_count=leaf_count,
        node_count=node_count,
        padding_count=padding_count,
    )


class _Walk:
    """The two cursors of one audit and what they counted; :meth:`run` is the hot loop."""

    def __init__(self, name: str, problems: Problems) -> None:
        self.name = name
        self.problems = problems
        self.child_line = 1  # the last line the child cursor has read
        self.parent_line = 0  # the last line the parent cursor has read
        self.real = 1  # real (not padding) nodes of the level the parent cursor is in
        self.padded_above = False  # that level opens with a padding copy
        self.pads = 0
        self.leaf_sums: Sums = ZERO

    def run(self, top: TreeNode, rows: Iterator[Row], parents: Iterator[bytes]) -> None:
        """Pair the child cursor's rows under the parent cursor's lines, level by level.

        Level ``h`` is read right to left, two lines at a time (right, then left): each pair is
        the children of the next real line of level ``h + 1``. Per pair the work is six amounts
        turned into integers, three additions, the parent's amounts formatted, one SHA-256 and
        one comparison of the expected line with the stored one; anything unequal is then
        looked at closely (:meth:`diagnose`).
        """
        next(rows)  # line 1 is the parent cursor's
        for height in range(top.height - 1, 0, -1):
            self.level(height, rows, parents)
        if next(rows, None) is not None:
            raise bad_input(
                self.name,
                f"line {self.child_line + 1}",
                f"the tree ends at line {self.child_line} (height 1 is complete), "
                "but more lines follow",
            )

    def level(self, height: int, rows: Iterator[Row], parents: Iterator[bytes]) -> None:
        """Check every real line of level ``height + 1`` against its two children."""
        problems, pad8, fmt = self.problems, _PAD8, _format_bytes
        sha, hexlify = hashlib.sha256, binascii.hexlify
        here, above = b"%d" % height, b"%d" % (height + 1)
        line, parent_line = self.child_line, self.parent_line
        if self.padded_above:
            next(parents)  # the level above opens with a padding copy, which has no children
            parent_line += 1
        padded = False
        leaf_b = leaf_e = leaf_u = 0
        for index in range(self.real):
            right, left = next(rows, None), next(rows, None)
            if right is None or left is None:
                raise self.truncated(height, line + 1 + (right is not None))
            rh, rt, rbi, rbf, rei, ref, rui, ruf = right
            lh, lt, lbi, lbf, lei, lef, lui, luf = left
            line += 2
            rb = int(rbi + rbf + pad8[len(rbf)])
            re_ = int(rei + ref + pad8[len(ref)])
            ru = int(rui + ruf + pad8[len(ruf)])
            b = rb + int(lbi + lbf + pad8[len(lbf)])
            e = re_ + int(lei + lef + pad8[len(lef)])
            u = ru + int(lui + luf + pad8[len(luf)])
            if rt != here or lt != here:
                self.wrong_height(rt, here, line - 1)
                self.wrong_height(lt, here, line)
            if index == 0 and rh == lh:
                padded = True
                if rb or re_ or ru:
                    problems.add(
                        "padding-mismatch",
                        f"line {line - 1} copies line {line} as padding but holds "
                        f"{describe((rb, re_, ru))} instead of zero",
                        f"line {line - 1}",
                    )
            if height == 1:
                leaf_b += b
                leaf_e += e
                leaf_u += u
            fb = fmt(b) if b else b"0"
            fe = fmt(e) if e else b"0"
            fu = fmt(u) if u else b"0"
            digest = hexlify(sha(b"".join((lh, rh, fb, fe, fu, above))).digest())
            raw = next(parents)
            parent_line += 1
            if raw != b'%s,%s,{"BTC":"%s","ETH":"%s","USDT":"%s"}\n' % (
                digest,
                above,
                fb,
                fe,
                fu,
            ):
                self.diagnose(raw, parent_line, digest, (b, e, u), line)
        self.child_line, self.parent_line = line, parent_line
        self.padded_above = padded
        self.pads += padded
        self.real = 2 * self.real - padded
        if height == 1:
            self.leaf_sums = (leaf_b, leaf_e, leaf_u)

    def truncated(self, height: int, missing: int) -> InvalidInput:
        """The error for a file that ends before level ``height`` is complete."""
        return bad_input(
            self.name,
            f"line {missing}",
            f"the file ends inside height {height}, which should have {2 * self.real} nodes "
            "(the tree is truncated, or the root's height is wrong)",
        )

    def wrong_height(self, stated: bytes, height: bytes, line: int) -> None:
        """Report a line whose stated height is not the height of its place in the file."""
        if stated != height:
            self.problems.add(
                "height-mismatch",
                f"line {line} says height {stated.decode()}; its place in the file is "
                f"height {height.decode()}",
                f"line {line}",
            )

    def diagnose(self, raw: bytes, line: int, digest: bytes, sums: Sums, child: int) -> None:
        """Say what differs between a stored parent line and its recomputation.

        Maybe nothing: the same values may be written differently (``0.10``, a CRLF line end).
        """
        node = parse_tree_line(raw, source=self.name, line=line)
        children = f"its children (lines {child - 1} and {child})"
        if node.hash != digest.decode():
            self.problems.add(
                "root-mismatch" if line == 1 else "hash-mismatch",
                f"line {line} stores hash {node.hash} but {children} hash to {digest.decode()}",
                f"line {line}",
            )
        if node.sums != sums:
            self.problems.add(
                "total-mismatch" if line == 1 else "sum-mismatch",
                f"line {line} stores {describe(node.sums)} but {children} add up to "
                f"{describe(sums)}",
                f"line {line}",
            )


# --- finding one user's leaves and their paths ------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One level of a tree file: its height, first line, number of lines, and padding."""

    height: int
    first_line: int
    size: int
    padded: bool


@dataclass(frozen=True)
class TreeLayout:
    """Where each level of a tree file lies, worked out from the root's height and the padding."""

    root: TreeNode
    levels: dict[int, Level]

    @property
    def leaf_count(self) -> int:
        """Leaves, padding excluded."""
        leaves = self.levels[1]
        return leaves.size - leaves.padded

    def line(self, height: int, index: int) -> int:
        """The line of the node at ``index`` (0 = right end) of the level at ``height``."""
        return self.levels[height].first_line + index

    def path(self, index: int) -> list[tuple[int, int, int, bool]]:
        """For the leaf at ``index``, per level: (height, sibling line, parent line, is left)."""
        steps = []
        for height in range(1, self.root.height):
            is_left = index % 2 == 1
            sibling = index - 1 if is_left else index + 1
            parent = self.levels[height + 1].padded + index // 2
            steps.append(
                (height, self.line(height, sibling), self.line(height + 1, parent), is_left)
            )
            index = parent
        return steps


def scan_tree(
    source: TreeSource, wanted: Collection[str]
) -> tuple[TreeLayout, dict[str, list[int]]]:
    """First pass: the levels, and the leaf indexes whose hash is in ``wanted`` (by hash)."""
    root = source.first_line()
    targets = {w.encode() for w in wanted}
    found: dict[str, list[int]] = {}
    levels = {root.height: Level(root.height, 1, 1, padded=False)}
    line, height, size, first = 1, root.height - 1, 2, b""
    start, real = 2, 1
    with contextlib.closing(source.lines()) as lines:
        next(lines)
        for raw in lines:
            if height < 1:
                if not raw.strip(b"\r\n"):
                    continue  # empty lines at the end, as the auditor allows
                raise bad_input(
                    source.name, f"line {line + 1}", f"the tree ends at line {line}; more follow"
                )
            line += 1
            index = line - start
            if index == 0:
                first = raw[:64]
            elif index == 1:
                real = size - (raw[:64] == first)
            if height == 1 and raw[:64] in targets:
                found.setdefault(raw[:64].decode(), []).append(index)
            if index == size - 1:
                levels[height] = Level(height, start, size, padded=real != size)
                height, start, size = height - 1, line + 1, 2 * real
    if height >= 1:
        raise bad_input(
            source.name,
            f"line {line + 1}",
            f"the file ends inside height {height}, which should have {size} nodes "
            "(the tree is truncated, or the root's height is wrong)",
        )
    if root.height == 1 and root.hash in wanted:
        found[root.hash] = [0]
    if levels[1].padded:  # index 0 is then a copy of index 1, not a leaf of its own
        found = {h: [i for i in at if i] for h, at in found.items()}
    return TreeLayout(root, levels), found


def read_tree_lines(source: TreeSource, wanted: Collection[int]) -> dict[int, TreeNode]:
    """Second pass: the lines whose numbers are in ``wanted``, parsed."""
    numbers = set(wanted)
    got: dict[int, TreeNode] = {}
    with contextlib.closing(source.lines()) as lines:
        for line, raw in enumerate(lines, start=1):
            if line in numbers:
                got[line] = parse_tree_line(raw, source=source.name, line=line)
                if len(got) == len(numbers):
                    break
    return got
