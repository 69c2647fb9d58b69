// A service task calls an operator of the registry with the parameters it declares as required.
import { is } from "bpmnlint-utils";
import { say } from "../messages.js";
import { operatorOf } from "./spiff.js";

export default function serviceOperator(config = {}) {
  function check(node, reporter) {
    if (!is(node, "bpmn:ServiceTask")) return;
    const operator = operatorOf(node);
    if (!operator || !operator.id) {
      reporter.report(node.id, say("service-no-operator"));
      return;
    }
    const registry = config.registry;
    if (!registry || !Array.isArray(registry.operators)) return; // the registry is not known (yet): the server checks
    const declared = registry.operators.find((op) => op.name === operator.id);
    if (!declared) {
      reporter.report(node.id, say("service-unknown-operator", { operator: `“${operator.id}”` }));
      return;
    }
    const params = declared.params || [];
    for (const param of params) {
      const value = operator.params[param.name];
      if (param.required && (value === undefined || value === null || String(value).trim() === "")) {
        reporter.report(node.id, say("service-missing-parameter", { operator: `“${operator.id}”`, param: `“${param.name}”` }));
      }
    }
    const names = new Set(params.map((param) => param.name));
    for (const name of Object.keys(operator.params)) {
      if (!names.has(name)) {
        reporter.report(node.id, say("service-unknown-parameter", { operator: `“${operator.id}”`, param: `“${name}”` }));
      }
    }
  }
  return { check };
}
