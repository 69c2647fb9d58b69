// Problems of the canvas checks: bpmnlint's reports and the server's check in one shape, and where each
// is shown (a marker on its element when the canvas holds it; always a line in the list).
import { say } from "./messages.js";

/**
 * @typedef {{source: "lint"|"server", file: string|null, element: string|null, message: string,
 *            code: string|null, severity: "error"|"warning", blocking: boolean}} CheckProblem
 */

/** bpmnlint's {rule: [{id, message, category}]} as problems. The project's rules ("ioc/…") say what
 *  `ioc deploy` refuses and block a deploy; bpmnlint's recommended ones are advice. */
export function lintProblems(reports, file = null) {
  const problems = [];
  for (const [rule, items] of Object.entries(reports || {})) {
    const ours = rule.startsWith("ioc/");
    for (const item of items) {
      problems.push({
        source: "lint",
        file,
        element: item.id || null,
        message: ours ? item.message : say(rule, {}, item.message),
        code: `lint.${rule}`,
        severity: item.category === "error" || item.category === "rule-error" ? "error" : "warning",
        blocking: ours,
      });
    }
  }
  return problems;
}

/** The check API's problems ({file, element, message, code, advice?}) as problems; each blocks a deploy
 *  unless the server calls it advice. */
export function serverProblems(problems) {
  return (problems || []).map((p) => ({
    source: "server",
    file: p.file || null,
    element: p.element || null,
    message: String(p.message || ""),
    code: p.code || null,
    severity: p.advice ? "warning" : "error",
    blocking: !p.advice,
  }));
}

/** A server problem that repeats what the canvas found already (same element, same kind) is listed once. */
function sameProblem(a, b) {
  return a.element === b.element && a.message === b.message;
}

/**
 * Where problems go: `markers` maps an element the canvas shows to its problems; `list` holds them all.
 * `resolve(id)` gives the id of the shape that shows element `id` in this canvas (or null); a problem of
 * another file, or naming an element the canvas does not hold, goes to the list only.
 */
export function place(problems, { file = null, resolve = () => null } = {}) {
  const markers = new Map();
  const list = [];
  for (const problem of problems) {
    if (list.some((seen) => sameProblem(seen, problem) && seen.file === problem.file)) continue;
    list.push(problem);
    const ours = !problem.file || !file || problem.file === file;
    const shape = ours && problem.element ? resolve(problem.element) : null;
    if (shape) {
      if (!markers.has(shape)) markers.set(shape, []);
      markers.get(shape).push(problem);
    }
  }
  return { markers, list };
}
