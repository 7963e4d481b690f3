"""Pure fixtures for the access decision tests: the shipped catalogue, the demo register, an engine.

Nothing here touches a database: the catalogue is read from ``regulation/data``, the register from
the demo licence file, and every decision is a pure function of the two and the request.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assay.access.decision import Decision, parse_request
from assay.access.engine import Engine
from assay.access.licences import register_from_file
from assay.access.register import Register
from assay.access.service import DEMO_LICENCES
from assay.regulation.loader import load_catalogue
from assay.regulation.model import Catalogue


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The shipped regulatory catalogue."""
    return load_catalogue()


@pytest.fixture(scope="session")
def demo_register(catalogue: Catalogue) -> Register:
    """The demo group's four licences (MiCA CASP, MiFID II firm, VARA VASP, MAS MPI)."""
    return register_from_file(catalogue, DEMO_LICENCES, {})


@pytest.fixture(scope="session")
def engine(catalogue: Catalogue, demo_register: Register) -> Engine:
    """The compiled engine for the shipped catalogue and the demo register."""
    return Engine(catalogue, demo_register)


def ask(
    engine: Engine,
    jurisdiction: str,
    client: str,
    product: str,
    as_of: str | dt.date,
    **fields: object,
) -> Decision:
    """Ask ``engine`` one question, validated at the edge as the API and the CLI do."""
    request = parse_request(
        engine.catalogue,
        {
            "jurisdiction": jurisdiction,
            "client": client,
            "product": product,
            "as_of": as_of,
            **fields,
        },
        today=dt.date(2026, 3, 1),
    )
    return engine.decide(request)
