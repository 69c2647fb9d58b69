// ioc deploy takes only executable processes: a process with elements but not marked so is refused.
import { is } from "bpmnlint-utils";
import { say } from "../messages.js";

export default function processExecutable() {
  function check(node, reporter) {
    if (is(node, "bpmn:Process") && node.isExecutable !== true && (node.flowElements || []).length) {
      reporter.report(node.id, say("process-executable"));
    }
  }
  return { check };
}
