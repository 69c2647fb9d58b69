import { expect } from "chai";
import BpmnModeler from "bpmn-js/lib/Modeler";
import properties from "../lib/properties/index.js";
import { formatField, parseField } from "../lib/properties/model.js";

// What GET /designer/api/registry answers (a part of it), as the panel receives it.
const REGISTRY = {
  operators: [
    { name: "assign", description: "Giao phản ánh cho đơn vị xử lý.", params: [
      { name: "unit", required: true, description: "" },
      { name: "sla_hours", required: true, description: "Working hours until the deadline." },
      { name: "reminder_hours", required: true, description: "" }] },
    { name: "notify", description: "Gửi thông báo.", params: [
      { name: "role", required: true, description: "" }, { name: "unit", required: true, description: "" },
      { name: "kind", required: true, description: "" }] },
  ],
  roles: [
    { key: "operator", label: "Tổng đài viên", label_vi: "Tổng đài viên", label_en: "Operator",
      names: ["Operator", "operator", "Tổng đài viên", "Điện thoại viên"] },
    { key: "officer", label: "Cán bộ xử lý", label_vi: "Cán bộ xử lý", label_en: "Handling officer" },
  ],
  lists: ["categories", "units"],
  processes: [{ key: "field_report", version: 1, name: "Xử lý phản ánh hiện trường" }],
  decisions: [{ id: "field_report_sla", name: "Thời hạn", file: "field_report_sla.dmn", process: "field_report" }],
};

const SMALL = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="lane" name="Người xử lý"><bpmn:flowNodeRef>task</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>service</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:userTask id="task" name="Xử lý"/>
    <bpmn:serviceTask id="service" name="Báo">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="notify">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="role" type="any" value="&quot;officer&quot;"/>
            <spiffworkflow:parameter id="kind" type="any" value="&quot;reminder&quot;"/>
          </spiffworkflow:parameters>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="fresh" name="Mới"/>
    <bpmn:callActivity id="sub" name="Gọi quy trình"/>
    <bpmn:intermediateCatchEvent id="wait" name="Chờ">
      <bpmn:timerEventDefinition id="wait_timer"><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="lane_di" bpmnElement="lane" isHorizontal="true"><dc:Bounds x="0" y="0" width="600" height="200"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="task_di" bpmnElement="task"><dc:Bounds x="60" y="60" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="service_di" bpmnElement="service"><dc:Bounds x="220" y="60" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="sub_di" bpmnElement="sub"><dc:Bounds x="60" y="300" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="fresh_di" bpmnElement="fresh"><dc:Bounds x="220" y="300" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="wait_di" bpmnElement="wait"><dc:Bounds x="400" y="80" width="36" height="36"/></bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function open(xml = SMALL, iocProperties = { registry: REGISTRY }) {
  const container = document.createElement("div");
  const panel = document.createElement("div");
  container.style.height = "400px";
  document.body.append(container, panel);
  const modeler = new BpmnModeler({
    container,
    propertiesPanel: { parent: panel },
    iocProperties,
    debounceInput: false, // typing commits at once (the page waits 300 ms; headless timers run late)
    additionalModules: properties.additionalModules,
    moddleExtensions: properties.moddleExtensions,
  });
  await modeler.importXML(xml);
  await sleep(250); // preact runs the panel's effects (its event listeners) after the next frame, or 100 ms
  return { modeler, panel };
}

async function select(modeler, id) {
  modeler.get("selection").select(modeler.get("elementRegistry").get(id));
  await sleep(250);
}

function entry(panel, id) {
  const found = panel.querySelector(`[data-entry-id="${id}"]`);
  expect(found, `entry ${id}`).to.exist;
  return found;
}

async function type(panel, id, value) {
  const input = entry(panel, id).querySelector("input, textarea");
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  await sleep(250);
}

async function choose(panel, id, value) {
  const select = entry(panel, id).querySelector("select");
  select.value = value;
  select.dispatchEvent(new Event("input", { bubbles: true }));
  await sleep(250);
}

async function exported(modeler) {
  const { xml } = await modeler.saveXML();
  return new DOMParser().parseFromString(xml, "application/xml");
}

