"""A timer expression the sandbox cannot compile is told in plain words, without Python's exception names."""

from __future__ import annotations

from engine.expressions import RestrictedEvaluator
from engine.spiff import check_timer


def test_an_unterminated_quote_in_a_timer_is_named_without_syntaxerror():
    message = str(check_timer('"PT2H', "DurationTimerEventDefinition", RestrictedEvaluator()))
    assert "'\"PT2H'" in message and "unterminated string literal" in message
    assert "SyntaxError" not in message and "\n" not in message
