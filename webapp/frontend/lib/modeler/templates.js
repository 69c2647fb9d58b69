// Empty files a designer starts from: an executable process with a start event, a decision table.

function randomId(prefix) {
  return `${prefix}_${Math.random().toString(36).slice(2, 9)}`;
}

/** An executable BPMN process with one start event (ids fresh, so two new processes never clash). */
export function emptyProcess(processId = randomId("Process")) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    id="${randomId("Definitions")}" targetNamespace="http://ioc.daklak.gov.vn/bpmn">
  <bpmn:process id="${processId}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="${processId}">
      <bpmndi:BPMNShape id="StartEvent_1_di" bpmnElement="StartEvent_1">
        <dc:Bounds x="180" y="160" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
`;
}

/** A file name not yet in `taken`: process.bpmn, process_2.bpmn, … */
export function freeName(base, ext, taken) {
  for (let i = 1; ; i += 1) {
    const name = `${base}${i === 1 ? "" : `_${i}`}${ext}`;
    if (!taken.includes(name)) return name;
  }
}
