"""pymerkle 7 (the best Python peer), measured the same way as ours and its proofs verified.

pymerkle's SQLite backend opens its own connection in SQLite's default rollback-journal mode; it is
switched to WAL with ``synchronous=FULL`` here so that its durable appends promise what ours do.
Its public API is used as documented: ``append_entry`` (one transaction per entry),
``append_entries`` (one transaction per call), ``prove_inclusion`` / ``prove_consistency`` and the
module's ``verify_inclusion`` / ``verify_consistency``. Leaf indices are 1-based there.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymerkle import InmemoryTree, SqliteTree, verify_consistency, verify_inclusion
from timing import Latency, Throughput, run_writer_processes, run_writers, time_each, timed

from assay.platform.affinity import pin_to_free_cpu


def open_sqlite(directory: Path) -> SqliteTree:
    """A pymerkle SQLite tree in ``directory``, WAL and ``synchronous=FULL`` like ours."""
    directory.mkdir(parents=True, exist_ok=True)
    tree = SqliteTree(str(directory / "pymerkle.db"))
    tree.con.execute("PRAGMA journal_mode=WAL")
    tree.con.execute("PRAGMA synchronous=FULL")
    return tree


def durability(tree: SqliteTree) -> str:
    """The journal mode and synchronous level of pymerkle's connection."""
    journal = tree.con.execute("PRAGMA journal_mode").fetchone()
    level = tree.con.execute("PRAGMA synchronous").fetchone()
    return f"journal_mode={journal}, synchronous={'FULL' if level == 2 else level}"


def durable_appends(
    directory: Path,
    writers: int,
    seconds: float,
    in_flight: int,
    payloads: Callable[[int], bytes],
    *,
    processes: int = 1,
    pinned: bool = False,
) -> tuple[Throughput, str]:
    """Durable appends/s on pymerkle's SQLite backend, ``writers`` threads at once.

    ``in_flight == 1``: each writer calls ``append_entry`` (its own transaction). Otherwise each
    writer calls ``append_entries`` with ``in_flight`` entries (one transaction per call). With
    ``processes > 1`` the writers are spread over that many processes, each with its own
    ``SqliteTree`` on the same file (SQLite's write lock takes them in turn); ``pinned``: each
    pinned to a CPU of its own first, as ours are.
    """
    tree = open_sqlite(directory)
    before = tree.get_size()
    stride = 1 << 32

    def appending(mine: SqliteTree, first_writer: int) -> Callable[[int, int], int]:
        def work(writer: int, round_: int) -> int:
            base = (first_writer + writer) * stride
            if in_flight == 1:
                mine.append_entry(payloads(base + round_))
                return 1
            mine.append_entries([payloads(base + round_ * in_flight + k) for k in range(in_flight)])
            return in_flight

        return work

    if processes == 1:
        result = run_writers(writers, seconds, appending(tree, 0))
    else:
        tree.close()  # nothing open across the fork

        def setup(first_writer: int) -> tuple[Callable[[int, int], int], Callable[[], object]]:
            mine = open_sqlite(directory)

            def finish() -> None:
                mine.close()

            return appending(mine, first_writer), finish

        pin = partial(pin_to_free_cpu, directory / "run") if pinned else None
        result, _ = run_writer_processes(processes, writers, seconds, setup, pin=pin)
        tree = open_sqlite(directory)
    size = tree.get_size()
    if size - before != result.operations:
        raise AssertionError(f"pymerkle grew by {size - before}, {result.operations} acknowledged")
    check = _check_some_leaves(tree, size)
    tree.close()
    return result, f"{result.operations} acknowledged = tree growth; {check}"


