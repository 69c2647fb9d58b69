// The designer benchmark's page (built by `ioc bench designer` into a scratch folder, never shipped): the
// modeler as the designer page builds it (bpmn-js, the properties panel and its spiffworkflow extension)
// opens the process in #bench-data and the canvas checks run; the times are left in window.benchResult.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";

import properties from "../properties/index.js";
import { attachChecks } from "./index.js";

async function run() {
  const data = JSON.parse(document.getElementById("bench-data").textContent);
  const started = performance.now();
  const canvas = document.getElementById("bench-canvas");
  const modeler = new BpmnModeler({
    container: canvas,
    propertiesPanel: { parent: document.getElementById("bench-properties") },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, ...(properties.additionalModules || [])],
    moddleExtensions: properties.moddleExtensions || {},
  });
  const created = performance.now();
  await modeler.importXML(data.xml);
  modeler.get("canvas").zoom("fit-viewport");
  const imported = performance.now();
  let firstShown = null;
  canvas.addEventListener("ioc-checks-updated", () => { firstShown = firstShown ?? performance.now(); });
  const checks = attachChecks(modeler, {
    checkUrl: data.checkUrl, registryUrl: data.registryUrl, csrf: data.csrf, file: data.name,
    files: async () => ({ [data.name]: data.xml }),
  });
  const problems = await checks.ready;
  await new Promise((done) => requestAnimationFrame(() => done()));
  const shown = performance.now();
  window.benchResult = {
    started, created, imported, firstShown, shown, problems: problems.map((p) => `${p.element}: ${p.message}`),
    listed: document.querySelectorAll(".ioc-problems").length,
  };
}

run().catch((error) => { window.benchResult = { error: String(error && error.stack || error) }; });
