// The process designer's modeler page (/designer/model): styles of bpmn-js, dmn-js and the properties
// panel, and the workspace (frontend/lib/modeler/workspace.js) opened on the page's bundle.
// The icon fonts come from the site (bpmn.css / dmn.css: files copied beside the bundle): the CSP refuses the
// data: URLs of the *-embedded.css variants.
import "bpmn-js/dist/assets/diagram-js.css";
import "bpmn-js/dist/assets/bpmn-js.css";
import "bpmn-js/dist/assets/bpmn-font/css/bpmn.css";
import "@bpmn-io/properties-panel/dist/assets/properties-panel.css";
import "dmn-js/dist/assets/dmn-js-shared.css";
import "dmn-js/dist/assets/dmn-js-drd.css";
import "dmn-js/dist/assets/dmn-js-decision-table.css";
import "dmn-js/dist/assets/dmn-js-decision-table-controls.css";
import "dmn-js/dist/assets/dmn-js-literal-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression.css";
import "dmn-js/dist/assets/dmn-js-boxed-expression-controls.css";
import "dmn-js/dist/assets/dmn-font/css/dmn.css";
import "../lib/modeler/modeler.css";

import { Workspace } from "../lib/modeler/workspace.js";

const data = document.getElementById("modeler-data");
const root = document.getElementById("modeler-workspace");
if (data && root) {
  const page = JSON.parse(data.textContent);
  const workspace = new Workspace(root, page);
  workspace.bind();
  window.iocModeler = workspace; // for the browser tests and the console
  if (page.bundle) {
    workspace.open(page.bundle);
  } else {
    const picker = document.getElementById("modeler-open-files");
    picker.addEventListener("change", async () => {
      document.getElementById("modeler-start").hidden = true;
      root.closest(".designer").classList.add("wide");
      root.hidden = false;
      await workspace.open({ title: "", files: {} });
      await workspace.addFromDisk(picker.files);
    });
  }
}
