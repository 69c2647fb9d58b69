// A call activity names the process it calls; a business rule task names the decision table it calls.
import { is } from "bpmnlint-utils";
import { say } from "../messages.js";
import { body, extensions } from "./spiff.js";

export default function calledElement() {
  function check(node, reporter) {
    if (is(node, "bpmn:CallActivity") && !String(node.calledElement || "").trim()) {
      reporter.report(node.id, say("call-activity-called"));
    }
    if (is(node, "bpmn:BusinessRuleTask") && !extensions(node, "calledDecisionId").some((e) => body(e))) {
      reporter.report(node.id, say("business-rule-decision"));
    }
  }
  return { check };
}
