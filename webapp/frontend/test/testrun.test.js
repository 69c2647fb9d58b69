import { expect } from "chai";
import { fieldInput, formData, markPath, renderEvents, renderTasks, showFieldErrors } from "../lib/testrun/render.js";

const text = {
  choose: "— choose —", complete: "Complete as {who}", nobody: "nobody", nobody_warning: "Nobody holds it",
  role_unit: "Role", unit: "Unit", due: "Deadline", no_tasks: "No task", no_events: "Nothing yet",
  kinds: { email: "Would have e-mailed", history: "History" },
};
const triage = {
  element_id: "triage", name: "Phân loại <b>phản ánh</b>", role: "Operator", unit: "IOC", performer: "Cao Thu Lan",
  due_at: { iso: "2026-12-07T02:00:00+00:00", local: "09:00 07/12/2026" }, instructions: "",
  fields: [
    { name: "decision", type: "choice", required: true, label: "Quyết định", options: [["accept", "Tiếp nhận"], ["reject", "Từ chối"]] },
    { name: "note", type: "textarea", required: false, label: "Ghi chú", options: [] },
    { name: "urgent", type: "bool", required: false, label: "Gấp", options: [] },
  ],
};

describe("the test-run page's parts", () => {
  it("draws a task's form from the engine's form spec and reads it back", () => {
    const box = document.body.appendChild(document.createElement("div"));
    let sent = null;
    renderTasks(box, "Open tasks", [triage], text, (task, form) => { sent = [task.element_id, formData(form)]; });
    const form = box.querySelector("form[data-element=triage]");
    expect(form.querySelector("h4").textContent).to.equal("Phân loại <b>phản ánh</b>");  // text, never markup
    expect(form.querySelector("b")).to.equal(null);
    const select = form.querySelector("select[name=decision]");
    expect([...select.options].map((o) => o.value)).to.deep.equal(["", "accept", "reject"]);
    expect(form.querySelector("textarea[name=note]")).to.exist;
    expect(form.querySelector("input[type=checkbox][name=urgent]")).to.exist;
    expect(form.querySelector("button").textContent).to.equal("Complete as Cao Thu Lan");
    select.value = "accept";
    form.querySelector("textarea").value = "ok";
    form.requestSubmit();
    expect(sent).to.deep.equal(["triage", { decision: "accept", note: "ok", urgent: false }]);
    box.remove();
  });

  it("warns when nobody holds the task's role and shows field messages under their fields", () => {
    const box = document.createElement("div");
    renderTasks(box, "Open tasks", [{ ...triage, performer: null }], text, () => {});
    const form = box.querySelector("form");
    expect(form.textContent).to.contain("Nobody holds it");
    const rest = form.querySelector(".errors");
    showFieldErrors(form, { decision: "must be one of: accept, reject", colour: "this task has no such field" }, rest);
    expect(form.querySelector('.field[data-field="decision"] .error').textContent).to.equal("must be one of: accept, reject");
    expect(rest.hidden).to.equal(false);
    expect(rest.textContent).to.equal("colour: this task has no such field");
    expect(fieldInput({ name: "n", type: "int", label: "N" }, text).querySelector("input").type).to.equal("number");
  });

  it("lists what happened as text and marks the path on the canvas", () => {
    const list = document.createElement("ul");
    renderEvents(list, [{ kind: "email", at: { local: "08:00" }, text: "<img src=x onerror=alert(1)>", detail: "to a@b.vn" }], text);
    expect(list.querySelector("img")).to.equal(null);
    expect(list.querySelector(".kind").textContent).to.equal("Would have e-mailed");
    const marks = [];
    const canvas = { addMarker: (id, m) => marks.push([id, m]), removeMarker: () => {} };
    const registry = { getAll: () => [{ id: "a" }, { id: "b" }], get: (id) => (id === "zzz" ? null : { id }) };
    markPath(canvas, registry, { done: ["a"], active: ["b"], waiting: ["zzz"], cancelled: ["b"] });
    expect(marks).to.deep.equal([["a", "st-done"], ["b", "st-cancelled"], ["b", "st-active"]]);
  });
});
