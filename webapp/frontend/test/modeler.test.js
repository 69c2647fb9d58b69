import "./modeler-process-env.js";
import { expect } from "chai";
import BpmnModeler from "bpmn-js/lib/Modeler";
import DmnModeler from "dmn-js/lib/Modeler";

import { format } from "../lib/modeler/api.js";
import { Bundle, BundleError, kindOf } from "../lib/modeler/bundle.js";
import { emptyProcess, freeName } from "../lib/modeler/templates.js";
import { DMN_VI, dmnTranslation, makeTranslate, translateModuleFor, VI } from "../lib/modeler/translate-vi.js";

const DMN = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="sla_defs" name="SLA" namespace="x">
  <decision id="sla" name="Thời hạn">
    <decisionTable id="sla_table" hitPolicy="UNIQUE">
      <input id="in_priority" label="Mức độ"><inputExpression id="in_expr" typeRef="string"><text>priority</text></inputExpression></input>
      <output id="out_hours" label="Giờ" name="sla_hours" typeRef="number"/>
      <rule id="rule_high"><inputEntry id="r1_in"><text>"high"</text></inputEntry><outputEntry id="r1_out"><text>24</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>`;

function container() {
  const node = document.createElement("div");
  node.style.width = "800px";
  node.style.height = "400px";
  document.body.appendChild(node);
  return node;
}

function realBundle(onChange) {
  return new Bundle({
    createEditor: (kind) => (kind === "bpmn" ? new BpmnModeler({ container: container() })
      : new DmnModeler({ container: container() })),
    onChange,
  });
}

describe("the modeler's bundle of files", () => {
  it("knows a file's kind by its name", () => {
    expect(kindOf("field_report.bpmn")).to.equal("bpmn");
    expect(kindOf("SLA.DMN")).to.equal("dmn");
    expect(kindOf("notes.txt")).to.equal(null);
    expect(kindOf("")).to.equal(null);
  });

  it("adds BPMN and DMN files in their editors and collects every file's XML, edits included", async () => {
    const bundle = realBundle();
    await bundle.add("process.bpmn", emptyProcess("Process_x"));
    await bundle.add("sla.dmn", DMN);
    expect(bundle.names()).to.deep.equal(["process.bpmn", "sla.dmn"]);
    expect(bundle.dirty).to.equal(true);

    // Rename the start event in the BPMN editor and the decision in the DMN editor: files() sees both.
    const bpmn = bundle.get("process.bpmn").editor;
    bpmn.get("modeling").updateLabel(bpmn.get("elementRegistry").get("StartEvent_1"), "Tiếp nhận");
    const dmn = bundle.get("sla.dmn").editor;
    const table = dmn.getViews().find((v) => v.type === "decisionTable");
    await dmn.open(table);
    dmn.getActiveViewer().get("modeling").editCell(
      dmn.getActiveViewer().get("elementRegistry").get("r1_out")?.businessObject || findCell(dmn, "r1_out"), "48");
    const files = await bundle.files();
    expect(Object.keys(files)).to.deep.equal(["process.bpmn", "sla.dmn"]);
    expect(files["process.bpmn"]).to.contain('name="Tiếp nhận"').and.to.contain('id="Process_x"');
    expect(files["sla.dmn"]).to.contain("<text>48</text>").and.to.contain('id="sla"');
    bundle.remove("process.bpmn");
    bundle.remove("sla.dmn");
  });

  it("refuses other files, a name already taken and unreadable XML, keeping what it holds", async () => {
    const bundle = realBundle();
    await bundle.add("a.bpmn", emptyProcess());
    const refusal = async (name, xml) => {
      try {
        await bundle.add(name, xml);
      } catch (error) {
        expect(error).to.be.instanceOf(BundleError);
        return error.code;
      }
      return null;
    };
    expect(await refusal("notes.txt", "<x/>")).to.equal("not_bpmn_or_dmn");
    expect(await refusal("a.bpmn", emptyProcess())).to.equal("name_taken");
    expect(await refusal("b.bpmn", "this is no xml")).to.equal("open_failed");
    expect(bundle.names()).to.deep.equal(["a.bpmn"]);
    expect(Object.keys(await bundle.files())).to.deep.equal(["a.bpmn"]);
    bundle.remove("a.bpmn");
  });

  it("keeps the modeler's import warnings of a file (a flow to an element that is not there)", async () => {
    const bundle = realBundle();
    const broken = emptyProcess("Process_w").replace('<bpmn:startEvent id="StartEvent_1"/>',
      '<bpmn:startEvent id="StartEvent_1"/><bpmn:sequenceFlow id="f" sourceRef="StartEvent_1" targetRef="nowhere"/>');
    const entry = await bundle.add("w.bpmn", broken);
    expect(entry.warnings.length).to.be.greaterThan(0);
    expect((await bundle.add("ok.bpmn", emptyProcess())).warnings).to.deep.equal([]);
    bundle.remove("w.bpmn");
    bundle.remove("ok.bpmn");
  });

  it("removes a file: its editor is destroyed, the bundle is changed, files() no longer has it", async () => {
    const changes = [];
    const bundle = realBundle((b) => changes.push(b.dirty));
    await bundle.add("a.bpmn", emptyProcess(), { changed: false });
    await bundle.add("b.dmn", DMN, { changed: false });
    bundle.saved();
    expect(bundle.dirty).to.equal(false);
    const { editor } = bundle.get("a.bpmn");
    expect(bundle.remove("a.bpmn")).to.equal(true);
    expect(bundle.remove("a.bpmn")).to.equal(false);
    expect(editor._container.isConnected).to.equal(false); // destroyed: its canvas left the page
    expect(bundle.dirty).to.equal(true);
    expect(changes.at(-1)).to.equal(true);
    expect(Object.keys(await bundle.files())).to.deep.equal(["b.dmn"]);
    bundle.remove("b.dmn");
  });

  it("names new files without clashing", () => {
    expect(freeName("process", ".bpmn", [])).to.equal("process.bpmn");
    expect(freeName("process", ".bpmn", ["process.bpmn", "process_2.bpmn"])).to.equal("process_3.bpmn");
  });
});

function findCell(dmn, id) {
  const sheet = dmn.getActiveViewer().get("sheet");
  const { rows } = sheet.getRoot();
  for (const row of rows) {
    for (const cell of row.cells) {
      if (cell.businessObject && cell.businessObject.id === id) return cell;
    }
  }
  throw new Error(`no cell ${id}`);
}

describe("the modeler's words in Vietnamese", () => {
  it("translates bpmn-js's palette when the page is in Vietnamese, and not in English", async () => {
    expect(translateModuleFor("en")).to.equal(null);
    const modeler = new BpmnModeler({ container: container(), additionalModules: [translateModuleFor("vi")] });
    await modeler.importXML(emptyProcess());
    const titles = [...modeler._container.querySelectorAll(".djs-palette .entry")].map((e) => e.getAttribute("aria-label"));
    expect(titles, titles.join(" | ")).to.include(VI["Create task"]);
    expect(titles).to.include(VI["Create start event"]);
    modeler.destroy();
  });

  it("translates dmn-js's decision table too", async () => {
    expect(dmnTranslation("en")).to.deep.equal({});
    const modeler = new DmnModeler({ container: container(), ...dmnTranslation("vi") });
    await modeler.importXML(DMN);
    await modeler.open(modeler.getViews().find((v) => v.type === "decisionTable"));
    const header = modeler._container.querySelector(".tjs-table thead").textContent;
    expect(header).to.contain(DMN_VI.When).and.to.contain(DMN_VI.Then);
    expect(modeler._container.textContent).to.contain(DMN_VI["Hit policy:"]);
    modeler.destroy();
  });

  it("fills placeholders and keeps unknown strings in English", () => {
    const translate = makeTranslate({ "Append {type}": "Nối {type}" });
    expect(translate("Append {type}", { type: "x" })).to.equal("Nối x");
    expect(translate("Unknown {a}", {})).to.equal("Unknown {a}");
    expect(format("Saved (version %(version)s).", { version: 3 })).to.equal("Saved (version 3).");
  });
});
