"""Form fields declared in BPMN, and checking completion data against them."""

from __future__ import annotations

import pytest

from engine.errors import FormError
from engine.forms import clean_form_data
from engine.spiff import parse_field


def test_field_declarations_are_read():
    field = parse_field("outcome", "choice!:resolved,returned | Kết quả | Outcome")
    assert field.as_dict() == {"name": "outcome", "type": "choice", "required": True,
                               "choices": ["resolved", "returned"], "label": "Kết quả", "label_en": "Outcome"}
    assert parse_field("note", "textarea").as_dict()["label"] == "note"


@pytest.mark.parametrize("spec", ["colour", "choice!", "text:a,b", ""])
def test_bad_field_declarations_say_what_is_expected(spec):
    with pytest.raises(ValueError, match="field 'x'"):
        parse_field("x", spec)


FORM = [parse_field(n, s).as_dict() for n, s in {
    "resolution": "textarea! | Kết quả", "count": "int", "cost": "number", "urgent": "bool",
    "when": "date", "kind": "choice:a,b"}.items()]


def test_values_are_typed():
    clean = clean_form_data(FORM, {"resolution": "  Đã xong  ", "count": "3", "cost": "1.5", "urgent": "on",
                                   "when": "2026-12-01", "kind": "b"})
    assert clean == {"resolution": "Đã xong", "count": 3, "cost": 1.5, "urgent": True, "when": "2026-12-01",
                     "kind": "b"}
    assert clean_form_data(FORM, {"resolution": "x", "urgent": "không"})["urgent"] is False


def test_each_wrong_value_gets_its_own_message():
    with pytest.raises(FormError) as err:
        clean_form_data(FORM, {"resolution": " ", "count": "ba", "cost": "nan", "urgent": "maybe",
                               "when": "31/12/2026", "kind": "c", "extra": 1})
    assert err.value.fields == {
        "resolution": "required", "count": "must be a whole number", "cost": "must be a finite number",
        "urgent": "must be yes or no", "when": "must be a date like 2026-12-31", "kind": "must be one of: a, b",
        "extra": "this task has no such field"}


def test_a_task_without_a_form_takes_no_data():
    with pytest.raises(FormError, match="this task takes no data"):
        clean_form_data([], {"anything": 1})
    assert clean_form_data([], {}) == {}


def test_a_field_can_be_required_only_with_one_choice_of_another():
    form = [parse_field(n, s).as_dict() for n, s in {
        "review_decision": "choice!:approve,refuse | Ý kiến", "review_note": "textarea!(review_decision=refuse) | Lý do"
    }.items()]
    assert form[1]["required"] is False
    assert form[1]["required_when"] == {"field": "review_decision", "values": ["refuse"]}
    assert clean_form_data(form, {"review_decision": "approve"}) == {"review_decision": "approve"}
    with pytest.raises(FormError) as err:
        clean_form_data(form, {"review_decision": "refuse", "review_note": "  "})
    assert err.value.fields == {"review_note": "required with the choice made above"}
    assert clean_form_data(form, {"review_decision": "refuse", "review_note": "Thiếu ảnh"})["review_note"] == "Thiếu ảnh"


@pytest.mark.parametrize("spec", ["textarea(decision=reject)", "textarea!(decision=)", "textarea!(=reject)",
                                  "textarea!(a b=reject)"])
def test_a_bad_condition_says_how_to_write_one(spec):
    with pytest.raises(ValueError, match="field 'x'"):
        parse_field("x", spec)