const spiff = (doc, id, selector) => {
  const ns = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  const owner = [...doc.getElementsByTagName("*")].find((n) => n.getAttribute("id") === id);
  return [...owner.getElementsByTagNameNS(ns, selector)];
};

describe("the properties panel", () => {
  before(() => { document.documentElement.lang = "en"; });

  it("shows the chosen operator's declared parameters and writes them into the XML", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "service");
    expect(entry(panel, "ioc-operator").querySelector("select").value).to.equal("notify");
    expect(entry(panel, "ioc-param-role").querySelector("input").value).to.equal('"officer"');
    expect(entry(panel, "ioc-param-unit").textContent).to.contain("unit (required)");

    await choose(panel, "ioc-operator", "assign");
    for (const name of ["unit", "sla_hours", "reminder_hours"]) entry(panel, `ioc-param-${name}`);
    expect(entry(panel, "ioc-param-sla_hours").textContent).to.contain("Working hours until the deadline.");
    // The parameters the new operator does not declare are flagged, not dropped.
    expect(entry(panel, "ioc-param-role").textContent).to.contain("not a declared parameter");
    await type(panel, "ioc-param-sla_hours", "48");
    await type(panel, "ioc-param-role", "");

    const doc = await exported(modeler);
    const operator = spiff(doc, "service", "serviceTaskOperator")[0];
    expect(operator.getAttribute("id")).to.equal("assign");
    expect(spiff(doc, "service", "parameter").map((p) => [p.getAttribute("id"), p.getAttribute("value")]))
      .to.deep.equal([["kind", '"reminder"'], ["sla_hours", "48"]]);
    modeler.destroy();
  });

  it("gives a new service task its operator and parameters, and undo takes each change back", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "fresh");
    expect(entry(panel, "ioc-operator").querySelector("select").value).to.equal("");
    await choose(panel, "ioc-operator", "assign");
    await type(panel, "ioc-param-unit", "responsible_unit");
    await type(panel, "ioc-result-variable", "assignment");
    const doc = await exported(modeler);
    const operator = spiff(doc, "fresh", "serviceTaskOperator")[0];
    expect([operator.getAttribute("id"), operator.getAttribute("resultVariable")]).to.deep.equal(["assign", "assignment"]);
    expect(spiff(doc, "fresh", "parameter").map((p) => [p.getAttribute("id"), p.getAttribute("type"), p.getAttribute("value")]))
      .to.deep.equal([["unit", "any", "responsible_unit"]]);
    const commandStack = modeler.get("commandStack");
    commandStack.undo();
    commandStack.undo();
    expect(spiff(await exported(modeler), "fresh", "parameter")).to.have.length(0);
    commandStack.undo();
    expect(spiff(await exported(modeler), "fresh", "serviceTaskOperator")).to.have.length(0);
    modeler.destroy();
  });

  it("adds a form field that the engine's field syntax reads", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "task");
    panel.querySelector('[data-group-id="group-ioc-form"] .bio-properties-panel-group-header .bio-properties-panel-add-entry').click();
    await sleep(250);
    await type(panel, "ioc-field-0-name", "unit_code");
    await choose(panel, "ioc-field-0-type", "choice");
    await choose(panel, "ioc-field-0-source", "units");
    await choose(panel, "ioc-field-0-required", "yes");
    await type(panel, "ioc-field-0-label", "Đơn vị");
    await type(panel, "ioc-field-0-label-en", "Unit");
    panel.querySelector('[data-group-id="group-ioc-form"] .bio-properties-panel-group-header .bio-properties-panel-add-entry').click();
    await sleep(250);
    await choose(panel, "ioc-field-1-type", "textarea");
    await choose(panel, "ioc-field-1-required", "when");
    await type(panel, "ioc-field-1-when-values", "P-TAN-LAP, P-EA-TAM");

    const doc = await exported(modeler);
    const props = spiff(doc, "task", "property").map((p) => [p.getAttribute("name"), p.getAttribute("value")]);
    expect(props).to.deep.equal([
      ["field.unit_code", "choice@units! | Đơn vị | Unit"],
      ["field.field_2", "textarea!(unit_code=P-TAN-LAP,P-EA-TAM) | New field | "],
    ]);

    await type(panel, "ioc-field-0-name", "unit");
    expect(spiff(await exported(modeler), "task", "property").map((p) => p.getAttribute("value"))[1])
      .to.equal("textarea!(unit=P-TAN-LAP,P-EA-TAM) | New field | ");

    entry(panel, "ioc-field-1-move").querySelector(".ioc-move-up").click();
    await sleep(250);
    const moved = spiff(await exported(modeler), "task", "property").map((p) => p.getAttribute("name"));
    expect(moved).to.deep.equal(["field.field_2", "field.unit"]);
    modeler.destroy();
  });

  it("writes the English name and the user task's candidate unit and due time as the engine reads them", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "task");
    expect(panel.textContent).to.contain("English name");
    await type(panel, "ioc-name-en", "Handle it");
    await type(panel, "ioc-candidateUnit", 'assignment["unit"]');
    await type(panel, "ioc-dueAt", 'assignment["due_at"]');
    await type(panel, "ioc-instructions", "Làm ngay.");
    const doc = await exported(modeler);
    expect(spiff(doc, "task", "property").map((p) => [p.getAttribute("name"), p.getAttribute("value")]))
      .to.deep.equal([["name_en", "Handle it"], ["candidateUnit", 'assignment["unit"]'], ["dueAt", 'assignment["due_at"]']]);
    expect(spiff(doc, "task", "instructionsForEndUser")[0].textContent).to.equal("Làm ngay.");
    modeler.destroy();
  });

  it("names a lane after a role, in both languages", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "lane");
    expect(entry(panel, "ioc-role").textContent).to.contain("is no role");
    // A lane named by another name of a role (as the deploy check reads lanes) is that role.
    modeler.get("modeling").updateProperties(modeler.get("elementRegistry").get("lane"), { name: "Điện thoại viên" });
    await sleep(250);
    expect(entry(panel, "ioc-role").querySelector("select").value).to.equal("operator");
    await choose(panel, "ioc-role", "officer");
    const doc = await exported(modeler);
    const lane = doc.getElementById("lane") || [...doc.getElementsByTagName("*")].find((n) => n.getAttribute("id") === "lane");
    expect(lane.getAttribute("name")).to.equal("Cán bộ xử lý");
    expect(spiff(doc, "lane", "property")[0].getAttribute("value")).to.equal("Handling officer");
    modeler.destroy();
  });

  it("tells that a timer is a Python expression when its ISO text has no quotes", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "wait");
    expect(entry(panel, "ioc-timer-type").querySelector("select").value).to.equal("timeDuration");
    await type(panel, "ioc-timer-value", "PT4H");
    expect(entry(panel, "ioc-timer-value").textContent).to.contain('write "PT4H" with the quotes');
    modeler.destroy();
  });

  it("writes timers, called processes and scripts where the engine reads them", async () => {
    const { modeler, panel } = await open();
    await select(modeler, "wait");
    await choose(panel, "ioc-timer-type", "timeDate");
    await select(modeler, "sub");
    const processes = [...entry(panel, "ioc-called-process").querySelectorAll("option")].map((o) => o.value);
    expect(processes).to.include("field_report");
    await choose(panel, "ioc-called-process", "field_report");
    await select(modeler, "task");
    await type(panel, "ioc-pre_script", "x = 1");
    await type(panel, "ioc-post_script", 'note = ""');
    const doc = await exported(modeler);
    const byId = (id) => [...doc.getElementsByTagName("*")].find((n) => n.getAttribute("id") === id);
    const timer = byId("wait_timer");
    expect([...timer.children].map((c) => [c.localName, c.textContent])).to.deep.equal([["timeDate", '"PT1H"']]);
    expect(byId("sub").getAttribute("calledElement")).to.equal("field_report");
    expect(spiff(doc, "task", "preScript")[0].textContent).to.equal("x = 1");
    expect(spiff(doc, "task", "postScript")[0].textContent).to.equal('note = ""');
    modeler.destroy();
  });

  it("writes a message's variable and a flow's condition in the project's process", async () => {
    const xml = await (await fetch(new URL("./fixtures/bpmn/field_report.bpmn", import.meta.url))).text();
    const { modeler, panel } = await open(xml);
    await select(modeler, "citizen_feedback");
    expect(entry(panel, "ioc-message-variable").querySelector("input").value).to.equal("feedback");
    await type(panel, "ioc-message-variable", "reply");
    await select(modeler, "flow_triage_reject");
    expect(entry(panel, "ioc-condition").querySelector("input").value).to.equal('decision == "reject"');
    await type(panel, "ioc-condition", 'decision in ("reject", "spam")');
    const doc = await exported(modeler);
    expect(spiff(doc, "citizen_feedback_definition", "messageVariable")[0].textContent).to.equal("reply");
    const flow = [...doc.getElementsByTagName("*")].find((n) => n.getAttribute("id") === "flow_triage_reject");
    expect(flow.getElementsByTagNameNS("*", "conditionExpression")[0].textContent).to.equal('decision in ("reject", "spam")');
    modeler.destroy();
  });

  it("offers the registry's decisions and the bundle's, and the panel reads the project's files", async () => {
    const xml = await (await fetch(new URL("./fixtures/bpmn/field_report.bpmn", import.meta.url))).text();
    const dmn = '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="x" name="x" namespace="n">'
      + '<decision id="new_sla" name="Thời hạn mới"/></definitions>';
    const { modeler, panel } = await open(xml, { registry: REGISTRY, files: async () => ({ "new.dmn": dmn }) });
    await select(modeler, "sla");
    const options = [...entry(panel, "ioc-decision").querySelectorAll("option")].map((o) => o.value);
    expect(options).to.include("field_report_sla");
    expect(options).to.include("new_sla");
    expect(entry(panel, "ioc-decision").querySelector("select").value).to.equal("field_report_sla");
    await select(modeler, "triage");
    expect(entry(panel, "ioc-field-2-source").querySelector("select").value).to.equal("categories");
    // The system's lane names no role and holds no user task: not flagged (a lane of people's tasks is).
    await select(modeler, "lane_system");
    expect(entry(panel, "ioc-role").textContent).not.to.contain("is no role");
    expect(entry(panel, "ioc-role").querySelector("select").selectedOptions[0].textContent).to.contain("Hệ thống");
    // Editing one field of the triage form leaves the other properties where they were.
    await select(modeler, "triage");
    const names = () => modeler.get("elementRegistry").get("triage").businessObject.extensionElements.values
      .find((v) => v.$type === "spiffworkflow:Properties").values.map((p) => p.name);
    const before = names();
    await type(panel, "ioc-field-5-label-en", "Note for the IOC");
    expect(names()).to.deep.equal(before);
    expect(before[0]).to.equal("candidateUnit");
    modeler.destroy();
  });
});

