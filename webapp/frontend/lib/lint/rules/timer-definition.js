// A timer needs a date, a duration or a cycle: without one the engine cannot say when it fires.
import { is } from "bpmnlint-utils";
import { say } from "../messages.js";

const text = (expression) => String((expression && (expression.body ?? expression.$body)) || "").trim();

export default function timerDefinition() {
  function check(node, reporter) {
    if (!is(node, "bpmn:Event")) return;
    for (const definition of node.eventDefinitions || []) {
      if (is(definition, "bpmn:TimerEventDefinition")
          && !text(definition.timeDate) && !text(definition.timeDuration) && !text(definition.timeCycle)) {
        reporter.report(node.id, say("timer-definition"));
      }
    }
  }
  return { check };
}
