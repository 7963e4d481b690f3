"""The regulatory catalogue as shipped, and what loading a broken copy of it says.

The shipped catalogue must load, cite a source for every rule and map products only to services
of the regime that defines them. A broken copy (the data folder copied into ``tmp_path`` with one
file corrupted) must fail with a ``CatalogueError`` naming the file, the line and the field, so
that whoever edits the data finds the mistake at once.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from assay.errors import ExitCode, InvalidInput
from assay.regulation.loader import DATA_DIR, CatalogueError, load_catalogue
from assay.regulation.model import PRODUCTS, Catalogue

REGIMES = (
    "hk-sfc",
    "jp-fsa",
    "mica",
    "mifid",
    "sanctions",
    "sg-psa",
    "tfr",
    "uk-fca",
    "us",
    "vara",
)


def test_the_shipped_catalogue_loads_with_its_version_and_ten_regimes(catalogue: Catalogue) -> None:
    assert catalogue.version == yaml.safe_load((DATA_DIR / "catalogue.yaml").read_text())["version"]
    assert len(catalogue.digest) == 64
    assert tuple(sorted(catalogue.regimes)) == REGIMES
    assert {"eu", "eea"} <= set(catalogue.groups)
    # The zones and subdivisions decisions need are there, under their parents.
    assert catalogue.jurisdictions["AE-DU-DIFC"].parent == "AE-DU"
    assert catalogue.jurisdictions["UA-40"].parent == "UA"
    assert catalogue.jurisdictions["AE"].subdivisions_required


def test_loading_is_a_pure_function_of_the_files(catalogue: Catalogue) -> None:
    assert load_catalogue().digest == catalogue.digest


@pytest.mark.parametrize("regime", [pytest.param(code, id=code) for code in REGIMES])
def test_every_rule_cites_an_instrument_and_an_article_and_says_how_sure_it_is(
    catalogue: Catalogue, regime: str
) -> None:
    # One case per regime file; each rule needs its source and an explicit confidence mark.
    raw = yaml.safe_load((DATA_DIR / "regimes" / f"{regime}.yaml").read_text())
    for rule, written in zip(catalogue.regimes[regime].rules, raw.get("rules", []), strict=True):
        assert len(rule.basis.instrument.strip()) >= 3, rule.id
        assert rule.basis.article.strip(), rule.id
        assert written.get("confidence") in {"verified", "unverified"}, rule.id


@pytest.mark.parametrize("regime", [pytest.param(code, id=code) for code in REGIMES])
def test_every_regime_maps_products_only_to_its_own_services(
    catalogue: Catalogue, regime: str
) -> None:
    # One case per regime file: a licence must hold one of the named services to offer a product.
    found = catalogue.regimes[regime]
    services = {s.code for s in found.services}
    for product, needed in found.products.items():
        assert product in PRODUCTS
        assert needed, product
        assert set(needed) <= services, product
    for service in found.services:
        assert service.basis.article.strip(), service.code
    for licence_type in found.licence_types:
        assert licence_type.basis.article.strip(), licence_type.code


def test_rule_ids_are_unique_across_the_catalogue(catalogue: Catalogue) -> None:
    ids = [rule.id for regime in catalogue.regimes.values() for rule in regime.rules]
    assert len(ids) == len(set(ids))


def test_a_catalogue_error_is_invalid_input_with_exit_code_2() -> None:
    assert issubclass(CatalogueError, InvalidInput)
    assert CatalogueError.exit_code == ExitCode.INVALID_INPUT
    assert int(CatalogueError.exit_code) == 2
    assert CatalogueError.code == "catalogue-invalid"


# --- broken copies -----------------------------------------------------------------------------


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> tuple[Path, str]:
    """A copy of the data folder with ``old`` replaced by ``new`` (once) in ``file``."""
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur exactly once in {file}"
    corrupted = text.replace(old, new)
    path.write_text(corrupted, encoding="utf-8")
    return folder, corrupted


def line_of(text: str, fragment: str) -> int:
    """The 1-based line on which ``fragment`` starts in ``text``."""
    return text[: text.index(fragment)].count("\n") + 1


def rule_index(file: str, rule_id: str) -> int:
    """The position of a rule in its regime file's ``rules`` list."""
    raw = yaml.safe_load((DATA_DIR / file).read_text(encoding="utf-8"))
    return [r["id"] for r in raw["rules"]].index(rule_id)


def load_error(folder: Path) -> CatalogueError:
    """The error loading ``folder`` fails with (and it must fail with a CatalogueError)."""
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(folder)
    return caught.value


class Broken(NamedTuple):
    """One corruption: in ``file`` replace ``old`` by ``new``; the error names the line where
    ``at`` starts, the ``field`` (``{rule-id}`` stands for that rule's index) and ``says``."""

    file: str
    old: str
    new: str
    at: str
    field: str
    says: str


