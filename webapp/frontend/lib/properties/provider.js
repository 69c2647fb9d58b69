// The groups the engine's properties need: names in both languages, service operators with their declared
// parameters, user-task forms, lanes as roles, candidate unit and due time, timers, called decisions and
// processes, message variables, scripts and conditions. Registered after bpmn-js-properties-panel's own
// provider: it takes the name out of "General" (edited with its English form here) and replaces "Timer".
import { Group, ListGroup } from "@bpmn-io/properties-panel";
import { getBusinessObject, is, isAny } from "bpmn-js/lib/util/ModelUtil";
import { areaEntry, moveEntry, selectEntry, textEntry } from "./entries.js";
import { PANEL_VI, language, word } from "./i18n.js";
import {
  FIELD_TYPES,
  formCommands,
  formFields,
  formatField,
  isFieldName,
  operatorCommands,
  operatorOf,
  operatorParameters,
  parameterCommands,
  parseField,
  property,
  propertyCommands,
  run,
  textExtension,
  textExtensionCommands,
} from "./model.js";

const TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];
const UNQUOTED_ISO = /^R?\d*\/?P[0-9TYMDHWS]+$/;

export default function IocPropertiesProvider(propertiesPanel, injector) {
  this._injector = injector;
  propertiesPanel.registerProvider(400, this);
}

IocPropertiesProvider.$inject = ["propertiesPanel", "injector"];

IocPropertiesProvider.prototype.getGroups = function (element) {
  return (groups) => {
    const ctx = context(element, this._injector);
    // Names (with their English forms) are edited in our group; the group titles read in the page's language.
    const vi = language() === "vi";
    const kept = groups.filter((group) => group.id !== "timer").map((group) => ({
      ...group,
      label: vi && PANEL_VI[group.label] ? PANEL_VI[group.label] : group.label,
      ...(group.id === "general"
        ? { entries: group.entries.filter((entry) => !["name", "processName"].includes(entry.id)) } : {}),
    }));
    const general = kept.findIndex((group) => group.id === "general");
    const ours = [
      namesGroup(ctx), userTaskGroup(ctx), formGroup(ctx), operatorGroup(ctx), laneGroup(ctx), timerGroup(ctx),
      decisionGroup(ctx), calledProcessGroup(ctx), messageGroup(ctx), conditionGroup(ctx), scriptsGroup(ctx),
    ].filter(Boolean);
    kept.splice(general + 1, 0, ...ours);
    return kept;
  };
};

function context(element, injector) {
  const commandStack = injector.get("commandStack");
  const bpmnFactory = injector.get("bpmnFactory");
  const modeling = injector.get("modeling");
  const registry = injector.get("iocRegistry");
  const bo = getBusinessObject(element);
  return {
    element, bo, registry, modeling, bpmnFactory,
    id: (name) => `ioc-${name}`,
    run: (commands) => run(commandStack, commands),
  };
}

const group = (id, label, entries) => (entries.length ? { id: `ioc-${id}`, label, component: Group, entries } : null);

// -- names

function nameEntries(ctx, owner, prefix, labels) {
  const { element } = ctx;
  return [
    textEntry({
      id: ctx.id(`${prefix}name`), label: word(labels[0]),
      get: () => owner.get("name"),
      set: (value) => ctx.run([{ cmd: "element.updateModdleProperties",
        context: { element, moddleElement: owner, properties: { name: value || undefined } } }]),
    }),
    textEntry({
      id: ctx.id(`${prefix}name-en`), label: word(labels[1]), description: word("name_en_hint"),
      get: () => property(owner, "name_en"),
      set: (value) => ctx.run(propertyCommands(element, owner, { name_en: value }, ctx.bpmnFactory)),
    }),
  ];
}

function namesGroup(ctx) {
  const { bo } = ctx;
  if (!isAny(bo, ["bpmn:FlowElement", "bpmn:Lane", "bpmn:Participant", "bpmn:Process"])) return null;
  const entries = nameEntries(ctx, bo, "", ["name_vi", "name_en"]);
  if (is(bo, "bpmn:Participant") && bo.get("processRef")) {
    entries.push(...nameEntries(ctx, bo.get("processRef"), "process-", ["process_name_vi", "process_name_en"]));
  }
  return group("names", word("names"), entries);
}

// -- user tasks

