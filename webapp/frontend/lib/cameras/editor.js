// The drawing of a camera's region of interest and lanes over its snapshot: an SVG laid over the <img>, built
// from DOM nodes only (names typed by people become text nodes, never markup). Pointer events serve mouse, pen
// and touch alike; every point is a focusable button (arrow keys move it, Delete removes it), and the toolbar's
// buttons do the rest, so the keyboard alone can draw too. The state is written to two hidden fields as JSON
// after every change; the server checks it again when the form is saved.
import {
  centroid, directionBetween, movePoint, nextLaneName, pointAfter, problemsOf, rotate, serialiseLanes,
  serialiseRoi, toNormalised, toPixels,
} from "./geometry.js";

const SVG = "http://www.w3.org/2000/svg";
const HISTORY = 100;
const ARROW = 0.12; // the direction arrow's length, as a share of the picture's smaller side
const STEP = 0.005; // an arrow key moves a point this much (Shift: four times as much)

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text != null) node.textContent = String(text);
  return node;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text != null) node.textContent = String(text);
  return node;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
}

function copy(state) {
  return {
    roi: state.roi.map((p) => [...p]),
    lanes: state.lanes.map((l) => ({ name: l.name, polygon: l.polygon.map((p) => [...p]), direction: [...l.direction] })),
    active: state.active,
    selected: state.selected,
  };
}

