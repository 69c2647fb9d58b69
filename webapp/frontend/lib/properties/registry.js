// The live lists the panel offers: GET /designer/api/registry (operators with their declared parameters, roles,
// choice lists, deployed processes and decisions), plus the processes and decisions of the files being edited.
import { word } from "./i18n.js";

const EMPTY = { operators: [], roles: [], lists: [], processes: [], decisions: [] };
const BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";

/**
 * Configured by the modeler's `iocProperties`: `{registry}` (the API's answer, already at hand) or
 * `{registryUrl}` (fetched once), and `files: () => ({name: xml})`, the bundle's files now.
 */
export default function IocRegistry(config, eventBus) {
  const options = config || {};
  this._eventBus = eventBus;
  this._files = options.files || (() => ({}));
  this.data = { ...EMPTY, ...(options.registry || {}) };
  this.error = null;
  if (!options.registry && options.registryUrl) {
    this.loaded = fetch(options.registryUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then((data) => { this.data = { ...EMPTY, ...data }; })
      .catch(() => { this.error = word("registry_failed"); })
      .then(() => eventBus.fire("propertiesPanel.providersChanged"));
  } else {
    this.loaded = Promise.resolve();
  }
}

IocRegistry.$inject = ["config.iocProperties", "eventBus"];

IocRegistry.prototype.operator = function (name) {
  return this.data.operators.find((op) => op.name === name);
};

/** Parsed bundle files: [{name, doc}] of one extension. */
IocRegistry.prototype._documents = function (extension) {
  let files = {};
  try {
    files = this._files() || {};
  } catch (err) {
    files = {};
  }
  return Object.entries(files).filter(([name]) => name.toLowerCase().endsWith(extension))
    .map(([name, xml]) => ({ name, doc: new DOMParser().parseFromString(xml, "application/xml") }));
};

/** Decisions to call: [{id, label}] from the bundle's DMN files first, then the deployed ones (each id once). */
IocRegistry.prototype.decisions = function () {
  const seen = new Map();
  for (const { name, doc } of this._documents(".dmn")) {
    for (const node of doc.getElementsByTagNameNS("*", "decision")) {
      const id = node.getAttribute("id");
      if (id && !seen.has(id)) seen.set(id, `${node.getAttribute("name") || id} (${name}, ${word("in_bundle")})`);
    }
  }
  for (const d of this.data.decisions) {
    if (!seen.has(d.id)) seen.set(d.id, `${d.name || d.id} (${d.file}, ${d.process})`);
  }
  return [...seen].map(([id, label]) => ({ id, label }));
};

/** Processes to call: [{id, label}] from the bundle's BPMN files, then the deployed ones. */
IocRegistry.prototype.processes = function () {
  const seen = new Map();
  for (const { name, doc } of this._documents(".bpmn")) {
    for (const node of doc.getElementsByTagNameNS(BPMN, "process")) {
      const id = node.getAttribute("id");
      if (id && !seen.has(id)) seen.set(id, `${node.getAttribute("name") || id} (${name}, ${word("in_bundle")})`);
    }
  }
  for (const p of this.data.processes) {
    if (!seen.has(p.key)) seen.set(p.key, `${p.name || p.key} (${p.key})`);
  }
  return [...seen].map(([id, label]) => ({ id, label }));
};
