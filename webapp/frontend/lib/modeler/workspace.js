// The modeler page: the bundle's files in tabs (bpmn-js with the properties panel, dmn-js), drafts saved to
// the server (button and Ctrl/Cmd-S, a stale save refused by the server), checks, test run, comparison and
// deploy. Everything shown is built from DOM nodes with textContent; the words come from the page's JSON.
import BpmnModeler from "bpmn-js/lib/Modeler";
import DmnModeler from "dmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";

import properties, { PANEL_VI } from "../properties/index.js";
import { noSimpleModeModule } from "../dmn/index.js";
import { attachChecks } from "../lint/index.js";
import { postJson, csrfToken, format } from "./api.js";
import { Bundle, BundleError } from "./bundle.js";
import { ask, el } from "./dialog.js";
import { emptyProcess, freeName } from "./templates.js";
import { dmnTranslation, translateModuleFor } from "./translate-vi.js";

export class Workspace {
  constructor(root, page, lang = document.documentElement.lang) {
    this.root = root;
    this.text = page.text;
    this.urls = page.urls;
    this.lang = lang;
    this.csrf = csrfToken();
    this.draft = null; // {id, version} once saved
    this.base = null; // {key, version} of the deployed version it started from
    this.views = new Map(); // file name -> {tab, panel, shown}
    this.checks = new Map(); // BPMN file name -> attachChecks handle
    this.active = null;
    this.bundle = new Bundle({
      createEditor: (kind, name) => this.createEditor(kind, name),
      onChange: () => this.showDirty(),
    });
    this.$ = (id) => root.querySelector(`#${id}`);
  }

  // ------------------------------------------------------------------ opening
  async open(bundle) {
    this.draft = bundle.draft || null;
    this.base = bundle.base || null;
    this.$("modeler-title").value = bundle.title || "";
    const files = bundle.files || {};
    if (bundle.new && !Object.keys(files).length) {
      await this.addFile(freeName("process", ".bpmn", []), emptyProcess(), false);
    }
    const bpmnFirst = (name) => (name.toLowerCase().endsWith(".bpmn") ? 0 : 1);
    const names = Object.keys(files).sort((a, b) => bpmnFirst(a) - bpmnFirst(b) || a.localeCompare(b));
    for (const name of names) {
      await this.addFile(name, files[name], false);
    }
    this.showBase();
    this.bundle.saved();
    if (bundle.new) this.bundle.changed();
  }

  async addFile(name, xml, changed = true) {
    let entry;
    try {
      entry = await this.bundle.add(name, xml, { changed });
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      // A file the editors cannot open has no element to mark: the server's check says, in the product's
      // words, what is wrong with it (the library's reason alone is bpmn-js's or dmn-js's internals).
      const lines = error.code === "open_failed" ? await this.problemsOf(name, xml) : [];
      this.say("error", format(this.text[error.code], { name: error.name_, reason: error.reason }), lines);
      return false;
    }
    if (entry.warnings.length) {
      this.say("info", format(this.text.import_warnings, { name, count: entry.warnings.length }));
    }
    if (changed) this.edited(name);
    if (!this.active || changed) this.select(name);
    else this.renderTabs();
    return true;
  }

  /** The server's check of one file on its own, as lines (none when the server cannot be asked). */
  async problemsOf(name, xml) {
    try {
      const response = await postJson(this.urls.check, { files: { [name]: xml } }, this.csrf);
      const problems = response.body && Array.isArray(response.body.problems) ? response.body.problems : [];
      return problems.filter((p) => p.file === name || !p.file).map(describe);
    } catch (_error) {
      return [];
    }
  }

  async addFromDisk(fileList) {
    for (const file of Array.from(fileList)) {
      await this.addFile(file.name, await file.text(), true);
    }
  }

  createEditor(kind, name) {
    const panel = el("div", `modeler-pane modeler-${kind}`);
    panel.setAttribute("role", "tabpanel");
    panel.hidden = true;
    this.$("modeler-editors").appendChild(panel);
    const editor = kind === "bpmn" ? this.createBpmn(panel, name) : this.createDmn(panel, name);
    this.views.set(name, { panel, shown: false });
    const destroy = editor.destroy.bind(editor);
    editor.destroy = () => {
      const checks = this.checks.get(name);
      if (checks && checks.destroy) checks.destroy();
      destroy();
      panel.remove();
      this.views.delete(name);
      this.checks.delete(name);
      this.recheckOthers(name);
    };
    return editor;
  }

