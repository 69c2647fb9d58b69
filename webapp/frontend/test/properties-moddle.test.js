import { expect } from "chai";
import BpmnModeler from "bpmn-js/lib/Modeler";
import spiffworkflow from "../lib/properties/moddle.js";

const SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
// The project's own processes, read through a link to bpmn/ (fixtures/bpmn -> the repository's bpmn folder).
const FILES = ["field_report.bpmn", "hotline_call.bpmn"];

async function fixture(name) {
  const response = await fetch(new URL(`./fixtures/bpmn/${name}`, import.meta.url));
  expect(response.ok, `fixture ${name}`).to.equal(true);
  return response.text();
}

// Every spiffworkflow element and attribute of a document, as "owner-id / path: attributes = text" lines
// (the owner is the nearest ancestor with an id), sorted: two documents with the same lines carry the same extensions.
function spiffFacts(xml) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  const facts = [];
  for (const node of doc.getElementsByTagName("*")) {
    const own = [...node.attributes].filter((a) => a.namespaceURI === SPIFF).map((a) => `@${a.localName}=${a.value}`);
    if (node.namespaceURI !== SPIFF && !own.length) continue;
    let owner = node;
    const path = [];
    while (owner && owner.namespaceURI === SPIFF) {
      path.unshift(owner.localName);
      owner = owner.parentNode;
    }
    while (owner && !(owner.getAttribute && owner.getAttribute("id"))) owner = owner.parentNode;
    const attrs = node.namespaceURI === SPIFF
      ? [...node.attributes].map((a) => `${a.name}=${a.value}`).sort().join(" ") : own.join(" ");
    const body = [...node.childNodes].filter((c) => c.nodeType === 3).map((c) => c.data).join("").trim();
    facts.push(`${owner ? owner.getAttribute("id") : "?"} / ${path.join("/")}: ${attrs} = ${body}`);
  }
  return facts.sort();
}

function newModeler() {
  const container = document.createElement("div");
  document.body.appendChild(container);
  return new BpmnModeler({ container, moddleExtensions: { spiffworkflow } });
}

describe("the spiffworkflow moddle extension", () => {
  for (const name of FILES) {
    it(`imports and exports ${name} with every spiffworkflow element and attribute kept`, async () => {
      const xml = await fixture(name);
      const modeler = newModeler();
      const { warnings } = await modeler.importXML(xml);
      expect(warnings.map((w) => w.message)).to.deep.equal([]);
      const { xml: out } = await modeler.saveXML({ format: true });
      const before = spiffFacts(xml);
      expect(before.length).to.be.greaterThan(100);
      expect(spiffFacts(out)).to.deep.equal(before);
      modeler.destroy();
    });
  }

  it("keeps the spiff parser's other extensions: retries, unit tests, payloads, correlations, categories", async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="${SPIFF}" id="d" targetNamespace="x">
  <bpmn:signal id="sig" name="s"><bpmn:extensionElements>
    <spiffworkflow:payloadExpression>{"a": 1}</spiffworkflow:payloadExpression>
    <spiffworkflow:variableName>got</spiffworkflow:variableName></bpmn:extensionElements></bpmn:signal>
  <bpmn:message id="msg" name="m"/>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:dataObject id="obj"><bpmn:extensionElements><spiffworkflow:category>forms</spiffworkflow:category>
      </bpmn:extensionElements></bpmn:dataObject>
    <bpmn:serviceTask id="call"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="notify" resultVariable="r">
        <spiffworkflow:parameters><spiffworkflow:parameter id="role" type="any" value="1"/></spiffworkflow:parameters>
        <spiffworkflow:retry retries="3" backoff_base="2"/>
      </spiffworkflow:serviceTaskOperator>
      <spiffworkflow:preScript>x = 1</spiffworkflow:preScript>
      <spiffworkflow:taskMetadataValues><spiffworkflow:taskMetadataValue name="k" value="v"/></spiffworkflow:taskMetadataValues>
    </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true"/></bpmn:serviceTask>
    <bpmn:scriptTask id="script"><bpmn:extensionElements><spiffworkflow:unitTests>
      <spiffworkflow:unitTest id="t1"><spiffworkflow:inputJson>{}</spiffworkflow:inputJson>
        <spiffworkflow:expectedOutputJson>{"x": 1}</spiffworkflow:expectedOutputJson></spiffworkflow:unitTest>
      </spiffworkflow:unitTests></bpmn:extensionElements><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:extensionElements>
      <spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>case</spiffworkflow:propertyId>
        <spiffworkflow:expression>code</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="wait_def" messageRef="msg"><bpmn:extensionElements>
        <spiffworkflow:messagePayload>{"b": 2}</spiffworkflow:messagePayload></bpmn:extensionElements>
      </bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
  </bpmn:process>
</bpmn:definitions>`;
    const modeler = newModeler();
    const moddle = modeler.get("moddle"); // no diagram to draw: read and write with the modeler's moddle
    const { rootElement, elementsById, warnings } = await moddle.fromXML(xml);
    expect(warnings.map((w) => w.message)).to.deep.equal([]);
    const { xml: out } = await moddle.toXML(rootElement, { format: true });
    expect(spiffFacts(out)).to.deep.equal(spiffFacts(xml));
    const generic = [];
    const walk = (node) => {
      if (!node || typeof node !== "object" || !node.$descriptor) return;
      if (node.$descriptor.isGeneric) generic.push(node.$type);
      for (const key of Object.keys(node)) {
        if (key.startsWith("$")) continue;
        const value = node[key];
        (Array.isArray(value) ? value : [value]).forEach(walk);
      }
    };
    walk(rootElement);
    expect(generic).to.deep.equal([]);
    const loop = elementsById.call.loopCharacteristics;
    expect(loop.scriptsOnInstances).to.equal(true);
    modeler.destroy();
  });

  it("reads the extensions as typed objects, not as unknown XML", async () => {
    const modeler = newModeler();
    await modeler.importXML(await fixture("field_report.bpmn"));
    const registry = modeler.get("elementRegistry");
    const values = (id) => registry.get(id).businessObject.extensionElements.values;
    const operator = values("record_review_task").find((v) => v.$type === "spiffworkflow:ServiceTaskOperator");
    expect(operator.id).to.equal("record_review");
    expect(operator.resultVariable).to.equal("review_result");
    expect(operator.parameters.values.map((p) => [p.id, p.value])).to.deep.equal(
      [["decision", "review_decision"], ["note", "review_note"]]);
    const props = values("review").find((v) => v.$type === "spiffworkflow:Properties").values;
    expect(props.find((p) => p.name === "dueAt").value).to.equal('review_request["due_at"]');
    expect(values("review").find((v) => v.$type === "spiffworkflow:InstructionsForEndUser").value)
      .to.match(/^Đọc kết quả xử lý/);
    expect(values("route").find((v) => v.$type === "spiffworkflow:CalledDecisionId").value)
      .to.equal("field_report_routing");
    const message = registry.get("citizen_feedback").businessObject.eventDefinitions[0];
    expect(message.extensionElements.values[0].$type).to.equal("spiffworkflow:MessageVariable");
    expect(message.extensionElements.values[0].value).to.equal("feedback");
    expect(values("record_review_task").find((v) => v.$type === "spiffworkflow:PostScript").value)
      .to.equal('outcome = ""\nreview_decision = ""');
    modeler.destroy();
  });
});
