"""API tokens: shown once, stored as digests, expiring, revocable, with last use recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from assay.errors import InvalidToken, NotFound, PermissionDenied
from assay.platform import tokens, users
from assay.platform.clock import FixedClock
from assay.platform.roles import Role
from assay.platform.runtime import Runtime
from assay.platform.tables import ApiToken
from tests.conftest import Seed, acting


def _ctx(runtime: Runtime, role: Role, uow):
    return runtime.context(uow, acting(runtime, role))


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        created = tokens.create_token(_ctx(runtime, Role.TREASURY, uow), name="por-job")
    assert created.token.startswith("assay_")
    assert created.prefix == created.token[:12]
    with runtime.db.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM api_tokens")))
    assert created.token not in dump
    assert tokens.digest(created.token) in dump
    with runtime.db.uow() as uow:
        listed = tokens.list_tokens(_ctx(runtime, Role.TREASURY, uow))
    assert [t.name for t in listed] == ["test", "por-job"]
    assert not hasattr(listed[0], "token")


def test_a_token_authenticates_as_its_user_and_records_last_use(
    runtime: Runtime, seed: Seed, clock: FixedClock
) -> None:
    with runtime.db.uow() as uow:
        principal = tokens.authenticate(runtime.context(uow), seed.tokens[Role.AUDITOR])
    assert (principal.name, principal.role, principal.via) == (
        Seed.email(Role.AUDITOR),
        Role.AUDITOR,
        "token",
    )
    with runtime.db.uow() as uow:
        row = uow.session.scalars(
            select(ApiToken).where(ApiToken.digest == tokens.digest(seed.tokens[Role.AUDITOR]))
        ).one()
    assert row.last_used_at == clock.now()


def test_an_expired_token_is_refused_with_its_expiry_date(
    runtime: Runtime, seed: Seed, clock: FixedClock
) -> None:
    clock.advance(days=366)
    with runtime.db.uow() as uow, pytest.raises(InvalidToken, match="expired on 2027-03-01"):
        tokens.authenticate(runtime.context(uow), seed.tokens[Role.VIEWER])


def test_a_revoked_token_stops_working_at_once(runtime: Runtime, seed: Seed) -> None:
    with runtime.db.uow() as uow:
        ctx = _ctx(runtime, Role.VIEWER, uow)
        (mine,) = tokens.list_tokens(ctx)
        revoked = tokens.revoke_token(ctx, mine.id)
    assert revoked.status == "revoked"
    with runtime.db.uow() as uow, pytest.raises(InvalidToken, match="was revoked"):
        tokens.authenticate(runtime.context(uow), seed.tokens[Role.VIEWER])


def test_a_disabled_users_tokens_stop_working(runtime: Runtime, seed: Seed) -> None:
    with runtime.db.uow() as uow:
        users.set_active(_ctx(runtime, Role.ADMIN, uow), Seed.email(Role.VIEWER), active=False)
    with runtime.db.uow() as uow, pytest.raises(InvalidToken, match="disabled user"):
        tokens.authenticate(runtime.context(uow), seed.tokens[Role.VIEWER])


@pytest.mark.parametrize(
    "raw",
    [
        "assay_not-a-real-token",  # well-formed but unknown
        "",  # empty
    ],
)
def test_an_unknown_token_is_refused(runtime: Runtime, raw: str) -> None:
    with runtime.db.uow() as uow, pytest.raises(InvalidToken, match="not known"):
        tokens.authenticate(runtime.context(uow), raw)


def test_only_admins_revoke_other_peoples_tokens(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        (viewers,) = tokens.list_tokens(_ctx(runtime, Role.VIEWER, uow))
    with runtime.db.uow() as uow, pytest.raises(PermissionDenied, match="belongs to another user"):
        tokens.revoke_token(_ctx(runtime, Role.COMPLIANCE, uow), viewers.id)
    with runtime.db.uow() as uow:
        assert tokens.revoke_token(_ctx(runtime, Role.ADMIN, uow), viewers.id).status == "revoked"


def test_revoking_an_unknown_token_is_not_found(runtime: Runtime) -> None:
    with runtime.db.uow() as uow, pytest.raises(NotFound, match="no API token with id 999"):
        tokens.revoke_token(_ctx(runtime, Role.ADMIN, uow), 999)


def test_admins_issue_tokens_to_service_users(runtime: Runtime) -> None:
    with runtime.db.uow() as uow:
        created = tokens.create_token(
            _ctx(runtime, Role.ADMIN, uow), name="onboarding", owner=Seed.email(Role.VIEWER)
        )
    assert created.user_email == Seed.email(Role.VIEWER)
    with runtime.db.uow() as uow, pytest.raises(PermissionDenied):
        tokens.create_token(
            _ctx(runtime, Role.COMPLIANCE, uow), name="x", owner=Seed.email(Role.VIEWER)
        )
