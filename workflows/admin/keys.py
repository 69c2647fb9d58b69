"""Open311 api_keys and API tokens in the console: create (the secret returned once), list, revoke; audited.

The Open311 and token services do the work (as for `ioc open311` and `ioc token`); here each change is
flushed, recorded in the audit log and committed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from workflows.admin.audit import Acting, Target, record
from workflows.models import ApiToken, Open311Client, User
from workflows.open311_service import ClientInfo, Open311Service
from workflows.tokens import TokenInfo, TokenService


@dataclass(frozen=True)
class TokenLine:
    """An API token in the console's list: whose, what for, when made and used; never the token."""

    id: int
    username: str
    user_active: bool
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _client_state(info: ClientInfo) -> dict:
    return {"name": info.name, "revoked_at": info.revoked_at}


def _token_state(info: TokenInfo) -> dict:
    return {"user": info.username, "name": info.name, "revoked_at": info.revoked_at}


class KeyAdmin:
    """The keys machines use: Open311 clients' api_keys and /api/v1 tokens."""

    def __init__(self, session: Session, open311: Open311Service, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.open311 = open311
        self.tokens = TokenService(session, clock)
        self.clock = clock

    def clients(self) -> list[ClientInfo]:
        """Every Open311 client, newest first."""
        return self.open311.clients()

    def create_client(self, actor: Acting, name: str, note: str = "") -> tuple[ClientInfo, str]:
        """A new Open311 client; its api_key is returned once."""
        info, key = self.open311.create_client(name, commit=False)
        record(self.session, actor, "open311_key.create", Target("open311_key", info.id, info.name), None,
               _client_state(info), note, self.clock)
        self.session.commit()
        return info, key

    def revoke_client(self, actor: Acting, client_id: int, note: str = "") -> ClientInfo:
        """Revoke an Open311 client's api_key at once."""
        row = self.session.get(Open311Client, client_id)
        before = {"name": row.name, "revoked_at": row.revoked_at} if row is not None else None
        info = self.open311.revoke_client(client_id, commit=False)  # CaseNotFoundError for an unknown id
        record(self.session, actor, "open311_key.revoke", Target("open311_key", info.id, info.name), before,
               _client_state(info), note, self.clock)
        self.session.commit()
        return info

    def api_tokens(self) -> list[TokenLine]:
        """Every API token of every user, newest first."""
        rows = self.session.execute(select(ApiToken, User.username, User.active).join(User, User.id == ApiToken.user_id)
                                    .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
        return [TokenLine(t.id, username, active, t.name, t.created_at, t.last_used_at, t.revoked_at)
                for t, username, active in rows]

    def create_token(self, actor: Acting, username: str, name: str, note: str = "") -> tuple[TokenInfo, str]:
        """A new API token acting as `username` (an active account); the token is returned once."""
        info, token = self.tokens.create(username, name, commit=False)
        record(self.session, actor, "api_token.create", Target("api_token", info.id, f"{info.username}: {info.name}"),
               None, _token_state(info), note, self.clock)
        self.session.commit()
        return info, token

    def revoke_token(self, actor: Acting, token_id: int, note: str = "") -> TokenInfo:
        """Revoke an API token at once."""
        row = self.session.get(ApiToken, token_id)
        before = {"user": row.user.username, "name": row.name, "revoked_at": row.revoked_at} if row else None
        info = self.tokens.revoke(token_id, commit=False)  # CaseNotFoundError for an unknown id
        record(self.session, actor, "api_token.revoke", Target("api_token", info.id, f"{info.username}: {info.name}"),
               before, _token_state(info), note, self.clock)
        self.session.commit()
        return info

