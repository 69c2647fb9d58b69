// Small BPMN diagrams for the checks' tests: a chain start → nodes… → end, with its DI so that bpmn-js draws
// it, optionally in one pool of lanes. `nodes` are {tag, id, attrs?, inner?}.
const NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
  + 'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
  + 'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
  + 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"';

const SIZE = { startEvent: [36, 36], endEvent: [36, 36], intermediateCatchEvent: [36, 36],
  exclusiveGateway: [50, 50], parallelGateway: [50, 50] };

const attrs = (map = {}) => Object.entries(map).map(([k, v]) => ` ${k}="${v}"`).join("");

export function diagram(nodes, { executable = true, lanes = null, processId = "p", name = "Quy trình" } = {}) {
  const all = [{ tag: "startEvent", id: "start", attrs: { name: "Bắt đầu" } }, ...nodes,
    { tag: "endEvent", id: "end", attrs: { name: "Kết thúc" } }];
  const elements = all.map((n, i) => `<bpmn:${n.tag} id="${n.id}"${attrs(n.attrs)}>${n.inner || ""}`
    + (i ? `<bpmn:incoming>flow_${i - 1}</bpmn:incoming>` : "")
    + (i < all.length - 1 ? `<bpmn:outgoing>flow_${i}</bpmn:outgoing>` : "") + `</bpmn:${n.tag}>`);
  const flows = all.slice(1).map((n, i) => `<bpmn:sequenceFlow id="flow_${i}" sourceRef="${all[i].id}" targetRef="${n.id}"/>`);
  const shapes = [];
  const edges = [];
  const left = lanes ? 200 : 100;
  const position = all.map((n, i) => {
    const [w, h] = SIZE[n.tag] || [100, 80];
    return { x: left + i * 160, y: 140 - h / 2, w, h };
  });
  all.forEach((n, i) => {
    const p = position[i];
    shapes.push(`<bpmndi:BPMNShape id="${n.id}_di" bpmnElement="${n.id}"><dc:Bounds x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}"/></bpmndi:BPMNShape>`);
    if (i) {
      const a = position[i - 1];
      edges.push(`<bpmndi:BPMNEdge id="flow_${i - 1}_di" bpmnElement="flow_${i - 1}"><di:waypoint x="${a.x + a.w}" y="140"/><di:waypoint x="${p.x}" y="140"/></bpmndi:BPMNEdge>`);
    }
  });
  const width = left + all.length * 160;
  let laneXml = "";
  let collaboration = "";
  let plane = processId;
  if (lanes) {
    laneXml = `<bpmn:laneSet id="lanes">${Object.entries(lanes).map(([laneName, refs], i) =>
      `<bpmn:lane id="lane_${i}" name="${laneName}">${refs.map((r) => `<bpmn:flowNodeRef>${r}</bpmn:flowNodeRef>`).join("")}</bpmn:lane>`).join("")}</bpmn:laneSet>`;
    const count = Object.keys(lanes).length;
    collaboration = `<bpmn:collaboration id="collab"><bpmn:participant id="pool" name="${name}" processRef="${processId}"/></bpmn:collaboration>`;
    plane = "collab";
    shapes.unshift(`<bpmndi:BPMNShape id="pool_di" bpmnElement="pool" isHorizontal="true"><dc:Bounds x="100" y="40" width="${width}" height="${200 * count}"/></bpmndi:BPMNShape>`,
      ...Object.keys(lanes).map((_, i) => `<bpmndi:BPMNShape id="lane_${i}_di" bpmnElement="lane_${i}" isHorizontal="true"><dc:Bounds x="130" y="${40 + 200 * i}" width="${width - 30}" height="200"/></bpmndi:BPMNShape>`));
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions ${NS} id="defs_${processId}" targetNamespace="http://ioc.test">
  ${collaboration}
  <bpmn:process id="${processId}" name="${name}" isExecutable="${executable}">${laneXml}${elements.join("")}${flows.join("")}</bpmn:process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="${plane}">${shapes.join("")}${edges.join("")}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>`;
}

export const serviceTask = (id, operator, params = {}) => ({
  tag: "serviceTask", id, attrs: { name: "Dịch vụ" },
  inner: operator === null ? "" : `<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="${operator}">`
    + `<spiffworkflow:parameters>${Object.entries(params).map(([k, v]) =>
      `<spiffworkflow:parameter id="${k}" type="any" value="${v}"/>`).join("")}</spiffworkflow:parameters>`
    + "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements>",
});

export const REGISTRY = {
  operators: [
    { name: "notify", params: [{ name: "to", required: true }, { name: "note", required: false }] },
    { name: "assign", params: [] },
  ],
  roles: [{ key: "officer", label: "Cán bộ", label_vi: "Cán bộ", label_en: "Officer" },
    { key: "operator", label: "Tổng đài viên", names: ["Operator", "operator", "Tổng đài viên", "Điện thoại viên"] }],
};
