"""Alert sources in the console: create one (its token returned once), rotate its token, disable or enable it.

The field, the responsible unit and the category are chosen from live lists and checked again here; only the
sha256 of a token is kept. Each change is recorded in the audit log and committed with it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.i18n import Text, t
from workflows.admin.audit import Acting, Target, record, register_actions
from workflows.errors import CaseNotFoundError, IntakeError
from workflows.models import AdminUnit, Category
from workflows.monitoring.alerts import token_digest
from workflows.monitoring.fields import FIELDS
from workflows.monitoring.models import AlertReceipt, AlertSource, MonitoringAlert
from workflows.reference import Choice, categories

register_actions({
    "alert_source.create": t("create alert source"),
    "alert_source.rotate": t("rotate alert source token"),
    "alert_source.disable": t("disable alert source"),
    "alert_source.enable": t("enable alert source"),
}, {"alert_source": t("alert source")})

_CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,39}$")


@dataclass(frozen=True)
class NewSource:
    """The console's form for a new source: every value a code chosen from a list, but the names."""

    code: str
    name: str
    name_en: str
    field: str
    unit: str  # an active unit's code
    category: str = ""  # an active category's code; "" = the field's own category


@dataclass(frozen=True)
class SourceLine:
    """A source as the console lists it: where its alerts go, its state, what it sent; never its token."""

    id: int
    code: str
    name: str
    name_en: str
    field: str
    unit_code: str
    unit_name: str
    unit_name_en: str
    category_code: str
    active: bool
    created_at: object
    last_received_at: object
    alerts: int
    pending: int


def source_state(source: AlertSource) -> dict:
    """What the audit log keeps of a source: its mapping, state and the first characters of its token's sha256."""
    return {"code": source.code, "name": source.name, "name_en": source.name_en, "field": source.field,
            "unit": source.unit.code if source.unit is not None else None, "category": source.category_code,
            "active": bool(source.active), "token_sha256": source.token_sha256[:12] + "…"}


def new_token() -> str:
    """A token for a source (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


class AlertSourceAdmin:
    """The alert sources' administration; knows nothing of HTTP."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def sources(self) -> list[SourceLine]:
        """Every source, by code, with its unit, the alerts it raised and its receipts still waiting."""
        alerts = dict(self.session.execute(select(MonitoringAlert.source_id, func.count())
                                           .group_by(MonitoringAlert.source_id)).all())
        pending = dict(self.session.execute(select(AlertReceipt.source_id, func.count())
                                            .where(AlertReceipt.processed_at.is_(None))
                                            .group_by(AlertReceipt.source_id)).all())
        rows = self.session.scalars(select(AlertSource).order_by(AlertSource.code)).all()
        return [SourceLine(s.id, s.code, s.name, s.name_en, s.field, s.unit.code, s.unit.name,
                           s.unit.name_en or s.unit.name, s.category_code, bool(s.active), s.created_at,
                           s.last_received_at, alerts.get(s.id, 0), pending.get(s.id, 0)) for s in rows]

    def categories(self) -> list[Choice]:
        """The categories a source's cases may take (active ones, internal included)."""
        return categories(self.session, internal=True)

    def source(self, source_id: int) -> AlertSource:
        """One source, or CaseNotFoundError."""
        source = self.session.get(AlertSource, source_id)
        if source is None:
            raise CaseNotFoundError(t("no alert source %(id)s", id=source_id))
        return source

    def create(self, actor: Acting, form: NewSource, note: str = "") -> tuple[AlertSource, str]:
        """A new active source; its token is returned once (only its sha256 is kept)."""
        errors: dict[str, Text] = {}
        code = (form.code or "").strip().lower()
        if not _CODE.match(code):
            errors["code"] = t("2 to 40 lower-case letters, digits, '.', '_' or '-', e.g. soc-prometheus")
        elif self.session.scalar(select(AlertSource.id).where(AlertSource.code == code)) is not None:
            errors["code"] = t("a source with this code exists; choose another")
        names = {"name": (form.name or "").strip(), "name_en": (form.name_en or "").strip()}
        for key, value in names.items():
            if not value:
                errors[key] = t("required")
            elif len(value) > 255:
                errors[key] = t("at most 255 characters; shorten it")
        if form.field not in FIELDS:
            errors["field"] = t("choose one of the listed fields")
        unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == (form.unit or ""),
                                                           AdminUnit.active.is_(True)))
        if unit is None:
            errors["unit"] = t("choose a unit from the list")
        category_code = form.category or (FIELDS[form.field][2] if form.field in FIELDS else "")
        category = self.session.get(Category, category_code) if category_code else None
        if category is None or not category.active:
            errors["category"] = t("choose one of the listed categories")
        if errors:
            raise IntakeError(errors)
        token = new_token()
        source = AlertSource(code=code, name=names["name"], name_en=names["name_en"], token_sha256=token_digest(token),
                             field=form.field, unit_id=unit.id, category_code=category.code, active=True,
                             created_by=actor.username[:120], created_at=self.clock.now())
        source.unit = unit
        self.session.add(source)
        self.session.flush()
        record(self.session, actor, "alert_source.create", Target("alert_source", source.id, source.code), None,
               source_state(source), note, self.clock)
        self.session.commit()
        return source, token

    def rotate(self, actor: Acting, source_id: int, note: str = "") -> tuple[AlertSource, str]:
        """A new token for a source, returned once; the old one stops working at once."""
        source = self.source(source_id)
        before = source_state(source)
        token = new_token()
        source.token_sha256 = token_digest(token)
        record(self.session, actor, "alert_source.rotate", Target("alert_source", source.id, source.code), before,
               source_state(source), note, self.clock)
        self.session.commit()
        return source, token

    def set_active(self, actor: Acting, source_id: int, active: bool, note: str = "") -> AlertSource:
        """Disable a source (its calls get 401; what it sent is kept) or enable it again."""
        source = self.source(source_id)
        before = source_state(source)
        source.active = bool(active)
        record(self.session, actor, "alert_source.enable" if active else "alert_source.disable",
               Target("alert_source", source.id, source.code), before, source_state(source), note, self.clock)
        self.session.commit()
        return source

    def create_demo(self, code: str, name: str, name_en: str, field: str, unit_code: str, token: str) -> AlertSource:
        """A source with a known token, for the demo set-up (idempotent: an existing code is returned as it is)."""
        existing = self.session.scalar(select(AlertSource).where(AlertSource.code == code))
        if existing is not None:
            return existing
        unit = self.session.scalar(select(AdminUnit).where(AdminUnit.code == unit_code))
        if unit is None:
            raise CaseNotFoundError(t("no unit %(unit)s", unit=unit_code))
        source = AlertSource(code=code, name=name, name_en=name_en, token_sha256=token_digest(token), field=field,
                             unit_id=unit.id, category_code=FIELDS[field][2], active=True, created_by="demo",
                             created_at=self.clock.now())
        self.session.add(source)
        self.session.commit()
        return source
