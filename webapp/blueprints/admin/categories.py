"""Categories in the console: names in both languages, extra questions, default priority, routing rows."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.blueprints.admin import admin_required, bp, section
from webapp.extensions import db
from webapp.i18n import translate
from webapp.runtime import runtime
from workflows.admin.audit import AuditLog
from workflows.admin.categories import MAX_QUESTIONS, CategoryAdmin, CategoryError, CategoryForm, questions_as_rows
from workflows.models import PRIORITIES
from workflows.questions import QUESTION_TYPES

section("admin.categories", _l("Categories"), order=30,
        description=_l("Fields of reports: names in both languages, extra questions, default priority, routing."))

BLANK_ROWS = 2
FIELDS = ("code", "name", "name_en", "default_priority", "department")
_PRIORITY_WORDS = {"low": _l("low"), "normal": _l("normal"), "high": _l("high")}
_TYPE_WORDS = {"text": _l("text"), "number": _l("number"), "choice": _l("choice"), "yesno": _l("yes / no")}


def _admin() -> CategoryAdmin:
    return CategoryAdmin(db.session, runtime().clock)


def _posted() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The form's fields and question rows as typed (rows numbered q-1-… up to the count the page sent)."""
    values = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    count = min(request.form.get("question_rows", 0, type=int) or 0, MAX_QUESTIONS + BLANK_ROWS)
    rows = [{k: request.form.get(f"q-{n}-{k}") or "" for k in ("name", "label", "label_en", "type", "choices", "required")}
            for n in range(1, count + 1)]
    return values, rows


def _form_page(admin: CategoryAdmin, template: str, values: dict[str, str], rows: list[dict[str, Any]],
               errors: dict[str, str] | None = None, status: int = 200, **extra: Any):
    rows = [*rows, *({"type": "text"} for _ in range(BLANK_ROWS))]
    return render_template(template, values=values, rows=rows, errors=errors or {}, departments=admin.departments(),
                           priorities=[(p, _PRIORITY_WORDS[p]) for p in PRIORITIES],
                           types=[(k, _TYPE_WORDS[k]) for k in QUESTION_TYPES], **extra), status


def _errors(exc: CategoryError) -> dict[str, str]:
    return {k: translate(v) for k, v in exc.fields.items()}


@bp.get("/categories")
@admin_required()
def categories():
    """Every category with its priority, department, questions and cases; disabled ones last."""
    return render_template("admin/categories.html", rows=_admin().overview(), priority_word=_PRIORITY_WORDS)


@bp.route("/categories/new", methods=["GET", "POST"])
@admin_required()
def categories_new():
    """Create a category."""
    admin = _admin()
    if request.method == "GET":
        return _form_page(admin, "admin/category_new.html", {"default_priority": "normal"}, [])
    values, rows = _posted()
    try:
        category = admin.create(g.actor, CategoryForm(questions=rows, **values))
    except CategoryError as exc:
        db.session.rollback()
        return _form_page(admin, "admin/category_new.html", values, rows, _errors(exc), 400)
    flash(_("Category %(name)s created.", name=category.name))
    return redirect(url_for("admin.categories_edit", code=category.code), 303)


@bp.route("/categories/<code>", methods=["GET", "POST"])
@admin_required()
def categories_edit(code: str):
    """One category: its form, the routing rows that use it, and its audit lines."""
    admin = _admin()
    category = admin.get(code[:40])
    if category is None:
        abort(404)
    extra = {"category": category, "routing": admin.routing_rows(category.code),
             "history": AuditLog(db.session, current_app.config["TIMEZONE"]).for_target("category", category.code)}
    if request.method == "GET":
        department = next((d.code for d in admin.departments() if d.id == category.department_id), "")
        values = {"code": category.code, "name": category.name, "name_en": category.name_en,
                  "default_priority": category.default_priority, "department": department}
        return _form_page(admin, "admin/category.html", values, questions_as_rows(category.questions or []), **extra)
    values, rows = _posted()
    try:
        admin.update(g.actor, category.code, CategoryForm(questions=rows, **{**values, "code": category.code}))
    except CategoryError as exc:
        db.session.rollback()
        return _form_page(admin, "admin/category.html", values, rows, _errors(exc), 400, **extra)
    flash(_("Category saved."))
    return redirect(url_for("admin.categories_edit", code=category.code), 303)


@bp.post("/categories/<code>/<any(disable, enable):action>")
@admin_required()
def categories_active(code: str, action: str):
    """Disable a category (no channel offers it; its cases keep it) or enable it again."""
    admin = _admin()
    if admin.get(code[:40]) is None:
        abort(404)
    admin.set_active(g.actor, code[:40], action == "enable")
    flash(_("Category enabled again.") if action == "enable" else _("Category disabled: no channel offers it any more."))
    return redirect(url_for("admin.categories_edit", code=code[:40]), 303)