def bulk_appends(
    directory: Path, total: int, batch: int, payloads: Callable[[int], bytes]
) -> tuple[Throughput, str]:
    """Appends/s with ``append_entries`` of ``batch`` entries per call (one transaction each)."""
    tree = open_sqlite(directory)
    before = tree.get_size()

    def run() -> int:
        done = 0
        while done < total:
            count = min(batch, total - done)
            tree.append_entries([payloads(done + k) for k in range(count)])
            done += count
        return done

    result = timed(run)
    if tree.get_size() - before != total:
        raise AssertionError("pymerkle's bulk append lost entries")
    check = _check_some_leaves(tree, tree.get_size())
    tree.close()
    return result, f"size {before + total}; {check}"


def _check_some_leaves(tree: SqliteTree | InmemoryTree, size: int) -> str:
    root = tree.get_root(size)
    picks = sorted({1, size, (size + 1) // 2})
    for index in picks:
        verify_inclusion(tree.get_leaf(index), root, tree.prove_inclusion(index, size))
    return f"{len(picks)} inclusion proofs verified"


def build_memory(payloads: Callable[[int], bytes], count: int) -> tuple[InmemoryTree, Throughput]:
    """An in-memory tree of ``count`` entries, appended one by one (``append_entry``)."""
    tree = InmemoryTree()

    def run() -> int:
        for i in range(count):
            tree.append_entry(payloads(i))
        return count

    return tree, timed(run)


def fill_sqlite(
    directory: Path, payloads: Callable[[int], bytes], count: int, batch: int = 100_000
) -> tuple[SqliteTree, Throughput]:
    """A SQLite tree of ``count`` entries, loaded with ``append_entries`` (its bulk path)."""
    tree = open_sqlite(directory)

    def run() -> int:
        for start in range(0, count, batch):
            tree.append_entries(payloads(i) for i in range(start, min(count, start + batch)))
        return count

    return tree, timed(run)


def inclusion_proofs(
    tree: SqliteTree | InmemoryTree, size: int, indices: Sequence[int]
) -> tuple[Latency, Latency, str]:
    """``prove_inclusion`` latencies: first pass (its subroot cache filling), then again."""
    cold, _ = time_each(indices, lambda i: tree.prove_inclusion(i + 1, size))
    warm, proofs = time_each(indices, lambda i: tree.prove_inclusion(i + 1, size))
    root = tree.get_root(size)
    for index, proof in zip(indices, proofs, strict=True):
        verify_inclusion(tree.get_leaf(index + 1), root, proof)  # raises InvalidProof
    return cold, warm, f"{len(proofs)} proofs verified by pymerkle.verify_inclusion"


def consistency_proofs(
    tree: SqliteTree | InmemoryTree, pairs: Sequence[tuple[int, int]]
) -> tuple[Latency, Latency, str]:
    """``prove_consistency`` latencies for (old, new) sizes: first pass, then again."""
    cold, _ = time_each(pairs, lambda p: tree.prove_consistency(p[0], p[1]))
    warm, proofs = time_each(pairs, lambda p: tree.prove_consistency(p[0], p[1]))
    for (old, new), proof in zip(pairs, proofs, strict=True):
        verify_consistency(tree.get_root(old), tree.get_root(new), proof)  # raises InvalidProof
    return cold, warm, f"{len(proofs)} proofs verified by pymerkle.verify_consistency"


def checkpoint_signing(
    tree: SqliteTree | InmemoryTree, size: int, samples: int, origin: str
) -> tuple[Latency, str]:
    """No checkpoints in pymerkle; its nearest equivalent: ``get_root`` then an Ed25519 signature.

    The signed text is origin, size and base64 root, one a line (the checkpoint body without the
    C2SP note framing), signed with ``cryptography`` directly.
    """
    key = Ed25519PrivateKey.from_private_bytes(os.urandom(32))

    def sign(_: int) -> bytes:
        root = tree.get_root(size)
        body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()
        return key.sign(body)

    latency, signatures = time_each(range(samples), sign)
    body = f"{origin}\n{size}\n{base64.b64encode(tree.get_root(size)).decode()}\n".encode()
    key.public_key().verify(signatures[-1], body)  # raises InvalidSignature
    return latency, "signature verified"
