"""The parallel OKX V2 tree audit gives exactly the streaming audit's report, or leaves it to it.

``fast_audit`` may only prove a file clean (or report the two things line 1 alone shows: a root
other than the published one, a total other than the leaves'). Every test compares it with the
streaming audit (``audit_okx_v2_tree(..., workers=0)``): on OKX's sample, on generated trees of
every padding shape, and on tampered ones, where it must step aside (return None) so that the
public ``audit_okx_v2_tree`` reports what the streaming audit reports, or raises what it raises.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.errors import InvalidInput
from assay.reserves import okx_parallel, okx_walk
from assay.reserves.okx_parallel import fast_audit
from assay.reserves.okx_tree import TreeAudit, audit_okx_v2_tree
from tests.reserves.test_okx import TREE_FILE, V2_ROOT, build_tree, random_leaves, tree_lines


def streaming(path: Path, **kwargs: object) -> TreeAudit:
    return audit_okx_v2_tree(path, workers=0, **kwargs)  # type: ignore[arg-type]


def fast(path: Path, **kwargs: object) -> TreeAudit | None:
    options: dict[str, object] = {"workers": 1, "min_bytes": 0, **kwargs}
    return fast_audit(path, **options)  # type: ignore[arg-type]


def write(tmp_path: Path, lines: list[str], name: str = "tree.txt", end: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + end).encode())
    return path


def leaves(count: int, seed: int = 0) -> list[tuple[str, tuple[int, int, int]]]:
    """Leaves with amounts of every form: zero, whole, 1 to 8 decimals, 11-digit coins."""
    out = []
    for i, (digest, _) in enumerate(random_leaves(count, seed)):
        btc = 0 if i % 3 else (i + 1) * 10**7  # 0, or x.1 BTC
        eth = (i * 104_729) % 10**9 if i % 4 else 0  # up to 8 decimals
        usdt = 12_345_678_901 * 10**8 + i if i % 7 == 0 else (i + 1) * 10**8  # 11 digits
        out.append((digest, (btc, eth, usdt)))
    return out


# --- clean files: the same report ---------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("column_levels", [1, 2, 17])
def test_the_okx_sample_gets_the_streaming_audits_report(workers, column_levels):
    # 47 lines, padding at heights 4, 2 and 1; columns of 2, 4 leaves, or the whole tree
    got = fast(TREE_FILE, workers=workers, column_levels=column_levels)
    assert got is not None
    assert got == streaming(TREE_FILE)
    assert got.ok


@pytest.mark.parametrize("count", [2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 21, 33, 40, 64, 65, 127])
def test_generated_trees_of_every_padding_shape_get_the_streaming_report(tmp_path, count):
    path = write(tmp_path, build_tree(leaves(count)))
    expected = streaming(path)
    for column_levels in (1, 3, 17):
        got = fast(path, column_levels=column_levels)
        assert got is not None, (count, column_levels)
        assert got == expected
    assert expected.ok
    assert expected.leaf_count == count


def test_two_workers_over_many_columns_give_the_same_report(tmp_path):
    path = write(tmp_path, build_tree(leaves(1000, seed=3)))
    got = fast(path, workers=2, column_levels=3)  # 125 columns of 8 leaves
    assert got is not None
    assert got == streaming(path)


@pytest.mark.parametrize(
    ("root", "max_problems"),
    [
        (V2_ROOT, 1000),  # the published root: nothing to say
        ("00" * 32, 1000),  # another root: root-mismatch, as the streaming audit says it
        ("00" * 32, 0),  # ... counted, not kept
    ],
)
def test_the_published_root_is_compared_as_the_streaming_audit_does(root, max_problems):
    got = fast(TREE_FILE, root=root, max_problems=max_problems)
    assert got == streaming(TREE_FILE, root=root, max_problems=max_problems)


def test_a_file_without_its_last_newline_is_checked_here_too(tmp_path):
    path = write(tmp_path, tree_lines(), end="")
    got = fast(path)
    assert got is not None
    assert got == streaming(path)


def test_leaf_amounts_need_not_be_canonical_only_parent_amounts_do(tmp_path):
    lines = tree_lines()
    lines[-1] = lines[-1].replace('"ETH":"0"', '"ETH":"00"')  # a leaf: its value is what counts
    path = write(tmp_path, lines)
    got = fast(path)
    assert got is not None
    assert got == streaming(path)
    assert got.ok


def test_progress_ends_at_the_file_size(tmp_path):
    path = write(tmp_path, build_tree(leaves(100)))
    seen: list[tuple[int, int | None]] = []
    fast(path, column_levels=2, progress=lambda done, total: seen.append((done, total)))
    size = path.stat().st_size
    assert seen[-1] == (size, size)
    assert all(done <= size for done, _ in seen)


def test_small_files_are_left_to_the_streaming_audit():
    assert fast_audit(TREE_FILE) is None  # 5 KB, below FAST_MIN_BYTES


# --- anything else: stepped aside, the public audit says what the streaming audit says --------


def tampered(number: int, old: str, new: str) -> list[str]:
    lines = tree_lines()
    assert old in lines[number - 1]
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    return lines


TAMPERED = {
    "parent hash": tampered(19, "3132365e", "3132365f"),
    "parent sum": tampered(19, '"USDT":"0.95774123"', '"USDT":"9"'),
    "root total": tampered(1, '"ETH":"0.1"', '"ETH":"0.2"'),
    "padding with a balance": tampered(26, '"USDT":"0"', '"USDT":"0.1"'),
    "height not its place": tampered(30, ",1,", ",2,"),
    "negative leaf": build_tree([("ab" * 32, (1, -5, 0)), ("cd" * 32, (2, 7, 0))]),
    "parent written 0.10 (same value)": tampered(2, '"USDT":"0.00047828"', '"USDT":"0.000478280"'),
    "a CRLF line end": tampered(5, "}", "}\r"),
    "a space in a line": tampered(7, '{"BTC"', '{ "BTC"'),
    "uppercase hex in a leaf": tampered(47, tree_lines()[46][:8], tree_lines()[46][:8].upper()),
    "keys in another order": tampered(
        40, '{"BTC":"0.0000487","ETH":"0"', '{"ETH":"0","BTC":"0.0000487"'
    ),
    "a 20-digit amount": build_tree([("ab" * 32, (10**27, 0, 0)), ("cd" * 32, (1, 0, 0))]),
    "a line too many": [*tree_lines(), tree_lines()[-1]],
    "a level missing": tree_lines()[:20],
    "cut at a line end": tree_lines()[:44],
    "empty lines at the end": [*tree_lines(), "", ""],
    "an empty amount": tampered(9, '"BTC":"0"', '"BTC":""'),
    "a point and no decimals": tampered(9, '"BTC":"0"', '"BTC":"0."'),
    "nine decimals": tampered(40, '"0.0000487"', '"0.000048700"'),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_anything_but_a_clean_file_is_left_to_the_streaming_audit(tmp_path, monkeypatch, case):
    path = write(tmp_path, TAMPERED[case])
    expected: TreeAudit | None = None
    with contextlib.suppress(InvalidInput):
        expected = streaming(path)
    if expected is None or not expected.ok:
        assert fast(path) is None, case  # step aside: there is something to say
        assert fast(path, column_levels=1, workers=2) is None, case
    got = fast(path)
    assert got is None or got == expected, case
    # The public audit, with the parallel path on for any size, says what streaming says.
    monkeypatch.setattr(okx_parallel, "FAST_MIN_BYTES", 0)
    if expected is None:
        with pytest.raises(InvalidInput) as public:
            audit_okx_v2_tree(path)
        with pytest.raises(InvalidInput) as reference:
            streaming(path)
        assert (public.value.message, public.value.field) == (
            reference.value.message,
            reference.value.field,
        )
    else:
        assert audit_okx_v2_tree(path) == expected


def test_the_public_audit_of_a_large_clean_file_does_not_stream(tmp_path, monkeypatch):
    path = write(tmp_path, build_tree(leaves(300)))
    expected = streaming(path)

    def no_streaming(*args: object) -> None:
        raise AssertionError("streamed")

    monkeypatch.setattr(okx_parallel, "FAST_MIN_BYTES", 0)
    monkeypatch.setattr(okx_walk.Walk, "run", no_streaming)
    assert audit_okx_v2_tree(path) == expected


# --- any single byte ----------------------------------------------------------------------------

GENERATED = "\n".join(build_tree(leaves(37, seed=5))).encode() + b"\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_single_byte_change_is_proved_clean_only_when_streaming_finds_nothing(
    tmp_path_factory, data
):
    index = data.draw(st.integers(0, len(GENERATED) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != GENERATED[index]))
    path = tmp_path_factory.mktemp("byte") / "mutated.txt"
    path.write_bytes(GENERATED[:index] + bytes([byte]) + GENERATED[index + 1 :])
    expected: TreeAudit | None = None
    with contextlib.suppress(InvalidInput):
        expected = streaming(path)
    got = fast(path, column_levels=2)
    if got is not None:
        assert got == expected
        assert got.ok  # nothing else is ever decided here


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 10**12),  # BTC, 1e-8 units
            st.sampled_from([0, 1, 10**8, 123_456_789, 10**17 + 1]),  # ETH
            st.integers(0, 10**19),  # USDT: up to 11 whole digits per leaf
        ),
        min_size=2,
        max_size=70,
    )
)
def test_random_trees_get_the_streaming_report(tmp_path_factory, amounts):
    tree = build_tree([("%064x" % (i * 7919 + 1), sums) for i, sums in enumerate(amounts)])
    path = write(tmp_path_factory.mktemp("t"), tree)
    got = fast(path, column_levels=2)
    assert got is not None
    assert got == streaming(path)
