// Reading the engine's `spiffworkflow:` extensions off a moddle element, whether the modeler knows the
// namespace (typed objects of the properties panel's moddle extension) or not (generic elements).
const local = (element) => String((element && element.$type) || "").split(":").pop().toLowerCase();

function childrenOf(element) {
  if (!element) return [];
  if (Array.isArray(element.$children)) return element.$children;
  const found = [];
  for (const value of Object.values(element)) {
    if (Array.isArray(value)) found.push(...value.filter((v) => v && v.$type));
    else if (value && typeof value === "object" && value.$type) found.push(value);
  }
  return found;
}

/** The children of `element` named `name` (case-insensitive, any namespace). */
export function children(element, name) {
  const wanted = name.toLowerCase();
  return childrenOf(element).filter((child) => local(child) === wanted);
}

/** The extension elements of `node` named `name`. */
export function extensions(node, name) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  return values.filter((value) => local(value) === name.toLowerCase());
}

/** An attribute of a typed or generic element. */
export function attr(element, name) {
  if (!element) return undefined;
  if (element[name] !== undefined) return element[name];
  return element.$attrs ? element.$attrs[name] : undefined;
}

/** The text content of an element such as <spiffworkflow:calledDecisionId>. */
export function body(element) {
  if (!element) return "";
  const value = element.value !== undefined ? element.value : element.$body;
  return String(value || "").trim();
}

/** {id, params: {name: value}} of a service task's operator, or null when it has none. */
export function operatorOf(node) {
  const [operator] = extensions(node, "serviceTaskOperator");
  if (!operator) return null;
  const params = {};
  for (const group of children(operator, "parameters")) {
    for (const param of children(group, "parameter").length ? children(group, "parameter") : group.values || []) {
      params[attr(param, "id")] = attr(param, "value");
    }
  }
  return { id: String(attr(operator, "id") || "").trim(), params };
}
