"""The audit log's pure parts: before/after side by side, JSON snapshots, action labels as keys."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.i18n import t
from workflows.admin.audit import ACTION_LABELS, AuditLine, action_label, jsonable, register_actions


def _line(before, after) -> AuditLine:
    return AuditLine(1, datetime(2026, 12, 3, tzinfo=UTC), 1, "admin", "user.update", "user", "7", "cb.tanlap",
                     before, after, "")


def test_before_and_after_are_paired_field_by_field_in_a_stable_order():
    changes = _line({"full_name": "A", "email": "a@x.vn"}, {"full_name": "B", "email": "a@x.vn", "language": "en"})
    assert [(c.field, c.before, c.after, c.changed) for c in changes.changes()] == [
        ("full_name", "A", "B", True), ("email", "a@x.vn", "a@x.vn", False), ("language", None, "en", True)]
    # A creation has no before, a removal no after; a state that is not a mapping is one "value".
    assert [c.field for c in _line(None, {"name": "x"}).changes()] == ["name"]
    assert [(c.before, c.after) for c in _line("open", "closed").changes()] == [("open", "closed")]
    assert _line(None, None).changes() == []


def test_snapshots_hold_only_what_json_can():
    snapshot = jsonable({"at": datetime(2026, 12, 3, 9, 30, tzinfo=UTC), "day": date(2027, 2, 3),
                         "roles": {"officer@P-TAN-LAP", "admin@IOC-DLK"}, "pair": ("a", 1), 5: None})
    assert snapshot == {"at": "2026-12-03T09:30:00+00:00", "day": "2027-02-03",
                        "roles": ["admin@IOC-DLK", "officer@P-TAN-LAP"], "pair": ["a", 1], "5": None}


def test_actions_are_stored_as_keys_and_labelled_when_shown():
    assert action_label("user.disable").msgid == "disable user"
    assert action_label("something.unknown") == "something.unknown"  # an old key still shows
    register_actions({"test.thing": t("do a test thing")})
    try:
        assert action_label("test.thing").msgid == "do a test thing"
    finally:
        ACTION_LABELS.pop("test.thing")
