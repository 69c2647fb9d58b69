import { expect } from "chai";
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { diff } from "bpmn-js-differ";
import { applyMarkers, focusElement, markersOf, zoomToChanges } from "../lib/compare/colour.js";
import { markInstance, showElement } from "../lib/compare/instance.js";

// A process start -> a -> b -> end; `variant` changes it the way a designer would.
function bpmn({ nameA = "Việc A", withB = true, withC = false, xB = 300 } = {}) {
  const b = withB ? '<bpmn:task id="b" name="Việc B"/>' : "";
  const c = withC ? '<bpmn:task id="c" name="Việc C"/>' : "";
  const bShape = withB ? `<bpmndi:BPMNShape id="b_di" bpmnElement="b"><dc:Bounds x="${xB}" y="80" width="100" height="80"/></bpmndi:BPMNShape>` : "";
  const cShape = withC ? '<bpmndi:BPMNShape id="c_di" bpmnElement="c"><dc:Bounds x="450" y="80" width="100" height="80"/></bpmndi:BPMNShape>' : "";
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="x">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:task id="a" name="${nameA}"/>${b}${c}
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="di"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="s_di" bpmnElement="s"><dc:Bounds x="20" y="102" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="a_di" bpmnElement="a"><dc:Bounds x="120" y="80" width="100" height="80"/></bpmndi:BPMNShape>
    ${bShape}${cShape}
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="56" y="120"/><di:waypoint x="120" y="120"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

async function viewerOf(xml) {
  const container = document.createElement("div");
  container.style.width = "800px";
  container.style.height = "400px";
  document.body.appendChild(container);
  const viewer = new NavigatedViewer({ container });
  await viewer.importXML(xml);
  return { viewer, container };
}

describe("the comparison's colours", () => {
  it("marks added, removed, changed and moved elements on the right side, with CSS classes", async () => {
    const old = await viewerOf(bpmn());
    const neu = await viewerOf(bpmn({ nameA: "Việc A mới", xB: 340, withC: true }));
    const result = diff(old.viewer.getDefinitions(), neu.viewer.getDefinitions());
    const marks = markersOf(result);
    expect(marks.new).to.include({ a: "changed", b: "moved", c: "added" });
    expect(marks.old).to.include({ a: "changed", b: "moved" });
    expect(marks.old).to.not.have.property("c");
    expect(applyMarkers(old.viewer, marks.old)).to.equal(Object.keys(marks.old).filter((id) => id !== "p").length);
    applyMarkers(neu.viewer, marks.new);
    expect(neu.container.querySelectorAll(".djs-element.diff-added")).to.have.length(1);
    expect(neu.container.querySelector('[data-element-id="c"]').classList.contains("diff-added")).to.equal(true);
    expect(neu.container.querySelector('[data-element-id="a"]').classList.contains("diff-changed")).to.equal(true);
    expect(neu.container.querySelector('[data-element-id="b"]').classList.contains("diff-moved")).to.equal(true);
    old.viewer.destroy();
    neu.viewer.destroy();
  });

  it("marks a removed element red on the old side only", async () => {
    const old = await viewerOf(bpmn());
    const neu = await viewerOf(bpmn({ withB: false }));
    const marks = markersOf(diff(old.viewer.getDefinitions(), neu.viewer.getDefinitions()));
    expect(marks.old.b).to.equal("removed");
    expect(marks.new).to.not.have.property("b");
    applyMarkers(old.viewer, marks.old);
    expect(old.container.querySelector('[data-element-id="b"]').classList.contains("diff-removed")).to.equal(true);
    old.viewer.destroy();
    neu.viewer.destroy();
  });

  it("adds what the server saw inside extension elements, and the stronger word wins", () => {
    const marks = markersOf({ _layoutChanged: { t: {} }, _changed: {} }, [{ id: "t", kind: "changed" }, { id: "n", kind: "added" }]);
    expect(marks.old).to.deep.equal({ t: "changed" });
    expect(marks.new).to.deep.equal({ t: "changed", n: "added" });
  });

  it("selects an element it is asked to show, and says when a side has no such element", async () => {
    const { viewer } = await viewerOf(bpmn());
    expect(focusElement(viewer, "b")).to.equal(true);
    expect(viewer.get("selection").get().map((e) => e.id)).to.deep.equal(["b"]);
    expect(focusElement(viewer, "nowhere")).to.equal(false);
    viewer.destroy();
  });
});

describe("framing the changes", () => {
  it("shows a wide process's changes at a readable scale, and a small one whole", async () => {
    const wide = await viewerOf(bpmn({ withC: true }).replace('<dc:Bounds x="450" y="80"', '<dc:Bounds x="6000" y="80"'));
    const canvas = wide.viewer.get("canvas");
    canvas.zoom("fit-viewport");
    expect(canvas.viewbox().scale).to.be.below(0.7);
    const scale = zoomToChanges(wide.viewer, ["c"]);
    const box = canvas.viewbox();
    expect(scale).to.be.at.least(0.7);
    expect(box.x).to.be.below(6050);
    expect(box.x + box.width).to.be.above(6050);
    wide.viewer.destroy();
    const small = await viewerOf(bpmn());
    expect(zoomToChanges(small.viewer, ["a"])).to.equal(small.viewer.get("canvas").viewbox().scale);
    small.viewer.destroy();
  });
});

describe("the instance view's marks", () => {
  it("marks states and taken flows and shows a step's data as text, never as HTML", async () => {
    const { viewer, container } = await viewerOf(bpmn());
    const counts = markInstance(viewer, { completed: ["s"], failed: ["a"], waiting: ["gone"] }, ["f1"]);
    expect(counts).to.deep.equal({ completed: 1, failed: 1, waiting: 0, taken: 1 });
    expect(container.querySelector('[data-element-id="a"]').classList.contains("st-failed")).to.equal(true);
    expect(container.querySelector('[data-element-id="f1"]').classList.contains("st-taken")).to.equal(true);
    const panel = document.createElement("aside");
    panel.innerHTML = '<h3 id="detail-title"></h3><p id="detail-state"></p><p id="detail-reason"></p>' +
      '<div id="detail-runs" data-run="Run #" data-none="not run"></div>';
    const hostile = '{"note": "<img src=x onerror=alert(1)>"}';
    showElement(panel, { name: "<b>A</b>", state: "failed", reason: "boom <i>", runs: [{ state: "failed", data: hostile }] },
      { failed: "failed" });
    expect(panel.querySelector("#detail-title").textContent).to.equal("<b>A</b>");
    expect(panel.querySelector("pre").textContent).to.equal(hostile);
    expect(panel.querySelectorAll("img, b, i")).to.have.length(0);
    expect(panel.querySelector("#detail-reason").hidden).to.equal(false);
    viewer.destroy();
  });
});
