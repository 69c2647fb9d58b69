// The bundle being edited: its files (BPMN and DMN) by name, each in its own editor, and what has changed.
// Editors are made by the caller (`createEditor(kind, name)`: a bpmn-js or dmn-js modeler, or anything
// with importXML/saveXML/destroy), so the bundle knows nothing of the page.

export const KINDS = { ".bpmn": "bpmn", ".dmn": "dmn" };

/** "bpmn", "dmn" or null, from a file name. */
export function kindOf(name) {
  const lower = String(name || "").toLowerCase();
  const found = Object.keys(KINDS).find((ext) => lower.endsWith(ext));
  return found ? KINDS[found] : null;
}

/** A refusal the page shows: `code` picks the message, `name` is the file. */
export class BundleError extends Error {
  constructor(code, name, reason = "") {
    super(`${code}: ${name}${reason ? ` (${reason})` : ""}`);
    this.code = code;
    this.name_ = name;
    this.reason = reason;
  }
}

export class Bundle {
  constructor({ createEditor, onChange = () => {} }) {
    this.createEditor = createEditor;
    this.onChange = onChange;
    this.entries = new Map();
    this.dirty = false;
  }

  /** The files' names, BPMN first, then DMN, each sorted. */
  names() {
    const order = { bpmn: 0, dmn: 1 };
    return [...this.entries.values()]
      .sort((a, b) => order[a.kind] - order[b.kind] || a.name.localeCompare(b.name))
      .map((e) => e.name);
  }

  get(name) {
    return this.entries.get(name);
  }

  /** Open `xml` as the file `name` in a new editor; refuses other kinds, taken names and unreadable XML. */
  async add(name, xml, { changed = true } = {}) {
    const kind = kindOf(name);
    if (!kind) throw new BundleError("not_bpmn_or_dmn", name);
    if (this.entries.has(name)) throw new BundleError("name_taken", name);
    const editor = this.createEditor(kind, name);
    try {
      const result = await editor.importXML(xml);
      const entry = { name, kind, editor, warnings: (result && result.warnings) || [] };
      this.entries.set(name, entry);
      if (changed) this.changed();
      return entry;
    } catch (error) {
      editor.destroy();
      throw new BundleError("open_failed", name, error && error.message ? error.message : String(error));
    }
  }

  /** Take the file `name` out of the bundle (its editor is destroyed). */
  remove(name) {
    const entry = this.entries.get(name);
    if (!entry) return false;
    entry.editor.destroy();
    this.entries.delete(name);
    this.changed();
    return true;
  }

  changed() {
    this.dirty = true;
    this.onChange(this);
  }

  saved() {
    this.dirty = false;
    this.onChange(this);
  }

  /** Every file's current XML, {name: xml}, as the server's drafts, checks and deploy take them. */
  async files() {
    const out = {};
    for (const name of this.names()) {
      const { xml } = await this.entries.get(name).editor.saveXML({ format: true });
      out[name] = xml;
    }
    return out;
  }
}
