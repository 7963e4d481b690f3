"""The streaming walk of the OKX V2 tree audit: two cursors over one file, every parent recomputed.

The auditor (:func:`assay.reserves.okx_tree.audit_okx_v2_tree`) reads the file twice at once, in
one pass: a child cursor ahead of a parent cursor. Level ``h`` is listed right to left, so its
nodes taken two by two are the children of level ``h + 1``'s real nodes in the same order; each
parent line is compared with what its two stored children recompute to as soon as the child
cursor reaches them. :func:`row_blocks` feeds the child cursor (plain lines split by one regular
expression, anything unusual parsed line by line); :class:`Walk` is the hot loop. The file's
shape comes from the root's height and the padding rule alone, never from the height written on
each line (that is checked, not used).

Memory stays flat (two read buffers). It must never hold the whole file, trust a stored parent,
or raise anything but ``InvalidInput``.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Generator, Iterator

from assay.errors import InvalidInput
from assay.reserves.okx_format import (
    ASSETS,
    UNIT,
    ZERO,
    Problems,
    Sums,
    bad_input,
    describe,
    negative_assets,
)
from assay.reserves.okx_lines import Progress, TreeNode, TreeSource, parse_tree_line

_PAD8 = tuple(b"0" * (8 - n) for n in range(9))
# One tree line in the form OKX writes it; anything else (negatives included) takes the slow path.
_FAST_AMOUNT = rb'"([0-9]+)(?:\.([0-9]{1,8}))?"'
_FAST_LINE = re.compile(
    rb"^([0-9a-f]{64}),([1-9][0-9]{0,2}),\{"
    + b",".join(b'"' + a.encode() + b'":' + _FAST_AMOUNT for a in ASSETS)
    + rb"\}\r?$",
    re.MULTILINE,
)


def _format_bytes(units: int) -> bytes:
    if not units:
        return b"0"
    if units < 0:
        return b"-" + _format_bytes(-units)
    whole, frac = divmod(units, UNIT)
    return b"%d.%s" % (whole, (b"%08d" % frac).rstrip(b"0")) if frac else b"%d" % whole


Row = tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes]
"""A tree line as the hot loop takes it: hash, height, then per asset the whole and fraction
digits (``int(whole + fraction + zeros)`` is the amount in minimal units; a minus sign stays on
the whole part)."""


def row_blocks(
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


class Walk:
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