function propertyEntry(ctx, name, label, description) {
  return textEntry({
    id: ctx.id(name), label: word(label), description: description && word(description),
    get: () => property(ctx.bo, name),
    set: (value) => ctx.run(propertyCommands(ctx.element, ctx.bo, { [name]: value }, ctx.bpmnFactory)),
  });
}

function userTaskGroup(ctx) {
  const { bo, element } = ctx;
  if (!is(bo, "bpmn:UserTask")) return null;
  return group("user-task", word("user_task"), [
    propertyEntry(ctx, "candidateUnit", "candidate_unit", "candidate_unit_hint"),
    propertyEntry(ctx, "dueAt", "due_at", "due_at_hint"),
    areaEntry({
      id: ctx.id("instructions"), label: word("instructions_vi"),
      get: () => textExtension(bo, "spiffworkflow:InstructionsForEndUser"),
      set: (value) => ctx.run(textExtensionCommands(element, bo, "spiffworkflow:InstructionsForEndUser", value,
        ctx.bpmnFactory)),
    }),
    { ...areaEntry({ id: ctx.id("instructions_en"), label: word("instructions_en"),
      get: () => property(bo, "instructions_en"),
      set: (value) => ctx.run(propertyCommands(element, bo, { instructions_en: value }, ctx.bpmnFactory)) }) },
  ]);
}

// -- forms

function formGroup(ctx) {
  const { bo, element } = ctx;
  if (!is(bo, "bpmn:UserTask")) return null;
  const fields = formFields(bo);
  const write = (list) => ctx.run(formCommands(element, bo, list, ctx.bpmnFactory));
  const change = (index, next) => write(fields.map((f, i) => (i === index ? next : f)));
  const items = fields.map((item, index) => fieldItem(ctx, fields, item, index, change, write));
  return {
    id: "ioc-form",
    label: word("form"),
    component: ListGroup,
    items,
    add: (event) => {
      event.stopPropagation();
      let n = fields.length + 1;
      while (fields.some((f) => f.name === `field_${n}`)) n += 1;
      const field = { type: "text", source: "", required: false, when: null, choices: [],
        label: word("new_field_label"), labelEn: "" };
      write([...fields, { name: `field_${n}`, spec: formatField(field) }]);
    },
  };
}

