"""Use cases for users: add, list, change role, disable or enable, set a password.

Every change checks the actor's permission and goes through :func:`~assay.platform.record.record`.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from assay.errors import Conflict, InvalidInput, NotFound
from assay.platform import passwords
from assay.platform.context import Context
from assay.platform.record import ObjectRef, record
from assay.platform.roles import USERS_READ, USERS_WRITE, Role
from assay.platform.schemas import UserPublic, user_public
from assay.platform.tables import User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """The canonical (trimmed, lower-case) form of an email; InvalidInput if it is not one."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidInput(
            f"email {email!r} is not an email address (expected name@domain.tld)",
            field="email",
            value=email,
        )
    return value


def add_user(ctx: Context, *, email: str, name: str, role: Role, password: str) -> UserPublic:
    """Create a user; Conflict if the email is taken."""
    ctx.require(USERS_WRITE)
    address = normalise_email(email)
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name", value=name)
    passwords.check_strength(password)
    if _find(ctx, address) is not None:
        raise Conflict(
            f"a user with email {address!r} already exists", field="email", value=address
        )
    user = User(
        email=address,
        name=name.strip(),
        role=role.value,
        password_hash=passwords.hash_password(password),
        active=True,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(user)
    ctx.session.flush()
    public = user_public(user)
    record(ctx, "platform.user.add", ObjectRef("user", user.id), after=_audit_view(public))
    ctx.commit()
    return public


def list_users(ctx: Context) -> list[UserPublic]:
    """Every user, by email."""
    ctx.require(USERS_READ)
    return [user_public(u) for u in ctx.session.scalars(select(User).order_by(User.email))]


def get_user(ctx: Context, email: str) -> UserPublic:
    """The user with ``email``; NotFound otherwise."""
    ctx.require(USERS_READ)
    return user_public(_get(ctx, email))


def set_role(ctx: Context, email: str, role: Role) -> UserPublic:
    """Give a user another role (effective on their next request)."""
    return _update(ctx, _get(ctx, email), role=role, active=None)


def set_active(ctx: Context, email: str, *, active: bool) -> UserPublic:
    """Disable a user (their sessions and tokens stop working at once) or enable them again."""
    return _update(ctx, _get(ctx, email), role=None, active=active)


def update_user(
    ctx: Context, user_id: int, *, role: Role | None, active: bool | None
) -> UserPublic:
    """Change a user's role and/or active flag by id."""
    ctx.require(USERS_WRITE)
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}", field="user_id", value=user_id)
    return _update(ctx, user, role=role, active=active)


def set_password(ctx: Context, email: str, password: str) -> UserPublic:
    """Replace a user's password."""
    ctx.require(USERS_WRITE)
    user = _get(ctx, email)
    passwords.check_strength(password)
    user.password_hash = passwords.hash_password(password)
    record(ctx, "platform.user.set-password", ObjectRef("user", user.id))
    ctx.commit()
    return user_public(user)


def count_admins(ctx: Context) -> int:
    """How many active admins there are."""
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return ctx.session.scalar(query) or 0


def _update(ctx: Context, user: User, *, role: Role | None, active: bool | None) -> UserPublic:
    actor = ctx.require(USERS_WRITE)
    before = _audit_view(user_public(user))
    removes_admin = (
        user.role == Role.ADMIN
        and user.active
        and ((role is not None and role is not Role.ADMIN) or active is False)
    )
    if removes_admin and count_admins(ctx) <= 1:
        raise Conflict(
            f"{user.email} is the last active admin; make another admin first",
            field="email",
            value=user.email,
        )
    if actor.user_id == user.id and active is False:
        raise Conflict("you cannot disable yourself", field="email", value=user.email)
    if role is not None:
        user.role = role.value
    if active is not None:
        user.active = active
    after = _audit_view(user_public(user))
    if after != before:
        record(ctx, "platform.user.update", ObjectRef("user", user.id), before=before, after=after)
    ctx.commit()
    return user_public(user)


def _find(ctx: Context, address: str) -> User | None:
    return ctx.session.scalar(select(User).where(User.email == address))


def _get(ctx: Context, email: str) -> User:
    address = normalise_email(email)
    user = _find(ctx, address)
    if user is None:
        raise NotFound(f"no user with email {address!r}", field="email", value=address)
    return user


def _audit_view(user: UserPublic) -> dict[str, object]:
    return user.model_dump(include={"email", "name", "role", "active"}, mode="json")
