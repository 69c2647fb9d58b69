// The designer's instance view: the case's diagram fitted to the screen with zoom, each element marked
// completed / active / waiting / failed / cancelled, the path taken; clicking an element shows its data.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "../lib/compare/compare.css";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { markInstance, showElement } from "../lib/compare/instance.js";

async function start() {
  const container = document.getElementById("instance-canvas");
  const node = document.getElementById("instance-data");
  if (!container || !node) {
    return;
  }
  const data = JSON.parse(node.textContent || "{}");
  const viewer = new NavigatedViewer({ container });
  try {
    await viewer.importXML(data.xml);
  } catch (error) {
    container.textContent = container.dataset.failed || "";
    return;
  }
  const canvas = viewer.get("canvas");
  const fit = () => {
    // As tall as the fitted diagram needs (a wide process leaves no empty band above and below), at most
    // the window's height; CSSOM, not a style attribute (the CSP allows the one, not the other).
    canvas.resized();
    canvas.zoom("fit-viewport", "auto");
    const inner = canvas.viewbox().inner;
    if (inner.width > 0) {
      const wanted = container.clientWidth * (inner.height / inner.width) + 60;
      container.style.height = Math.round(Math.max(360, Math.min(window.innerHeight - 160, wanted))) + "px";
      canvas.resized();
      canvas.zoom("fit-viewport", "auto");
    }
  };
  fit();
  const counts = markInstance(viewer, data.states, data.flows);
  container.dataset.marked = JSON.stringify(counts);
  document.querySelectorAll(".instance-zoom [data-zoom]").forEach((button) => {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "fit") {
        fit();
      } else {
        canvas.zoom(canvas.zoom() * (how === "in" ? 1.25 : 0.8));
      }
    });
  });
  const panel = document.getElementById("instance-detail");
  viewer.on("element.click", (event) => {
    const element = event.element;
    if (!element || element === canvas.getRootElement()) {
      return;
    }
    const name = (element.businessObject && element.businessObject.name) || element.id;
    showElement(panel, (data.elements || {})[element.id], data.labels || {}, name);
  });
  let timer = null;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(fit, 150);
  });
  document.body.dataset.instanceReady = "true";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
