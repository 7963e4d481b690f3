"""SHA-256 of whole blocks of messages in one call: the C helper ``libsha256batch.so.1``, loaded.

``sumtree`` hashes some 30 million messages for a round of 10 million accounts; one ``hashlib``
call each costs more in Python than the hashing. The helper (``_sha256batch.c``, built by
``scripts/build-native.sh`` at ``make install``) takes numpy buffers and hashes every message of
a block through OpenSSL. It computes exactly the bytes ``layout`` defines: it is a faster road to
the same hashes, never another layout, and ``sumtree`` falls back to ``hashlib`` without it.

``hasher()`` gives the loaded helper, or None when it is absent, stale (built from an older
source), cannot be loaded, or ``ASSAY_NATIVE=0`` asks for the fallback. Loading happens on the
first call, not at import. Each method checks its buffers (type, shape, offsets) and raises
``ValueError`` naming the argument before any pointer reaches C: a wrong size is an error here,
never a crash there.

ctypes rather than cffi: it is the standard library (no new dependency, nothing to compile at
import), each call hashes thousands of messages so its per-call cost (about a microsecond) is
noise, and it releases the GIL for the length of the call.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ENV", "LIBRARY", "Hasher", "hasher", "load", "unavailable"]

#: ``ASSAY_NATIVE=0`` makes every caller hash through hashlib (the fallback), e.g. to compare.
ENV = "ASSAY_NATIVE"
LIBRARY = Path(__file__).with_name("libsha256batch.so.1")
#: The C source's ABI_VERSION this module was written for.
ABI_VERSION = 1

Bytes2D = npt.NDArray[np.uint8]
_SIZE, _PTR = ctypes.c_size_t, ctypes.c_void_p
_SIGNATURES: dict[str, list[Any]] = {
    "assay_sha256_strided": [_PTR, _SIZE, _SIZE, _SIZE, _PTR],
    "assay_sha256_offsets": [_PTR, _PTR, _SIZE, _PTR],
    "assay_hmac_sha256_offsets": [_PTR, _SIZE, _PTR, _PTR, _SIZE, _PTR],
    "assay_sha256_leaves": [_PTR, _SIZE, _PTR, _PTR, _SIZE, _PTR, _PTR, _SIZE, _PTR],
    "assay_sha256_nodes": [_PTR, _SIZE, _PTR, _PTR, _SIZE, _PTR, _SIZE, _PTR, _PTR],
}


def _array(value: Any, name: str, dtype: type[np.generic], ndim: int) -> npt.NDArray[Any]:
    """``value`` as a C-contiguous array of ``dtype`` and ``ndim`` dimensions, else ValueError."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of {np.dtype(dtype)}, got {type(value)}")
    if value.dtype != np.dtype(dtype) or value.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-dimensional array of {np.dtype(dtype)}, got "
            f"{value.ndim} dimensions of {value.dtype}"
        )
    return np.ascontiguousarray(value)


def _bytes(value: Any, name: str) -> Bytes2D:
    """A bytes-like value, or a uint8 array of any shape, as a flat uint8 array."""
    if isinstance(value, bytes | bytearray | memoryview):
        return np.frombuffer(value, dtype=np.uint8)
    return _array(value, name, np.uint8, value.ndim if isinstance(value, np.ndarray) else 1).ravel()


def _offsets(offsets: Any, data: Bytes2D, name: str) -> npt.NDArray[np.int64]:
    """Message boundaries: n + 1 non-decreasing int64 from 0 up to at most ``data``'s size."""
    bounds = _array(offsets, name, np.int64, 1)
    if bounds.size == 0:
        raise ValueError(f"{name} must hold n + 1 boundaries (at least one), got none")
    if int(bounds[0]) < 0 or int(bounds[-1]) > data.size or (np.diff(bounds) < 0).any():
        raise ValueError(
            f"{name} must rise from 0 or more to at most the data's {data.size} bytes, got "
            f"{int(bounds[0])} to {int(bounds[-1])}"
            + (", not in order" if (np.diff(bounds) < 0).any() else "")
        )
    return bounds


