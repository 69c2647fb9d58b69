// Every user task sits in a lane, and a lane is named after a role: the engine offers the task to that role.
import { is } from "bpmnlint-utils";
import { say } from "../messages.js";

function lanesOf(process) {
  const lanes = [];
  const visit = (laneSet) => {
    for (const lane of (laneSet && laneSet.lanes) || []) {
      lanes.push(lane);
      visit(lane.childLaneSet);
    }
  };
  for (const laneSet of process.laneSets || []) visit(laneSet);
  return lanes;
}

function processOf(node) {
  let parent = node.$parent;
  while (parent && !is(parent, "bpmn:Process")) parent = parent.$parent;
  return parent;
}

/** The names a lane may have for each known role: its key and its labels. */
export function roleNames(registry) {
  const names = new Set();
  for (const role of (registry && registry.roles) || []) {
    if (typeof role === "string") names.add(role);
    else {
      for (const key of ["key", "label", "label_vi", "label_en", "name"]) if (role[key]) names.add(role[key]);
      // The registry's `names`: every lane name the deploy check reads as this role (aliases too).
      for (const alias of [...(role.names || []), ...(role.aliases || [])]) names.add(alias);
    }
  }
  return names;
}

export default function userTaskLane(config = {}) {
  function check(node, reporter) {
    if (is(node, "bpmn:UserTask")) {
      const process = processOf(node);
      // Only the innermost lanes hold a task; a task in a sub-process counts in its process's lanes.
      const inLane = process && lanesOf(process).some((lane) => (lane.flowNodeRef || []).includes(node)
        || (lane.flowNodeRef || []).some((ref) => ref === node.$parent));
      if (!inLane) reporter.report(node.id, say("user-task-lane"));
    }
    const registry = config.registry;
    // Only a lane holding a user task must name a role (a "System" lane of service tasks need not).
    const holdsUserTask = (lane) => (lane.flowNodeRef || []).some((ref) => is(ref, "bpmn:UserTask"));
    if (is(node, "bpmn:Lane") && registry && (registry.roles || []).length && !node.childLaneSet && holdsUserTask(node)) {
      const known = roleNames(registry);
      const name = (node.name || "").trim();
      if (!known.has(name)) {
        const keys = (registry.roles || []).map((role) => (typeof role === "string" ? role : role.label || role.key));
        reporter.report(node.id, say("lane-role", { lane: `“${name}”`, known: keys.join(", ") }));
      }
    }
  }
  return { check };
}
