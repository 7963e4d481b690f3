"""OKX V2 tree lines in their plain form, parsed a block at a time by numpy; parents checked.

The parallel audit (:mod:`assay.reserves.okx_parallel`) reads each line of a tree file once, in
blocks of one level: :func:`parse_plain` requires the whole line to have OKX's plain form
(lowercase hex, the height of its place, amounts as digits with at most 8 decimals; fixed text
compared eight bytes at a time, digits read eight at a time with integer tricks) and gives
:class:`PlainLines`. :func:`parents_recompute` then says whether a level's lines are what their
children make: the children's sums added as integers, whole and fraction apart, and compared
with the parent's; a parent's text canonical, so that its hash is
``sha256(leftHash + rightHash + B + E + U + height)`` over bytes taken from the lines themselves,
compared with the hash it states.

It only ever answers "plain and clean" or "not": None or False for anything else, which the
streaming audit then explains. It never reads a file and raises nothing of its own.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assay.reserves.okx_format import UNIT

#: Whole-part digits an amount may have here (sums stay below 2^63); longer ones go streaming.
MAX_WHOLE_DIGITS = 18

Ints = npt.NDArray[np.int64]
Words = npt.NDArray[np.uint64]
_U64 = np.uint64
_ZEROS = _U64(0x3030303030303030)  # eight ASCII '0'
_HIGH = _U64(0xF0F0F0F0F0F0F0F0)
_SIX = _U64(0x0606060606060606)
_M8, _M16, _M32 = _U64(0x00FF00FF00FF00FF), _U64(0x0000FFFF0000FFFF), _U64(0xFFFFFFFF)
_ALL = (1 << 64) - 1
#: Masks keeping the first (lowest, little-endian) or the last k bytes of a word.
_KEEP_FIRST = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)
_KEEP_LAST = np.array([_ALL ^ ((1 << (8 * (8 - k))) - 1) for k in range(9)], dtype=np.uint64)
_FILL_FIRST = _ZEROS & ~_KEEP_FIRST  # '0' where a byte is not kept
_FILL_LAST = _ZEROS & ~_KEEP_LAST
_POINTS = _U64(0x2E2E2E2E2E2E2E2E)  # eight '.'
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
_BYTE_INDEX = _U64(0x0001020304050607)
_HASH_WORDS = np.arange(0, 64, 8)


def _word(text: bytes) -> np.uint64:
    """Eight bytes as the little-endian word that an unaligned read of them gives."""
    return np.uint64(int.from_bytes(text, "little"))


_BTC = _word(b',{"BTC":')
_ETH = _word(b'","ETH":')
_USDT = _word(b'","USDT"')
_USDT_END = _word(b'"USDT":"')
#: What a plain line holds besides its hash, height, amounts and newline.
_PUNCTUATION = b'",:{}BCDEHSTU'


@dataclass(frozen=True)
class PlainLines:
    """Lines of one level in OKX's plain form, parsed: what checking their parents needs."""

    hashes: Words  # (m, 8): each line's 64 hex digits, as eight words
    whole: Ints  # (m, 3): whole coins
    fraction: Ints  # (m, 3): the rest, in 1e-8
    canonical: npt.NDArray[np.bool_]  # (m,): written as the streaming audit writes a sum
    bare: bytes  # with ``bare``: each line as '<hash><height><B><E><U><height>', back to back
    sizes: Ints  # with ``bare``: (m,) the length of each line in ``bare``

    @staticmethod
    def join(parts: list[PlainLines]) -> PlainLines:
        """Consecutive blocks as one."""
        if len(parts) == 1:
            return parts[0]
        return PlainLines(
            np.concatenate([p.hashes for p in parts]),
            np.concatenate([p.whole for p in parts]),
            np.concatenate([p.fraction for p in parts]),
            np.concatenate([p.canonical for p in parts]),
            b"".join(p.bare for p in parts),
            np.concatenate([p.sizes for p in parts]),
        )