  createBpmn(panel, name) {
    const canvas = el("div", "modeler-canvas");
    const side = el("div", "modeler-properties");
    panel.append(canvas, side);
    const translate = translateModuleFor(this.lang, PANEL_VI);
    const modeler = new BpmnModeler({
      container: canvas,
      propertiesPanel: { parent: side },
      // The panel offers the bundle's decisions and processes to business rule tasks and call activities.
      iocProperties: { files: async () => this.bundle.files() },
      additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule,
        ...(properties.additionalModules || []), ...(translate ? [translate] : [])],
      moddleExtensions: properties.moddleExtensions || {},
    });
    modeler.on("commandStack.changed", (event) => {
      if (event.trigger !== "clear") this.edited(name);
    });
    modeler.on("import.done", () => {
      this.checks.set(name, attachChecks(modeler, {
        checkUrl: this.urls.check, csrf: this.csrf, files: async () => this.bundle.files(), file: name,
        openFile: (file, element) => this.show(file, element),
      }));
    });
    return modeler;
  }

  createDmn(panel, name) {
    const views = el("div", "modeler-dmn-views");
    const canvas = el("div", "modeler-dmn");
    panel.append(views, canvas);
    // dmn-js's simple-mode editors write FEEL, which the engine would misread: turned off (lib/dmn).
    const dmnViews = dmnTranslation(this.lang);
    dmnViews.decisionTable = { ...dmnViews.decisionTable, additionalModules: [
      ...((dmnViews.decisionTable && dmnViews.decisionTable.additionalModules) || []), noSimpleModeModule] };
    const modeler = new DmnModeler({ container: canvas, ...dmnViews });
    const watched = new WeakSet();
    modeler.on("views.changed", ({ views: all, activeView }) => {
      const viewer = modeler.getActiveViewer();
      if (viewer && !watched.has(viewer)) {
        watched.add(viewer);
        viewer.get("eventBus").on("commandStack.changed", (event) => {
          if (event.trigger !== "clear") this.edited(name);
        });
      }
      this.renderDmnViews(modeler, views, all, activeView);
    });
    const importXML = modeler.importXML.bind(modeler);
    modeler.importXML = async (xml) => {
      const result = await importXML(xml);
      // A designer opens a decision file to edit its table: show the first table rather than the diagram.
      const table = modeler.getViews().find((v) => v.type === "decisionTable");
      if (table) await modeler.open(table);
      return result;
    };
    return modeler;
  }

  renderDmnViews(modeler, container, views, activeView) {
    container.replaceChildren(el("span", "muted", this.text.views));
    views.forEach((view) => {
      const label = view.type === "drd" ? this.text.diagram : (view.element.name || view.element.id);
      const button = el("button", view === activeView ? "" : "secondary", label);
      button.type = "button";
      button.setAttribute("aria-pressed", String(view === activeView));
      button.addEventListener("click", () => modeler.open(view));
      container.appendChild(button);
    });
  }

  /** The file `name` changed (edited, added or removed): the bundle is unsaved, and the other BPMN files'
   * checks ask the server again (a call activity or decision may now be found, or missing). */
  edited(name) {
    this.bundle.changed();
    this.recheckOthers(name);
  }

  recheckOthers(name) {
    this.checks.forEach((handle, other) => {
      if (other !== name && handle.changed) handle.changed();
    });
  }

  // ------------------------------------------------------------------ tabs
  renderTabs() {
    const tabs = this.$("modeler-tabs");
    tabs.replaceChildren();
    this.bundle.names().forEach((name) => {
      const entry = this.bundle.get(name);
      const tab = el("span", `modeler-tab${name === this.active ? " active" : ""}`);
      tab.dataset.file = name;
      const open = el("button", "modeler-tab-open", name);
      open.type = "button";
      open.setAttribute("role", "tab");
      open.setAttribute("aria-selected", String(name === this.active));
      open.dataset.kind = entry.kind;
      open.addEventListener("click", () => this.select(name));
      const remove = el("button", "modeler-tab-remove", "×");
      remove.type = "button";
      remove.title = `${this.text.remove} ${name}`;
      remove.setAttribute("aria-label", remove.title);
      remove.addEventListener("click", () => this.removeFile(name));
      tab.append(open, remove);
      tabs.appendChild(tab);
    });
  }

  select(name) {
    this.active = name;
    this.views.forEach((view, key) => { view.panel.hidden = key !== name; });
    const view = this.views.get(name);
    const entry = this.bundle.get(name);
    if (view && entry && entry.kind === "bpmn") {
      const canvas = entry.editor.get("canvas");
      canvas.resized();
      if (!view.shown) fit(canvas);
    }
    if (view) view.shown = true;
    this.renderTabs();
  }

  /** Show the tab of `file` and, in a BPMN file, select and reveal `element` (a problem's place). */
  show(file, element) {
    const entry = this.bundle.get(file);
    if (!entry) return;
    this.select(file);
    if (entry.kind !== "bpmn" || !element) return;
    const shape = entry.editor.get("elementRegistry").get(element);
    if (shape) {
      entry.editor.get("selection").select(shape);
      entry.editor.get("canvas").scrollToElement(shape, CLEAR_OF_PALETTE);
    }
  }

  async removeFile(name) {
    const { value } = await ask({
      title: format(this.text.remove_question, { name }),
      buttons: [{ label: this.text.cancel, value: "no" }, { label: this.text.remove, value: "yes" }],
    });
    if (value !== "yes") return;
    this.bundle.remove(name);
    if (this.active === name) {
      this.active = null;
      const next = this.bundle.names()[0];
      if (next) this.select(next);
    }
    this.renderTabs();
  }

  // ------------------------------------------------------------------ status and messages
  showDirty() {
    const status = this.$("modeler-status");
    status.textContent = this.bundle.dirty ? this.text.unsaved : "";
    status.classList.toggle("dirty", this.bundle.dirty);
  }

  showBase() {
    const parts = [];
    if (this.base) parts.push(`${this.base.key} v${this.base.version}`);
    if (this.draft) parts.push(`#${this.draft.id}`);
    this.$("modeler-base").textContent = parts.join(" · ");
  }

  /** Show one message (kind: ok, error, info) with optional lines and action buttons; replaces the last. */
  say(kind, message, lines = [], actions = []) {
    const box = this.$("modeler-messages");
    const note = el("div", `modeler-message ${kind}`);
    note.setAttribute("role", kind === "error" ? "alert" : "status");
    note.appendChild(el("p", "", message));
    if (lines.length) {
      const list = el("ul");
      lines.forEach((line) => list.appendChild(el("li", "", line)));
      note.appendChild(list);
    }
    actions.forEach(({ label, run }) => {
      const button = el("button", "secondary", label);
      button.type = "button";
      button.addEventListener("click", run);
      note.appendChild(button);
    });
    const close = el("button", "modeler-message-close", "×");
    close.type = "button";
    close.setAttribute("aria-label", this.text.ok);
    close.addEventListener("click", () => note.remove());
    note.appendChild(close);
    box.replaceChildren(note);
  }

  failed(response) {
    if (response.status === 0) return this.say("error", this.text.network_error);
    const message = (response.body && (response.body.error || response.body.message)) || "";
    return this.say("error", format(this.text.server_error, { status: response.status, message }));
  }

  // ------------------------------------------------------------------ drafts
  /** Save the bundle as a draft (`asNew`: a new draft whatever was opened); true when saved. */
  async save({ asNew = false } = {}) {
    if (!this.bundle.names().length) {
      this.say("error", this.text.no_files);
      return false;
    }
    this.$("modeler-status").textContent = this.text.saving;
    const body = { title: this.$("modeler-title").value, files: await this.bundle.files() };
    if (this.base) body.base = this.base;
    if (this.draft && !asNew) Object.assign(body, { id: this.draft.id, version: this.draft.version });
    const response = await postJson(this.urls.drafts, body, this.csrf);
    if (response.status === 200 && response.body) {
      this.draft = { id: response.body.id, version: response.body.version };
      if (!this.$("modeler-title").value) this.$("modeler-title").value = response.body.title;
      this.bundle.saved();
      this.showBase();
      const url = new URL(window.location.href);
      url.search = `?draft=${this.draft.id}`;
      window.history.replaceState(null, "", url);
      this.say("ok", format(this.text.saved, { version: this.draft.version }));
      return true;
    }
    this.showDirty();
    if (response.status === 409) {
      this.say("error", response.body.error, [], [{ label: this.text.save_as_new, run: () => this.save({ asNew: true }) }]);
    } else if (response.body && response.body.error && response.status === 400) {
      this.say("error", response.body.error);
    } else {
      this.failed(response);
    }
    return false;
  }

  async savedDraft() {
    if (this.draft && !this.bundle.dirty) return this.draft;
    return (await this.save()) ? this.draft : null;
  }

  // ------------------------------------------------------------------ check, test, compare, deploy
  async check() {
    const results = await Promise.all([...this.checks.values()].map((handle) => handle.refresh()));
    // Each BPMN file's checks give its own lint and the server's problems of the whole bundle: list each once.
    const lines = [...new Set(results.flatMap((r) => (Array.isArray(r) ? r : [])).map(describe))];
    if (lines.length) {
      this.say("error", this.text.check_problems, lines);
    } else {
      this.say("ok", this.text.checked);
    }
  }

  async goTo(path, params) {
    const draft = await this.savedDraft();
    if (!draft) return;
    const query = new URLSearchParams({ draft: draft.id, ...params });
    window.location.assign(`${path}?${query}`);
  }

  async compare() {
    if (!this.base) {
      this.say("info", this.text.no_base);
      return;
    }
    await this.goTo(this.urls.compare, { b: this.base.version });
  }

  async deploy() {
    const draft = await this.savedDraft();
    if (!draft) return;
    // What the canvas checks show as blocking (the engine would refuse it) stops the deploy here already;
    // the server checks again whatever the page says.
    const handles = [...this.checks.values()];
    const results = await Promise.all(handles.map((handle) => handle.refresh()));
    if (handles.some((handle) => handle.hasBlockingProblems && handle.hasBlockingProblems())) {
      const lines = [...new Set(results.flatMap((r) => (Array.isArray(r) ? r : []))
        .filter((p) => p.blocking !== false).map(describe))];
      this.say("error", this.text.deploy_blocked, lines);
      return;
    }
    const { value, note } = await ask({
      title: this.text.deploy_question, note: this.text.deploy_note,
      buttons: [{ label: this.text.cancel, value: "no" }, { label: this.text.deploy, value: "yes" }],
    });
    if (value !== "yes") return;
    const body = { files: await this.bundle.files(), note, confirm: false, draft: draft.id };
    let response = await postJson(this.urls.deploy, body, this.csrf);
    if (response.status === 409 && response.body && Array.isArray(response.body.confirm)) {
      const answer = await ask({
        title: this.text.deploy_confirm, items: response.body.confirm,
        buttons: [{ label: this.text.cancel, value: "no" }, { label: this.text.confirm, value: "yes" }],
      });
      if (answer.value !== "yes") return;
      response = await postJson(this.urls.deploy, { ...body, confirm: true }, this.csrf);
    }
    if (response.status === 200 && response.body && Array.isArray(response.body.deployed)) {
      const list = response.body.deployed.map((d) => `${d.name || d.key} (${d.key} v${d.version})`).join(", ");
      this.say("ok", format(this.text.deployed, { list }));
    } else if (response.body && Array.isArray(response.body.problems)) { // 422, or 400 for what was sent
      this.say("error", this.text.deploy_problems, response.body.problems.map(describe));
    } else if (response.status === 404) {
      this.say("error", this.text.deploy_missing);
    } else {
      this.failed(response);
    }
  }

  // ------------------------------------------------------------------ wiring
  bind() {
    const on = (id, run) => this.$(id).addEventListener("click", () => run());
    on("modeler-save", () => this.save());
    on("modeler-check", () => this.check());
    on("modeler-test", () => this.goTo(this.urls.test, {}));
    on("modeler-compare", () => this.compare());
    on("modeler-replay", () => this.goTo(this.urls.replay, {}));
    on("modeler-deploy", () => this.deploy());
    this.$("modeler-add-files").addEventListener("change", async (event) => {
      await this.addFromDisk(event.target.files);
      event.target.value = "";
    });
    this.$("modeler-title").addEventListener("input", () => this.bundle.changed());
    window.addEventListener("keydown", (event) => {
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault();
        this.save();
      }
    }, true);
    window.addEventListener("beforeunload", (event) => {
      if (!this.bundle.dirty) return undefined;
      event.preventDefault();
      event.returnValue = this.text.leave; // older browsers show nothing without it
      return this.text.leave;
    });
  }
}

