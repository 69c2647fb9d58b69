"""Accounts: sign-in with argon2 hashes and per-account throttling, language, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.errors import SignInError
from workflows.models import ApiToken, User

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
TOKEN_PREFIX = "ioc_"
_HASHER = PasswordHasher()
# Verified against when the username is unknown, so both answers take the same time.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _HASHER.hash(password)


def token_digest(token: str) -> str:
    """What is stored of an API token: its sha256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountService:
    """Signing in, languages and machine tokens; knows nothing of HTTP."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def authenticate(self, username: str, password: str) -> User:
        """The user whose password this is, or SignInError (locked after repeated failures)."""
        now = self.clock.now()
        user = self.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
        if user is None or not user.active or not user.password_hash:
            _verify(_DUMMY_HASH, password or "")
            raise SignInError(t("wrong username or password"))
        if user.locked_until is not None and user.locked_until > now:
            minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
            raise SignInError(t("too many failed sign-ins: this account is locked for %(minutes)s more minutes",
                                minutes=minutes))
        if not _verify(user.password_hash, password or ""):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
            self.session.commit()
            raise SignInError(t("wrong username or password"))
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        self.session.commit()
        return user

    def set_language(self, user_id: int, language: str) -> None:
        """Remember the interface language a user chose (vi or en)."""
        if language not in ("vi", "en"):
            raise ValueError(t("language must be vi or en"))
        user = self.session.get(User, user_id)
        if user is not None:
            user.language = language
            self.session.commit()

    def issue_token(self, user_id: int, name: str) -> str:
        """A new API token for a user; the plain token is shown once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.session.add(ApiToken(user_id=user_id, name=(name or "api")[:120], token_sha256=token_digest(token),
                                  created_at=self.clock.now()))
        self.session.commit()
        return token

    def user_for_token(self, token: str) -> User | None:
        """The active user of a valid, unrevoked token, or None."""
        if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token),
                                                         ApiToken.revoked_at.is_(None)))
        if row is None or not row.user.active:
            return None
        now = self.clock.now()
        # Remembered to the minute or so: a write per request would cost every API read a commit.
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
            row.last_used_at = now
            self.session.commit()
        return row.user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
