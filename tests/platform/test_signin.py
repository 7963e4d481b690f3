"""Signing in: sessions that expire, disabled users shut out, repeated failures locked out."""

from __future__ import annotations

import pytest

from assay.errors import InvalidCredentials, RateLimited
from assay.platform import record, signin, users
from assay.platform.clock import FixedClock
from assay.platform.roles import Role, system_principal
from assay.platform.runtime import Runtime
from tests.conftest import PASSWORD, Seed


def _sign_in(runtime: Runtime, email: str, password: str, address: str = "10.0.0.1"):
    with runtime.db.uow() as uow:
        return signin.sign_in(runtime.context(uow), email=email, password=password, address=address)


def _resume(runtime: Runtime, cookie: str):
    with runtime.db.uow() as uow:
        return signin.resume(runtime.context(uow), cookie)


def test_signing_in_opens_a_session_that_resumes_as_the_user(runtime: Runtime) -> None:
    done = _sign_in(runtime, Seed.email(Role.SECURITY).upper(), PASSWORD)
    principal = _resume(runtime, done.cookie)
    assert principal is not None
    assert (principal.name, principal.role) == (Seed.email(Role.SECURITY), Role.SECURITY)


@pytest.mark.parametrize(
    ("email", "password"),
    [
        (Seed.email(Role.VIEWER), "wrong password!"),  # known user, wrong password
        ("nobody@test.example", PASSWORD),  # unknown user: same answer, no hint who exists
    ],
)
def test_wrong_credentials_get_one_message(runtime: Runtime, email: str, password: str) -> None:
    with pytest.raises(InvalidCredentials, match=r"^wrong email or password$"):
        _sign_in(runtime, email, password)


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    runtime: Runtime, clock: FixedClock
) -> None:
    email = Seed.email(Role.VIEWER)
    for _ in range(runtime.settings.signin_max_failures):
        with pytest.raises(InvalidCredentials):
            _sign_in(runtime, email, "guess guess guess")
    with pytest.raises(RateLimited, match="try again in 15 minute") as caught:
        _sign_in(runtime, email, PASSWORD)
    assert caught.value.details["retry_after"] == 15 * 60
    with runtime.db.uow() as uow:
        ctx = runtime.context(uow, system_principal("t"))
        locks = record.list_events(ctx, record.EventFilter(action_prefix="platform.signin.locked"))
    assert [e.object_id for e in locks] == [f"account:{email}"]
    clock.advance(minutes=15)
    assert _resume(runtime, _sign_in(runtime, email, PASSWORD).cookie) is not None


def test_one_address_guessing_many_accounts_is_locked_out(runtime: Runtime) -> None:
    limit = runtime.settings.signin_max_failures * signin.ADDRESS_LIMIT_FACTOR
    for attempt in range(limit):
        with pytest.raises(InvalidCredentials):
            _sign_in(runtime, f"user{attempt}@test.example", "guess guess guess", "10.9.9.9")
    with pytest.raises(RateLimited):
        _sign_in(runtime, Seed.email(Role.ADMIN), PASSWORD, "10.9.9.9")
    # Another address is not affected.
    assert _sign_in(runtime, Seed.email(Role.ADMIN), PASSWORD, "10.1.1.1").cookie


def test_sessions_end_after_their_lifetime_and_after_idling(
    runtime: Runtime, clock: FixedClock
) -> None:
    first = _sign_in(runtime, Seed.email(Role.VIEWER), PASSWORD)
    clock.advance(minutes=runtime.settings.session_idle_minutes)
    assert _resume(runtime, first.cookie) is None
    second = _sign_in(runtime, Seed.email(Role.VIEWER), PASSWORD)
    for _ in range(int(runtime.settings.session_hours)):
        clock.advance(minutes=59)
        assert _resume(runtime, second.cookie) is not None
    clock.advance(hours=1)
    assert _resume(runtime, second.cookie) is None


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(runtime: Runtime) -> None:
    done = _sign_in(runtime, Seed.email(Role.VIEWER), PASSWORD)
    with runtime.db.uow() as uow:
        users.set_active(
            runtime.context(uow, system_principal("t")), Seed.email(Role.VIEWER), active=False
        )
    assert _resume(runtime, done.cookie) is None
    with pytest.raises(InvalidCredentials, match="disabled"):
        _sign_in(runtime, Seed.email(Role.VIEWER), PASSWORD)


def test_signing_out_ends_the_session(runtime: Runtime) -> None:
    done = _sign_in(runtime, Seed.email(Role.VIEWER), PASSWORD)
    with runtime.db.uow() as uow:
        signin.sign_out(runtime.context(uow, done.principal), done.cookie)
    assert _resume(runtime, done.cookie) is None
