"""A proof-of-reserves round as the treasury states it: the round file, and the errors of rounds.

A round is fixed before its liabilities are read: an id, a snapshot time, the assets with their
decimals (the round file, ``assay-por-round/1``: :class:`RoundSpec`; the layout is
docs/formats/reserves-round.md). :func:`read_round_file` and :func:`parse_round_spec` read it
from a file or parsed data, :func:`asset_from_text` from a command option or a form field;
:class:`FileDigest` names a file a round was made from. The errors the round use cases raise (a
refused liabilities file, a round that exists, is published or whose folder is damaged) are
defined here, each with its stable code.

It never reads a liabilities file, never touches a round folder or the database.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from assay.errors import Conflict, ExitCode, InvalidInput
from assay.reserves import layout
from assay.reserves.liabilities import AssetSpec

ROUND_FORMAT: Literal["assay-por-round/1"] = "assay-por-round/1"
_ROUND_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class LiabilitiesRejected(InvalidInput):
    """The liabilities file was refused; ``problems`` name each line, column and reason."""

    code = "liabilities-rejected"
    title = "Liabilities file rejected"


class RoundFileInvalid(InvalidInput):
    """The round file (id, snapshot time, assets) is not valid."""

    code = "round-file-invalid"
    title = "Invalid round file"


class RoundExists(Conflict):
    """A round with this id is already built (discard it first)."""

    code = "round-exists"
    title = "Round already exists"


class RoundPublished(Conflict):
    """The round is published, hence immutable: no rebuild, no discard."""

    code = "round-published"
    title = "Round is published"


class RoundDamaged(Conflict):
    """The round's folder is missing or does not match its row (run ``assay reserves audit``)."""

    code = "round-damaged"
    title = "Round folder damaged"
    exit_code = ExitCode.VERIFICATION_FAILED


# --- the round file -----------------------------------------------------------------------------


class AssetIn(BaseModel):
    """An asset of the round file: code, decimals, whether accounts may owe it."""

    model_config = ConfigDict(extra="forbid")
    code: str
    decimals: int = Field(ge=0, le=18)
    debt_allowed: bool = False


class RoundSpec(BaseModel):
    """The round file, ``assay-por-round/1``: what is fixed before the liabilities are read."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["assay-por-round/1"] = ROUND_FORMAT
    id: str
    snapshot_at: AwareDatetime
    capacity: int | None = Field(default=None, ge=1, le=layout.MAX_CAPACITY)
    assets: list[AssetIn] = Field(min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        value = value.isoformat() if isinstance(value, dt.date) else value
        if isinstance(value, str) and not _ROUND_ID.fullmatch(value):
            raise ValueError(
                "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        return value

    def asset_specs(self) -> tuple[AssetSpec, ...]:
        """The assets as the liabilities reader takes them (codes checked there)."""
        try:
            specs = tuple(AssetSpec(a.code, a.decimals, a.debt_allowed) for a in self.assets)
        except InvalidInput as exc:
            raise RoundFileInvalid(exc.message, field=exc.field, value=exc.value) from exc
        codes = [a.code for a in specs]
        if len(set(codes)) != len(codes):
            twice = next(c for c in codes if codes.count(c) > 1)
            raise RoundFileInvalid(f"asset {twice} is listed twice", field="assets", value=twice)
        return specs


def parse_round_spec(data: Any, *, source: str = "round file") -> RoundSpec:
    """A round spec from parsed YAML/JSON; RoundFileInvalid naming the field at fault."""
    try:
        spec = RoundSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "round"
        raise RoundFileInvalid(
            f"{source}: {where}: {error['msg']}", field=where, value=error.get("input")
        ) from exc
    spec.asset_specs()
    return spec


def asset_from_text(text: str, field: str = "--asset") -> dict[str, Any]:
    """An asset written ``CODE:DECIMALS`` or ``CODE:DECIMALS:debt`` (a command option, a form)."""
    parts = text.strip().split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit() or parts[2:] not in ([], ["debt"]):
        raise RoundFileInvalid(
            f"{field} {text!r}: write CODE:DECIMALS or CODE:DECIMALS:debt (e.g. USDT:6:debt)",
            field=field,
            value=text,
        )
    return {"code": parts[0], "decimals": int(parts[1]), "debt_allowed": len(parts) == 3}


def read_round_file(text: str | bytes, *, source: str = "round file") -> RoundSpec:
    """A round spec from the text of a YAML or JSON round file."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RoundFileInvalid(f"{source}: not YAML or JSON: {exc}", field="round") from exc
    if not isinstance(data, dict):
        raise RoundFileInvalid(f"{source}: expected a mapping of fields", field="round")
    return parse_round_spec(data, source=source)


class FileDigest(BaseModel):
    """A file the round was made from: its name where it came from, its SHA-256."""

    model_config = ConfigDict(extra="forbid")
    source: str
    sha256: str
