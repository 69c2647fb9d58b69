// The instance view's marks on a bpmn-js diagram: each element's state and the sequence flows taken.
// Markers are CSS classes (the page's CSP forbids inline styles); text goes in with textContent only.

export const STATE_CLASSES = {
  completed: "st-completed",
  active: "st-active",
  waiting: "st-waiting",
  failed: "st-failed",
  cancelled: "st-cancelled",
};

/** Mark every element of `states` ({state: [ids]}) and every flow of `flows`; returns {state: count}. */
export function markInstance(viewer, states, flows) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const counts = {};
  Object.entries(states || {}).forEach(([state, ids]) => {
    counts[state] = 0;
    (ids || []).forEach((id) => {
      if (registry.get(id) && STATE_CLASSES[state]) {
        canvas.addMarker(id, STATE_CLASSES[state]);
        counts[state] += 1;
      }
    });
  });
  counts.taken = 0;
  (flows || []).forEach((id) => {
    if (registry.get(id)) {
      canvas.addMarker(id, "st-taken");
      counts.taken += 1;
    }
  });
  return counts;
}

/** Fill the detail panel with one element's state, failure reason and the data of each of its runs. */
export function showElement(panel, element, labels, fallbackName) {
  const title = panel.querySelector("#detail-title");
  const state = panel.querySelector("#detail-state");
  const reason = panel.querySelector("#detail-reason");
  const runs = panel.querySelector("#detail-runs");
  title.textContent = (element && element.name) || fallbackName || "";
  state.textContent = element ? (labels[element.state] || element.state) : "";
  state.className = element ? "diff-pill " + (STATE_CLASSES[element.state] || "") : "";
  reason.textContent = (element && element.reason) || "";
  reason.hidden = !(element && element.reason);
  runs.replaceChildren();
  if (!element || !element.runs || !element.runs.length) {
    const none = document.createElement("p");
    none.className = "muted";
    none.textContent = runs.dataset.none || "";
    runs.appendChild(none);
    return;
  }
  element.runs.forEach((run, index) => {
    const head = document.createElement("h4");
    head.textContent = (runs.dataset.run || "#").replace("#", String(index + 1)) + " · " + (labels[run.state] || run.state);
    const pre = document.createElement("pre");
    pre.textContent = run.data;
    runs.appendChild(head);
    runs.appendChild(pre);
  });
}