def _out(out: Bytes2D | None, n: int) -> Bytes2D:
    """Where ``n`` digests go: a new array, or ``out`` if it is a writable C-contiguous (n, 32)."""
    if out is None:
        return np.empty((n, 32), dtype=np.uint8)
    if (
        not isinstance(out, np.ndarray)
        or out.dtype != np.uint8
        or out.shape != (n, 32)
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        shape = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"out must be a writable C-contiguous ({n}, 32) uint8 array, got {shape}")
    return out


def _address(array: npt.NDArray[Any]) -> int:
    return int(array.ctypes.data)


class Hasher:
    """The loaded helper: SHA-256 and HMAC-SHA256 over blocks of messages, digests as (n, 32)."""

    def __init__(self, library: ctypes.CDLL) -> None:
        self._lib = library
        for name, argtypes in _SIGNATURES.items():
            function = getattr(library, name)
            function.argtypes = argtypes
            function.restype = ctypes.c_int

    def _call(self, name: str, *args: Any) -> None:
        if getattr(self._lib, name)(*args) != 0:
            raise MemoryError(f"{name}: no memory for a message buffer")

    def sha256_strided(self, records: Any, length: int, *, out: Bytes2D | None = None) -> Bytes2D:
        """SHA-256 of the first ``length`` bytes of each row of ``records`` (n, stride) uint8."""
        rows = _array(records, "records", np.uint8, 2)
        if not 0 <= length <= rows.shape[1]:
            raise ValueError(f"length must be 0 to the rows' {rows.shape[1]} bytes, got {length}")
        n = rows.shape[0]
        digests = _out(out, n)
        if n:
            self._call(
                "assay_sha256_strided",
                _address(rows),
                rows.shape[1],
                length,
                n,
                _address(digests),
            )
        return digests

    def sha256(self, data: Any, offsets: Any, *, out: Bytes2D | None = None) -> Bytes2D:
        """SHA-256 of each message ``data[offsets[i]:offsets[i + 1]]``."""
        flat = _bytes(data, "data")
        bounds = _offsets(offsets, flat, "offsets")
        n = bounds.size - 1
        digests = _out(out, n)
        if n:
            self._call(
                "assay_sha256_offsets", _address(flat), _address(bounds), n, _address(digests)
            )
        return digests

    def hmac_sha256(
        self, key: bytes, data: Any, offsets: Any, *, out: Bytes2D | None = None
    ) -> Bytes2D:
        """HMAC-SHA256 (RFC 2104) under ``key`` of each ``data[offsets[i]:offsets[i + 1]]``."""
        if not isinstance(key, bytes):
            raise ValueError(f"key must be bytes, got {type(key).__name__}")
        flat = _bytes(data, "data")
        bounds = _offsets(offsets, flat, "offsets")
        n = bounds.size - 1
        digests = _out(out, n)
        secret = np.frombuffer(key, dtype=np.uint8)
        if n:
            self._call(
                "assay_hmac_sha256_offsets",
                _address(secret) if secret.size else None,
                secret.size,
                _address(flat),
                _address(bounds),
                n,
                _address(digests),
            )
        return digests

    def leaves(
        self,
        prefix: bytes,
        salts: Any,
        limbs: Any = None,
        data: Any = None,
        offsets: Any = None,
        *,
        out: Bytes2D | None = None,
    ) -> Bytes2D:
        """SHA-256(prefix || salt i || limbs i, big-endian || message i) for each row of salts.

        ``salts`` is (n, 32) uint8; ``limbs`` (n, k) uint64 or None (no amounts); the messages
        ``data[offsets[i]:offsets[i + 1]]``, or none when ``data`` is None. An account's leaf is
        ``layout.leaf_hash`` (prefix TAG_LEAF || round digest; its amounts; its id), a padding
        leaf ``layout.pad_hash`` (prefix TAG_PAD || round digest, nothing else).
        """
        head = np.frombuffer(_check_bytes(prefix, "prefix"), dtype=np.uint8)
        rows = _array(salts, "salts", np.uint8, 2)
        n = rows.shape[0]
        if rows.shape[1] != 32:
            raise ValueError(f"salts must be (n, 32), got {rows.shape}")
        amounts = np.empty((n, 0), np.uint64) if limbs is None else limbs
        amounts = _array(amounts, "limbs", np.uint64, 2)
        if amounts.shape[0] != n:
            raise ValueError(f"limbs must have one row per salt ({n}), got {amounts.shape[0]}")
        flat: Bytes2D | None = None
        bounds: npt.NDArray[np.int64] | None = None
        if data is not None or offsets is not None:
            if data is None or offsets is None:
                raise ValueError("data and offsets go together: give both or neither")
            flat = _bytes(data, "data")
            bounds = _offsets(offsets, flat, "offsets")
            if bounds.size != n + 1:
                raise ValueError(f"offsets must hold {n + 1} boundaries, got {bounds.size}")
        digests = _out(out, n)
        if n:
            self._call(
                "assay_sha256_leaves",
                _address(head) if head.size else None,
                head.size,
                _address(rows),
                _address(amounts) if amounts.size else None,
                amounts.shape[1],
                None if flat is None else _address(flat),
                None if bounds is None else _address(bounds),
                n,
                _address(digests),
            )
        return digests

    def nodes(
        self, tag: bytes, hashes: Any, limbs: Any, chained: Any
    ) -> tuple[Bytes2D, npt.NDArray[np.uint64]]:
        """The parents of pairs (0, 1), (2, 3), ...: their hashes and their sums.

        A parent's hash is ``layout.node_hash`` over its children's (tag, hashes (2h, 32),
        limbs (2h, k) uint64 written big-endian); its sums are the children's added limb by
        limb, ``chained[j]`` (k uint8) true where limb j's carry goes into limb j - 1 (the low
        half of a 16-byte amount). OverflowError if a carry leaves an amount: a sum beyond its
        asset's width.
        """
        head = np.frombuffer(_check_bytes(tag, "tag"), dtype=np.uint8)
        rows = _array(hashes, "hashes", np.uint8, 2)
        amounts = _array(limbs, "limbs", np.uint64, 2)
        if rows.shape[1] != 32 or rows.shape[0] % 2 or amounts.shape[0] != rows.shape[0]:
            raise ValueError(
                f"hashes must be (2h, 32) and limbs (2h, k), pairs of rows, got {rows.shape} "
                f"and {amounts.shape}"
            )
        k = amounts.shape[1]
        carries = _array(chained, "chained", np.uint8, 1)
        if carries.size != k or (k and carries[0]):
            raise ValueError(
                f"chained must hold one flag per limb ({k}), the first 0, got {carries.tolist()}"
            )
        half = rows.shape[0] // 2
        digests = np.empty((half, 32), dtype=np.uint8)
        sums = np.empty((half, k), dtype=np.uint64)
        if half:
            done = self._lib.assay_sha256_nodes(
                _address(head) if head.size else None,
                head.size,
                _address(rows),
                _address(amounts) if k else None,
                k,
                _address(carries) if k else None,
                half,
                _address(digests),
                _address(sums) if k else None,
            )
            if done < 0:
                raise MemoryError("assay_sha256_nodes: no memory for a message buffer")
            if done:
                raise OverflowError("a sum passes its amount's width")
        return digests, sums


