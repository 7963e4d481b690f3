"""The error tree is a contract: unique stable codes, statuses, exit codes, all documented."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import assay
from assay.errors import AssayError, ExitCode, InvalidInput, error_classes

# Every module of the package, so that every error class is known whatever ran before.
for _module in pkgutil.walk_packages(assay.__path__, "assay."):
    if ".migrations." not in _module.name and not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_error_has_its_own_code() -> None:
    codes = [cls.code for cls in error_classes()]
    assert len(codes) == len(set(codes))


def test_every_error_maps_to_an_http_error_status_and_a_nonzero_exit_code() -> None:
    for cls in error_classes():
        assert 400 <= cls.status < 600, cls
        assert cls.exit_code != ExitCode.OK, cls


def test_not_one_of_lists_the_accepted_values() -> None:
    error = InvalidInput.not_one_of("role", "boss", ["viewer", "admin"])
    assert error.message == "role 'boss' is not accepted; use one of: admin, viewer"
    assert error.field == "role"
    assert error.details["accepted"] == ["admin", "viewer"]


@pytest.mark.parametrize("code", list(ExitCode))
def test_cli_docs_list_every_exit_code(code: ExitCode) -> None:
    text = (DOCS / "cli.md").read_text()
    assert f"| {code.value} | `{code.name}` |" in text


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.code)
def test_api_docs_list_every_problem_code(cls: type[AssayError]) -> None:
    text = (DOCS / "api.md").read_text()
    assert f"| `{cls.code}` | {cls.status} |" in text
