"""Users: added, listed, re-roled, disabled; every change checked and recorded, secrets never."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.platform import passwords, record, users
from assay.platform.context import Context
from assay.platform.roles import Role
from assay.platform.runtime import Runtime
from assay.platform.tables import User
from tests.conftest import Seed, acting


def test_adding_a_user_stores_an_argon2_hash_and_records_the_change(
    operator_ctx: Context,
) -> None:
    added = users.add_user(
        operator_ctx,
        email=" Nia@Example.COM ",
        name="Nia",
        role=Role.COMPLIANCE,
        password="a long enough password",
    )
    assert added.email == "nia@example.com"
    row = operator_ctx.session.scalars(select(User).where(User.id == added.id)).one()
    assert row.password_hash.startswith("$argon2id$")
    assert passwords.verify_password(row.password_hash, "a long enough password")
    event = record.list_events(operator_ctx, record.EventFilter(action_prefix="platform.user.add"))[
        0
    ]
    assert event.actor == "cli:operator"
    assert event.object_id == str(added.id)
    assert event.after == {
        "email": "nia@example.com",
        "name": "Nia",
        "role": "compliance",
        "active": True,
    }
    assert "argon2" not in str(event.after)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", "a long enough password", "email"),  # no @
        ("a@b", "a long enough password", "email"),  # no domain suffix
        ("new@example.com", "short", "password"),  # under 12 characters
    ],
)
def test_bad_user_input_names_the_field_and_stores_nothing(
    operator_ctx: Context, email: str, password: str, field: str
) -> None:
    count = len(users.list_users(operator_ctx))
    with pytest.raises(InvalidInput) as caught:
        users.add_user(operator_ctx, email=email, name="X", role=Role.VIEWER, password=password)
    assert caught.value.field == field
    assert len(users.list_users(operator_ctx)) == count


def test_a_duplicate_email_is_a_conflict_and_the_first_user_is_kept(
    operator_ctx: Context,
) -> None:
    with pytest.raises(Conflict, match="already exists"):
        users.add_user(
            operator_ctx,
            email=Seed.email(Role.VIEWER),
            name="Impostor",
            role=Role.ADMIN,
            password="another long password",
        )
    kept = users.get_user(operator_ctx, Seed.email(Role.VIEWER))
    assert (kept.name, kept.role) == ("Viewer", Role.VIEWER)


def test_unknown_role_lists_the_accepted_roles() -> None:
    with pytest.raises(InvalidInput, match="use one of: admin, auditor, compliance, security"):
        Role.parse("boss")


def test_role_changes_and_disabling_are_recorded_with_before_and_after(
    operator_ctx: Context,
) -> None:
    users.set_role(operator_ctx, Seed.email(Role.VIEWER), Role.AUDITOR)
    users.set_active(operator_ctx, Seed.email(Role.VIEWER), active=False)
    events = record.list_events(
        operator_ctx, record.EventFilter(action_prefix="platform.user.update")
    )
    assert [e.after["active"] for e in events if e.after] == [False, True]
    assert events[1].before is not None
    assert events[1].before["role"] == "viewer"
    assert events[1].after is not None
    assert events[1].after["role"] == "auditor"
    assert not users.get_user(operator_ctx, Seed.email(Role.VIEWER)).active


def test_unknown_user_is_not_found(operator_ctx: Context) -> None:
    with pytest.raises(NotFound, match=r"no user with email .ghost@example\.com."):
        users.set_role(operator_ctx, "ghost@example.com", Role.ADMIN)


def test_the_last_admin_cannot_be_demoted_or_disabled(operator_ctx: Context) -> None:
    with pytest.raises(Conflict, match="last active admin"):
        users.set_role(operator_ctx, Seed.email(Role.ADMIN), Role.VIEWER)
    with pytest.raises(Conflict, match="last active admin"):
        users.set_active(operator_ctx, Seed.email(Role.ADMIN), active=False)
    assert users.get_user(operator_ctx, Seed.email(Role.ADMIN)).role is Role.ADMIN


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_admins_change_users(runtime: Runtime, role: Role) -> None:
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, acting(runtime, role))
        with pytest.raises(PermissionDenied, match=r"platform\.users\.write"):
            users.set_role(ctx, Seed.email(Role.VIEWER), Role.ADMIN)


@pytest.mark.parametrize(("role", "allowed"), [(Role.AUDITOR, True), (Role.VIEWER, False)])
def test_auditors_may_list_users_viewers_may_not(
    runtime: Runtime, role: Role, allowed: bool
) -> None:
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, acting(runtime, role))
        if allowed:
            assert len(users.list_users(ctx)) == len(Role)
        else:
            with pytest.raises(PermissionDenied):
                users.list_users(ctx)
