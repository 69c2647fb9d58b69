"""Alerts from other systems: a webhook call is checked and kept as it arrives, then turned into alerts and cases.

Two steps, so that a flood is absorbed fast and nothing absorbed is lost:

1. `AlertReceiver.receive` (the webhook's request): the source is found by the sha256 of its token, the body is
   read as Prometheus Alertmanager's webhook payload (version "4") or the plain format below, every alert is
   checked, and ONE `AlertReceipt` row holding the normalised alerts is committed. A bad payload stores nothing.
2. `AlertProcessor.run` (Celery task `ioc.process_alerts`, eager in the demo): the pending receipts in order, one
   transaction each (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so several workers share them), with `processed_at`
   set in that transaction; a receipt that fails keeps its error and is tried again by the periodic run.

An alert is known by its fingerprint (Alertmanager's own, else a hash of its sorted labels): one open case per
source and fingerprint. A repeat only counts (`received`, `last_received_at`, the newest annotations); "resolved"
records that the source cleared it and sends the message `alert_resolved` to the case's process, which decides
(bpmn/monitoring_alert.bpmn); a firing after the case closed opens a new case linked to the previous alert.

The plain format (one object, or {"alerts": [...]}) takes per alert: "id" or "fingerprint" (text, optional),
"status" ("firing" or "resolved", default firing), "title" (text; or labels.alertname), "severity" (text),
"description" (text), "labels" and "annotations" (objects of texts), "starts_at" and "ends_at" (ISO 8601),
"url" (text).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from engine.clock import SYSTEM_CLOCK, Clock
from engine.errors import ConflictError
from engine.i18n import Text, t
from engine.instances import BatchAbort
from engine.models import HumanTask
from workflows.case_service import IntakeRequest
from workflows.models import AdminUnit, Case, CaseEvent
from workflows.monitoring.fields import SEVERITIES
from workflows.monitoring.models import AlertReceipt, AlertSource, MonitoringAlert
from workflows.units import PLACE_KINDS, UnitDirectory

MAX_ALERTS = 5000  # alerts in one call (Alertmanager's max_alerts is unlimited by default; a group is far smaller)
MAX_TEXT = 10_000  # characters of a description, annotation or label value
MAX_NAME = 255  # characters of a title, alert name, label name
MAX_LABELS = 100
MAX_PROBLEMS = 20  # problems named in one answer
STATUSES = ("firing", "resolved")
CLOSED_STATUSES = ("closed", "rejected", "merged")
# The words systems use for severity, read as ours (fields.SEVERITIES); any other word takes "medium".
SEVERITY_WORDS = {
    "critical": "critical", "fatal": "critical", "emergency": "critical", "page": "critical", "disaster": "critical",
    "high": "high", "error": "high", "major": "high",
    "medium": "medium", "warning": "medium", "warn": "medium", "average": "medium", "minor": "medium",
    "low": "low", "info": "low", "information": "low", "informational": "low", "notice": "low", "none": "low",
}
PRIORITY_OF = {"critical": "high", "high": "high", "medium": "normal", "low": "low"}
_UNSET_TIME = "0001-01-01"  # Alertmanager's endsAt of an alert with no end yet
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python reads microseconds


class AlertAuthError(Exception):
    """No active source has this token."""


class AlertPayloadError(Exception):
    """The body is not an alert payload we take; `problems` says each thing wrong (nothing was stored)."""

    def __init__(self, problems: list[Text]):
        self.problems = problems[:MAX_PROBLEMS]
        super().__init__("; ".join(self.problems))


def token_digest(token: str) -> str:
    """The sha256 kept for a source's token (the token itself is shown once, when made)."""
    return hashlib.sha256(token.encode()).hexdigest()


def severity_of(word: Any) -> str:
    """One of fields.SEVERITIES for the severity word a system sent ("warning" → medium); medium when unknown."""
    return SEVERITY_WORDS.get(str(word or "").strip().lower(), "medium")


