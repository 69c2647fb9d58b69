"""The administration's own tables: the audit log of every administrator's action."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, JSONType, UTCDateTime, utcnow
from engine.models import BigId


class AdminAuditEntry(Base):
    """One administrator's action: who, when, what on which thing, the state before and after; only ever added.

    The actor's username is copied so the line still reads right after the account is renamed or removed;
    the action is a key (``user.disable``) rendered in the reader's language when shown.
    """

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_username: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    target_label: Mapped[str] = mapped_column(String(255), default="", server_default="")
    before: Mapped[Any | None] = mapped_column(JSONType)
    after: Mapped[Any | None] = mapped_column(JSONType)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
