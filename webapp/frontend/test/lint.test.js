import { expect } from "chai";
import { BpmnModdle } from "bpmn-moddle";
import BpmnModeler from "bpmn-js/lib/Modeler";
import { Linter } from "bpmnlint";

import { attachChecks, lintConfig, place, serverProblems } from "../lib/lint/index.js";
import { diagram, REGISTRY, serviceTask } from "./lint-diagrams.js";

const user = (id, name = "Xử lý") => ({ tag: "userTask", id, attrs: { name } });
const timer = (id, body = "\"PT4H\"") => ({
  tag: "intermediateCatchEvent", id, attrs: { name: "Chờ" },
  inner: `<bpmn:timerEventDefinition id="${id}_def">${body === null ? "" : `<bpmn:timeDuration>${body}</bpmn:timeDuration>`}</bpmn:timerEventDefinition>`,
});
const callActivity = (id, called) => ({ tag: "callActivity", id, attrs: { name: "Gọi", ...(called ? { calledElement: called } : {}) } });
const decision = (id, decisionId) => ({
  tag: "businessRuleTask", id, attrs: { name: "Quyết định" },
  inner: decisionId ? `<bpmn:extensionElements><spiffworkflow:calledDecisionId>${decisionId}</spiffworkflow:calledDecisionId></bpmn:extensionElements>` : "",
});

const GOOD = [user("review"), serviceTask("send", "notify", { to: "'a'" }), timer("wait"), callActivity("sub", "other"),
  decision("route", "routing")];
const LANES = (extra = []) => ({ "Cán bộ": ["start", "review", "send", "wait", "sub", "route", "end", ...extra] });

/** [rule, element id] of the project's rules on `xml`. */
async function iocReports(xml, registry = REGISTRY) {
  const { rootElement } = await new BpmnModdle().fromXML(xml);
  const reports = await new Linter(lintConfig(registry)).lint(rootElement);
  return Object.entries(reports).filter(([rule]) => rule.startsWith("ioc/"))
    .flatMap(([rule, items]) => items.map((item) => [rule, item.id]));
}

describe("the project's bpmnlint rules", () => {
  it("find nothing in a process ioc deploy takes", async () => {
    expect(await iocReports(diagram(GOOD, { lanes: LANES() }))).to.deep.equal([]);
  });

  it("report a process not marked executable on the process", async () => {
    expect(await iocReports(diagram(GOOD, { lanes: LANES(), executable: false })))
      .to.deep.equal([["ioc/process-executable", "p"]]);
  });

  it("report a user task in no lane on the task", async () => {
    expect(await iocReports(diagram([user("review")]))).to.deep.equal([["ioc/user-task-lane", "review"]]);
  });

  it("report a lane named after no role on the lane", async () => {
    const xml = diagram([user("review")], { lanes: { "Kế toán": ["start", "review", "end"] } });
    expect(await iocReports(xml)).to.deep.equal([["ioc/user-task-lane", "lane_0"]]);
    expect(await iocReports(xml, null)).to.deep.equal([]); // without the registry the server says it
  });

  it("leave alone a lane that holds no user task (a lane of service tasks)", async () => {
    const xml = diagram([serviceTask("send", "assign")], { lanes: { "Hệ thống": ["start", "send", "end"] } });
    expect(await iocReports(xml)).to.deep.equal([]);
  });

  it("accept a lane named by a role's key, its English label or another name the registry gives it", async () => {
    for (const laneName of ["officer", "Officer", "Điện thoại viên"]) {
      const xml = diagram([user("review")], { lanes: { [laneName]: ["start", "review", "end"] } });
      expect(await iocReports(xml)).to.deep.equal([]);
    }
  });

  it("report a service task without operator, with an unknown one, a missing or an unknown parameter", async () => {
    const lanes = { "Cán bộ": ["start", "a", "b", "c", "d", "end"] };
    const xml = diagram([serviceTask("a", null), serviceTask("b", "nope"), serviceTask("c", "notify", { note: "1" }),
      serviceTask("d", "assign", { extra: "1" })], { lanes });
    expect(await iocReports(xml)).to.deep.equal([["ioc/service-operator", "a"], ["ioc/service-operator", "b"],
      ["ioc/service-operator", "c"], ["ioc/service-operator", "d"]]);
    // Without the registry only the missing operator is known.
    expect(await iocReports(xml, null)).to.deep.equal([["ioc/service-operator", "a"]]);
  });

  it("report a timer without definition on its event", async () => {
    expect(await iocReports(diagram([timer("wait", null)], { lanes: { "Cán bộ": ["start", "wait", "end"] } })))
      .to.deep.equal([["ioc/timer-definition", "wait"]]);
  });

  it("report a call activity and a business rule task that call nothing", async () => {
    const lanes = { "Cán bộ": ["start", "sub", "route", "end"] };
    expect(await iocReports(diagram([callActivity("sub", null), decision("route", null)], { lanes })))
      .to.deep.equal([["ioc/called-element", "sub"], ["ioc/called-element", "route"]]);
  });
});

