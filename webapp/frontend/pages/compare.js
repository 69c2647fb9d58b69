// The designer's compare page: the old and new diagram of each changed BPMN file side by side, coloured by
// bpmn-js-differ (plus the server's list, which also reads the spiffworkflow extensions); clicking a change
// in the list selects and shows the element on both sides.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "../lib/compare/compare.css";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { diff } from "bpmn-js-differ";
import { applyMarkers, focusElement, linkViewboxes, markersOf, zoomToChanges } from "../lib/compare/colour.js";

function readData() {
  const node = document.getElementById("compare-data");
  try {
    return JSON.parse((node && node.textContent) || "{}");
  } catch (e) {
    return {};
  }
}

async function open(container, xml) {
  if (!xml) {
    container.classList.add("empty");
    return null;
  }
  const viewer = new NavigatedViewer({ container });
  await viewer.importXML(xml);
  return viewer;
}

async function showFile(section, item) {
  const box = section.querySelector(".compare-diagrams");
  const note = section.querySelector(".compare-note");
  const [oldViewer, newViewer] = await Promise.all([
    open(box.querySelector('[data-side="old"]'), item.old),
    open(box.querySelector('[data-side="new"]'), item.new),
  ]);
  let result = {};
  if (oldViewer && newViewer) {
    result = diff(oldViewer.getDefinitions(), newViewer.getDefinitions());
    linkViewboxes(oldViewer, newViewer);
  }
  const marks = markersOf(result, item.changes);
  const counted = (oldViewer ? applyMarkers(oldViewer, marks.old) : 0) + (newViewer ? applyMarkers(newViewer, marks.new) : 0);
  box.dataset.marked = String(counted);
  // Both sides look at the same place (linked): frame the changes on the new side, else the old one.
  const lead = newViewer || oldViewer;
  const changed = Object.keys(newViewer ? marks.new : marks.old);
  const frame = (whole) => {
    if (whole) {
      lead.get("canvas").zoom("fit-viewport", "auto");
    } else {
      zoomToChanges(lead, changed);
    }
  };
  frame(false);
  if (!(oldViewer && newViewer)) {
    (oldViewer || newViewer).get("canvas").zoom("fit-viewport", "auto");
  }
  section.querySelectorAll("[data-frame]").forEach((button) => {
    button.addEventListener("click", () => frame(button.dataset.frame === "whole"));
  });
  const table = section.querySelector(".compare-changes");
  if (!table) {
    return;
  }
  const select = (row) => {
    table.querySelectorAll("tr.current").forEach((r) => r.classList.remove("current"));
    row.classList.add("current");
    const id = row.dataset.element;
    const shown = [oldViewer, newViewer].filter(Boolean).map((v) => focusElement(v, id));
    if (note) {
      note.hidden = shown.some(Boolean);
      note.textContent = note.hidden ? "" : (box.dataset.notDrawn || "");
    }
    box.scrollIntoView({ behavior: "smooth", block: "start" });
  };
  table.querySelectorAll("tr.diff-row").forEach((row) => {
    row.addEventListener("click", () => select(row));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select(row);
      }
    });
  });
}

function pickers() {
  // A new process lists its own versions: reload with the process only.
  const form = document.getElementById("compare-pickers");
  const key = document.getElementById("compare-key");
  if (!form || !key) {
    return;
  }
  key.addEventListener("change", () => {
    form.querySelectorAll('select[name="a"], select[name="b"]').forEach((s) => { s.disabled = true; });
    form.submit();
  });
}

async function start() {
  pickers();
  const data = readData();
  const jobs = (data.diagrams || []).map((item) => {
    const section = document.getElementById(item.anchor);
    if (!section) {
      return Promise.resolve();
    }
    return showFile(section, item).catch((error) => {
      const box = section.querySelector(".compare-diagrams");
      if (box) {
        box.dataset.failed = "true";
      }
      if (window.console) {
        console.error(error);
      }
    });
  });
  await Promise.all(jobs);
  document.body.dataset.compareReady = "true";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
