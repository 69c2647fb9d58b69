// The `spiffworkflow` moddle extension: every element and attribute of SpiffWorkflow's spiff parser
// (SpiffWorkflow/spiff/parser: task_spec.py, event_parsers.py, process.py and its spiffworkflow.xsd), typed,
// so that bpmn-js reads them as objects the panel edits and writes them back as they were.
const text = (name, allowedIn = ["*"]) => ({
  name,
  superClass: ["Element"],
  meta: { allowedIn },
  properties: [{ name: "value", isBody: true, type: "String" }],
});

// An element with string attributes only (a property, a parameter, a metadata value).
const attrs = (name, names) => ({
  name,
  superClass: ["Element"],
  properties: names.map((attr) => ({ name: attr, type: "String", isAttr: true })),
});

// A container of many `item` elements, as <spiffworkflow:properties> holds <spiffworkflow:property>.
const listOf = (name, item, allowedIn) => ({
  name,
  superClass: ["Element"],
  ...(allowedIn ? { meta: { allowedIn } } : {}),
  properties: [{ name: "values", type: item, isMany: true }],
});

export default {
  name: "SpiffWorkflow",
  uri: "http://spiffworkflow.org/bpmn/schema/1.0/core",
  prefix: "spiffworkflow",
  xml: { tagAlias: "lowerCase" },
  associations: [],
  types: [
    // <spiffworkflow:properties><spiffworkflow:property name="…" value="…"/></…>: name_en, instructions_en,
    // candidateUnit, dueAt and a user task's form fields (field.NAME).
    listOf("Properties", "Property", ["*"]),
    attrs("Property", ["name", "value"]),
    // A service task's operator: <spiffworkflow:serviceTaskOperator id="assign" resultVariable="…">.
    {
      name: "ServiceTaskOperator",
      superClass: ["Element"],
      meta: { allowedIn: ["bpmn:ServiceTask"] },
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "resultVariable", type: "String", isAttr: true },
        { name: "parameters", type: "Parameters" },
        { name: "retry", type: "Retry" },
      ],
    },
    listOf("Parameters", "Parameter"),
    attrs("Parameter", ["id", "type", "value"]),
    {
      name: "Retry",
      superClass: ["Element"],
      properties: [
        { name: "retries", type: "Integer", isAttr: true },
        { name: "backoff_base", type: "Integer", isAttr: true },
      ],
    },
    text("CalledDecisionId", ["bpmn:BusinessRuleTask"]),
    text("InstructionsForEndUser"),
    text("PreScript"),
    text("PostScript"),
    // Message payloads and the variable a caught message's payload goes to (on the message event definition).
    text("MessagePayload"),
    text("MessageVariable"),
    // Signals', errors' and escalations' payloads (read from their definitions' extensions).
    text("PayloadExpression"),
    text("VariableName"),
    // A data object's category.
    text("Category", ["bpmn:DataObject"]),
    listOf("UnitTests", "UnitTest", ["bpmn:ScriptTask"]),
    {
      name: "UnitTest",
      superClass: ["Element"],
      properties: [
        { name: "id", type: "String", isAttr: true },
        { name: "inputJson", type: "InputJson" },
        { name: "expectedOutputJson", type: "ExpectedOutputJson" },
      ],
    },
    text("InputJson"),
    text("ExpectedOutputJson"),
    listOf("TaskMetadataValues", "TaskMetadataValue", ["*"]),
    attrs("TaskMetadataValue", ["name", "value"]),
    // Correlation of a message with process data: <processVariableCorrelation><propertyId/><expression/></…>.
    {
      name: "ProcessVariableCorrelation",
      superClass: ["Element"],
      meta: { allowedIn: ["*"] },
      properties: [
        { name: "propertyId", type: "PropertyId" },
        { name: "expression", type: "Expression" },
      ],
    },
    text("PropertyId"),
    text("Expression"),
    // spiffworkflow:scriptsOnInstances="true" on a multi-instance loop runs the pre/post scripts per instance.
    {
      name: "ScriptsOnInstances",
      isAbstract: true,
      extends: ["bpmn:MultiInstanceLoopCharacteristics"],
      properties: [{ name: "scriptsOnInstances", type: "Boolean", isAttr: true }],
    },
  ],
};
