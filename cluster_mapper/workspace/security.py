"""Who may do what: accounts with argon2 password hashes, roles, sessions and CSRF tokens.

Without accounts the workspace has one local user (a manager) and may only
listen on the loopback address (:func:`check_listen`). Once an account
exists, everyone signs in. Every request that changes something carries the
session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf_token``);
``GET /api/session`` hands it out.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from cluster_mapper.workspace.db import ROLES, Store, User

_hasher = PasswordHasher()
#: Shortest password accepted for an account.
MIN_PASSWORD_LENGTH = 10
#: Methods that change nothing (no CSRF token needed).
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Who:
    """The user of a request: name and role."""

    username: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this user has ``role`` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


#: The one user of a workspace without accounts (loopback only).
LOCAL_USER = Who("local", "manager")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(store: Store, username: str, password: str, role: str) -> list[str]:
    """Add an account; the problems that refused it (empty when added)."""
    problems = []
    if role not in ROLES:
        problems.append(f"unknown role '{role}': use one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"the password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}.")
    if not username.strip() or len(username) > 80:
        problems.append("give a user name of 1 to 80 characters.")
    with store.session() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            problems.append(f"user '{username}' exists already; choose another name.")
        if problems:
            return problems
        s.add(User(username=username, password_hash=hash_password(password), role=role))
        s.commit()
    return []


def authenticate(store: Store, username: str, password: str) -> Who | None:
    """The user with this name and password, or ``None``."""
    with store.session() as s:
        u = s.scalar(select(User).where(User.username == username))
        if u is None:
            verify_password(hash_password("timing"), password)  # same work whether or not the name exists
            return None
        return Who(u.username, u.role) if verify_password(u.password_hash, password) else None


def csrf_token(session: dict) -> str:
    """The session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csrf_ok(session: dict, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token."""
    want = session.get("csrf")
    return bool(want and sent and hmac.compare_digest(str(want), str(sent)))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, store: Store) -> str | None:
    """Why the server may not listen on ``host`` (``None`` when it may).

    Off the loopback address the workspace needs accounts, among them an
    administrator (a manager).
    """
    if is_loopback(host) or store.has_manager():
        return None
    return (
        f"refusing to listen on {host} without accounts: anyone on the network could change plans. "
        "Add an administrator first: cluster-mapper serve --add-user NAME --role manager (asks for a password), "
        "then start again; or listen on 127.0.0.1 only."
    )


def secret_key(folder: Path) -> str:
    """The workspace's session signing key, kept in ``folder/secret_key`` (made once, readable by its owner only)."""
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


__all__ = [
    "Who",
    "LOCAL_USER",
    "hash_password",
    "verify_password",
    "add_user",
    "authenticate",
    "csrf_token",
    "csrf_ok",
    "is_loopback",
    "check_listen",
    "secret_key",
    "SAFE_METHODS",
    "MIN_PASSWORD_LENGTH",
]
