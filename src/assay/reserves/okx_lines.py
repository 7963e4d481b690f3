"""An OKX V2 tree file as lines: one line parsed, the file read as often as a check needs.

Since March 2023 ("V2") OKX publishes its whole liabilities tree as one text file,
``full-liabilities-merkle-tree.txt``: one node per line, ``<hash>,<height>,<balances JSON>``, the
root first, then each level from the right end to the left, a level with an odd number of nodes
closed by a padding copy of its left neighbour (same hash, zero balances) listed first.
:func:`parse_tree_line` reads one line strictly; :class:`TreeSource` gives the file (a path, or
lines in memory) line by line or in blocks of whole lines, to the auditor
(:mod:`assay.reserves.okx_tree`) and to a user's check (:mod:`assay.reserves.okx_layout`).

It checks a line's form, never its truth; it must never hold a file given by path whole, or
raise anything but ``InvalidInput``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path

from assay.reserves.okx_format import Sums, bad_input, check_hex, parse_balances, strict_json

MAX_HEIGHT = 256
TreeInput = str | os.PathLike[str] | Iterable[str | bytes]
Progress = Callable[[int, int | None], None]
"""Called with (bytes read, file size or None) as the auditor advances."""

_CHUNK = 1 << 20


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
