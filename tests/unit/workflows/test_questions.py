"""A category's extra questions: declared as data, checked the same way for every channel."""

from __future__ import annotations

import pytest

from workflows.demo import demo_data
from workflows.questions import clean_answers, parse_questions

QUESTIONS = parse_questions([
    {"name": "pole_number", "label": "Số hiệu cột đèn", "label_en": "Pole number"},
    {"name": "lamps_out", "label": "Số bóng không sáng", "type": "number"},
    {"name": "flooded", "label": "Đang ngập?", "type": "yesno", "required": True},
    {"name": "extent", "label": "Phạm vi", "type": "choice",
     "choices": [{"value": "one", "label": "Một cột", "label_en": "One pole"}, {"value": "street", "label": "Cả tuyến"}]},
])


def test_answers_are_converted_to_their_types():
    answers, errors = clean_answers(QUESTIONS, {"pole_number": " C-12 ", "lamps_out": "3", "flooded": "có",
                                                "extent": "street", "unknown": "ignored"})
    assert errors == {}
    assert answers == {"pole_number": "C-12", "lamps_out": 3, "flooded": True, "extent": "street"}
    assert clean_answers(QUESTIONS, {"flooded": "no", "lamps_out": "2,5"})[0] == {"flooded": False, "lamps_out": 2.5}


def test_each_wrong_answer_says_what_to_fix():
    answers, errors = clean_answers(QUESTIONS, {"lamps_out": "many", "extent": "all", "pole_number": "x" * 501})
    assert answers == {}
    assert set(errors) == {"lamps_out", "extent", "pole_number", "flooded"}
    assert errors["flooded"] == "required"
    assert "one, street" in errors["extent"]
    assert clean_answers(QUESTIONS, {"flooded": "maybe"})[1] == {"flooded": "answer yes or no"}
    assert clean_answers(QUESTIONS, {"flooded": True, "lamps_out": "nan"})[1] == {"lamps_out": "write a number"}


def test_labels_in_both_languages():
    extent = QUESTIONS[3]
    assert extent.choices_in("en") == [("one", "One pole"), ("street", "Cả tuyến")]  # no English: the Vietnamese
    assert QUESTIONS[0].label_in("en") == "Pole number" and QUESTIONS[0].label_in("vi") == "Số hiệu cột đèn"


@pytest.mark.parametrize("raw, problem", [
    ([{"name": "2bad"}], "identifier"),
    ([{"name": "x", "type": "date"}], "type"),
    ([{"name": "x", "type": "choice"}], "needs choices"),
])
def test_a_wrong_declaration_is_refused_with_its_name(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_questions(raw)


def test_the_demo_questions_parse():
    declared = {c["code"]: parse_questions(c.get("questions")) for c in demo_data()["categories"]}
    assert declared["street_lighting"] and declared["traffic"]
