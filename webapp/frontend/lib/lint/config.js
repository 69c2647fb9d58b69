// The compiled bpmnlint configuration: bpmnlint's recommended rules plus the project's own pack ("ioc/…"),
// in the {config, resolver} form bpmnlint's Linter and bpmn-js-bpmnlint's `linting.bpmnlint` take. (bpmnlint's
// rollup/webpack plug-ins write this object at build time; with esbuild it is written here by hand.)
import recommended from "bpmnlint/config/recommended";
import adHocSubProcess from "bpmnlint/rules/ad-hoc-sub-process";
import conditionalFlows from "bpmnlint/rules/conditional-flows";
import endEventRequired from "bpmnlint/rules/end-event-required";
import eventBasedGateway from "bpmnlint/rules/event-based-gateway";
import eventSubProcessTypedStartEvent from "bpmnlint/rules/event-sub-process-typed-start-event";
import fakeJoin from "bpmnlint/rules/fake-join";
import global from "bpmnlint/rules/global";
import labelRequired from "bpmnlint/rules/label-required";
import linkEvent from "bpmnlint/rules/link-event";
import noBpmndi from "bpmnlint/rules/no-bpmndi";
import noComplexGateway from "bpmnlint/rules/no-complex-gateway";
import noDisconnected from "bpmnlint/rules/no-disconnected";
import noDuplicateSequenceFlows from "bpmnlint/rules/no-duplicate-sequence-flows";
import noGatewayJoinFork from "bpmnlint/rules/no-gateway-join-fork";
import noImplicitEnd from "bpmnlint/rules/no-implicit-end";
import noImplicitSplit from "bpmnlint/rules/no-implicit-split";
import noImplicitStart from "bpmnlint/rules/no-implicit-start";
import noInclusiveGateway from "bpmnlint/rules/no-inclusive-gateway";
import noOverlappingElements from "bpmnlint/rules/no-overlapping-elements";
import singleBlankStartEvent from "bpmnlint/rules/single-blank-start-event";
import singleEventDefinition from "bpmnlint/rules/single-event-definition";
import startEventRequired from "bpmnlint/rules/start-event-required";
import subProcessBlankStartEvent from "bpmnlint/rules/sub-process-blank-start-event";
import superfluousGateway from "bpmnlint/rules/superfluous-gateway";
import superfluousLabel from "bpmnlint/rules/superfluous-label";
import superfluousTermination from "bpmnlint/rules/superfluous-termination";

import calledElement from "./rules/called-element.js";
import processExecutable from "./rules/process-executable.js";
import serviceOperator from "./rules/service-operator.js";
import timerDefinition from "./rules/timer-definition.js";
import userTaskLane from "./rules/user-task-lane.js";

const BPMNLINT_RULES = {
  "ad-hoc-sub-process": adHocSubProcess,
  "conditional-flows": conditionalFlows,
  "end-event-required": endEventRequired,
  "event-based-gateway": eventBasedGateway,
  "event-sub-process-typed-start-event": eventSubProcessTypedStartEvent,
  "fake-join": fakeJoin,
  global,
  "label-required": labelRequired,
  "link-event": linkEvent,
  "no-bpmndi": noBpmndi,
  "no-complex-gateway": noComplexGateway,
  "no-disconnected": noDisconnected,
  "no-duplicate-sequence-flows": noDuplicateSequenceFlows,
  "no-gateway-join-fork": noGatewayJoinFork,
  "no-implicit-end": noImplicitEnd,
  "no-implicit-split": noImplicitSplit,
  "no-implicit-start": noImplicitStart,
  "no-inclusive-gateway": noInclusiveGateway,
  "no-overlapping-elements": noOverlappingElements,
  "single-blank-start-event": singleBlankStartEvent,
  "single-event-definition": singleEventDefinition,
  "start-event-required": startEventRequired,
  "sub-process-blank-start-event": subProcessBlankStartEvent,
  "superfluous-gateway": superfluousGateway,
  "superfluous-label": superfluousLabel,
  "superfluous-termination": superfluousTermination,
};

/** The project's rule pack: what `ioc deploy` refuses that the browser can tell by itself. */
export const IOC_RULES = {
  "process-executable": processExecutable,
  "user-task-lane": userTaskLane,
  "service-operator": serviceOperator,
  "timer-definition": timerDefinition,
  "called-element": calledElement,
};

const PACKAGES = { bpmnlint: BPMNLINT_RULES, "bpmnlint-plugin-ioc": IOC_RULES };

/** {config, resolver} for bpmnlint: the recommended rules and the project's, which read `registry` (the
 *  designer API's operators and roles; null while it is not known, when they check what needs no registry). */
export function lintConfig(registry = null) {
  const rules = { ...recommended.rules };
  for (const name of Object.keys(IOC_RULES)) rules[`ioc/${name}`] = ["error", { registry }];
  return {
    config: { rules },
    resolver: {
      resolveRule(pkg, ruleName) {
        const rule = (PACKAGES[pkg] || {})[ruleName];
        if (!rule) throw new Error(`unknown rule <${pkg}/${ruleName}>`);
        return rule;
      },
      resolveConfig(pkg, configName) {
        if (pkg === "bpmnlint" && configName === "recommended") return recommended;
        throw new Error(`unknown config <${pkg}:${configName}>`);
      },
    },
  };
}
