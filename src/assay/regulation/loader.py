"""Loading the catalogue: YAML files in, a cross-checked :class:`Catalogue` out.

Every error names the file, the line and the field at fault (``regimes/mica.yaml:42: rules[3].
basis.article: ...``), so whoever edits the data finds the mistake at once. Loading is a pure
function of the files; it caches nothing and touches no database.

Layout of a catalogue folder::

    catalogue.yaml      version, review date, jurisdiction groups
    jurisdictions.yaml  every jurisdiction with its group memberships
    regimes/*.yaml      one regime per file
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from assay.errors import InvalidInput
from assay.regulation.model import (
    Area,
    Catalogue,
    CatalogueHeader,
    Jurisdiction,
    Regime,
    Rule,
)

DATA_DIR = Path(__file__).parent / "data"


class _Loader(yaml.SafeLoader):
    """The safe loader, minus timestamps: dates stay text for pydantic to check with a field."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
M = TypeVar("M", bound=BaseModel)


class CatalogueError(InvalidInput):
    """A catalogue file is not valid; the message names the file, line and field."""

    code = "catalogue-invalid"
    title = "Invalid regulatory catalogue"


def load_catalogue(folder: Path = DATA_DIR) -> Catalogue:
    """Read, validate and cross-check the catalogue in ``folder``."""
    header = _load(folder / "catalogue.yaml", CatalogueHeader)
    jurisdictions_path = folder / "jurisdictions.yaml"
    raw_jurisdictions, root = _read(jurisdictions_path)
    if not isinstance(raw_jurisdictions, dict) or "jurisdictions" not in raw_jurisdictions:
        raise CatalogueError(
            f"{_rel(jurisdictions_path)}:1: expected a mapping with a 'jurisdictions' list",
            field="jurisdictions",
        )
    jurisdictions: dict[str, Jurisdiction] = {}
    for i, item in enumerate(raw_jurisdictions["jurisdictions"] or []):
        j = _validate(Jurisdiction, item, jurisdictions_path, root, ("jurisdictions", i))
        if j.code in jurisdictions:
            _fail(jurisdictions_path, root, ("jurisdictions", i, "code"), f"{j.code} is repeated")
        jurisdictions[j.code] = j
    regimes: dict[str, Regime] = {}
    regime_files = sorted((folder / "regimes").glob("*.yaml"))
    if not regime_files:
        raise CatalogueError(f"{_rel(folder / 'regimes')}: no regime files", field="regimes")
    for path in regime_files:
        data, node = _read(path)
        regime = _validate(Regime, data, path, node, ())
        if regime.code in regimes:
            _fail(path, node, ("code",), f"regime {regime.code} is defined twice")
        _check_regime(regime, header, jurisdictions, path, node)
        regimes[regime.code] = regime
    _check_jurisdictions(jurisdictions, header, jurisdictions_path, root)
    _check_rule_ids(regimes)
    body = {
        "version": header.version,
        "reviewed_on": header.reviewed_on.isoformat(),
        "groups": header.groups,
        "jurisdictions": [j.model_dump(mode="json") for j in jurisdictions.values()],
        "regimes": [r.model_dump(mode="json") for r in regimes.values()],
    }
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return Catalogue(
        version=header.version,
        digest=digest,
        reviewed_on=header.reviewed_on,
        groups=dict(header.groups),
        jurisdictions=jurisdictions,
        regimes=regimes,
    )


# --- cross-checks: what one model cannot see on its own ----------------------------------------


def _check_jurisdictions(
    jurisdictions: dict[str, Jurisdiction], header: CatalogueHeader, path: Path, root: yaml.Node
) -> None:
    for i, j in enumerate(jurisdictions.values()):
        if j.parent is not None and j.parent not in jurisdictions:
            _fail(path, root, ("jurisdictions", i, "parent"), f"unknown jurisdiction {j.parent}")
        if j.parent is not None and not j.code.startswith(j.parent + "-"):
            _fail(path, root, ("jurisdictions", i, "code"), f"{j.code} must start with {j.parent}-")
        if j.parent is None and "-" in j.code:
            _fail(path, root, ("jurisdictions", i, "parent"), f"{j.code} needs its parent")
        for k, m in enumerate(j.memberships):
            if m.group not in header.groups:
                _fail(
                    path,
                    root,
                    ("jurisdictions", i, "memberships", k, "group"),
                    f"unknown group {m.group!r}; catalogue.yaml defines {sorted(header.groups)}",
                )