def parse_plain(data: bytes, m: int, height: int, *, bare: bool) -> PlainLines | None:
    """``m`` lines ``<64 hex>,<height>,{"BTC":"<a>","ETH":"<a>","USDT":"<a>"}``; None if not.

    An amount is 1 to ``MAX_WHOLE_DIGITS`` digits, then optionally a point and 1 to 8 digits.
    Every byte is checked here but the hashes: a parent's is compared with the one computed
    from its children, a leaf's read as hex when its parent's hash is computed, and a padding
    copy's is its neighbour's. With ``bare``, also each line's text without its punctuation
    and asset names (amounts hold only digits and a point) and its newline made the height:
    what a parent's hash covers after its children's hashes is one slice of it.
    """
    padded = data + b"00000000"
    a = np.frombuffer(padded, dtype=np.uint8)
    words: Words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    quotes = np.flatnonzero(a == 34)
    if quotes.size != 12 * m:
        return None
    q = quotes.reshape(m, 12)
    ends = q[:, 11] + 2  # where each line's newline must be
    starts = np.empty(m, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    text = b"%d" % height
    # Lines back to back, each with its first quote right after '<hash>,<height>,{' and a
    # newline two bytes after its last; the text around the quotes compared eight bytes at a
    # time, which also places the quotes in between but the two that open B and E.
    head = _word((b"," + text + b',{"BTC":"')[:8])
    if not (
        int(ends[-1]) == len(data) - 1
        and np.array_equal(q[:, 0], starts + 67 + len(text))
        and np.array_equal(q[:, 2], q[:, 1] + 2)
        and np.array_equal(q[:, 6], q[:, 5] + 2)
        and (a[ends] == 10).all()
        and (words[starts + 64] == head).all()
        and (words[q[:, 0] - 2] == _BTC).all()
        and (words[q[:, 3]] == _ETH).all()
        and (words[q[:, 7]] == _USDT).all()
        and (words[q[:, 7] + 2] == _USDT_END).all()
        and (a[q[:, 11] + 1] == 125).all()  # '}'
    ):
        return None
    low, high = q[:, 2::4] + 1, q[:, 3::4]
    amounts = _amounts(a, words, low.ravel(), high.ravel())
    if amounts is None:
        return None
    whole, fraction, canonical = amounts
    stripped, sizes = b"", np.zeros(0, dtype=np.int64)
    if bare:
        stripped = data.translate(None, _PUNCTUATION).replace(b"\n", text)
        sizes = 64 + 2 * len(text) + (high - low).sum(axis=1)
    return PlainLines(
        words[starts[:, None] + _HASH_WORDS],
        whole.reshape(m, 3),
        fraction.reshape(m, 3),
        np.asarray(canonical.reshape(m, 3).all(axis=1)),
        stripped,
        sizes,
    )


def _digits(v: Words) -> tuple[Ints, npt.NDArray[np.bool_]]:
    """Eight ASCII digits per word (first digit in the lowest byte) as numbers; all digits?"""
    ok = ((v & _HIGH) == _ZEROS) & (((v + _SIX) & _HIGH) == _ZEROS)
    x = v - _ZEROS
    x = (x * _U64(10) + (x >> _U64(8))) & _M8
    x = (x * _U64(100) + (x >> _U64(16))) & _M16
    x = (x * _U64(10000) + (x >> _U64(32))) & _M32
    return x.astype(np.int64), ok


def _amounts(
    a: npt.NDArray[np.uint8], words: Words, low: Ints, high: Ints
) -> tuple[Ints, Ints, npt.NDArray[np.bool_]] | None:
    """Each span ``low[i]:high[i]`` read as an amount: whole, fraction (1e-8), canonical?

    Every byte of a span is checked: the point, then digits before and after it.
    """
    # A point is among the 2nd to 9th bytes before the closing quote (1 to 8 decimals); the
    # text before an amount holds none. Any other '.' fails a digit check below.
    x = words[high - 9] ^ _POINTS
    found = ~(((x & _LOW7) + _LOW7) | x | _LOW7)  # 0x80 in each byte that is '.'
    if ((found & (found - _U64(1))) != 0).any():
        return None  # two points in one amount
    has_fraction = found != 0
    # The byte holding the point: (found >> 7) is 1 << 8k; times _BYTE_INDEX, its top byte is k.
    at = (((found >> _U64(7)) * _BYTE_INDEX) >> _U64(56)).astype(np.int64)
    point = high - np.where(has_fraction, 9 - at, 0)
    whole_len = point - low
    fraction_len = np.maximum(high - point - 1, 0)
    if whole_len.min() < 1 or whole_len.max() > MAX_WHOLE_DIGITS:
        return None
    # The fraction: the eight bytes after the point, those past its end read as '0'.
    keep = _KEEP_FIRST[fraction_len]
    fraction, ok = _digits((words[point + 1] & keep) | _FILL_FIRST[fraction_len])
    # The whole part: eight bytes at a time back from the point, those before it read as '0'.
    whole = np.zeros(low.size, dtype=np.int64)
    for word, scale in enumerate((1, 10**8, 10**16)):
        if word and int(whole_len.max()) <= 8 * word:
            break
        digits = np.clip(whole_len - 8 * word, 0, 8)
        keep = _KEEP_LAST[digits]
        part, good = _digits((words[point - 8 * (word + 1)] & keep) | _FILL_LAST[digits])
        whole += part * scale
        ok &= good
    if not ok.all():
        return None
    canonical = ((whole_len == 1) | (a[low] != 48)) & (~has_fraction | (a[high - 1] != 48))
    return whole, fraction, canonical


def parents_recompute(parents: PlainLines, skip: int, children: PlainLines, height: int) -> bool:
    """Whether lines ``skip:`` of ``parents`` are what their children (right, left) make.

    The children's sums must be the parent's (integers), the parent's amounts canonical, and
    its hash ``sha256(left + right + B + E + U + height)``: the amounts are the parent line's
    own bytes, which the two checks before make the canonical ones.
    """
    n = parents.whole.shape[0] - skip
    if children.whole.shape[0] != 2 * n or not parents.canonical[skip:].all():
        return False
    fraction = children.fraction[0::2] + children.fraction[1::2]
    carry = (fraction >= UNIT).astype(np.int64)
    fraction -= carry * UNIT
    whole = children.whole[0::2] + children.whole[1::2] + carry
    if not (
        np.array_equal(whole, parents.whole[skip:])
        and np.array_equal(fraction, parents.fraction[skip:])
    ):
        return False
    pairs = np.empty((n, 16), dtype=np.uint64)
    pairs[:, :8] = children.hashes[1::2]  # left
    pairs[:, 8:] = children.hashes[0::2]  # right
    both = pairs.tobytes()
    if height == 2 and both.translate(None, b"0123456789abcdef"):
        return False  # a leaf hash that is not lowercase hex
    above = len(b"%d" % height)
    ends = np.cumsum(parents.sizes)
    firsts = (ends - parents.sizes + 64 + above)[skip:].tolist()
    bare, sha = parents.bare, hashlib.sha256
    digests = b"".join(
        [
            sha(both[i : i + 128] + bare[x:y]).digest()
            for i, x, y in zip(range(0, 128 * n, 128), firsts, ends[skip:].tolist(), strict=True)
        ]
    )
    stated: bytes = parents.hashes[skip:].tobytes()
    return binascii.hexlify(digests) == stated
