// The test-run page: starts a run in the sandbox, completes its tasks, moves the simulated clock, shows the path
// on the diagram and what happened; keeps the run as a test case. The run is its start and steps, replayed by
// the server on every call (/designer/api/test/run), so the page only holds that list.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "../lib/testrun/testrun.css";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import {
  el, formData, markPath, renderEvents, renderSteps, renderTasks, selectOf, showFieldErrors,
} from "../lib/testrun/render.js";

const page = JSON.parse(document.getElementById("testrun-data").textContent);
const text = page.text;
const csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
const $ = (id) => document.getElementById(id);
const run = { start: null, steps: [], xml: null, busy: false };
const viewer = new NavigatedViewer({ container: $("testrun-diagram") });

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch (e) { data = { message: text.failed_request }; }
  return { ok: response.ok, data };
}

function showError(message, problems) {
  const box = $("testrun-error");
  box.replaceChildren();
  if (message) box.appendChild(el("p", null, message));
  if (problems && problems.length) {
    const list = el("ul");
    for (const p of problems) list.appendChild(el("li", null, `${p.file}${p.element ? ` · ${p.element}` : ""}: ${p.message}`));
    box.appendChild(list);
  }
  box.hidden = !message && !(problems && problems.length);
}

// Below this a whole process's labels cannot be read: show the current step at this scale instead.
const MIN_SCALE = 0.7;

async function showDiagram(state) {
  if (state.xml !== run.xml) {
    await viewer.importXML(state.xml);
    run.xml = state.xml;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  markPath(canvas, registry, state.diagram);
  canvas.resized();
  canvas.zoom("fit-viewport", "auto");
  const box = canvas.viewbox();
  const focus = [...state.diagram.active, ...state.diagram.waiting, ...state.diagram.failed]
    .map((id) => registry.get(id)).filter(Boolean)[0];
  if (focus && box.scale < MIN_SCALE) {
    const width = box.outer.width / MIN_SCALE;
    const height = box.outer.height / MIN_SCALE;
    canvas.viewbox({ x: focus.x + (focus.width || 0) / 2 - width / 2, y: focus.y + (focus.height || 0) / 2 - height / 2,
      width, height });
  }
}

function show(state) {
  run.start = state.start;
  run.steps = state.steps;
  $("testrun-now").textContent = state.now.local;
  $("testrun-next").textContent = state.next_timer_at ? state.next_timer_at.local : text.none;
  const summary = `${text.case}: ${state.case_code} · ${text.status}: ${state.case_status_label} · ` +
    `${text.responsible}: ${state.responsible_unit}` + (state.status === "completed" ? ` · ${text.finished}` : "");
  $("testrun-summary").textContent = summary;
  renderTasks($("testrun-tasks"), $("testrun-tasks").dataset.title, state.tasks, text, complete);
  renderEvents($("testrun-events"), state.events, text);
  renderSteps($("testrun-steps"), state.steps_read, text);
  $("testrun-keep").hidden = false;
  $("testrun-go").textContent = text.restart;
  for (const button of $("testrun-moves").querySelectorAll("button")) button.disabled = false;
  return showDiagram(state);
}

async function call(body, onFields) {
  if (run.busy) return;
  run.busy = true;
  document.body.classList.add("testrun-busy");
  try {
    const { ok, data } = await post(page.urls.run, { source: page.source, ...body });
    if (ok) {
      showError("");
      await show(data);
    } else if (data.fields && Object.keys(data.fields).length && onFields) {
      onFields(data);
    } else {
      showError(data.message || text.failed_request, data.problems);
    }
  } catch (e) {
    showError(text.failed_request);
  } finally {
    run.busy = false;
    document.body.classList.remove("testrun-busy");
  }
}

function complete(task, form) {
  call({ start: run.start, steps: run.steps, action: { kind: "complete", element: task.element_id, data: formData(form) } },
    (data) => {
      const rest = form.querySelector(".errors");
      showFieldErrors(form, data.fields, rest);
      if (rest.hidden) { rest.textContent = data.message; rest.hidden = false; }
    });
}

function setUpStart() {
  const form = $("testrun-start");
  for (const select of form.querySelectorAll("select[data-list]")) {
    const replacement = selectOf(select.name, page.lists[select.dataset.list], select.dataset.choose ? text.choose : null,
      page.lists.defaults[select.name]);
    select.replaceWith(replacement);
  }
  // The fields the server names, wrapped so that their messages show beneath them.
  for (const label of form.querySelectorAll(".testrun-sample label, .testrun-copy label")) {
    const wrap = el("div", "field");
    wrap.dataset.field = label.querySelector("[name]").name;
    label.replaceWith(wrap);
    wrap.append(label, el("div", "error"));
  }
  for (const radio of form.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener("change", () => {
      const copy = form.querySelector('input[name="mode"]:checked').value === "case";
      form.querySelector(".testrun-sample").hidden = copy;
      form.querySelector(".testrun-copy").hidden = !copy;
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const copy = form.querySelector('input[name="mode"]:checked').value === "case";
    const part = form.querySelector(copy ? ".testrun-copy" : ".testrun-sample");
    const sample = formData(part);
    showFieldErrors(form, {}, $("testrun-start-errors"));
    call({ sample, steps: [] }, (data) => {
      const fields = { ...data.fields };
      if (fields.admin_unit) fields.place = fields.admin_unit;
      showFieldErrors(form, fields, $("testrun-start-errors"));
      const rest = $("testrun-start-errors");
      rest.textContent = [data.message, rest.textContent].filter(Boolean).join(" · ");
      rest.hidden = false;
    });
  });
}

function setUpClock() {
  for (const [move, label] of page.lists.moves) {
    const button = el("button", "secondary", label);
    button.type = "button";
    button.dataset.move = move;
    button.disabled = true;
    button.addEventListener("click", () => call({ start: run.start, steps: run.steps, action: { kind: "clock", move } }));
    $("testrun-moves").appendChild(button);
  }
}

function setUpKeep() {
  $("testrun-keep-button").addEventListener("click", async () => {
    const { ok, data } = await post(page.urls.keep, {
      source: page.source, start: run.start, steps: run.steps,
      name: $("testrun-keep-name").value, name_en: $("testrun-keep-name-en").value,
    });
    const errors = $("testrun-keep-errors");
    if (!ok) {
      errors.textContent = [data.message, ...Object.values(data.fields || {})].filter(Boolean).join(" · ");
      errors.hidden = false;
      return;
    }
    errors.hidden = true;
    const done = $("testrun-keep-done");
    done.replaceChildren(el("span", null, `${text.kept} `));
    const link = el("a", null, text.see_cases);
    link.href = data.list;
    done.appendChild(link);
    done.hidden = false;
  });
}

$("testrun-tasks").dataset.title = $("testrun-tasks").querySelector("h3").textContent;
setUpStart();
setUpClock();
setUpKeep();
if (page.initial) {
  // A kept test case opened again: replay its steps on these files, and see where it goes now.
  $("testrun-keep-name").value = page.initial.name || "";
  $("testrun-keep-name-en").value = page.initial.name_en || "";
  call({ start: page.initial.start, steps: page.initial.steps });
}
