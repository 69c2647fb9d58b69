"""Translatable messages of the engine: English as str, translated later by the web layer."""

from __future__ import annotations

import copy
import pickle

from engine.errors import OperatorError
from engine.i18n import Text, t, text_of

VI = {
    "no task %(task)s": "không có nhiệm vụ %(task)s",
    "timer value %(value)s is not %(wanted)s": "giá trị hẹn giờ %(value)s không phải là %(wanted)s",
    "a duration longer than zero": "một khoảng thời gian lớn hơn 0",
}


def fake_gettext(msgid, **params):
    """Flask-Babel's gettext in miniature: look up, then %-format only when given parameters."""
    found = VI.get(msgid, msgid)
    return found % params if params else found


def test_a_text_is_its_english_rendering():
    message = t("no task %(task)s", task="abc")
    assert isinstance(message, str) and isinstance(message, Text)
    assert message == "no task abc" and str(message) == "no task abc" and f"{message}!" == "no task abc!"
    assert "task abc" in message and message.startswith("no task")
    assert message.msgid == "no task %(task)s" and message.params == {"task": "abc"}


def test_without_parameters_the_msgid_is_not_formatted():
    assert t("100% done") == "100% done"


def test_translate_passes_the_parameters_to_gettext():
    assert t("no task %(task)s", task="abc").translate(fake_gettext) == "không có nhiệm vụ abc"
    assert t("not in the catalog %(x)s", x=1).translate(fake_gettext) == "not in the catalog 1"


def test_text_parameters_are_translated_first():
    message = t("timer value %(value)s is not %(wanted)s", value="'4 hours'", wanted=t("a duration longer than zero"))
    assert message == "timer value '4 hours' is not a duration longer than zero"
    assert message.translate(fake_gettext) == "giá trị hẹn giờ '4 hours' không phải là một khoảng thời gian lớn hơn 0"


def test_exceptions_keep_english_text_and_give_back_their_text():
    exc = OperatorError(t("no task %(task)s", task="abc"))
    assert str(exc) == "no task abc"
    assert text_of(exc).translate(fake_gettext) == "không có nhiệm vụ abc"
    assert text_of(ValueError("plain")) == "plain" and not isinstance(text_of(ValueError("plain")), Text)


def test_a_text_survives_pickling_and_copying():
    message = t("timer value %(value)s is not %(wanted)s", value="x", wanted=t("a duration longer than zero"))
    for again in (pickle.loads(pickle.dumps(message)), copy.deepcopy(message)):
        assert again == message and again.msgid == message.msgid
        assert again.translate(fake_gettext) == message.translate(fake_gettext)


def test_a_named_parameter_is_english_in_the_english_text_and_vietnamese_when_translated():
    from engine.i18n import Named, from_json, to_json

    message = t("New task: %(task)s", task=Named("Phân loại phản ánh", "Triage the report"))
    assert str(message) == "New task: Triage the report"  # the fallback column and logs read English
    assert message.translate(lambda msgid, **p: msgid % p, "vi") == "New task: Phân loại phản ánh"
    assert str(from_json(to_json(message))) == str(message)
