// Colours of a comparison on bpmn-js diagrams: which element gets which marker on the old and the new side.
// Markers are CSS classes (canvas.addMarker): the page's CSP forbids inline styles.

export const CLASSES = {
  added: "diff-added",
  removed: "diff-removed",
  changed: "diff-changed",
  moved: "diff-moved",
};

// When two sources disagree, the stronger word wins: an added element that also moved is "added".
const RANK = { moved: 1, changed: 2, added: 3, removed: 3 };
// Containers get an outline only (a filled pool would hide everything in it).
const CONTAINERS = new Set(["bpmn:Participant", "bpmn:Lane"]);

function put(side, id, kind) {
  if (!side[id] || RANK[kind] > RANK[side[id]]) {
    side[id] = kind;
  }
}

/**
 * {old: {id: kind}, new: {id: kind}} from a bpmn-js-differ result ({_added, _removed, _changed,
 * _layoutChanged}) and, optionally, the server's list [{id, kind}] (it also sees changes inside
 * extension elements, such as an operator's parameters, that the differ does not read).
 */
export function markersOf(result, serverChanges = []) {
  const marks = { old: {}, new: {} };
  const add = (id, kind) => {
    if (kind === "added") {
      put(marks.new, id, "added");
    } else if (kind === "removed") {
      put(marks.old, id, "removed");
    } else {
      put(marks.old, id, kind);
      put(marks.new, id, kind);
    }
  };
  Object.keys((result && result._added) || {}).forEach((id) => add(id, "added"));
  Object.keys((result && result._removed) || {}).forEach((id) => add(id, "removed"));
  Object.keys((result && result._changed) || {}).forEach((id) => add(id, "changed"));
  Object.keys((result && result._layoutChanged) || {}).forEach((id) => add(id, "moved"));
  (serverChanges || []).forEach((change) => add(change.id, change.kind));
  return marks;
}

/** Put the markers of one side on a viewer; returns how many elements were marked. */
export function applyMarkers(viewer, marks) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const root = canvas.getRootElement();
  let count = 0;
  Object.entries(marks || {}).forEach(([id, kind]) => {
    const element = registry.get(id);
    if (!element || element === root || !CLASSES[kind]) {
      return;
    }
    canvas.addMarker(element, CLASSES[kind]);
    if (CONTAINERS.has(element.type)) {
      canvas.addMarker(element, "diff-container");
    }
    count += 1;
  });
  return count;
}

/** Select an element and bring it into view; false when this side has no such element. */
export function focusElement(viewer, id) {
  const element = viewer.get("elementRegistry").get(id);
  if (!element) {
    return false;
  }
  const canvas = viewer.get("canvas");
  viewer.get("selection").select(element);
  if (canvas.scrollToElement) {
    canvas.scrollToElement(element, { top: 80, bottom: 80, left: 120, right: 120 });
  }
  return true;
}

/** Keep two viewers looking at the same place: moving or zooming one moves the other. */
export function linkViewboxes(first, second) {
  let busy = false;
  const follow = (from, to) => {
    from.on("canvas.viewbox.changed", (event) => {
      if (busy) {
        return;
      }
      busy = true;
      try {
        to.get("canvas").viewbox(event.viewbox);
      } finally {
        busy = false;
      }
    });
  };
  follow(first, second);
  follow(second, first);
}

/**
 * Show the marked elements at a readable scale: the whole diagram when it reads at `minScale` or more,
 * else the box around the changes (a whole process fitted into half a screen is too small to read).
 */
export function zoomToChanges(viewer, ids, minScale = 0.7) {
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  canvas.resized();
  canvas.zoom("fit-viewport", "auto");
  const whole = canvas.viewbox();
  const points = [];
  (ids || []).forEach((id) => {
    const element = registry.get(id);
    if (!element || CONTAINERS.has(element.type) || element === canvas.getRootElement()) {
      return;
    }
    if (element.waypoints) {
      element.waypoints.forEach((p) => points.push([p.x, p.y]));
    } else {
      points.push([element.x, element.y], [element.x + element.width, element.y + element.height]);
    }
  });
  if (!points.length || whole.scale >= minScale) {
    return whole.scale;
  }
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [left, right, top, bottom] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min(1, Math.max(minScale, Math.min(whole.outer.width / (right - left + 240),
                                                         whole.outer.height / (bottom - top + 240))));
  const width = whole.outer.width / scale;
  const height = whole.outer.height / scale;
  canvas.viewbox({ x: (left + right) / 2 - width / 2, y: (top + bottom) / 2 - height / 2, width, height });
  return scale;
}
