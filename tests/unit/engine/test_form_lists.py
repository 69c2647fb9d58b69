"""`choice@list` form fields: their choices come from a live list the application registers."""

from __future__ import annotations

import pytest

from engine.errors import FormError
from engine.forms import BoundSources, ChoiceSource, clean_form_data
from engine.registry import OperatorRegistry
from engine.spiff import parse_field

# A list of the kind the workflows layer registers (there, read from the database each time).
COLOURS = {"red": ("Đỏ", "Red"), "blue": ("Xanh", "Blue")}
SOURCE = ChoiceSource(options=lambda session, lang: [(k, v[1] if lang == "en" else v[0]) for k, v in COLOURS.items()],
                      check=lambda session, value: value in COLOURS)


def test_a_choice_field_names_its_list():
    field = parse_field("colour", "choice@colours! | Màu | Colour")
    assert (field.type, field.source, field.required, field.choices) == ("choice", "colours", True, ())
    assert field.as_dict()["source"] == "colours"
    assert "source" not in parse_field("x", "choice:a,b").as_dict()


@pytest.mark.parametrize("spec", ["text@colours", "choice@colours:red,blue", "choice@ | x"])
def test_only_a_plain_choice_field_takes_a_list(spec):
    with pytest.raises(ValueError):
        parse_field("colour", spec)


def test_completion_is_checked_against_the_list_as_it_is_now():
    form = [parse_field("colour", "choice@colours!").as_dict()]
    lists = BoundSources({"colours": SOURCE}, session=None)
    assert clean_form_data(form, {"colour": "red"}, lists) == {"colour": "red"}
    with pytest.raises(FormError) as refused:
        clean_form_data(form, {"colour": "green"}, lists)
    assert set(refused.value.fields) == {"colour"}
    COLOURS["green"] = ("Lục", "Green")  # the list grew: the same value is now accepted
    try:
        assert clean_form_data(form, {"colour": "green"}, lists) == {"colour": "green"}
        assert lists.options("colours", "en")[-1] == ("green", "Green")
    finally:
        del COLOURS["green"]
    # Without the lists (or naming an unknown one) nothing is accepted.
    with pytest.raises(FormError):
        clean_form_data(form, {"colour": "red"})
    with pytest.raises(FormError):
        clean_form_data(form, {"colour": "red"}, BoundSources({}, session=None))


def test_a_list_is_registered_once():
    registry = OperatorRegistry()
    registry.register_list("colours", SOURCE)
    with pytest.raises(ValueError):
        registry.register_list("colours", SOURCE)