function fieldItem(ctx, fields, item, index, change, write) {
  const id = (part) => ctx.id(`field-${index}-${part}`);
  const field = item.field;
  const entries = [];
  const edit = (patch) => {
    const next = { ...field, ...patch };
    change(index, { name: item.name, spec: formatField(next) });
  };
  entries.push(textEntry({
    id: id("name"), label: word("field_name"),
    get: () => item.name,
    validate: (value) => {
      if (!isFieldName(value)) return word("field_name_bad");
      if (fields.some((f, i) => i !== index && f.name === value)) return word("field_name_taken");
      return null;
    },
    set: (value) => {
      if (!isFieldName(value) || fields.some((f, i) => i !== index && f.name === value)) return;
      // A field required when this one has a value follows the new name.
      write(fields.map((f, i) => {
        if (i === index) return { name: value, spec: item.spec };
        const when = f.field && f.field.when;
        return when && when.field === item.name
          ? { name: f.name, spec: formatField({ ...f.field, when: { ...when, field: value } }) } : f;
      }));
    },
  }));
  if (field) {
    const registry = ctx.registry;
    entries.push(selectEntry({
      id: id("type"), label: word("field_type"), get: () => field.type,
      options: () => FIELD_TYPES.map((type) => ({ value: type, label: `${word(`type_${type}`)} (${type})` })),
      set: (type) => edit(type === "choice"
        ? { type, choices: field.choices.length || field.source ? field.choices : ["a", "b"] }
        : { type, source: "", choices: [] }),
    }));
    if (field.type === "choice") {
      const lists = registry.data.lists.map((name) => (typeof name === "string" ? name : name.name));
      if (field.source && !lists.includes(field.source)) lists.push(field.source);
      entries.push(selectEntry({
        id: id("source"), label: word("field_source"), get: () => field.source,
        options: () => [{ value: "", label: word("fixed_choices") },
          ...lists.map((name) => ({ value: name, label: `choice@${name}` }))],
        set: (source) => edit(source ? { source, choices: [] } : { source: "", choices: ["a", "b"] }),
      }));
      if (!field.source) {
        entries.push(textEntry({
          id: id("choices"), label: word("field_choices"), get: () => field.choices.join(", "),
          validate: (value) => (value.split(",").some((v) => v.trim()) ? null : word("choices_missing")),
          set: (value) => {
            const choices = value.split(",").map((v) => v.trim()).filter(Boolean);
            if (choices.length) edit({ choices });
          },
        }));
      }
    }
    const others = fields.filter((f, i) => i !== index).map((f) => f.name);
    entries.push(selectEntry({
      id: id("required"), label: word("field_required"),
      get: () => (field.when ? "when" : field.required ? "yes" : "no"),
      options: () => [{ value: "no", label: word("required_no") }, { value: "yes", label: word("required_yes") },
        ...(others.length ? [{ value: "when", label: word("required_when") }] : [])],
      set: (value) => edit(value === "when"
        ? { required: false, when: field.when || { field: others[0], values: ["a"] } }
        : { required: value === "yes", when: null }),
    }));
    if (field.when) {
      entries.push(selectEntry({
        id: id("when-field"), label: word("when_field"), get: () => field.when.field,
        options: () => [...new Set([...others, field.when.field])].map((name) => ({ value: name, label: name })),
        set: (name) => edit({ when: { field: name, values: field.when.values } }),
      }));
      entries.push(textEntry({
        id: id("when-values"), label: word("when_values"), get: () => field.when.values.join(", "),
        validate: (value) => (value.split(",").some((v) => v.trim()) ? null : word("when_missing")),
        set: (value) => {
          const values = value.split(",").map((v) => v.trim()).filter(Boolean);
          if (values.length) edit({ when: { field: field.when.field, values } });
        },
      }));
    }
    const noBar = (value) => (value.includes("|") ? word("no_bar") : null);
    entries.push(textEntry({ id: id("label"), label: word("label_vi"), get: () => field.label, validate: noBar,
      set: (label) => !label.includes("|") && edit({ label }) }));
    entries.push(textEntry({ id: id("label-en"), label: word("label_en"), get: () => field.labelEn,
      set: (labelEn) => edit({ labelEn }) }));
  }
  entries.push(textEntry({
    id: id("spec"), label: word("spec"), get: () => item.spec,
    validate: (value) => (parseField(value) ? null : word("spec_bad")),
    set: (spec) => change(index, { name: item.name, spec }),
  }));
  const move = (to) => () => {
    const list = [...fields];
    [list[index], list[to]] = [list[to], list[index]];
    write(list);
  };
  entries.push(moveEntry({
    id: id("move"), upLabel: `↑ ${word("move_up")}`, downLabel: `↓ ${word("move_down")}`,
    up: index > 0 ? move(index - 1) : null, down: index < fields.length - 1 ? move(index + 1) : null,
  }));
  const title = field ? `${item.name}: ${(language() === "en" && field.labelEn) || field.label || field.type}`
    : `${item.name} ⚠`;
  return {
    id: ctx.id(`field-${index}`),
    label: title,
    entries,
    autoFocusEntry: id("name"),
    remove: (event) => {
      event.stopPropagation();
      write(fields.filter((f, i) => i !== index));
    },
  };
}

// -- service tasks

function operatorGroup(ctx) {
  const { bo, element, registry } = ctx;
  if (!is(bo, "bpmn:ServiceTask")) return null;
  const operator = operatorOf(bo);
  const name = operator ? operator.id || "" : "";
  const declared = registry.operator(name);
  const given = operatorParameters(bo);
  const entries = [selectEntry({
    id: ctx.id("operator"), label: word("operator_choose"),
    description: declared ? declared.description : (registry.error || ""),
    get: () => name,
    validate: (value) => (value && registry.data.operators.length && !registry.operator(value)
      ? `${value}: ${word("operator_unknown")}` : null),
    options: () => {
      const options = [{ value: "", label: word("operator_none") },
        ...registry.data.operators.map((op) => ({ value: op.name, label: op.name }))];
      if (name && !registry.operator(name)) options.push({ value: name, label: `${name} ⚠` });
      return options;
    },
    set: (value) => value && ctx.run(operatorCommands(element, bo, { id: value }, ctx.bpmnFactory)),
  })];
  const paramEntry = (paramName, label, description, validate) => textEntry({
    id: ctx.id(`param-${paramName}`), label, description, validate,
    get: () => (given.find((p) => p.id === paramName) || {}).value,
    set: (value) => ctx.run(parameterCommands(element, bo, paramName, value, ctx.bpmnFactory)),
  });
  for (const param of declared ? declared.params : []) {
    const kind = word(param.required ? "param_required" : "param_optional");
    entries.push(paramEntry(param.name, `${param.name} (${kind})`,
      param.description ? `${param.description} ${word("param_python")}` : word("param_hint"),
      (value) => (param.required && !value.trim() ? word("param_missing") : null)));
  }
  const accepted = new Set((declared ? declared.params : []).map((p) => p.name));
  for (const param of given.filter((p) => declared && !accepted.has(p.id))) {
    entries.push(paramEntry(param.id, `${param.id} ⚠`, word("param_unknown"),
      () => `${param.id}: ${word("param_unknown")}`));
  }
  if (!declared) {
    for (const param of given) entries.push(paramEntry(param.id, param.id, word("param_hint")));
  }
  entries.push(textEntry({
    id: ctx.id("result-variable"), label: word("result_variable"),
    get: () => (operator ? operator.resultVariable : ""),
    set: (value) => ctx.run(operatorCommands(element, bo, { resultVariable: value || undefined }, ctx.bpmnFactory)),
  }));
  return group("operator", word("operator"), entries);
}

