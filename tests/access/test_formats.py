"""Published formats stay true: the catalogue's JSON Schema and the codes the docs explain."""

from __future__ import annotations

import json
from pathlib import Path

from assay.regulation.model import OBLIGATIONS, PRODUCTS, REASONS
from assay.regulation.schema import catalogue_schema

DOCS = Path(__file__).parents[2] / "docs" / "formats"


def test_the_published_catalogue_schema_is_what_the_models_say() -> None:
    published = json.loads((DOCS / "catalogue.schema.json").read_text())
    assert published == catalogue_schema(), (
        "docs/formats/catalogue.schema.json is stale: regenerate it with "
        "`assay access catalogue-schema > docs/formats/catalogue.schema.json`"
    )


def test_the_schema_describes_the_three_file_kinds() -> None:
    names = set(catalogue_schema()["$defs"])
    assert {"CatalogueHeader", "JurisdictionsFile", "Regime", "Rule"} <= names


def test_the_decision_format_explains_every_reason_obligation_and_product() -> None:
    text = (DOCS / "access-decision.md").read_text()
    for code in (*REASONS, *OBLIGATIONS, *PRODUCTS):
        assert f"`{code}`" in text, f"docs/formats/access-decision.md does not explain {code}"
