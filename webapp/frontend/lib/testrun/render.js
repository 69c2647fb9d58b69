// The test-run page's parts, built as DOM nodes (never HTML from data): a task's form from the engine's form
// spec, the list of what happened in the sandbox, the steps taken, the diagram's markers.

/** An element with a class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A <select> of [value, label] pairs, with a "choose" first option when `choose` is given. */
export function selectOf(name, options, choose, selected) {
  const select = document.createElement("select");
  select.name = name;
  if (choose) {
    const blank = el("option", null, choose);
    blank.value = "";
    select.appendChild(blank);
  }
  for (const [value, label] of options || []) {
    const option = el("option", null, label);
    option.value = value;
    if (value === selected) option.selected = true;
    select.appendChild(option);
  }
  return select;
}

/** The input of one form field (the engine's spec: name, type, required, label, options). */
export function fieldInput(field, text) {
  const wrap = el("div", "field");
  wrap.dataset.field = field.name;
  const label = el("label");
  let input;
  if (field.type === "bool") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.value = "true";
    input.name = field.name;
    label.append(input, " ", field.label || field.name);
    wrap.appendChild(label);
  } else {
    label.textContent = field.label || field.name;
    if (field.required) label.appendChild(el("span", "bad", " *"));
    if (field.type === "textarea") {
      input = document.createElement("textarea");
      input.maxLength = 10000;
    } else if (field.type === "choice") {
      input = selectOf(field.name, field.options, text.choose);
    } else {
      input = document.createElement("input");
      if (field.type === "int" || field.type === "number") input.type = "number";
      if (field.type === "number") input.step = "any";
      if (field.type === "date") input.type = "date";
    }
    input.name = field.name;
    label.appendChild(input);
    wrap.appendChild(label);
  }
  wrap.appendChild(el("div", "error"));
  return wrap;
}

/** What a form holds: {field name: value} (checkboxes true/false; empty fields left out). */
export function formData(form) {
  const data = {};
  for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.type === "checkbox") data[input.name] = input.checked;
    else if (input.value !== "") data[input.name] = input.value;
  }
  return data;
}

/** Show per-field messages under their fields ({name: message}); those without a field go to `rest`. */
export function showFieldErrors(form, fields, rest) {
  for (const box of form.querySelectorAll(".field .error")) box.textContent = "";
  const unplaced = [];
  for (const [name, message] of Object.entries(fields || {})) {
    const box = form.querySelector(`.field[data-field="${CSS.escape(name)}"] .error`);
    if (box) box.textContent = message;
    else unplaced.push(`${name}: ${message}`);
  }
  if (rest) {
    rest.textContent = unplaced.join(" · ");
    rest.hidden = unplaced.length === 0;
  }
}

/** The open tasks, each with its form and a button "complete as …"; `onComplete(task, form)` when sent. */
export function renderTasks(container, title, tasks, text, onComplete) {
  container.replaceChildren(el("h3", null, title));
  if (!tasks.length) {
    container.appendChild(el("p", "muted", text.no_tasks));
    return;
  }
  for (const task of tasks) {
    const form = el("form", "testrun-task");
    form.noValidate = true;
    form.dataset.element = task.element_id;
    form.appendChild(el("h4", null, task.name));
    const facts = el("p", "muted");
    facts.textContent = `${text.role_unit}: ${task.role} · ${text.unit}: ${task.unit}` +
      (task.due_at ? ` · ${text.due}: ${task.due_at.local}` : "");
    form.appendChild(facts);
    if (task.instructions) form.appendChild(el("p", "muted", task.instructions));
    for (const field of task.fields) form.appendChild(fieldInput(field, text));
    if (!task.performer) form.appendChild(el("p", "warn", text.nobody_warning));
    const errors = el("div", "errors");
    errors.hidden = true;
    errors.setAttribute("role", "alert");
    form.appendChild(errors);
    const who = task.performer || text.nobody;
    form.appendChild(el("button", null, text.complete.replace("{who}", who)));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      onComplete(task, form);
    });
    container.appendChild(form);
  }
}

/** What happened in the sandbox, newest first: its kind, when, the line and to whom. */
export function renderEvents(list, events, text) {
  list.replaceChildren();
  if (!events.length) {
    list.appendChild(el("li", "muted", text.no_events));
    return;
  }
  for (const line of events) {
    const item = el("li", `event ${line.kind}`);
    item.appendChild(el("span", "kind", text.kinds[line.kind] || line.kind));
    item.appendChild(el("span", "when", line.at ? line.at.local : ""));
    item.appendChild(el("span", "what", line.text));
    if (line.detail) item.appendChild(el("span", "detail", line.detail));
    list.appendChild(item);
  }
}

/** The steps taken so far, as the page reads them. */
export function renderSteps(list, labels, text) {
  list.replaceChildren(...(labels.length ? labels.map((label) => el("li", null, label)) : [el("li", "muted", text.steps_none)]));
}

/** The diagram's markers: done, the flows taken, waiting, active and failed elements. */
export const MARKERS = [["done", "st-done"], ["cancelled", "st-cancelled"], ["flows", "st-flow"], ["waiting", "st-waiting"],
  ["active", "st-active"], ["failed", "st-failed"]];

/** Put the run's markers on a bpmn-js canvas (removing the previous ones). */
export function markPath(canvas, registry, diagram) {
  for (const element of registry.getAll()) {
    for (const [, marker] of MARKERS) canvas.removeMarker(element.id, marker);
  }
  for (const [key, marker] of MARKERS) {
    for (const id of diagram[key] || []) {
      if (registry.get(id)) canvas.addMarker(id, marker);
    }
  }
}