def _check_regime(
    regime: Regime,
    header: CatalogueHeader,
    jurisdictions: dict[str, Jurisdiction],
    path: Path,
    node: yaml.Node,
) -> None:
    def area(a: Area, where: tuple[str | int, ...]) -> None:
        _check_area(
            a, header=header, jurisdictions=jurisdictions, path=path, node=node, where=where
        )

    area(regime.territory, ("territory",))
    services = {s.code for s in regime.services}
    for product, needed in regime.products.items():
        for k, code in enumerate(needed):
            if code not in services:
                _fail(
                    path,
                    node,
                    ("products", product, k),
                    f"service {code!r} is not one of the regime's services {sorted(services)}",
                )
    for i, lt in enumerate(regime.licence_types):
        if lt.passport is not None:
            area(lt.passport.area, ("licence_types", i, "passport", "area"))
    _check_licence_types(regime, services, path, node)
    if regime.transition is not None:
        for code in regime.transition.ends:
            if code not in jurisdictions:
                _fail(path, node, ("transition", "ends", code), f"unknown jurisdiction {code}")
    seen: set[str] = set()
    for i, rule in enumerate(regime.rules):
        if rule.id in seen:
            _fail(path, node, ("rules", i, "id"), f"rule id {rule.id!r} is used twice")
        seen.add(rule.id)
        if rule.where is not None:
            area(rule.where, ("rules", i, "where"))
        _check_rule(rule, path, node, ("rules", i))


def _check_licence_types(regime: Regime, services: set[str], path: Path, node: yaml.Node) -> None:
    for i, lt in enumerate(regime.licence_types):
        for k, code in enumerate(lt.services):
            if code not in services:
                _fail(path, node, ("licence_types", i, "services", k), f"unknown service {code!r}")
        if lt.transitional and regime.transition is None:
            _fail(path, node, ("licence_types", i, "transitional"), "the regime has no transition")


def _check_area(
    a: Area,
    *,
    header: CatalogueHeader,
    jurisdictions: dict[str, Jurisdiction],
    path: Path,
    node: yaml.Node,
    where: tuple[str | int, ...],
) -> None:
    for field in ("codes", "exclude"):
        for k, code in enumerate(getattr(a, field)):
            if code not in jurisdictions:
                _fail(path, node, (*where, field, k), f"unknown jurisdiction {code}")
    for k, group in enumerate(a.groups):
        if group not in header.groups:
            _fail(path, node, (*where, "groups", k), f"unknown group {group!r}")


def _check_rule(rule: Rule, path: Path, node: yaml.Node, where: tuple[str | int, ...]) -> None:
    """The checks one rule needs beyond its own model (pydantic cannot see the kind)."""
    if rule.kind == "obligation" and rule.obligation is None:
        _fail(path, node, (*where, "obligation"), "an obligation rule needs an obligation")
    if rule.kind != "obligation" and rule.obligation is not None:
        _fail(path, node, (*where, "obligation"), f"a {rule.kind} carries no obligation")
    if rule.kind == "condition" and rule.requires is None:
        _fail(path, node, (*where, "requires"), "a condition names the approval it requires")
    if rule.effective_until is not None and rule.effective_until <= rule.effective_from:
        _fail(path, node, (*where, "effective_until"), "must be after effective_from")
    valued = ("leverage-cap", "travel-rule")
    if rule.obligation and rule.obligation.code in valued and rule.obligation.value is None:
        _fail(path, node, (*where, "obligation", "value"), "this obligation needs a value")


def _check_rule_ids(regimes: dict[str, Regime]) -> None:
    seen: dict[str, str] = {}
    for regime in regimes.values():
        for rule in regime.rules:
            if rule.id in seen:
                raise CatalogueError(
                    f"rule id {rule.id!r} is used by regimes {seen[rule.id]} and {regime.code}",
                    field="rules.id",
                    value=rule.id,
                )
            seen[rule.id] = regime.code


# --- YAML with line numbers --------------------------------------------------------------------


def _read(path: Path) -> tuple[Any, yaml.Node]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"{_rel(path)}: cannot be read: {exc}", field=str(path)) from exc
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogueError(f"{_rel(path)}{line}: not valid YAML: {exc}", field=str(path)) from exc
    if node is None:
        raise CatalogueError(f"{_rel(path)}:1: the file is empty", field=str(path))
    return data, node


def _load(path: Path, model: type[M]) -> M:
    data, node = _read(path)
    return _validate(model, data, path, node, ())


def _validate(
    model: type[M], data: Any, path: Path, root: yaml.Node, where: tuple[str | int, ...]
) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = (*where, *error["loc"])
        _fail(path, root, loc, f"{error['msg']} (got {error.get('input')!r})")
        raise AssertionError("unreachable") from exc  # pragma: no cover


def _fail(path: Path, root: yaml.Node, loc: tuple[str | int, ...], message: str) -> None:
    shown = [p for p in loc if p != "[key]"]
    field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in shown).replace(".[", "[")
    line = _line(root, loc)
    raise CatalogueError(f"{_rel(path)}:{line}: {field}: {message}", field=field, line=line)


def _line(node: yaml.Node, loc: tuple[str | int, ...]) -> int:
    """The line of the deepest node of ``loc`` that exists in the YAML tree (1-based)."""
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part) or _resolved(key) == part:
                    child = value
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _resolved(key: yaml.Node) -> object:
    """What YAML makes of a plain key (``NO`` is false), to find keys pydantic reports."""
    if not isinstance(key, yaml.ScalarNode) or key.style is not None:
        return key.value
    return yaml.load(key.value, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(DATA_DIR.parent))
    except ValueError:
        return str(path)
