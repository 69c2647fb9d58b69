import { expect } from "chai";
import BpmnModeler from "bpmn-js/lib/Modeler";

describe("the front-end build's libraries in the browser", () => {
  it("imports an empty executable process", async () => {
    const container = document.createElement("div");
    document.body.appendChild(container);
    const modeler = new BpmnModeler({ container });
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;
    const { warnings } = await modeler.importXML(xml);
    expect(warnings).to.have.length(0);
    expect(modeler.get("elementRegistry").get("s")).to.exist;
    modeler.destroy();
  });
});