// -- lanes

function roleOf(name, roles) {
  const found = roles.find((r) => [r.key, r.label, r.label_vi, r.label_en, ...(r.names || [])].includes(name));
  return found ? found.key : null;
}

function laneGroup(ctx) {
  const { bo, element, registry } = ctx;
  if (!is(bo, "bpmn:Lane")) return null;
  const roles = registry.data.roles;
  const name = bo.get("name") || "";
  const key = roleOf(name, roles);
  // A lane of system tasks may be named anything; one holding user tasks must name a role (ioc deploy says so).
  const people = (bo.get("flowNodeRef") || []).some((node) => isAny(node, ["bpmn:UserTask", "bpmn:ManualTask"]));
  const other = name && !key;
  return group("lane", word("role"), [selectEntry({
    id: ctx.id("role"), label: word("role_choose"), description: word("role_hint"),
    get: () => key || (other ? "?" : ""),
    validate: (value) => (value === "?" && people ? `${name}: ${word("role_unknown")}` : null),
    options: () => [{ value: "", label: word("role_none") },
      ...roles.map((r) => ({ value: r.key, label: r.label || r.key })),
      ...(other ? [{ value: "?", label: people ? `${name} ⚠` : `${name} — ${word("role_none")}` }] : [])],
    set: (value) => {
      const role = roles.find((r) => r.key === value);
      if (!role) return;
      ctx.run([{ cmd: "element.updateModdleProperties",
        context: { element, moddleElement: bo, properties: { name: role.label_vi || role.label } } },
      ...propertyCommands(element, bo, { name_en: role.label_en || "" }, ctx.bpmnFactory)]);
    },
  })]);
}

// -- timers

function timerDefinition(bo) {
  return (bo.get("eventDefinitions") || []).find((d) => is(d, "bpmn:TimerEventDefinition"));
}

function timerGroup(ctx) {
  const { bo, element, bpmnFactory } = ctx;
  if (!is(bo, "bpmn:Event")) return null;
  const timer = timerDefinition(bo);
  if (!timer) return null;
  const kind = TIMER_KINDS.find((k) => timer.get(k)) || "";
  const expression = kind ? timer.get(kind) : null;
  const entries = [selectEntry({
    id: ctx.id("timer-type"), label: word("timer_type"), get: () => kind,
    options: () => [{ value: "", label: word("timer_none") },
      { value: "timeDate", label: word("timer_date") }, { value: "timeDuration", label: word("timer_duration") },
      { value: "timeCycle", label: word("timer_cycle") }],
    set: (value) => {
      const properties = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (value) {
        const body = expression ? expression.get("body") : "\"PT4H\"";
        properties[value] = bpmnFactory.create("bpmn:FormalExpression", { body });
        properties[value].$parent = timer;
      }
      ctx.run([{ cmd: "element.updateModdleProperties", context: { element, moddleElement: timer, properties } }]);
    },
  })];
  if (expression) {
    entries.push(textEntry({
      id: ctx.id("timer-value"), label: word("timer_value"), description: word("timer_hint"),
      get: () => expression.get("body"),
      validate: (value) => (UNQUOTED_ISO.test((value || "").trim())
        ? word("timer_quote", { value: value.trim() }) : null),
      set: (value) => ctx.run([{ cmd: "element.updateModdleProperties",
        context: { element, moddleElement: expression, properties: { body: value } } }]),
    }));
  }
  return group("timer", word("timer"), entries);
}

