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