describe("where problems are shown", () => {
  const resolve = (id) => (["task", "pool"].includes(id) ? id : null);

  it("marks a problem on the element the canvas holds and lists every problem", () => {
    const problems = serverProblems([
      { file: "a.bpmn", element: "task", message: "operator unknown", code: "operator.unknown" },
      { file: "a.bpmn", element: "ghost", message: "not on the canvas", code: null },
      { file: "t.dmn", element: "task", message: "a cell of another file", code: "dmn.feel" },
      { file: "a.bpmn", element: null, message: "the whole file", code: null },
    ]);
    const { markers, list } = place(problems, { file: "a.bpmn", resolve });
    expect([...markers.keys()]).to.deep.equal(["task"]);
    expect(markers.get("task").map((p) => p.message)).to.deep.equal(["operator unknown"]);
    expect(list.map((p) => p.message)).to.deep.equal(["operator unknown", "not on the canvas", "a cell of another file",
      "the whole file"]);
    expect(list.every((p) => p.blocking)).to.equal(true);
  });

  it("shows the server's advice without blocking a deploy", () => {
    const [problem] = serverProblems([{ file: "a.bpmn", element: "task", message: "unreachable", advice: true }]);
    expect(problem.blocking).to.equal(false);
    expect(problem.severity).to.equal("warning");
  });
});

describe("attachChecks on a modeler", () => {
  let container;
  let modeler;
  let realFetch;

  beforeEach(() => {
    container = document.createElement("div");
    container.style.width = "1200px";
    container.style.height = "600px";
    document.body.appendChild(container);
    modeler = new BpmnModeler({ container });
    realFetch = window.fetch;
  });

  afterEach(() => {
    window.fetch = realFetch;
    modeler.destroy();
    container.remove();
  });

  function overlaysOn(id) {
    return modeler.get("overlays").get({ element: id, type: "ioc-check" });
  }

  it("marks a service task with an unknown operator, and the mark goes once it is fixed", async () => {
    const lanes = { "Cán bộ": ["start", "send", "end"] };
    await modeler.importXML(diagram([serviceTask("send", "nope", {})], { lanes }));
    const checks = attachChecks(modeler, { registry: REGISTRY });
    let problems = await checks.refresh();
    expect(problems.map((p) => [p.element, p.code])).to.deep.include(["send", "lint.ioc/service-operator"]);
    expect(overlaysOn("send")).to.have.length(1);
    expect(checks.hasBlockingProblems()).to.equal(true);

    const send = modeler.get("elementRegistry").get("send");
    const operator = send.businessObject.extensionElements.values[0];
    modeler.get("modeling").updateModdleProperties(send, operator, { id: "assign" });
    problems = await checks.refresh();
    expect(problems.filter((p) => p.blocking)).to.deep.equal([]);
    expect(problems.filter((p) => p.element === "send").map((p) => p.message)).to.deep.equal([]);
    expect(overlaysOn("send")).to.have.length(0);
    expect(checks.hasBlockingProblems()).to.equal(false);
    checks.destroy();
  });

  it("lists problems beside the canvas; a click selects the element", async () => {
    await modeler.importXML(diagram([user("review")]));
    const checks = attachChecks(modeler, { registry: REGISTRY });
    await checks.refresh();
    const item = container.querySelector('.ioc-problem[data-element="review"] button');
    expect(item).to.exist;
    item.click();
    expect(modeler.get("selection").get().map((e) => e.id)).to.deep.equal(["review"]);
    const fold = container.querySelector(".ioc-problems-fold");
    fold.click(); // folded to its title: the list no longer covers the diagram
    expect(container.querySelector(".ioc-problems-list").offsetParent).to.equal(null);
    expect(fold.getAttribute("aria-expanded")).to.equal("false");
    fold.click();
    expect(container.querySelector(".ioc-problems-list").offsetParent).to.not.equal(null);
    checks.destroy();
    expect(container.querySelector(".ioc-problems")).to.equal(null);
  });

  it("marks the server's problems on their elements, lists the others with their file, as text", async () => {
    const lanes = { "Cán bộ": ["start", "send", "end"] };
    const xml = diagram([serviceTask("send", "notify", { to: "x" })], { lanes });
    await modeler.importXML(xml);
    const sent = [];
    window.fetch = async (url, init) => {
      sent.push([url, init.headers["X-CSRFToken"], JSON.parse(init.body)]);
      return new Response(JSON.stringify({ ok: false, problems: [
        { file: "a.bpmn", element: "send", message: "<img src=x onerror=alert(1)> is refused", code: "parameter.expression" },
        { file: "a.bpmn", element: "nowhere", message: "no such element here", code: null },
        { file: "t.dmn", element: "r1_in", message: "[1..10] is FEEL", code: "dmn.feel" },
      ] }), { status: 200, headers: { "Content-Type": "application/json" } });
    };
    const checks = attachChecks(modeler, {
      registry: REGISTRY, checkUrl: "/designer/api/check", csrf: "token", files: async () => ({ "a.bpmn": xml, "t.dmn": "<x/>" }),
    });
    await checks.refresh();
    expect(sent[0][0]).to.equal("/designer/api/check");
    expect(sent[0][1]).to.equal("token");
    expect(Object.keys(sent[0][2].files)).to.deep.equal(["a.bpmn", "t.dmn"]);
    expect(overlaysOn("send")).to.have.length(1);
    expect(overlaysOn("send")[0].html.textContent).to.contain("<img src=x onerror=alert(1)> is refused");
    expect(container.querySelector(".ioc-check-marker img")).to.equal(null);
    const listed = [...container.querySelectorAll(".ioc-problem")].map((li) => [li.dataset.file, li.dataset.element]);
    expect(listed).to.deep.include.members([["a.bpmn", "send"], ["a.bpmn", "nowhere"], ["t.dmn", "r1_in"]]);
    expect(checks.hasBlockingProblems()).to.equal(true);
    checks.destroy();
  });

  it("waits for the page to put its file in the bundle before asking the server", async () => {
    const xml = diagram([user("review")], { lanes: { "Cán bộ": ["start", "review", "end"] } });
    await modeler.importXML(xml);
    const sent = [];
    window.fetch = async (url, init) => {
      sent.push(Object.keys(JSON.parse(init.body).files));
      return new Response(JSON.stringify({ ok: true, problems: [] }), { status: 200 });
    };
    let bundle = {};
    const checks = attachChecks(modeler, { registry: REGISTRY, checkUrl: "/c", file: "a.bpmn", serverDelay: 50,
      files: async () => bundle });
    await new Promise((done) => setTimeout(done, 20));
    bundle = { "a.bpmn": xml };
    await checks.ready;
    expect(sent).to.deep.equal([["a.bpmn"]]);
    checks.destroy();
  });

  it("lints once after a burst of changes", async () => {
    await modeler.importXML(diagram([user("review")], { lanes: { "Cán bộ": ["start", "review", "end"] } }));
    const checks = attachChecks(modeler, { registry: REGISTRY });
    await checks.refresh();
    performance.clearMarks("ioc-checks:lint");
    const review = modeler.get("elementRegistry").get("review");
    for (const name of ["Một", "Hai", "Ba", "Bốn"]) modeler.get("modeling").updateLabel(review, name);
    await new Promise((done) => setTimeout(done, 300));
    expect(performance.getEntriesByName("ioc-checks:lint")).to.have.length(1);
    checks.destroy();
  });

  it("asks the server again 600 ms after the last change, once", async () => {
    const xml = diagram([user("review")], { lanes: { "Cán bộ": ["start", "review", "end"] } });
    await modeler.importXML(xml);
    let calls = 0;
    window.fetch = async () => {
      calls += 1;
      return new Response(JSON.stringify({ ok: true, problems: [] }), { status: 200 });
    };
    const checks = attachChecks(modeler, { registry: REGISTRY, checkUrl: "/c", files: async () => ({ "a.bpmn": xml }),
      serverDelay: 100 });
    await checks.refresh();
    calls = 0;
    const review = modeler.get("elementRegistry").get("review");
    modeler.get("modeling").updateLabel(review, "Một");
    modeler.get("modeling").updateLabel(review, "Hai");
    await new Promise((done) => setTimeout(done, 30));
    expect(calls).to.equal(0);
    await new Promise((done) => setTimeout(done, 200));
    expect(calls).to.equal(1);
    checks.destroy();
  });
});

