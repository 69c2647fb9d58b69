// Reading and writing the spiffworkflow extensions of a BPMN element, and the form field declarations of
// engine/spiff.py's parse_field (`type[@list][!][(field=a,b)][:a,b] | nhãn | label`). Every change is a list of
// 'element.updateModdleProperties' commands run as one command, so one undo takes it back.

export const FIELD_PREFIX = "field.";
export const FIELD_TYPES = ["text", "textarea", "choice", "bool", "int", "number", "date"];
// The same pattern as engine/spiff.py's _FIELD_RE.
const FIELD_RE = new RegExp(
  "^\\s*(?<type>[a-z]+)(?:@(?<source>[a-z_][a-z0-9_]*))?(?<req>!?)(?:\\((?<when>[^)=]*)=(?<whenValues>[^)]*)\\))?"
  + "\\s*(?::(?<choices>[^|]*))?(?:\\|(?<label>[^|]*))?(?:\\|(?<labelEn>.*))?$");
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const split = (text) => (text || "").split(",").map((part) => part.trim()).filter(Boolean);

/** A field declaration as an object, or null when engine/spiff.py would refuse it. */
export function parseField(spec) {
  const m = FIELD_RE.exec(spec || "");
  if (!m || !FIELD_TYPES.includes(m.groups.type)) return null;
  const g = m.groups;
  const conditional = g.when !== undefined;
  const when = conditional ? { field: g.when.trim(), values: split(g.whenValues) } : null;
  if (conditional && (!g.req || !NAME_RE.test(when.field) || !when.values.length)) return null;
  const choices = split(g.choices);
  if (g.source && (g.type !== "choice" || choices.length)) return null;
  if (g.type === "choice" && !choices.length && !g.source) return null;
  if (g.type !== "choice" && choices.length) return null;
  return {
    type: g.type,
    source: g.source || "",
    required: Boolean(g.req) && !conditional,
    when,
    choices,
    label: (g.label || "").trim(),
    labelEn: (g.labelEn || "").trim(),
  };
}

/** The declaration engine/spiff.py reads for a field object. */
export function formatField(field) {
  const type = field.type || "text";
  let spec = type;
  if (type === "choice" && field.source) spec += `@${field.source}`;
  if (field.required || field.when) spec += "!";
  if (field.when) spec += `(${field.when.field}=${field.when.values.join(",")})`;
  if (type === "choice" && !field.source && field.choices.length) spec += `:${field.choices.join(",")}`;
  return `${spec} | ${(field.label || "").replace(/\|/g, "/")} | ${field.labelEn || ""}`;
}

export const isFieldName = (name) => NAME_RE.test(name || "");

// --------------------------------------------------------------------------- extension elements

export function extensionValues(bo) {
  return (bo && bo.get("extensionElements") && bo.get("extensionElements").get("values")) || [];
}

export function findExtension(bo, type) {
  return extensionValues(bo).find((value) => value.$instanceOf(type));
}

const update = (element, moddleElement, properties) => ({
  cmd: "element.updateModdleProperties",
  context: { element, moddleElement, properties },
});

function create(bpmnFactory, type, attrs, parent) {
  const created = bpmnFactory.create(type, attrs);
  created.$parent = parent;
  return created;
}

/** The element's extensionElements, with the commands that create it when it has none. */
function extensionsOf(element, bo, bpmnFactory, commands) {
  let extensions = bo.get("extensionElements");
  if (!extensions) {
    extensions = create(bpmnFactory, "bpmn:ExtensionElements", { values: [] }, bo);
    commands.push(update(element, bo, { extensionElements: extensions }));
  }
  return extensions;
}

/** The extension of `type` (created, with its commands, when missing). */
function ensureExtension(element, bo, type, bpmnFactory, commands, attrs = {}) {
  const found = findExtension(bo, type);
  if (found) return found;
  const extensions = extensionsOf(element, bo, bpmnFactory, commands);
  const made = create(bpmnFactory, type, attrs, extensions);
  commands.push(update(element, extensions, { values: [...extensions.get("values"), made] }));
  return made;
}

function removeExtension(element, bo, value, commands) {
  const extensions = bo.get("extensionElements");
  commands.push(update(element, extensions, { values: extensions.get("values").filter((v) => v !== value) }));
}

/** spiffworkflow:properties as [{name, value, node}] in document order. */
export function properties(bo) {
  const props = findExtension(bo, "spiffworkflow:Properties");
  return props ? props.get("values").map((node) => ({ name: node.name, value: node.value, node })) : [];
}

export function property(bo, name) {
  const found = properties(bo).find((p) => p.name === name);
  return found ? found.value : undefined;
}

