import "./process-env.js";
import { expect } from "chai";
import DmnModeler from "dmn-js/lib/Modeler";

import { dmnOptions } from "../lib/dmn/index.js";

const TABLE = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" xmlns:dmndi="https://www.omg.org/spec/DMN/20191111/DMNDI/"
    xmlns:dc="http://www.omg.org/spec/DMN/20180521/DC/" id="d" name="D" namespace="http://ioc.test">
  <decision id="sla" name="SLA">
    <decisionTable id="dt" hitPolicy="UNIQUE">
      <input id="in_priority" label="Priority"><inputExpression id="ie" typeRef="string"><text>priority</text></inputExpression></input>
      <input id="in_hours" label="Hours"><inputExpression id="ie2" typeRef="number"><text>hours</text></inputExpression></input>
      <output id="out" label="SLA" name="sla_hours" typeRef="number"/>
      <rule id="r1"><inputEntry id="r1_a"><text>"high"</text></inputEntry><inputEntry id="r1_b"><text>&gt;= 5</text></inputEntry>
        <outputEntry id="r1_out"><text>24</text></outputEntry></rule>
    </decisionTable>
  </decision>
  <dmndi:DMNDI><dmndi:DMNDiagram id="dd"><dmndi:DMNShape id="sla_di" dmnElementRef="sla">
    <dc:Bounds height="80" width="180" x="150" y="80"/></dmndi:DMNShape></dmndi:DMNDiagram></dmndi:DMNDI>
</definitions>`;

async function openTable(options) {
  const container = document.createElement("div");
  document.body.appendChild(container);
  const modeler = new DmnModeler({ container, ...options });
  await modeler.importXML(TABLE);
  await modeler.open(modeler.getViews().find((view) => view.type === "decisionTable"));
  return { modeler, container, viewer: modeler.getActiveViewer() };
}

function ctrlClick(container, id) {
  const node = container.querySelector(`[data-element-id="${id}"]`);
  expect(node, id).to.exist;
  node.dispatchEvent(new MouseEvent("click", { bubbles: true, ctrlKey: true }));
}

describe("dmn-js for the engine", () => {
  it("offers no simple-mode editor that writes FEEL into a cell", async () => {
    const { modeler, container, viewer } = await openTable(dmnOptions);
    const cell = viewer.get("elementRegistry").get("r1_a");
    expect(viewer.get("simpleMode").canSimpleEdit(cell)).to.equal(false);
    ctrlClick(container, "r1_b");
    expect(container.querySelector(".context-menu .simple-number-edit, .context-menu [class*=simple]")).to.equal(null);
    modeler.destroy();
    container.remove();
  });

  it("(dmn-js as it comes offers them: the configuration is what turns them off)", async () => {
    const { modeler, container, viewer } = await openTable({});
    const cell = viewer.get("elementRegistry").get("r1_a");
    expect(viewer.get("simpleMode").canSimpleEdit(cell)).to.equal(true);
    ctrlClick(container, "r1_b");
    expect(container.querySelector(".context-menu [class*=simple]")).to.not.equal(null);
    modeler.destroy();
    container.remove();
  });
});
