"""The operators of the indicator-breach process (bpmn/kpi_breach.bpmn): what the case history records.

Each writes to the step's session only (as workflows/operators.py's do), so it commits with the process
state or not at all. The process data they read is the start data the evaluation gives (START_DATA["kpi"]).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine.errors import OperatorError
from engine.i18n import Named, t
from engine.registry import OperatorContext, OperatorRegistry
from workflows.models import AdminUnit, Case
from workflows.operators import _case, _event, _param

VERDICTS = ("recovered", "still_breaching", "missing")
_BREACH_FIELDS = ("indicator", "indicator_name", "unit", "period", "rule", "severity", "value", "expected", "message")


def register_kpi_operators(registry: OperatorRegistry) -> OperatorRegistry:
    """Register the monitoring operators in `registry` (returns it)."""

    @registry.register("kpi_record_breach",
                       _param("previous_case", "Mã hồ sơ trước của cùng chỉ tiêu và đơn vị (nếu có: tái diễn).",
                              "The previous case of the same indicator and unit (if any: a recurrence).",
                              required=False),
                       description=Named("Ghi vào lịch sử hồ sơ chỉ tiêu vi phạm: số liệu, quy tắc, mức độ và hồ sơ "
                                         "trước (khi tái diễn).",
                                         "Record in the case history the indicator's breach: the value, the rule, "
                                         "the severity and the previous case (on a recurrence)."))
    def kpi_record_breach(ctx: OperatorContext, previous_case: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        if case.admin_unit is None and case.admin_unit_id is not None:
            # A case opened in this very step and not flushed yet: its place is read by notify_leaders next.
            case.admin_unit = ctx.session.get(AdminUnit, case.admin_unit_id)
        detail = {name: str(ctx.data.get(f"kpi_{name}", "") or "") for name in _BREACH_FIELDS}
        previous = str(previous_case or "").strip()
        if previous:
            found = ctx.session.scalar(select(Case.id).where(Case.code == previous))
            if found is None:
                raise OperatorError(t("the previous case %(code)s does not exist", code=repr(previous)))
            detail["previous_case"] = previous
        _event(ctx, case, "kpi_breach", False, **detail)
        return {"recorded_at": ctx.now.isoformat(), "previous_case": previous}

    @registry.register("kpi_record_plan",
                       _param("explanation", "Giải trình nguyên nhân (không được để trống).",
                              "The explanation of the cause (must not be empty)."),
                       _param("plan", "Kế hoạch khắc phục (không được để trống).", "The remedial plan (must not be empty)."),
                       _param("plan_due", "Ngày hoàn thành kế hoạch (YYYY-MM-DD).", "The plan's completion date (YYYY-MM-DD)."),
                       description=Named("Ghi nhận giải trình và kế hoạch khắc phục của đơn vị vào lịch sử hồ sơ.",
                                         "Record the unit's explanation and remedial plan in the case history."))
    def kpi_record_plan(ctx: OperatorContext, explanation: Any, plan: Any, plan_due: Any) -> dict[str, Any]:
        case = _case(ctx)
        why, what = str(explanation or "").strip(), str(plan or "").strip()
        if not why or not what:
            raise OperatorError(t("the explanation and the plan must not be empty; the plan form must require them"))
        try:
            due = date.fromisoformat(str(plan_due))
        except ValueError:
            raise OperatorError(t("the plan's date must be a date like 2026-12-31, got %(value)s",
                                  value=repr(plan_due))) from None
        _event(ctx, case, "kpi_plan", False, explanation=why[:4000], plan=what[:4000], plan_due=due.isoformat(),
               round=ctx.data.get("kpi_round", 1))
        return {"recorded_at": ctx.now.isoformat(), "plan_due": due.isoformat()}

    @registry.register("kpi_record_followup",
                       _param("verdict", "\"recovered\", \"still_breaching\" hoặc \"missing\".",
                              "\"recovered\", \"still_breaching\" or \"missing\"."),
                       _param("period", "Kỳ báo cáo đã đánh giá.", "The period evaluated.", required=False),
                       _param("severity", "Mức độ khi vẫn vi phạm.", "The severity when still breaching.",
                              required=False),
                       description=Named("Ghi nhận kết quả đánh giá số liệu kỳ sau (đạt lại, vẫn vi phạm, chưa có "
                                         "số liệu).", "Record the evaluation of the next period (recovered, still "
                                         "breaching, no value)."))
    def kpi_record_followup(ctx: OperatorContext, verdict: Any, period: Any = "", severity: Any = "") -> dict[str, Any]:
        case = _case(ctx)
        verdict = str(verdict)
        if verdict not in VERDICTS:
            raise OperatorError(t("the verdict must be one of %(choices)s, got %(verdict)s",
                                  choices=", ".join(VERDICTS), verdict=repr(verdict)))
        message = ctx.data.get("kpi_next") or {}
        _event(ctx, case, "kpi_followup", False, verdict=verdict, period=str(period or ""),
               severity=str(severity or ""), value=message.get("value"), message=str(message.get("message", ""))[:2000])
        return {"verdict": verdict, "period": str(period or "")}

    return registry