describe("the panel in Vietnamese", () => {
  after(() => { document.documentElement.lang = "en"; });

  it("titles its groups and bpmn-js's in Vietnamese", async () => {
    document.documentElement.lang = "vi";
    const { modeler, panel } = await open();
    await select(modeler, "service");
    const titles = [...panel.querySelectorAll(".bio-properties-panel-group-header-title")].map((t) => t.textContent);
    expect(titles).to.include.members(["Chung", "Tên", "Thao tác hệ thống", "Tài liệu"]);
    expect(entry(panel, "ioc-name-en").textContent).to.contain("Tên tiếng Anh");
    modeler.destroy();
  });
});

describe("the registry", () => {
  it("is fetched from its URL and the panel is drawn again with it", async () => {
    const url = `data:application/json,${encodeURIComponent(JSON.stringify(REGISTRY))}`;
    const { modeler, panel } = await open(SMALL, { registryUrl: url });
    await modeler.get("iocRegistry").loaded;
    await select(modeler, "service");
    await sleep(250);
    expect(entry(panel, "ioc-param-unit").textContent).to.contain("unit (required)");
    modeler.destroy();
  });
});

describe("form field declarations", () => {
  it("read and write the syntax engine/spiff.py parses (the examples tests/integration checks in Python)", async () => {
    const examples = await (await fetch(new URL("./fixtures/form-fields.json", import.meta.url))).json();
    for (const { spec, field } of examples) {
      expect(parseField(spec), spec).to.deep.equal(field);
      expect(formatField(field)).to.equal(spec);
    }
    expect(parseField("choice | no choices")).to.equal(null);
    expect(parseField("text:a,b")).to.equal(null);
  });
});