export class RegionEditor {
  // stage: the box holding the picture (the overlay fills it); fields: {roi, lanes} hidden inputs;
  // laneList: an <ol> the lanes' controls go in; status: where problems are said; text: the page's words.
  // readOnly: shown, not changed (those who may only look).
  constructor({ stage, fields, laneList, status, text, toolbar, readOnly = false }) {
    this.readOnly = readOnly;
    this.stage = stage;
    this.fields = fields;
    this.laneList = laneList;
    this.status = status;
    this.text = text;
    this.toolbar = toolbar;
    this.state = { roi: [], lanes: [], active: "roi", selected: null };
    this.history = [];
    this.drag = null;
    this.overlay = svg("svg", { class: "region-overlay", role: "group", "aria-label": text.overlay });
    stage.appendChild(this.overlay);
    this.overlay.addEventListener("pointerdown", (e) => this.pointerDown(e));
    this.overlay.addEventListener("pointermove", (e) => this.pointerMove(e));
    this.overlay.addEventListener("pointerup", (e) => this.pointerUp(e));
    this.overlay.addEventListener("pointercancel", (e) => this.pointerUp(e));
    this.overlay.addEventListener("keydown", (e) => this.key(e));
    if (toolbar) {
      toolbar.addEventListener("click", (e) => {
        const button = e.target.closest("button[data-action]");
        if (button) this.act(button.dataset.action);
      });
    }
    if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => this.render()).observe(stage);
  }

  // ------------------------------------------------------------------ state
  load(roi, lanes) {
    this.state = { roi: roi.map((p) => [...p]), lanes: lanes.map((l) => ({ ...l })), active: "roi", selected: null };
    this.history = [];
    this.changed(true);
  }

  shape() {
    const { active, roi, lanes } = this.state;
    return active === "roi" ? roi : (lanes[active] ? lanes[active].polygon : roi);
  }

  remember() {
    this.history.push(copy(this.state));
    if (this.history.length > HISTORY) this.history.shift();
  }

  // After every change: the hidden fields, the overlay, the lanes' list (when lanes came or went), the status.
  changed(structure = false) {
    this.fields.roi.value = serialiseRoi(this.state.roi);
    this.fields.lanes.value = serialiseLanes(this.state.lanes);
    this.render();
    if (structure) this.renderList();
    else this.markActive();
    this.say();
    this.stage.dispatchEvent(new CustomEvent("regions:changed", { bubbles: true }));
  }

  size() {
    const rect = this.stage.getBoundingClientRect();
    return { width: rect.width || 1, height: rect.height || 1 };
  }

  // ------------------------------------------------------------------ actions (toolbar, lane list, keys)
  act(action, index) {
    const state = this.state;
    if (action === "edit-roi") {
      state.active = "roi";
      state.selected = null;
      this.changed();
    } else if (action === "add-lane") {
      this.remember();
      state.lanes.push({ name: nextLaneName(state.lanes, this.text.lane_base), polygon: [], direction: [0, 0] });
      state.active = state.lanes.length - 1;
      state.selected = null;
      this.changed(true);
      this.focusLaneName(state.active);
    } else if (action === "edit-lane") {
      state.active = index;
      state.selected = null;
      this.changed();
    } else if (action === "add-point") {
      this.remember();
      const points = this.shape();
      const at = state.selected == null ? points.length - 1 : state.selected;
      points.splice(at + 1, 0, pointAfter(points, at));
      state.selected = at + 1;
      this.changed();
      this.focusPoint();
    } else if (action === "delete-point") {
      const points = this.shape();
      if (!points.length) return;
      this.remember();
      const at = state.selected == null ? points.length - 1 : state.selected;
      points.splice(at, 1);
      state.selected = points.length ? Math.min(at, points.length - 1) : null;
      this.changed();
    } else if (action === "delete-shape") {
      this.remember();
      if (state.active === "roi") state.roi = [];
      else {
        state.lanes.splice(state.active, 1);
        state.active = "roi";
      }
      state.selected = null;
      this.changed(true);
    } else if (action === "delete-lane") {
      this.remember();
      state.lanes.splice(index, 1);
      state.active = "roi";
      state.selected = null;
      this.changed(true);
    } else if (action === "rotate-left" || action === "rotate-right" || action === "reverse") {
      const lane = state.lanes[index];
      if (!lane) return;
      this.remember();
      if (!(Math.hypot(...lane.direction) > 0)) lane.direction = [0, -1];
      else lane.direction = rotate(lane.direction, action === "reverse" ? 180 : action === "rotate-left" ? -45 : 45);
      state.active = index;
      this.changed();
    } else if (action === "undo") {
      const before = this.history.pop();
      if (!before) return;
      this.state = before;
      this.changed(true);
    }
  }

  key(event) {
    const handle = event.target.closest && event.target.closest("[data-point]");
    if (handle) {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      if (moves[event.key]) {
        event.preventDefault();
        const step = event.shiftKey ? STEP * 4 : STEP;
        const index = Number(handle.dataset.point);
        this.remember();
        const points = this.shape();
        points[index] = movePoint(points[index], moves[event.key][0] * step, moves[event.key][1] * step);
        this.state.selected = index;
        this.changed();
        this.focusPoint();
        return;
      }
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        this.state.selected = Number(handle.dataset.point);
        this.act("delete-point");
        this.focusPoint();
        return;
      }
    }
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
      event.preventDefault();
      this.act("undo");
    }
  }

  focusPoint() {
    const index = this.state.selected;
    if (index == null) return;
    const handle = this.overlay.querySelector(`[data-point="${index}"]`);
    if (handle && handle.focus) handle.focus();
  }

  focusLaneName(index) {
    const input = this.laneList && this.laneList.querySelector(`li[data-lane="${index}"] input`);
    if (input) input.focus({ preventScroll: true }); // the picture stays where it is: the next press draws on it
  }

  // ------------------------------------------------------------------ pointer
  pointerDown(event) {
    if (this.readOnly || (event.button != null && event.button > 0)) return;
    const target = event.target;
    const at = toNormalised(event.clientX, event.clientY, this.overlay.getBoundingClientRect());
    const handle = target.closest("[data-point]");
    const arrow = target.closest("[data-arrow]");
    // A press anywhere else adds a point to the shape being drawn, even over another shape (lanes lie inside the
    // region of interest); the toolbar and the lanes' list choose which shape that is.
    if (handle) {
      this.state.selected = Number(handle.dataset.point);
      this.drag = { kind: "point", index: this.state.selected, moved: false };
    } else if (arrow) {
      this.drag = { kind: "arrow", lane: Number(arrow.dataset.arrow), moved: false };
    } else {
      this.remember();
      const points = this.shape();
      points.push(at);
      this.state.selected = points.length - 1;
      // Press, drag and let go places the new point precisely (a finger hides what it touches).
      this.drag = { kind: "point", index: this.state.selected, moved: true };
    }
    try {
      this.overlay.setPointerCapture(event.pointerId);
    } catch (e) {
      // a synthetic event's pointer cannot be captured; moves still reach the overlay
    }
    event.preventDefault();
    this.changed();
  }

  pointerMove(event) {
    if (!this.drag) return;
    const at = toNormalised(event.clientX, event.clientY, this.overlay.getBoundingClientRect());
    if (!this.drag.moved) {
      this.remember();
      this.drag.moved = true;
    }
    if (this.drag.kind === "point") {
      this.shape()[this.drag.index] = at;
    } else {
      const lane = this.state.lanes[this.drag.lane];
      const { width, height } = this.size();
      const direction = lane && directionBetween(centroid(lane.polygon), at, width, height);
      if (direction) lane.direction = direction;
    }
    event.preventDefault();
    this.changed();
  }

  pointerUp(event) {
    if (!this.drag) return;
    this.drag = null;
    try {
      this.overlay.releasePointerCapture(event.pointerId);
    } catch (e) {
      // not captured
    }
  }

  // ------------------------------------------------------------------ drawing
  render() {
    const { width, height } = this.size();
    const overlay = this.overlay;
    overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
    overlay.replaceChildren();
    const { roi, lanes, active, selected } = this.state;
    const px = (p) => toPixels(p, width, height);
    const line = (points) => points.map((p) => px(p).map((v) => v.toFixed(1)).join(",")).join(" ");
    const drawShape = (points, key, className, label) => {
      const group = svg("g", { class: `shape ${className}${String(active) === String(key) ? " active" : ""}`, "data-shape": key });
      if (points.length >= 3) group.appendChild(svg("polygon", { points: line(points) }));
      else if (points.length === 2) group.appendChild(svg("polyline", { points: line(points) }));
      if (label && points.length) {
        // a lane's name at its centre; the region's in its top left corner, out of the lanes' way
        const corner = key === "roi";
        const [cx, cy] = corner ? px([Math.min(...points.map((p) => p[0])), Math.min(...points.map((p) => p[1]))])
          : px(centroid(points));
        group.appendChild(svg("text", {
          x: (corner ? cx + 6 : cx).toFixed(1), y: (corner ? cy + 18 : cy - 10).toFixed(1),
          "text-anchor": corner ? "start" : "middle", class: "shape-label",
        }, label));
      }
      overlay.appendChild(group);
      return group;
    };
    drawShape(roi, "roi", "roi", roi.length ? this.text.roi : null);
    lanes.forEach((lane, index) => {
      const group = drawShape(lane.polygon, index, `lane lane-${index % 6}`, lane.name);
      if (lane.polygon.length) this.drawArrow(group, lane, index, width, height);
    });
    const points = this.readOnly ? [] : this.shape();
    points.forEach((p, index) => {
      const [x, y] = px(p);
      const handle = svg("g", {
        class: `handle${index === selected ? " selected" : ""}`, "data-point": index, tabindex: 0, role: "button",
        "aria-label": fill(this.text.point, { n: index + 1, x: Math.round(p[0] * 100), y: Math.round(p[1] * 100) }),
      });
      handle.appendChild(svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 16, class: "hit" }));
      handle.appendChild(svg("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: 6, class: "dot" }));
      handle.addEventListener("focus", () => {
        if (this.state.selected !== index) {
          this.state.selected = index;
          overlay.querySelectorAll(".handle.selected").forEach((h) => h.classList.remove("selected"));
          handle.classList.add("selected");
        }
      });
      overlay.appendChild(handle);
    });
  }

  drawArrow(group, lane, index, width, height) {
    const [cx, cy] = toPixels(centroid(lane.polygon), width, height);
    const length = ARROW * Math.min(width, height);
    const set = Math.hypot(...lane.direction) > 0;
    const [dx, dy] = set ? lane.direction : [0, 0];
    const hx = cx + dx * length;
    const hy = cy + dy * length;
    const arrow = svg("g", { class: `arrow${set ? "" : " unset"}`, "data-arrow": index });
    arrow.appendChild(svg("title", {}, fill(this.text.arrow, { name: lane.name })));
    if (set) {
      arrow.appendChild(svg("line", { x1: cx.toFixed(1), y1: cy.toFixed(1), x2: hx.toFixed(1), y2: hy.toFixed(1) }));
      // the head: a triangle at the tip, its base across the shaft
      const back = 12;
      const side = 7;
      const bx = hx - dx * back;
      const by = hy - dy * back;
      const head = [[hx, hy], [bx - dy * side, by + dx * side], [bx + dy * side, by - dx * side]];
      arrow.appendChild(svg("polygon", { class: "head", points: head.map((p) => p.map((v) => v.toFixed(1)).join(",")).join(" ") }));
    }
    if (!this.readOnly) arrow.appendChild(svg("circle", { cx: hx.toFixed(1), cy: hy.toFixed(1), r: set ? 14 : 11, class: "grip" }));
    group.appendChild(arrow);
  }

  renderList() {
    const list = this.laneList;
    if (!list) return;
    list.replaceChildren();
    const t = this.text;
    this.state.lanes.forEach((lane, index) => {
      const item = el("li", { "data-lane": index, class: `lane-item lane-${index % 6}` });
      const id = `lane-name-${index}`;
      const pick = el("button", { type: "button", class: "secondary small", "aria-pressed": "false" }, t.edit_lane);
      pick.addEventListener("click", () => this.act("edit-lane", index));
      const label = el("label", { for: id }, t.name_label);
      const input = el("input", { id, value: lane.name, maxlength: 60, autocomplete: "off" });
      input.value = lane.name;
      let before = null;
      input.addEventListener("focus", () => { before = copy(this.state); });
      input.addEventListener("input", () => {
        if (before) {
          this.history.push(before);
          before = null;
        }
        this.state.lanes[index].name = input.value;
        this.fields.lanes.value = serialiseLanes(this.state.lanes);
        this.render();
        this.say();
      });
      const buttons = el("span", { class: "lane-buttons" });
      for (const [action, words] of [["rotate-left", t.rotate_left], ["rotate-right", t.rotate_right], ["reverse", t.reverse], ["delete-lane", t.delete_lane]]) {
        const button = el("button", { type: "button", class: `secondary small${action === "delete-lane" ? " danger" : ""}`, "data-lane-action": action }, words);
        button.addEventListener("click", () => this.act(action, index));
        buttons.appendChild(button);
      }
      if (this.readOnly) {
        input.readOnly = true;
        item.append(label, input);
      } else {
        item.append(pick, label, input, buttons);
      }
      list.appendChild(item);
    });
    this.markActive();
  }

  markActive() {
    if (this.laneList) {
      this.laneList.querySelectorAll("li[data-lane]").forEach((item) => {
        const on = String(this.state.active) === item.dataset.lane;
        item.classList.toggle("active", on);
        const pick = item.querySelector("button");
        if (pick) pick.setAttribute("aria-pressed", String(on));
      });
    }
    if (this.toolbar) {
      const roi = this.toolbar.querySelector('[data-action="edit-roi"]');
      if (roi) roi.setAttribute("aria-pressed", String(this.state.active === "roi"));
      const undo = this.toolbar.querySelector('[data-action="undo"]');
      if (undo) undo.disabled = !this.history.length;
    }
  }

  // What is being drawn and what the server would refuse, in words.
  say() {
    if (!this.status) return;
    const t = this.text;
    const { roi, lanes, active } = this.state;
    const lines = [];
    const drawing = active === "roi" ? t.drawing_roi : fill(t.drawing_lane, { name: lanes[active] ? lanes[active].name : "" });
    lines.push(this.readOnly ? "" : drawing);
    if (!roi.length) lines.push(t.whole_picture);
    for (const problem of problemsOf(roi, lanes)) {
      const name = problem.shape === "roi" ? t.roi : (lanes[problem.index].name.trim() || `#${problem.index + 1}`);
      lines.push(fill(t.problems[problem.key], { name }));
    }
    this.status.replaceChildren(...lines.map((line, n) => el("span", { class: n > (roi.length ? 0 : 1) ? "bad" : "" }, line)));
    this.markActive();
  }
}
