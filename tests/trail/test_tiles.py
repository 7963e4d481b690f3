"""Fat tiles: node placement, encoding, and the C2SP tlog-tiles path grammar."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.trail import tiles
from assay.trail.tiles import TileBuffer, TileId


@pytest.mark.parametrize(
    ("level", "index", "expected"),
    [
        ((0, 0), None, (TileId(0, 0), 0, 0)),  # the first leaf
        ((0, 255), None, (TileId(0, 0), 0, 255)),  # the last leaf of the first tile
        ((0, 256), None, (TileId(0, 1), 0, 0)),  # the first leaf of the second tile
        ((3, 31), None, (TileId(0, 0), 3, 31)),  # an inner node of the first tile
        ((3, 32), None, (TileId(0, 1), 3, 0)),  # an inner node of the second tile
        ((8, 5), None, (TileId(1, 0), 0, 5)),  # a level-8 node is on a level-1 tile's bottom row
        ((17, 3), None, (TileId(2, 0), 1, 3)),  # tree level 17: tile level 2, row 1
    ],
)
def test_locate_places_nodes_in_their_tiles(
    level: tuple[int, int], index: None, expected: tuple[TileId, int, int]
) -> None:
    assert tiles.locate(*level) == expected


@given(st.integers(min_value=1, max_value=256))
def test_a_tile_round_trips_through_its_stored_form(width: int) -> None:
    buffer = TileBuffer(TileId(0, 7))
    for row in range(tiles.HEIGHT):
        for position in range(width >> row):
            buffer.put(row, position, bytes([row, position % 256]) * 16)
    data = buffer.encode()
    assert len(data) == tiles.row_offsets(width)[-1] * tiles.HASH_SIZE
    decoded = TileBuffer.decode(TileId(0, 7), width, data)
    assert decoded.rows == buffer.rows
    assert tiles.node_in(data, width, 0, width - 1) == bytes([0, (width - 1) % 256]) * 16
    assert tiles.node_in(data, width, 0, width) is None
    assert tiles.bottom_row(data, width) == bytes(buffer.rows[0])


def test_a_node_out_of_order_is_refused() -> None:
    buffer = TileBuffer(TileId(0, 0))
    with pytest.raises(ValueError, match="node 1 of 32 bytes arrived, node 0 of 32 expected"):
        buffer.put(0, 1, b"\x00" * 32)
    with pytest.raises(ValueError, match="node 0 of 31 bytes arrived"):
        buffer.put(0, 0, b"\x00" * 31)  # a row is bytes: a short hash would shift the rest
    assert buffer.encode() == b""  # nothing refused was kept


def test_stored_data_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="expected for width 2"):
        TileBuffer.decode(TileId(0, 0), 2, b"\x00" * 64)


@pytest.mark.parametrize(
    ("index", "path"),
    [
        (0, "000"),  # C2SP: always at least three digits
        (67, "067"),
        (1234067, "x001/x234/067"),  # the example of the C2SP tlog-tiles spec
        (999, "999"),
        (1000, "x001/000"),
    ],
)
def test_tile_indexes_use_the_c2sp_path_encoding(index: int, path: str) -> None:
    assert tiles.encode_index(index) == path
    assert tiles.decode_index(path) == index


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("0/x001/234", (0, 1234, 256)),  # a full tile
        ("2/000.p/7", (2, 0, 7)),  # a partial tile of width 7
        ("entries/001.p/255", ("entries", 1, 255)),  # a partial entry bundle
    ],
)
def test_tile_paths_parse(path: str, expected: tuple[object, int, int]) -> None:
    assert tiles.parse_tile_path(path) == expected
    level, index, width = expected
    assert tiles.tile_path(level, index, width) == f"tile/{path}"


@pytest.mark.parametrize(
    "path",
    [
        "0/1234",  # not split into groups of three
        "0/x000/001",  # a leading zero group
        "0/001.p/256",  # a partial tile cannot be full width
        "0/001.p/0",  # nor empty
        "x/001",  # level is not a number
        "0/abc",  # index is not digits
    ],
)
def test_bad_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        tiles.parse_tile_path(path)
