"""The catalogue's JSON Schema, published as ``docs/formats/catalogue.schema.json``.

One document with a definition per file kind: ``CatalogueHeader`` (catalogue.yaml),
``JurisdictionsFile`` (jurisdictions.yaml) and ``Regime`` (regimes/*.yaml). A test keeps the
published file equal to what the models say.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import models_json_schema

from assay.regulation.model import CatalogueHeader, Jurisdiction, Regime

SCHEMA_ID = "https://assay.dev/schemas/catalogue/1"


class JurisdictionsFile(BaseModel):
    """The shape of jurisdictions.yaml."""

    model_config = ConfigDict(extra="forbid")
    jurisdictions: list[Jurisdiction]


def catalogue_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the catalogue's three file kinds."""
    _, schema = models_json_schema(
        [
            (CatalogueHeader, "validation"),
            (JurisdictionsFile, "validation"),
            (Regime, "validation"),
        ],
        title="Assay regulatory catalogue",
        description="Files of an Assay regulatory catalogue folder: catalogue.yaml "
        "(CatalogueHeader), jurisdictions.yaml (JurisdictionsFile), regimes/*.yaml (Regime).",
    )
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
