// The live lists the panel offers: GET /designer/api/registry (operators with their declared parameters, roles,
// choice lists, deployed processes and decisions), plus the processes and decisions of the files being edited.
import { word } from "./i18n.js";

const EMPTY = { operators: [], roles: [], lists: [], processes: [], decisions: [] };
const BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";

export const REGISTRY_URL = "/designer/api/registry";

/**
 * Configured by the modeler's `iocProperties`: `{registry}` (the API's answer, already at hand) or
 * `{registryUrl}` (fetched once; /designer/api/registry when neither is given), and
 * `files: () => ({name: xml})` or a promise of it, the bundle's files now (read again each time a called decision or process is shown).
 */
export default function IocRegistry(config, eventBus) {
  const options = config || {};
  this._eventBus = eventBus;
  this._files = options.files || null;
  this._bundle = {};
  this.data = { ...EMPTY, ...(options.registry || {}) };
  this.error = null;
  this.loaded = options.registry ? Promise.resolve() : this._load(options.registryUrl || REGISTRY_URL);
}

IocRegistry.prototype._load = function (url) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    })
    .then((data) => { this.data = { ...EMPTY, ...data }; })
    .catch(() => { this.error = word("registry_failed"); })
    .then(() => this._eventBus.fire("propertiesPanel.providersChanged"));
};

/** Read the bundle's files again: resolves to whether its decisions or processes changed. */
IocRegistry.prototype.refreshBundle = function () {
  if (!this._files) return Promise.resolve(false);
  return Promise.resolve().then(() => this._files()).then((files) => {
    const before = JSON.stringify([this.decisions(), this.processes()]);
    this._bundle = files || {};
    return JSON.stringify([this.decisions(), this.processes()]) !== before;
  }).catch(() => false);
};

IocRegistry.$inject = ["config.iocProperties", "eventBus"];

IocRegistry.prototype.operator = function (name) {
  return this.data.operators.find((op) => op.name === name);
};

/** Parsed bundle files: [{name, doc}] of one extension. */
IocRegistry.prototype._documents = function (extension) {
  return Object.entries(this._bundle).filter(([name]) => name.toLowerCase().endsWith(extension))
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