// Room kept on the left for the palette, which floats over the canvas.
const CLEAR_OF_PALETTE = { top: 80, bottom: 80, left: 160, right: 80 };

// Below this scale a fitted diagram's labels cannot be read: show its beginning at READABLE instead.
const LEGIBLE = 0.6;
const READABLE = 0.8;

/** The whole diagram in view beside the palette; a large one from its top left corner at a readable size. */
function fit(canvas) {
  canvas.zoom("fit-viewport", "auto");
  const { inner } = canvas.viewbox();
  const scale = canvas.zoom();
  if (scale >= LEGIBLE) {
    const { width, height } = canvas.getSize();
    canvas.zoom(Math.min(scale * 0.9, 1), { x: width / 2, y: height / 2 });
    canvas.scroll({ dx: 50, dy: 0 });
    return;
  }
  const { width, height } = canvas.getSize();
  const left = CLEAR_OF_PALETTE.left / READABLE;
  canvas.viewbox({ x: inner.x - left, y: inner.y - 40 / READABLE, width: width / READABLE, height: height / READABLE });
}

/** One problem of the check or deploy contract as a line: "file · element: message". */
export function describe(problem) {
  const where = [problem.file, problem.element].filter(Boolean).join(" · ");
  return where ? `${where}: ${problem.message}` : String(problem.message);
}
