"""A category's extra questions (số cột đèn, độ sâu ổ gà…): declared as data, asked by every channel.

A question is a dict kept in `Category.questions`:

    {"name": "pole_number", "label": "Số hiệu cột đèn", "label_en": "Pole number",
     "type": "text" | "number" | "choice" | "yesno", "required": false,
     "choices": [{"value": "all", "label": "Cả tuyến", "label_en": "The whole street"}, …]}

The citizen portal and the hotline console show them as form fields, Open311 publishes them as
the attributes of a service definition, and `clean_answers` checks what any channel sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.i18n import t

QUESTION_TYPES = ("text", "number", "choice", "yesno")
MAX_TEXT = 500


@dataclass(frozen=True)
class Question:
    """One extra question of a category."""

    name: str
    label: str
    label_en: str
    type: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str, str], ...] = ()  # (value, label, label_en)

    def label_in(self, language: str) -> str:
        """The question in `language` (vi or en)."""
        return self.label_en if language == "en" and self.label_en else self.label

    def choices_in(self, language: str) -> list[tuple[str, str]]:
        """(value, label) pairs in `language`."""
        return [(value, label_en if language == "en" and label_en else label) for value, label, label_en in self.choices]


def parse_questions(raw: list[dict[str, Any]] | None) -> list[Question]:
    """The questions declared in a category's data; ValueError names the one that is wrong."""
    questions = []
    for index, item in enumerate(raw or []):
        name = str(item.get("name") or "")
        kind = item.get("type", "text")
        if not name.isidentifier():
            raise ValueError(f"question {index + 1}: name {name!r} must be a short identifier (letters, digits, _)")
        if kind not in QUESTION_TYPES:
            raise ValueError(f"question {name}: type {kind!r} is not one of {', '.join(QUESTION_TYPES)}")
        choices = tuple((str(c["value"]), str(c.get("label") or c["value"]), str(c.get("label_en") or ""))
                        for c in item.get("choices") or [])
        if kind == "choice" and not choices:
            raise ValueError(f"question {name}: a choice question needs choices")
        questions.append(Question(name=name, label=str(item.get("label") or name), label_en=str(item.get("label_en") or ""),
                                  type=kind, required=bool(item.get("required")), choices=choices))
    return questions


_YES = {"1", "true", "yes", "on", "co", "có"}
_NO = {"0", "false", "no", "off", "khong", "không"}


def clean_answers(questions: list[Question], sent: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(answers, errors): the answers converted to their types, and a message per question to fix.

    Unknown names are ignored (a client may send more than the category asks); empty answers
    to optional questions are left out.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for q in questions:
        value = sent.get(q.name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if q.required:
                errors[q.name] = t("required")
            continue
        if q.type == "number":
            try:
                number = float(str(value).replace(",", "."))
            except ValueError:
                errors[q.name] = t("write a number")
                continue
            if number != number or abs(number) > 1e9:  # NaN or absurd
                errors[q.name] = t("write a number")
                continue
            answers[q.name] = int(number) if number.is_integer() else number
        elif q.type == "yesno":
            word = str(value).lower()
            if word in _YES or value is True:
                answers[q.name] = True
            elif word in _NO or value is False:
                answers[q.name] = False
            else:
                errors[q.name] = t("answer yes or no")
        elif q.type == "choice":
            allowed = [c[0] for c in q.choices]
            if str(value) not in allowed:
                errors[q.name] = t("must be one of %(choices)s", choices=", ".join(allowed))
            else:
                answers[q.name] = str(value)
        else:
            text = str(value)
            if len(text) > MAX_TEXT:
                errors[q.name] = t("at most %(n)s characters; shorten it", n=MAX_TEXT)
            else:
                answers[q.name] = text
    return answers, errors
