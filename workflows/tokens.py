"""Machines' API tokens: made for a user, listed, revoked (only their sha256 is ever stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import t
from workflows.accounts import AccountService, token_digest
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import ApiToken, User

MAX_NAME = 120


@dataclass(frozen=True)
class TokenInfo:
    """What is known of a token: never the token itself."""

    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """True until the token is revoked."""
        return self.revoked_at is None


class TokenService:
    """Creates, lists and revokes the API tokens of users."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def create(self, username: str, name: str, commit: bool = True) -> tuple[TokenInfo, str]:
        """A new token for an active user; the plain token is returned once and never stored.

        `commit=False` only flushes, so the console stores the token and its audit line in one commit.
        """
        user = self._user(username)
        label = (name or "").strip()
        if not label or len(label) > MAX_NAME:
            raise IntakeError({"name": t("give the token a name of 1 to %(max)s characters (what uses it)",
                                         max=MAX_NAME)})
        if not user.active:
            raise IntakeError({"username": t("the account %(user)s is disabled; a token for it would not work",
                                             user=user.username)})
        token = AccountService(self.session, self.clock).issue_token(user.id, label, commit=commit)
        row = self.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token)))
        return _info(row, user.username), token

    def list(self, username: str) -> list[TokenInfo]:
        """The tokens of a user, newest first, revoked ones included."""
        user = self._user(username)
        rows = self.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                    .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
        return [_info(row, user.username) for row in rows]

    def revoke(self, token_id: int, commit: bool = True) -> TokenInfo:
        """Revoke a token at once (revoking it again changes nothing); `commit=False` leaves the commit to the caller."""
        row = self.session.get(ApiToken, token_id)
        if row is None:
            raise CaseNotFoundError(t("no API token %(id)s; see `ioc token list USERNAME`", id=token_id))
        if row.revoked_at is None:
            row.revoked_at = self.clock.now()
            if commit:
                self.session.commit()
        return _info(row, row.user.username)

    def _user(self, username: str) -> User:
        user = self.session.scalar(select(User).where(User.username == (username or "").strip().lower()))
        if user is None:
            raise CaseNotFoundError(t("no user %(user)s; check the username", user=username))
        return user


def _info(row: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(row.id, username, row.name, row.created_at, row.last_used_at, row.revoked_at)
