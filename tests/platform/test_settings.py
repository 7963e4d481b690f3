"""Settings: ASSAY_* variables and .env, safe defaults, refusal of unsafe secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.app import create_app
from assay.errors import ConfigurationError
from assay.settings import DEVELOPMENT_SECRET_KEY, Settings


def test_defaults_put_the_sqlite_database_in_the_local_data_folder() -> None:
    settings = Settings(_env_file=None)
    assert settings.data_dir == Path(".assay")
    assert settings.effective_database_url == "sqlite:///.assay/assay.db"
    assert settings.env == "production"


def test_settings_come_from_assay_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_PORT", "9123")
    monkeypatch.setenv("ASSAY_DATABASE_URL", "postgresql+psycopg://u@db/assay")
    settings = Settings(_env_file=None)
    assert settings.port == 9123
    assert settings.effective_database_url == "postgresql+psycopg://u@db/assay"


def test_settings_come_from_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ASSAY_ENV=development\nASSAY_DATA_DIR=/srv/assay\n")
    settings = Settings()
    assert settings.development
    assert settings.data_dir == Path("/srv/assay")


def test_a_bad_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_PORT", "99999")
    with pytest.raises(ValueError, match="port"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (None, "ASSAY_SECRET_KEY is not set"),  # missing
        (DEVELOPMENT_SECRET_KEY, "published development default"),  # the shipped default
        ("short", "fewer than 32"),  # too short to be a key
    ],
)
def test_production_refuses_to_start_without_a_real_secret(
    secret: str | None, expected: str
) -> None:
    settings = Settings(_env_file=None, env="production", secret_key=secret)
    with pytest.raises(ConfigurationError, match=expected) as caught:
        create_app(settings)
    assert caught.value.field == "ASSAY_SECRET_KEY"


def test_development_accepts_the_default_secret() -> None:
    Settings(_env_file=None, env="development").check()


def test_cookies_are_secure_outside_development_unless_told_otherwise() -> None:
    assert Settings(_env_file=None, env="production").secure_cookies
    assert not Settings(_env_file=None, env="development").secure_cookies
    assert not Settings(_env_file=None, env="production", cookie_secure=False).secure_cookies


def test_the_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"| `ASSAY_{name.upper()}` |" in readme, name