describe("files without incoming/outgoing references", () => {
  it("are linted as connected (the references are derived from the sequence flows)", async () => {
    const xml = diagram([user("review")], { lanes: LANES() }).replace(/<bpmn:(incoming|outgoing)>[^<]*<\/bpmn:\1>/g, "");
    const container = document.createElement("div");
    document.body.appendChild(container);
    const modeler = new BpmnModeler({ container });
    await modeler.importXML(xml);
    const checks = attachChecks(modeler, { registry: REGISTRY });
    const problems = await checks.refresh();
    expect(problems.map((p) => p.code)).to.not.include("lint.no-disconnected");
    checks.destroy();
    modeler.destroy();
    container.remove();
  });
});

describe("linting again", () => {
  it("finds what it found the first time, no more (no flow called a duplicate on the second run)", async () => {
    const container = document.createElement("div");
    document.body.appendChild(container);
    const modeler = new BpmnModeler({ container });
    await modeler.importXML(diagram(GOOD, { lanes: LANES() }));
    const checks = attachChecks(modeler, { registry: REGISTRY });
    const first = (await checks.refresh()).map((p) => p.code);
    const second = (await checks.refresh()).map((p) => p.code);
    expect(second).to.deep.equal(first);
    expect(second).to.not.include("lint.no-duplicate-sequence-flows");
    checks.destroy();
    modeler.destroy();
    container.remove();
  });
});
