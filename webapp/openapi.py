"""The OpenAPI 3.1 document of /api/v1, built from the declarations that also register the routes.

Each API view is registered by `ApiSpec.operation(...)`: the same call adds the Flask rule
and the operation of the document, so a route cannot exist undocumented, nor a documented
route be missing (tests/integration/test_api.py compares the URL map with the document).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint

from workflows.models import CHANNEL_PREFIX, PRIORITIES
from workflows.task_service import SORTS, TABS

JSON = "application/json"
_PATH_PARAM = re.compile(r"{([a-z_]+)}")


def ref(name: str) -> dict[str, str]:
    """A reference to a schema of the document's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null (OpenAPI 3.1 spells it as a type list; an enum must list null too)."""
    widened = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        widened["enum"] = [*schema["enum"], None]
    return widened


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
MOMENT = {"type": "string", "format": "date-time"}


@dataclass(frozen=True)
class Param:
    """A path or query parameter of an operation."""

    name: str
    where: str  # "path" or "query"
    schema: dict[str, Any]
    description: str
    required: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The parameter object of the document."""
        return {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                "description": self.description, "schema": self.schema}


def path(name: str, schema: dict[str, Any], description: str) -> Param:
    """A path parameter (an integer one becomes Flask's <int:…> converter)."""
    return Param(name, "path", schema, description, required=True)


def query(name: str, schema: dict[str, Any], description: str) -> Param:
    """An optional query parameter."""
    return Param(name, "query", schema, description)


@dataclass(frozen=True)
class Operation:
    """One documented route: method and path, what it takes and what it answers."""

    method: str
    path: str  # OpenAPI form, relative to the server URL: /tasks/{task_id}
    operation_id: str
    summary: str
    description: str
    tag: str
    params: tuple[Param, ...]
    body: dict[str, Any] | None
    ok: tuple[int, str, dict[str, dict[str, Any]]]  # (status, description, {media type: schema})
    errors: tuple[int, ...]
    public: bool

    def flask_rule(self) -> str:
        """The Flask rule of the path: {name} → <name> or <int:name>."""
        declared = {p.name: p for p in self.params if p.where == "path"}

        def convert(match: re.Match) -> str:
            param = declared.get(match[1])
            if param is None:
                raise ValueError(f"{self.method} {self.path}: path parameter {match[1]} is not declared")
            return f"<int:{param.name}>" if param.schema.get("type") == "integer" else f"<{param.name}>"

        rule = _PATH_PARAM.sub(convert, self.path)
        extra = set(declared) - set(_PATH_PARAM.findall(self.path))
        if extra:
            raise ValueError(f"{self.method} {self.path}: declared path parameters not in the path: {sorted(extra)}")
        return rule

    def as_dict(self) -> dict[str, Any]:
        """The operation object of the document."""
        status, description, content = self.ok
        responses: dict[str, Any] = {str(status): {"description": description}}
        if content:
            responses[str(status)]["content"] = {media: {"schema": schema} for media, schema in content.items()}
        for code in self.errors:
            responses[str(code)] = {"$ref": f"#/components/responses/{ERRORS[code][0]}"}
        operation: dict[str, Any] = {"operationId": self.operation_id, "summary": self.summary, "tags": [self.tag],
                                     "responses": responses}
        if self.description:
            operation["description"] = self.description
        if self.params:
            operation["parameters"] = [p.as_dict() for p in self.params]
        if self.body is not None:
            operation["requestBody"] = {"required": True,
                                        "content": {media: {"schema": s} for media, s in self.body.items()}}
        if self.public:
            operation["security"] = []
        return operation


@dataclass
class ApiSpec:
    """The operations of an API and its document; `operation` registers a view and documents it."""

    title: str
    version: str
    server: str
    description: str
    operations: list[Operation] = field(default_factory=list)

    def operation(self, blueprint: Blueprint, method: str, route: str, *, summary: str, tag: str,
                  params: Sequence[Param] = (), body: dict[str, Any] | None = None,
                  ok: tuple[int, str, dict[str, dict[str, Any]]] | None = None, errors: Sequence[int] = (),
                  description: str = "", public: bool = False) -> Callable[[Callable], Callable]:
        """Register `view` on `blueprint` for `method route` and add the operation to the document."""

        def decorator(view: Callable) -> Callable:
            op = Operation(method.upper(), route, view.__name__, summary, description, tag, tuple(params), body,
                           ok or (200, "OK", {}), tuple(errors), public)
            blueprint.add_url_rule(op.flask_rule(), endpoint=view.__name__, view_func=view, methods=[op.method])
            self.operations.append(op)
            return view

        return decorator

    def document(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document."""
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = op.as_dict()
        tags = sorted({op.tag for op in self.operations})
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version, "description": self.description,
                     "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"}},
            "servers": [{"url": self.server}],
            "tags": [{"name": name, "description": TAG_DESCRIPTIONS.get(name, "")} for name in tags],
            "security": [{"bearerAuth": []}, {"cookieAuth": []}],
            "paths": paths,
            "components": {"schemas": SCHEMAS, "responses": _error_responses(), "securitySchemes": SECURITY},
        }


TAG_DESCRIPTIONS = {
    "account": "Who is calling, with which roles, over which units.",
    "tasks": "The task lists of officials and what they do with a task.",
    "cases": "Cases in the caller's view: detail, history, comments between officials, attachments.",
    "notifications": "The caller's own inbox.",
    "monitoring": "Indicator values reported by units, checked, stored with their history and evaluated.",
    "meta": "This document.",
}

SECURITY = {
    "bearerAuth": {
        "type": "http", "scheme": "bearer", "bearerFormat": "ioc_…",
        "description": "A machine's token, made with `ioc token create USERNAME --name NAME`; it acts as that "
                       "user, with their roles and units. Revoke it with `ioc token revoke ID`.",
    },
    "cookieAuth": {
        "type": "apiKey", "in": "cookie", "name": "session",
        "description": "The session of a signed-in browser. Every POST must then carry the page's CSRF token "
                       "(`<meta name=\"csrf-token\">`) in the `X-CSRFToken` header, or it is refused with 400 "
                       "`csrf_failed` and nothing changes. Token callers need no CSRF header.",
    },
}

# status → (component name, description, error codes it carries)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Malformed request: a query parameter with a wrong value (`invalid_parameter`, see "
                        "`fields`), a body that is not JSON (`bad_json`) or cannot be read (`bad_request`), or a "
                        "missing/invalid X-CSRFToken header on a browser session's POST (`csrf_failed`). "
                        "Nothing was changed."),
    401: ("Unauthorized", "No valid session and no valid, unrevoked bearer token (`unauthorized`)."),
    403: ("Forbidden", "The resource is in your view but your roles do not allow this action (`forbidden`), "
                       "e.g. claiming a task of another role or one a colleague holds, reassigning without "
                       "being the unit head, or an account without an official role. The message says why."),
    404: ("NotFound", "No such resource in your view (`not_found`). A case, task or attachment of a unit "
                      "outside your view answers exactly like one that does not exist."),
    409: ("Conflict", "The task is closed already (completed, or taken away by its deadline), or someone "
                      "changed it at the same moment (`conflict`). Reload it and decide again."),
    413: ("TooLarge", "The upload is larger than the server accepts (`too_large`)."),
    422: ("Unprocessable", "The body is well-formed but some fields are wrong (`invalid`): `fields` says "
                           "what to fix in each. Nothing was changed."),
}


def _error_responses() -> dict[str, Any]:
    return {name: {"description": description, "content": {JSON: {"schema": ref("Error")}}}
            for name, description in ERRORS.values()}


def _object(properties: dict[str, Any], required: Sequence[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else list(required), **extra}


_PAGE = {"page": {"type": "integer", "minimum": 1}, "pages": {"type": "integer", "minimum": 1}}
_CHANNEL = {"type": "string", "enum": list(CHANNEL_PREFIX)}
_PRIORITY = {"type": "string", "enum": list(PRIORITIES)}

_TASK: dict[str, Any] = {
    "id": STRING, "title": STRING, "element_id": STRING, "case": ref("TaskCase"),
    "candidate_role": nullable(STRING), "candidate_unit": nullable(STRING), "assignee": nullable(STRING),
    "state": {"type": "string", "enum": ["open", "completed", "cancelled"]},
    "due_at": nullable(MOMENT),
    "due_in_seconds": nullable({"type": "integer", "description": "Negative when overdue (the SLA countdown)."}),
    "created_at": MOMENT, "completed_at": nullable(MOMENT),
    "claimable": {"type": "boolean", "description": "Open, held by nobody, and for a role you hold in its unit."},
    "mine": {"type": "boolean", "description": "You hold it."},
}

SCHEMAS: dict[str, Any] = {
    "Error": _object({
        "error": {"type": "string", "description": "A stable code: unauthorized, csrf_failed, bad_json, bad_request, "
                                                   "invalid_parameter, invalid, forbidden, not_found, conflict, "
                                                   "too_large."},
        "message": {"type": "string", "description": "What happened and what to do, in the caller's language."},
        "fields": {"type": "object", "additionalProperties": STRING,
                   "description": "Field or parameter → what to fix in it (empty when none is to blame)."},
        "errors": {"type": "array", "items": ref("KpiError"),
                   "description": "POST /kpi/values: every wrong value, by its index in `values`."},
    }, required=["error", "message"]),
    "Me": _object({
        "user": _object({"id": INTEGER, "username": STRING, "full_name": STRING,
                         "language": nullable({"type": "string", "enum": ["vi", "en"]}),
                         "unit_id": nullable(INTEGER)}),
        "roles": {"type": "array", "items": _object({"role": STRING, "unit": STRING})},
        "scope": _object({"units": {"type": "integer", "description": "How many units' cases and tasks you see."}}),
        "official": BOOLEAN,
        "via_token": BOOLEAN,
    }),
    "TaskCase": _object({
        "code": STRING, "title": STRING, "channel": _CHANNEL, "category_name": STRING,
        "place": STRING, "priority": _PRIORITY, "status": STRING,
    }),
    "Task": _object(_TASK),
    "TaskFormField": _object({
        "name": STRING,
        "type": {"type": "string", "enum": ["text", "textarea", "choice", "bool", "int", "number", "date"]},
        "required": BOOLEAN,
        "choices": {"type": "array", "items": STRING},
        "label": {"type": "string", "description": "In the caller's language."},
    }),
    "TaskDetail": _object({
        **_TASK,
        "form": _object({"fields": {"type": "array", "items": ref("TaskFormField")},
                         "instructions": nullable(STRING)}),
        "actions": _object({"claim": BOOLEAN, "release": BOOLEAN, "complete": BOOLEAN, "reassign": BOOLEAN}),
        "colleagues": {"type": "array", "description": "Who a unit head may give the task to.",
                       "items": _object({"username": STRING, "full_name": STRING})},
    }, description="A task (every field of Task) with its form and what you may do with it."),
    "TaskPage": _object({
        "tab": {"type": "string", "enum": list(TABS)}, "sort": {"type": "string", "enum": list(SORTS)}, **_PAGE,
        "counts": _object({tab: INTEGER for tab in TABS}),
        "filter": {"type": "object", "additionalProperties": STRING},
        "items": {"type": "array", "items": ref("Task")},
    }),
    "Notification": _object({
        "id": INTEGER,
        "kind": {"type": "string", "description": "new_task, escalation, reminder, leader_alert, returned, …"},
        "title": STRING, "body": STRING, "case_code": nullable(STRING), "created_at": MOMENT,
        "read_at": nullable(MOMENT), "unread": BOOLEAN,
    }),
    "NotificationPage": _object({
        **_PAGE, "total": INTEGER, "unread": {"type": "integer", "description": "Your unread count."},
        "items": {"type": "array", "items": ref("Notification")},
    }),
    "MarkRead": {
        "type": "object", "description": "Either `ids` (your notifications' ids) or `all: true`.",
        "properties": {"ids": {"type": "array", "items": INTEGER, "maxItems": 500}, "all": BOOLEAN},
        "additionalProperties": False,
    },
    "Marked": _object({"marked": INTEGER, "unread": INTEGER}),
    "UnitRef": _object({"code": STRING, "name": {"type": "string", "description": "In the caller's language."}}),
    "CaseSummary": _object({
        "code": STRING, "title": STRING, "channel": _CHANNEL, "category": {"type": "string",
                                                                        "description": "The category's name."},
        "place": STRING, "status": STRING, "priority": _PRIORITY, "unit": nullable(STRING),
        "due_at": nullable(MOMENT), "created_at": MOMENT, "overdue": BOOLEAN,
    }),
    "CasePage": _object({
        "page": {"type": "integer", "minimum": 1}, "has_next": BOOLEAN,
        "filter": {"type": "object", "additionalProperties": STRING},
        "items": {"type": "array", "items": ref("CaseSummary")},
    }),
    "Reporter": _object({"name": STRING, "phone": STRING, "email": STRING}),
    "Attachment": _object({
        "id": INTEGER, "filename": STRING, "content_type": STRING, "size": INTEGER,
        "media": {"type": "string", "enum": ["image", "video", "file"],
                  "description": "image and video may be shown inline; anything else is downloaded."},
        "public": BOOLEAN,
        "stage": {"type": "string", "enum": ["report", "resolution"],
                  "description": "report: sent with the case (before); resolution: the unit's after photo."},
        "uploaded_by": nullable(STRING), "created_at": MOMENT,
        "url": {"type": "string", "description": "Where to download it (same authentication)."},
    }),
    "CaseTask": _object({
        "id": STRING, "title": STRING, "element_id": STRING, "role": nullable(STRING), "unit": nullable(STRING),
        "assignee": nullable(STRING), "due_at": nullable(MOMENT), "created_at": MOMENT, "overdue": BOOLEAN,
    }),
    "EscalationStep": _object({
        "level": {"type": "integer", "description": "0 handling officers, 1 unit head, 2 the level above, "
                                                    "-1 returned to the IOC."},
        "label": STRING, "unit": STRING, "state": {"type": "string", "enum": ["done", "current", "next"]},
        "since": nullable(MOMENT), "due_at": nullable(MOMENT),
    }),
    "RelatedCase": _object({"code": STRING, "title": STRING, "status": STRING, "lat": {"type": "number"},
                            "lon": {"type": "number"}, "metres": INTEGER}),
    "Case": _object({
        "code": STRING, "title": STRING, "description": STRING, "channel": _CHANNEL,
        "category": {"type": "string", "description": "The category's name."},
        "place": ref("UnitRef"), "address": STRING, "lat": nullable({"type": "number"}),
        "lon": nullable({"type": "number"}), "priority": _PRIORITY, "status": STRING, "status_label": STRING,
        "responsible_unit": {"oneOf": [ref("UnitRef"), {"type": "null"}]},
        "escalation_level": INTEGER, "due_at": nullable(MOMENT), "overdue": BOOLEAN, "created_at": MOMENT,
        "resolution": nullable(STRING), "resolved_at": nullable(MOMENT), "closed_at": nullable(MOMENT),
        "reporter": {"oneOf": [ref("Reporter"), {"type": "null"}],
                     "description": "Only for officials of the responsible unit and of the operations centre; "
                                    "null for everyone else (then reporter_hidden is true when there is one)."},
        "reporter_hidden": BOOLEAN,
        "attachments": {"type": "array", "items": ref("Attachment")},
        "open_tasks": {"type": "array", "items": ref("CaseTask")},
        "escalation": {"type": "array", "items": ref("EscalationStep")},
        "related": {"type": "array", "items": ref("RelatedCase"),
                    "description": "Open cases of the same category within about 1 km, in your view."},
        "has_process": BOOLEAN, "incident": BOOLEAN,
    }),
    "TimelineEntry": _object({
        "at": MOMENT, "source": {"type": "string", "enum": ["case", "process"]}, "kind": STRING,
        "label": {"type": "string", "description": "In the caller's language."}, "actor": nullable(STRING),
        "public": BOOLEAN,
        "facts": {"type": "array", "items": _object({"label": STRING, "value": STRING})},
    }),
    "Timeline": _object({"items": {"type": "array", "items": ref("TimelineEntry")}}),
    "Comment": _object({"id": INTEGER, "author": STRING, "username": STRING, "body": STRING,
                        "created_at": MOMENT}),
    "Comments": _object({"items": {"type": "array", "items": ref("Comment")}}),
    "NewComment": _object({"body": {"type": "string", "minLength": 1, "maxLength": 5000}}),
    "Attachments": _object({"items": {"type": "array", "items": ref("Attachment")}}),
    "Upload": _object({"file": {"type": "string", "contentMediaType": "application/octet-stream",
                                "description": "The file (multipart field `file`); its name and type are kept."},
                       "stage": {"type": "string", "enum": ["report", "resolution"], "default": "report",
                                 "description": "resolution: the unit's after photo, published with the "
                                                "resolution."}}, required=["file"]),
    "CompleteTask": _object({"data": {"type": "object", "description": "One value per field of the task's form "
                                      "(see TaskDetail.form); text, choice and date as strings, bool as a "
                                      "boolean, int and number as numbers."}}),
    "Reassign": _object({"assignee": {"type": "string", "description": "The username of a colleague holding the "
                                                                       "task's role in its unit."}}),
    # Monitoring: indicator values (POST /kpi/values).
    "KpiValue": _object({
        "indicator": {"type": "string", "description": "The indicator's code in the catalogue."},
        "unit": {"type": "string", "description": "The code of a unit in your view that reports the indicator."},
        "period": {"type": ["string", "integer"], "description": "2026-03, 03/2026, T3/2026; 2026-Q1, Q1/2026, "
                                                                 "Quý I/2026; 2026."},
        "value": {"type": ["number", "string"], "description": "A number, or a text as people write it: 1.234,5 "
                                                              "or 1,234.5; 62,5 % for indicators in per cent."},
    }),
    "KpiValues": _object({
        "values": {"type": "array", "items": ref("KpiValue"), "minItems": 1, "maxItems": 200000},
        "mode": {"type": "string", "enum": ["all_or_nothing", "keep_good"], "default": "all_or_nothing"},
        "dry_run": {"type": "boolean", "default": False},
    }, required=["values"]),
    "KpiError": _object({"index": nullable({"type": "integer", "description": "The value's place in `values` "
                                                                            "(null: the request as a whole)."}),
                         "field": nullable(STRING), "message": STRING}),
    "KpiReport": _object({
        "upload_id": INTEGER, "dry_run": BOOLEAN, "stored": BOOLEAN,
        "decision": {"type": "string", "enum": ["dry_run", "stored", "kept_good"]},
        "total": INTEGER, "good": INTEGER, "bad": {"type": "integer", "description": "Values with a problem."},
        "new": {"type": "integer", "description": "Values new (or that would be)."},
        "changed": {"type": "integer", "description": "Values changed (or that would be)."},
        "unchanged": INTEGER,
        "errors": {"type": "array", "items": ref("KpiError")},
        "would_breach": {"type": "array", "items": _object({
            "indicator": STRING, "unit_id": INTEGER, "period": STRING, "rule": STRING, "severity": STRING,
            "value": nullable({"type": "number"}), "expected": nullable({"type": "number"}), "message": STRING})},
    }),
}