@pytest.mark.parametrize(
    "case",
    [
        # A rule without its legal basis: the line of the rule, the field rules[i].basis.
        pytest.param(
            Broken(
                "regimes/mica.yaml",
                '    basis: {instrument: Regulation (EU) 2023/1114 (MiCA), article: "Art 81(1)"}\n',
                "",
                "- id: mica.suitability",
                "rules[{mica.suitability}].basis",
                "Field required",
            ),
            id="rule-without-basis",
        ),
        # A territory naming a jurisdiction the catalogue does not know.
        pytest.param(
            Broken(
                "regimes/sg-psa.yaml",
                "territory: {codes: [SG]}",
                "territory: {codes: [XX]}",
                "territory: {codes: [XX]}",
                "territory.codes[0]",
                "unknown jurisdiction XX",
            ),
            id="unknown-jurisdiction-in-territory",
        ),
        # A product mapped to a service the regime does not define (a typo of dpt).
        pytest.param(
            Broken(
                "regimes/sg-psa.yaml",
                "  spot: [dpt]",
                "  spot: [dtp]",
                "  spot: [dtp]",
                "products.spot[0]",
                "service 'dtp' is not one of the regime's services",
            ),
            id="product-mapped-to-unknown-service",
        ),
        # Norway unquoted in a list: YAML 1.1 reads NO as false, and the field says so.
        pytest.param(
            Broken(
                "regimes/sg-psa.yaml",
                "territory: {codes: [SG]}",
                "territory: {codes: [NO]}",
                "territory: {codes: [NO]}",
                "territory.codes[0]",
                "(got False)",
            ),
            id="NO-unquoted-in-a-list",
        ),
        # A leverage cap without its value (the loader's own cross-check).
        pytest.param(
            Broken(
                "regimes/mifid.yaml",
                "obligation: {code: leverage-cap, value: 2}",
                "obligation: {code: leverage-cap}",
                "obligation: {code: leverage-cap}",
                "rules[{mifid.cfd-leverage}].obligation.value",
                "this obligation needs a value",
            ),
            id="leverage-cap-without-value",
        ),
    ],
)
def test_a_broken_regime_file_is_refused_naming_file_line_and_field(
    tmp_path: Path, case: Broken
) -> None:
    folder, corrupted = broken_copy(tmp_path, case.file, case.old, case.new)
    field = case.field
    if "{" in field:
        rule_id = field[field.index("{") + 1 : field.index("}")]
        field = field.replace(f"{{{rule_id}}}", str(rule_index(case.file, rule_id)))
    error = load_error(folder)
    assert f"{case.file}:{line_of(corrupted, case.at)}: {field}: " in error.message
    assert case.says in error.message
    assert error.field == field


def test_bad_yaml_syntax_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    folder, corrupted = broken_copy(
        tmp_path, "regimes/mica.yaml", "  spot: [b, c, d, e]", "  spot: b: c"
    )
    error = load_error(folder)
    assert f"regimes/mica.yaml:{line_of(corrupted, 'spot: b: c')}: not valid YAML" in error.message


def test_norway_unquoted_in_jurisdictions_is_refused_naming_the_code_field(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare NO as false: the jurisdiction's code is then not a string.
    folder, corrupted = broken_copy(
        tmp_path, "jurisdictions.yaml", '{code: "NO", name: "Norway"', '{code: NO, name: "Norway"'
    )
    raw = yaml.safe_load((DATA_DIR / "jurisdictions.yaml").read_text(encoding="utf-8"))
    index = [j["code"] for j in raw["jurisdictions"]].index("NO")
    error = load_error(folder)
    line = line_of(corrupted, "{code: NO,")
    assert f"jurisdictions.yaml:{line}: jurisdictions[{index}].code: " in error.message
    assert "(got False)" in error.message


def test_norway_unquoted_as_a_transition_key_is_refused_at_its_own_line(tmp_path: Path) -> None:
    # MiCA Art 143(3) end dates are keyed by state; a bare NO key is read as false. The error must
    # point at the line of that key and name the transition's ends, not the first entry's line.
    folder, corrupted = broken_copy(
        tmp_path, "regimes/mica.yaml", '"NO": 2025-12-30', "NO: 2025-12-30"
    )
    error = load_error(folder)
    line = line_of(corrupted, "NO: 2025-12-30")
    assert f"regimes/mica.yaml:{line}: transition.ends" in error.message
    assert "False" in error.message


def test_an_impossible_date_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    # 2025-13-01 looks like a YAML timestamp but has no 13th month.
    folder, corrupted = broken_copy(
        tmp_path,
        "regimes/sg-psa.yaml",
        "effective_from: 2024-10-04\n    confidence: verified\n  - id: sg.risk-awareness",
        "effective_from: 2025-13-01\n    confidence: verified\n  - id: sg.risk-awareness",
    )
    index = rule_index("regimes/sg-psa.yaml", "sg.staking-retail")
    error = load_error(folder)
    line = line_of(corrupted, "2025-13-01")
    assert f"regimes/sg-psa.yaml:{line}: rules[{index}].effective_from" in error.message


def test_a_duplicate_rule_id_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    # Decisions cite rule ids: two rules with one id would make a citation ambiguous.
    folder, corrupted = broken_copy(
        tmp_path,
        "regimes/tfr.yaml",
        "  - id: tfr.self-hosted\n",
        "  - id: tfr.travel-rule\n",
    )
    index = rule_index("regimes/tfr.yaml", "tfr.self-hosted")
    second = corrupted.index("id: tfr.travel-rule", corrupted.index("id: tfr.travel-rule") + 1)
    line = corrupted[:second].count("\n") + 1
    error = load_error(folder)
    assert f"regimes/tfr.yaml:{line}: rules[{index}].id" in error.message
    assert "tfr.travel-rule" in error.message