def _check_bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError(f"{name} must be bytes, got {type(value).__name__}")
    return value


def load(path: Path = LIBRARY) -> Hasher | str:
    """The helper at ``path``, or why it cannot serve (missing, not loadable, stale)."""
    if not path.exists():
        return f"{path.name} is not built (make install, or scripts/build-native.sh)"
    try:
        library = ctypes.CDLL(str(path))
        version = int(library.assay_abi_version())
    except (OSError, AttributeError) as exc:
        return f"{path.name} cannot be loaded: {exc}"
    if version != ABI_VERSION:
        return (
            f"{path.name} is stale (ABI {version}, this module needs {ABI_VERSION}): "
            "rebuild it with scripts/build-native.sh"
        )
    return Hasher(library)


@functools.cache
def _load() -> Hasher | str:
    """``load()``, once per process (forked workers and threads share it)."""
    return load()


def unavailable() -> str | None:
    """Why ``hasher()`` gives None (the environment variable, a missing library), else None."""
    if os.environ.get(ENV, "1").strip() == "0":
        return f"{ENV}=0 asks for hashlib"
    loaded = _load()
    return loaded if isinstance(loaded, str) else None


def hasher() -> Hasher | None:
    """The native hasher, or None: hash through hashlib (see ``unavailable`` for why)."""
    if os.environ.get(ENV, "1").strip() == "0":
        return None
    loaded = _load()
    return None if isinstance(loaded, str) else loaded