/** Commands setting the properties `changes` ({name: value}; empty or null removes it). */
export function propertyCommands(element, bo, changes, bpmnFactory) {
  const commands = [];
  const wanted = Object.entries(changes);
  const current = findExtension(bo, "spiffworkflow:Properties");
  if (!current && wanted.every(([, value]) => !value)) return commands;
  const props = ensureExtension(element, bo, "spiffworkflow:Properties", bpmnFactory, commands, { values: [] });
  let values = [...props.get("values")];
  for (const [name, value] of wanted) {
    const node = values.find((v) => v.name === name);
    if (!value) {
      values = values.filter((v) => v !== node);
    } else if (node) {
      commands.push(update(element, node, { value }));
    } else {
      values.push(create(bpmnFactory, "spiffworkflow:Property", { name, value }, props));
    }
  }
  if (values.length !== props.get("values").length || values.some((v, i) => v !== props.get("values")[i])) {
    commands.push(update(element, props, { values }));
  }
  return commands;
}

/** Commands writing the form's fields in order: [{name, spec}] replaces every field.* property. */
export function formCommands(element, bo, fields, bpmnFactory) {
  const commands = [];
  const props = ensureExtension(element, bo, "spiffworkflow:Properties", bpmnFactory, commands, { values: [] });
  const others = props.get("values").filter((v) => !(v.name || "").startsWith(FIELD_PREFIX));
  const existing = new Map(props.get("values").map((v) => [v.name, v]));
  const nodes = fields.map(({ name, spec }) => {
    const node = existing.get(FIELD_PREFIX + name);
    if (node && node.value === spec) return node;
    return create(bpmnFactory, "spiffworkflow:Property", { name: FIELD_PREFIX + name, value: spec }, props);
  });
  // The fields (in the form's order) take the place of the first field; the other properties stay where they
  // were, so the file changes no more than the form did.
  const values = [];
  let placed = false;
  for (const value of props.get("values")) {
    if (!(value.name || "").startsWith(FIELD_PREFIX)) {
      values.push(value);
    } else if (!placed) {
      values.push(...nodes);
      placed = true;
    }
  }
  commands.push(update(element, props, { values: placed ? values : [...others, ...nodes] }));
  return commands;
}

/** The form's fields in order: [{name, spec, field (null when unreadable)}]. */
export function formFields(bo) {
  return properties(bo).filter((p) => (p.name || "").startsWith(FIELD_PREFIX)).map((p) => ({
    name: p.name.slice(FIELD_PREFIX.length), spec: p.value || "", field: parseField(p.value || ""),
  }));
}

/** The body of a text extension (instructionsForEndUser, calledDecisionId, preScript…). */
export function textExtension(bo, type) {
  const found = findExtension(bo, type);
  return found ? found.value || "" : "";
}

/** Commands setting a text extension's body (empty removes the element). */
export function textExtensionCommands(element, bo, type, value, bpmnFactory) {
  const commands = [];
  const found = findExtension(bo, type);
  if (!value) {
    if (found) removeExtension(element, bo, found, commands);
  } else if (found) {
    commands.push(update(element, found, { value }));
  } else {
    ensureExtension(element, bo, type, bpmnFactory, commands, { value });
  }
  return commands;
}

/** The service task's operator element (or undefined). */
export function operatorOf(bo) {
  return findExtension(bo, "spiffworkflow:ServiceTaskOperator");
}

/** {parameter id: value} of the operator, in document order. */
export function operatorParameters(bo) {
  const operator = operatorOf(bo);
  const list = operator && operator.get("parameters");
  return list ? list.get("values").map((p) => ({ id: p.id, value: p.value || "", node: p })) : [];
}

/** Commands choosing operator `name` (created with its parameter list when missing). */
export function operatorCommands(element, bo, changes, bpmnFactory) {
  const commands = [];
  const operator = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator", bpmnFactory, commands, {});
  if (!operator.get("parameters")) {
    const params = create(bpmnFactory, "spiffworkflow:Parameters", { values: [] }, operator);
    commands.push(update(element, operator, { parameters: params }));
  }
  commands.push(update(element, operator, changes));
  return commands;
}

/** Commands setting parameter `id` to `value` (empty removes it). */
export function parameterCommands(element, bo, id, value, bpmnFactory) {
  const commands = [];
  const operator = ensureExtension(element, bo, "spiffworkflow:ServiceTaskOperator", bpmnFactory, commands, {});
  let params = operator.get("parameters");
  if (!params) {
    params = create(bpmnFactory, "spiffworkflow:Parameters", { values: [] }, operator);
    commands.push(update(element, operator, { parameters: params }));
  }
  const node = params.get("values").find((p) => p.id === id);
  if (!value) {
    if (node) commands.push(update(element, params, { values: params.get("values").filter((p) => p !== node) }));
  } else if (node) {
    commands.push(update(element, node, { value }));
  } else {
    const made = create(bpmnFactory, "spiffworkflow:Parameter", { id, type: "any", value }, params);
    commands.push(update(element, params, { values: [...params.get("values"), made] }));
  }
  return commands;
}

/** Run commands as one undoable step (nothing when empty). */
export function run(commandStack, commands) {
  if (commands.length) commandStack.execute("properties-panel.multi-command-executor", commands);
}
