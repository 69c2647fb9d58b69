"""Accounts: sign-in with argon2 hashes and per-account throttling, language, API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.admin.audit import Target, record
from workflows.errors import IntakeError, SignInError
from workflows.models import AdminUnit, ApiToken, User, UserRole

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
TOKEN_PREFIX = "ioc_"
MIN_PASSWORD = 10
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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
        # One answer, after one argon2 verification, for an unknown name, a disabled or locked account and a
        # wrong password: telling "locked" apart would show which usernames exist.
        refused = SignInError(t("Wrong username or password; after %(n)s failures in a row an account is locked "
                                "for %(minutes)s minutes", n=MAX_FAILED_LOGINS, minutes=LOCK_MINUTES))
        if user is None or not user.active or not user.password_hash:
            _verify(_DUMMY_HASH, password or "")
            raise refused
        right = _verify(user.password_hash, password or "")
        if user.locked_until is not None and user.locked_until > now:
            raise refused
        if not right:
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
            self.session.commit()
            raise refused
        if _HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        self.session.commit()
        return user

    def register_citizen(self, username: str, full_name: str, email: str, password: str, password_again: str,
                         province: str = "DLK") -> User:
        """A citizen's own account (role citizen in the province); IntakeError says which field to fix."""
        username = (username or "").strip().lower()
        full_name, email = (full_name or "").strip(), (email or "").strip()
        errors = {}
        if not _USERNAME.match(username):
            errors["username"] = t("3 to 40 lower-case letters, digits, dots, dashes or underscores, e.g. nguyen.van.a")
        elif self.session.scalar(select(User.id).where(User.username == username)) is not None:
            errors["username"] = t("this username is taken; choose another")
        if not full_name:
            errors["full_name"] = t("required")
        elif len(full_name) > 255:
            errors["full_name"] = t("at most 255 characters; shorten it")
        if not _EMAIL.match(email) or len(email) > 255:
            errors["email"] = t("write an email address such as ten@example.vn")
        if len(password or "") < MIN_PASSWORD:
            errors["password"] = t("at least %(n)s characters", n=MIN_PASSWORD)
        elif password != password_again:
            errors["password_again"] = t("the two passwords differ; type the same one twice")
        unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == province))
        if unit is None:
            raise RuntimeError(f"the province unit {province!r} does not exist; load the reference data")
        if errors:
            raise IntakeError(errors)
        user = User(username=username, full_name=full_name[:255], email=email, password_hash=hash_password(password),
                    unit_id=unit.id, active=True, is_demo=False)
        user.roles.append(UserRole(role="citizen", unit_id=unit.id))
        self.session.add(user)
        try:
            self.session.commit()
        except IntegrityError:  # the same username registered a moment ago
            self.session.rollback()
            raise IntakeError({"username": t("this username is taken; choose another")}) from None
        return user

    def change_password(self, user_id: int, current: str, new: str, again: str) -> None:
        """A signed-in user's own new password, given the current one; IntakeError says which field to fix."""
        user = self.session.get(User, user_id)
        if user is None or not user.active:
            raise SignInError(t("sign in again"))
        errors = {}
        if not user.password_hash or not _verify(user.password_hash, current or ""):
            errors["current"] = t("this is not your current password")
        if len(new or "") < MIN_PASSWORD:
            errors["new"] = t("at least %(n)s characters", n=MIN_PASSWORD)
        elif new == current:
            errors["new"] = t("choose a password different from the current one")
        elif new != again:
            errors["again"] = t("the two passwords differ; type the same one twice")
        if errors:
            raise IntakeError(errors)
        user.password_hash = hash_password(new)
        record(self.session, user, "user.change_own_password", Target("user", user.id, user.username), None,
               {"password": "changed by the user"}, clock=self.clock)
        self.session.commit()

    def set_language(self, user_id: int, language: str) -> None:
        """Remember the interface language a user chose (vi or en)."""
        if language not in ("vi", "en"):
            raise ValueError(t("language must be vi or en"))
        user = self.session.get(User, user_id)
        if user is not None:
            user.language = language
            self.session.commit()

    def issue_token(self, user_id: int, name: str, commit: bool = True) -> str:
        """A new API token for a user; the plain token is shown once and never stored (`commit=False`: flushed)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.session.add(ApiToken(user_id=user_id, name=(name or "api")[:120], token_sha256=token_digest(token),
                                  created_at=self.clock.now()))
        if commit:
            self.session.commit()
        else:
            self.session.flush()
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