// -- called decisions and processes

function choiceWithCurrent(items, current, unknownWord) {
  const options = [{ value: "", label: word("none") }, ...items.map((i) => ({ value: i.id, label: i.label }))];
  if (current && !items.some((i) => i.id === current)) options.push({ value: current, label: `${current} ⚠ ${unknownWord}` });
  return options;
}

function decisionGroup(ctx) {
  const { bo, element, registry } = ctx;
  if (!is(bo, "bpmn:BusinessRuleTask")) return null;
  const current = textExtension(bo, "spiffworkflow:CalledDecisionId");
  return group("decision", word("decision"), [selectEntry({
    id: ctx.id("decision"), label: word("decision_choose"), get: () => current,
    options: () => choiceWithCurrent(registry.decisions(), current, word("decision_unknown")),
    refresh: () => registry.refreshBundle(),
    set: (value) => ctx.run(textExtensionCommands(element, bo, "spiffworkflow:CalledDecisionId", value,
      ctx.bpmnFactory)),
  })]);
}

function calledProcessGroup(ctx) {
  const { bo, element, registry } = ctx;
  if (!is(bo, "bpmn:CallActivity")) return null;
  const current = bo.get("calledElement") || "";
  return group("called-process", word("called_process"), [selectEntry({
    id: ctx.id("called-process"), label: word("called_process_choose"), get: () => current,
    options: () => choiceWithCurrent(registry.processes(), current, word("decision_unknown")),
    refresh: () => registry.refreshBundle(),
    set: (value) => ctx.run([{ cmd: "element.updateModdleProperties",
      context: { element, moddleElement: bo, properties: { calledElement: value || undefined } } }]),
  })]);
}

// -- messages

function messageGroup(ctx) {
  const { bo, element } = ctx;
  let owner = null;
  if (isAny(bo, ["bpmn:StartEvent", "bpmn:IntermediateCatchEvent", "bpmn:BoundaryEvent"])) {
    owner = (bo.get("eventDefinitions") || []).find((d) => is(d, "bpmn:MessageEventDefinition"));
  } else if (is(bo, "bpmn:ReceiveTask")) {
    owner = bo;
  }
  if (!owner) return null;
  return group("message", word("message"), [textEntry({
    id: ctx.id("message-variable"), label: word("message_variable"), description: word("message_variable_hint"),
    get: () => textExtension(owner, "spiffworkflow:MessageVariable"),
    set: (value) => ctx.run(textExtensionCommands(element, owner, "spiffworkflow:MessageVariable", value,
      ctx.bpmnFactory)),
  })]);
}

// -- conditions and scripts

function conditionGroup(ctx) {
  const { bo, element, bpmnFactory } = ctx;
  if (!is(bo, "bpmn:SequenceFlow")) return null;
  const source = bo.get("sourceRef");
  if (!isAny(source, ["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway", "bpmn:Activity"])) return null;
  if (source.get("default") === bo) return null;
  const condition = bo.get("conditionExpression");
  return group("condition", word("condition"), [textEntry({
    id: ctx.id("condition"), label: word("condition_expression"), description: word("condition_hint"),
    get: () => (condition ? condition.get("body") : ""),
    set: (value) => {
      const expression = value ? bpmnFactory.create("bpmn:FormalExpression", { body: value }) : undefined;
      ctx.modeling.updateProperties(element, { conditionExpression: expression });
    },
  })]);
}

function scriptsGroup(ctx) {
  const { bo, element } = ctx;
  if (!is(bo, "bpmn:Activity")) return null;
  const entries = [];
  if (is(bo, "bpmn:ScriptTask")) {
    entries.push(areaEntry({
      id: ctx.id("script"), label: word("script"), monospace: true, rows: 5,
      get: () => bo.get("script"),
      set: (value) => ctx.run([{ cmd: "element.updateModdleProperties",
        context: { element, moddleElement: bo, properties: { script: value || undefined } } }]),
    }));
  }
  for (const [type, label] of [["spiffworkflow:PreScript", "pre_script"], ["spiffworkflow:PostScript", "post_script"]]) {
    entries.push(areaEntry({
      id: ctx.id(label), label: word(label), monospace: true,
      get: () => textExtension(bo, type),
      set: (value) => ctx.run(textExtensionCommands(element, bo, type, value, ctx.bpmnFactory)),
    }));
  }
  return group("scripts", word("scripts"), entries);
}