def labels_fingerprint(labels: dict[str, str]) -> str:
    """A stable fingerprint of an alert that carries none: the sha256 of its labels, sorted."""
    return hashlib.sha256(json.dumps(sorted(labels.items()), ensure_ascii=False).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- reading a payload
class _Checker:
    """Collects the problems of one payload, each naming where it is (alerts[3].status)."""

    def __init__(self) -> None:
        self.problems: list[Text] = []

    def add(self, problem: Text) -> None:
        self.problems.append(problem)

    def text(self, value: Any, where: str, limit: int, required: bool = False) -> str:
        if value is None or value == "":
            if required:
                self.add(t("%(where)s is missing", where=where))
            return ""
        if not isinstance(value, str):
            self.add(t("%(where)s must be a text, got %(type)s", where=where, type=_type(value)))
            return ""
        if len(value) > limit:
            self.add(t("%(where)s is longer than %(limit)s characters", where=where, limit=limit))
            return ""
        return value

    def mapping(self, value: Any, where: str) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(t("%(where)s must be an object of texts, got %(type)s", where=where, type=_type(value)))
            return {}
        if len(value) > MAX_LABELS:
            self.add(t("%(where)s has more than %(limit)s entries", where=where, limit=MAX_LABELS))
            return {}
        out = {}
        for key, item in value.items():
            if len(key) > MAX_NAME:
                self.add(t("%(where)s has a name longer than %(limit)s characters", where=where, limit=MAX_NAME))
            elif isinstance(item, str) and len(item) <= MAX_TEXT:
                out[key] = item
            elif isinstance(item, (int, float, bool)):
                out[key] = json.dumps(item)  # a number or yes/no from a sensor: kept as its text
            else:
                self.add(t("%(where)s.%(key)s must be a text, got %(type)s", where=where, key=key[:60],
                           type=_type(item)))
        return out

    def moment(self, value: Any, where: str) -> str | None:
        if value is None or value == "" or (isinstance(value, str) and value.startswith(_UNSET_TIME)):
            return None
        if not isinstance(value, str):
            self.add(t("%(where)s must be a time in ISO 8601 (2026-12-04T03:00:00Z), got %(type)s", where=where,
                       type=_type(value)))
            return None
        try:
            moment = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00"))
        except ValueError:
            self.add(t("%(where)s is not a time in ISO 8601 (2026-12-04T03:00:00Z): %(value)s", where=where,
                       value=value[:60]))
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()

    def status(self, value: Any, where: str, default: str | None = None) -> str:
        if value is None and default is not None:
            return default
        if value not in STATUSES:
            self.add(t('%(where)s must be "firing" or "resolved", got %(value)s', where=where,
                       value=json.dumps(value, ensure_ascii=False)[:60]))
            return "firing"
        return value


def _type(value: Any) -> Text | str:
    """The JSON name of a value's type, as a sender reads it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return t("a number")
    if isinstance(value, list):
        return t("a list")
    if isinstance(value, dict):
        return t("an object")
    return t("a text")


def _alert(labels: dict[str, str], annotations: dict[str, str], status: str, fingerprint: str, title: str,
           severity_word: str, description: str, starts_at: str | None, ends_at: str | None, url: str) -> dict:
    alertname = labels.get("alertname") or title
    return {"fingerprint": fingerprint or labels_fingerprint(labels), "status": status, "alertname": alertname[:MAX_NAME],
            "title": (title or annotations.get("summary") or alertname)[:MAX_NAME],
            "severity": severity_of(severity_word), "severity_word": severity_word[:40],
            "description": description or annotations.get("description", ""), "labels": labels,
            "annotations": annotations, "starts_at": starts_at, "ends_at": ends_at, "url": url}


def _alertmanager(document: dict, check: _Checker) -> list[dict]:
    alerts = document["alerts"]
    check.status(document.get("status"), "status")  # each alert carries its own; the group's is only checked
    out = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            check.add(t("%(where)s must be an object, got %(type)s", where=where, type=_type(raw)))
            continue
        labels = check.mapping(raw.get("labels"), f"{where}.labels")
        if not labels and "labels" not in raw:
            check.add(t("%(where)s is missing", where=f"{where}.labels"))
        annotations = check.mapping(raw.get("annotations"), f"{where}.annotations")
        out.append(_alert(labels, annotations, check.status(raw.get("status"), f"{where}.status"),
                          check.text(raw.get("fingerprint"), f"{where}.fingerprint", 128), "",
                          labels.get("severity", ""), "", check.moment(raw.get("startsAt"), f"{where}.startsAt"),
                          check.moment(raw.get("endsAt"), f"{where}.endsAt"),
                          check.text(raw.get("generatorURL"), f"{where}.generatorURL", 2000)))
    return out


def _plain(alerts: list, check: _Checker) -> list[dict]:
    out = []
    for i, raw in enumerate(alerts):
        where = f"alerts[{i}]"
        if not isinstance(raw, dict):
            check.add(t("%(where)s must be an object, got %(type)s", where=where, type=_type(raw)))
            continue
        labels = check.mapping(raw.get("labels"), f"{where}.labels")
        title = check.text(raw.get("title"), f"{where}.title", MAX_NAME, required="alertname" not in labels)
        if title:
            labels.setdefault("alertname", title)
        fingerprint = check.text(raw.get("fingerprint", raw.get("id")), f"{where}.id", 128)
        severity = raw.get("severity", labels.get("severity", ""))
        out.append(_alert(labels, check.mapping(raw.get("annotations"), f"{where}.annotations"),
                          check.status(raw.get("status"), f"{where}.status", default="firing"), fingerprint, title,
                          check.text(severity, f"{where}.severity", 40),
                          check.text(raw.get("description"), f"{where}.description", MAX_TEXT),
                          check.moment(raw.get("starts_at"), f"{where}.starts_at"),
                          check.moment(raw.get("ends_at"), f"{where}.ends_at"),
                          check.text(raw.get("url"), f"{where}.url", 2000)))
    return out


def parse_payload(body: bytes) -> tuple[str, dict]:
    """(format, payload): the body read as Alertmanager's webhook payload or the plain format, every alert
    normalised; AlertPayloadError naming each problem otherwise."""
    try:
        document = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise AlertPayloadError([t("the body is not UTF-8 text; send JSON")]) from None
    except json.JSONDecodeError as exc:
        raise AlertPayloadError([t("the body is not JSON: %(reason)s at line %(line)s, column %(column)s",
                                   reason=exc.msg, line=exc.lineno, column=exc.colno)]) from None
    check = _Checker()
    if isinstance(document, dict) and "alerts" in document:
        alerts = document["alerts"]
        if not isinstance(alerts, list):
            raise AlertPayloadError([t("alerts must be a list, got %(type)s", type=_type(alerts))])
        if not alerts:
            raise AlertPayloadError([t("alerts is empty: send at least one alert")])
        if len(alerts) > MAX_ALERTS:
            raise AlertPayloadError([t("too many alerts in one call (%(count)s; at most %(limit)s): send them in "
                                       "smaller groups", count=len(alerts), limit=MAX_ALERTS)])
        # Alertmanager's webhook sends version "4"; its exec notifier writes the same message with its own version.
        alertmanager = "version" in document or "groupKey" in document or "receiver" in document
        normalised = _alertmanager(document, check) if alertmanager else _plain(alerts, check)
        group = {k: document.get(k) for k in ("version", "receiver", "groupKey", "externalURL", "truncatedAlerts")
                 if isinstance(document.get(k), (str, int)) and not isinstance(document.get(k), bool)}
        kind = "alertmanager" if alertmanager else "plain"
    elif isinstance(document, dict):
        normalised, group, kind = _plain([document], check), {}, "plain"
    else:
        raise AlertPayloadError([t("the body must be a JSON object with alerts (Alertmanager's webhook payload, or "
                                   "{\"alerts\": [...]}), or one alert object; got %(type)s", type=_type(document))])
    if check.problems:
        raise AlertPayloadError(check.problems)
    return kind, {"alerts": normalised, **({"group": group} if group else {})}


# --------------------------------------------------------------------------- step 1: absorbing a call
@dataclass(frozen=True)
class Absorbed:
    """What the webhook answers: the receipt kept, how many alerts it holds, the format read."""

    receipt_id: int
    alerts: int
    format: str
    source: str


class AlertReceiver:
    """The webhook's one service call: the token's source, the payload checked, one receipt committed."""

    def __init__(self, session: Session, clock: Clock = SYSTEM_CLOCK):
        self.session = session
        self.clock = clock

    def source_of(self, token: str) -> AlertSource | None:
        """The active source this token belongs to, or None."""
        if not token:
            return None
        return self.session.scalar(select(AlertSource).where(AlertSource.token_sha256 == token_digest(token),
                                                             AlertSource.active.is_(True)))

    def receive(self, token: str, body: bytes) -> Absorbed:
        """Keep a webhook call: AlertAuthError for a wrong or revoked token, AlertPayloadError for a bad body
        (nothing stored in either case)."""
        # Two statements and a commit, no ORM objects: this is the path a flood takes.
        source = self.session.execute(select(AlertSource.id, AlertSource.code).where(
            AlertSource.token_sha256 == token_digest(token), AlertSource.active.is_(True))).first() if token else None
        if source is None:
            self.session.rollback()
            raise AlertAuthError("no active alert source has this token")
        kind, payload = parse_payload(body)
        receipt_id = self.session.execute(insert(AlertReceipt).values(
            source_id=source.id, received_at=self.clock.now(), format=kind, payload=payload)
            .returning(AlertReceipt.id)).scalar_one()
        self.session.commit()
        return Absorbed(receipt_id, len(payload["alerts"]), kind, source.code)


# --------------------------------------------------------------------------- step 2: alerts and cases
@dataclass
class Processed:
    """What a processing run did."""

    receipts: int = 0
    alerts: int = 0
    opened: int = 0  # new cases
    repeats: int = 0  # notifications of an alert already open
    resolved: int = 0  # cleared at the source
    ignored: int = 0  # "resolved" for an alert never seen firing
    failed: int = 0  # receipts that failed (kept with their error, tried again later)
    cases: list[str] = field(default_factory=list)


class AlertProcessor:
    """Turns pending receipts into alerts and cases, one transaction per receipt, in the order they came."""

    def __init__(self, session_factory: Callable[[], Session], services_factory: Callable[[Session], Any],
                 clock: Clock = SYSTEM_CLOCK, after_commit: Callable[[], None] | None = None):
        self.session_factory = session_factory
        self.services_factory = services_factory
        self.clock = clock
        self.after_commit = after_commit

    def run(self, retry_failed: bool = False, limit: int | None = None) -> Processed:
        """Process the pending receipts (and, with `retry_failed`, those that failed before); counts."""
        done = Processed()
        cursor = 0
        while limit is None or done.receipts + done.failed < limit:
            with self.session_factory() as session:
                receipt = self._next(session, cursor, retry_failed)
                if receipt is None:
                    break
                cursor = receipt.id
                try:
                    try:
                        counts = self._apply(session, receipt, fast=True)
                    except BatchAbort:
                        # An operator failed without its savepoint: everything again the careful way, where the
                        # failure becomes its instance's incident (as CaseService._transaction does).
                        session.rollback()
                        receipt = self._relock(session, cursor)
                        if receipt is None:
                            continue  # another worker took it meanwhile
                        counts = self._apply(session, receipt, fast=False)
                    receipt.processed_at, receipt.error = self.clock.now(), None
                    session.commit()
                except Exception as exc:  # noqa: BLE001 - kept with its error; the others go on
                    session.rollback()
                    self._failed(session, cursor, exc)
                    done.failed += 1
                    continue
            done.receipts += 1
            for name in ("alerts", "opened", "repeats", "resolved", "ignored"):
                setattr(done, name, getattr(done, name) + getattr(counts, name))
            done.cases += counts.cases
        if (done.receipts or done.failed) and self.after_commit is not None:
            self.after_commit()  # the new tasks' and notifications' outbox
        return done

    def pending(self, session: Session) -> int:
        """Receipts not processed yet (failed ones included)."""
        return session.scalar(select(func.count()).select_from(AlertReceipt)
                              .where(AlertReceipt.processed_at.is_(None))) or 0

    def _next(self, session: Session, after: int, retry_failed: bool) -> AlertReceipt | None:
        query = (select(AlertReceipt).where(AlertReceipt.processed_at.is_(None), AlertReceipt.id > after)
                 .order_by(AlertReceipt.id).limit(1))
        if not retry_failed:
            query = query.where(AlertReceipt.error.is_(None))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return session.scalar(query)

    def _relock(self, session: Session, receipt_id: int) -> AlertReceipt | None:
        query = select(AlertReceipt).where(AlertReceipt.id == receipt_id, AlertReceipt.processed_at.is_(None))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return session.scalar(query)

    def _failed(self, session: Session, receipt_id: int, exc: Exception) -> None:
        session.execute(update(AlertReceipt).where(AlertReceipt.id == receipt_id)
                        .values(error=f"{type(exc).__name__}: {exc}"[:4000]))
        session.commit()

    # ------------------------------------------------------------------ one receipt
    def _apply(self, session: Session, receipt: AlertReceipt, fast: bool) -> Processed:
        services = self.services_factory(session)
        services.instances.batch_mode = fast  # fast: operators without savepoints, rows written at the commit
        # One worker at a time per source (PostgreSQL; SQLite has one writer anyway): two workers with two
        # receipts of one alert would each find no open case and open two.
        source = session.get(AlertSource, receipt.source_id,
                             with_for_update=session.get_bind().dialect.name == "postgresql")
        counts = Processed(receipts=1)
        place = self._place(session, source.unit)
        latest: dict[str, MonitoringAlert | None] = {}
        for alert in receipt.payload.get("alerts", []):
            counts.alerts += 1
            fingerprint = alert["fingerprint"]
            if fingerprint not in latest:
                latest[fingerprint] = session.scalar(
                    select(MonitoringAlert).where(MonitoringAlert.source_id == source.id,
                                                  MonitoringAlert.fingerprint == fingerprint)
                    .order_by(MonitoringAlert.id.desc()).limit(1))
            current = latest[fingerprint]
            case = session.get(Case, current.case_id) if current is not None and current.case_id else None
            is_open = case is not None and case.status not in CLOSED_STATUSES
            if alert["status"] == "firing":
                if is_open:
                    self._repeat(current, alert, receipt)
                    counts.repeats += 1
                    if current.status == "resolved":  # it fired again while its case is still open
                        current.status, current.resolved_at, current.ends_at = "firing", None, None
                        self._event(session, case, "alert_refired", source, alert, receipt.received_at)
                    continue
                latest[fingerprint] = self._open(session, services, source, place, alert, receipt, current, case)
                counts.opened += 1
                counts.cases.append(session.get(Case, latest[fingerprint].case_id).code)
            elif current is not None and current.status == "firing":
                self._resolve(session, services, source, current, case if is_open else None, alert, receipt)
                counts.resolved += 1
            elif current is not None:
                self._repeat(current, alert, receipt)
                counts.repeats += 1
            else:
                counts.ignored += 1
        source.last_received_at = receipt.received_at
        return counts

    def _place(self, session: Session, unit: AdminUnit) -> AdminUnit:
        """Where the source's cases happen: its unit when it is a place, else the nearest place above it."""
        directory = UnitDirectory(session)
        for candidate in [unit, *directory.ancestors(unit)]:
            if candidate.kind in PLACE_KINDS and candidate.active:
                return candidate
        province = session.scalar(select(AdminUnit).where(AdminUnit.kind == "province", AdminUnit.active.is_(True)))
        if province is None:
            raise LookupError("no active province to place the alerts of source " + unit.code)
        return province

    @staticmethod
    def _repeat(current: MonitoringAlert, alert: dict, receipt: AlertReceipt) -> None:
        current.received += 1
        current.last_received_at = receipt.received_at
        if alert["annotations"]:
            current.annotations = alert["annotations"]

    def _open(self, session: Session, services: Any, source: AlertSource, place: AdminUnit, alert: dict,
              receipt: AlertReceipt, previous: MonitoringAlert | None, previous_case: Case | None) -> MonitoringAlert:
        severity = alert["severity"] if alert["severity"] in SEVERITIES else "medium"
        case = services.cases.open_case(IntakeRequest(
            channel="alert", category=source.category_code, title=alert["title"] or alert["alertname"] or source.name,
            admin_unit=place.code, description=_description(alert), priority=PRIORITY_OF[severity], source="alert",
            process_data={"severity": severity, "responsible_unit": source.unit.code, "alert_source": source.code,
                          "alertname": alert["alertname"][:500], "fingerprint": alert["fingerprint"]}))
        # The case first: the alert row refers to it by id alone (and SQLite reads the next case's id from the table).
        session.flush()
        row = MonitoringAlert(
            source_id=source.id, fingerprint=alert["fingerprint"], status="firing", alertname=alert["alertname"],
            severity=severity, summary=alert["title"], labels=alert["labels"], annotations=alert["annotations"],
            starts_at=_moment(alert["starts_at"]), ends_at=_moment(alert["ends_at"]), case_id=case.id,
            previous_id=previous.id if previous is not None else None, received=1,
            first_received_at=receipt.received_at, last_received_at=receipt.received_at)
        session.add(row)
        if previous is not None:
            self._event(session, case, "alert_recurred", source, alert, receipt.received_at,
                        previous_case=previous_case.code if previous_case is not None else None)
        return row

    def _resolve(self, session: Session, services: Any, source: AlertSource, current: MonitoringAlert,
                 case: Case | None, alert: dict, receipt: AlertReceipt) -> None:
        current.status, current.resolved_at = "resolved", receipt.received_at
        current.ends_at = _moment(alert["ends_at"]) or receipt.received_at
        self._repeat(current, alert, receipt)
        if case is None:  # the case closed already: the alert row says when the source cleared it
            return
        self._event(session, case, "alert_resolved", source, alert, receipt.received_at,
                    ends_at=current.ends_at.isoformat())
        if case.process_instance_id is None:
            return
        session.flush()
        held = session.execute(select(HumanTask.assignee, HumanTask.candidate_role, HumanTask.candidate_unit)
                               .where(HumanTask.instance_id == case.process_instance_id, HumanTask.state == "open",
                                      HumanTask.assignee.is_not(None)).limit(1)).first()
        try:
            services.instances.send_message(case.process_instance_id, "alert_resolved",
                                            {"work_started": held is not None, "ends_at": current.ends_at.isoformat()},
                                            actor=f"alert:{source.code}"[:120])
        except ConflictError:
            return  # the process no longer waits for it (the officer is finishing, or it ended): the event says it
        if held is not None:
            self._keep_with(session, services, case.process_instance_id, *held)

    @staticmethod
    def _keep_with(session: Session, services: Any, instance_id: int, holder: str, role: str | None,
                   unit: str | None) -> None:
        """The task the process gives next for the same role and unit stays with the officer who held the
        interrupted one: they finish the work they started (workflows' own claim, with its audit line)."""
        session.flush()
        for task_id in session.scalars(select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open", HumanTask.assignee.is_(None),
                HumanTask.candidate_role == role, HumanTask.candidate_unit == unit)):
            try:
                services.instances.claim(task_id, holder)
            except ConflictError:
                pass  # taken meanwhile: it stays where it is

    @staticmethod
    def _event(session: Session, case: Case, kind: str, source: AlertSource, alert: dict, at: datetime,
               **detail: Any) -> None:
        session.add(CaseEvent(case_id=case.id, at=at, kind=kind, public=False, detail={
            "source": source.code, "source_name": source.name, "source_name_en": source.name_en,
            "alertname": alert["alertname"], "fingerprint": alert["fingerprint"], **detail}))
        case.updated_at = at


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _description(alert: dict) -> str:
    """The case's description: what the source said, then its labels (the officer reads them on the case page)."""
    lines = [alert["description"]] if alert["description"] else []
    lines += [f"{k}: {v}" for k, v in sorted(alert["labels"].items())]
    if alert["url"]:
        lines.append(alert["url"])
    return "\n".join(lines)[:10_000]
