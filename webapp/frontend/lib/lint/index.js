// Checks on the canvas as the designer works: bpmnlint's recommended rules and the project's own pack at once
// on every change, the server's check (everything `ioc deploy` refuses) 600 ms after the last change; each
// problem marked on its element and listed beside the canvas (a click selects the element). Every text shown
// is a DOM node's textContent.
import { Linter } from "bpmnlint";

import { lintConfig } from "./config.js";
import { say } from "./messages.js";
import { adoptStyles } from "./style.js";
import { lintProblems, place, serverProblems } from "./problems.js";

export { lintConfig } from "./config.js";
export { lintProblems, place, serverProblems } from "./problems.js";

const SERVER_DELAY_MS = 600;
const LINT_DELAY_MS = 80;
const OVERLAY = "ioc-check";
const registries = new Map(); // registry URL -> Promise<registry|null>, once per page
const attached = new WeakMap(); // modeler -> its handle (the modeler page attaches again after each import)

/** The designer registry (operators, roles…) or null when the API does not answer with it. */
export function loadRegistry(url) {
  if (!url) return Promise.resolve(null);
  if (!registries.has(url)) {
    registries.set(url, fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then((body) => (body && typeof body === "object" ? body : null))
      .catch(() => null));
  }
  return registries.get(url);
}

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Give flow nodes the incoming/outgoing references their sequence flows imply. They are optional in BPMN
 *  (files from other tools and the engine's tests leave them out) but bpmnlint reads connectivity from them
 *  alone, and would call every such element disconnected; bpmn-js writes them itself on every edit. */
export function linkFlows(definitions) {
  const visit = (container) => {
    for (const element of container.flowElements || []) {
      if (element.$type === "bpmn:SequenceFlow" && element.sourceRef && element.targetRef) {
        const outgoing = element.sourceRef.get("outgoing");
        const incoming = element.targetRef.get("incoming");
        if (!outgoing.includes(element)) outgoing.push(element);
        if (!incoming.includes(element)) incoming.push(element);
      }
      if (element.flowElements) visit(element);
    }
  };
  for (const root of definitions.rootElements || []) visit(root);
}

function where(problem) {
  return [problem.file, problem.element].filter(Boolean).join(" · ");
}

/**
 * Attach the checks to a bpmn-js modeler.
 * options: checkUrl (POST {files} -> {ok, problems}), csrf, files (() => Promise<{name: xml}>), file (this
 * modeler's file name; guessed from files() when absent), registryUrl (default: beside checkUrl), registry
 * (given instead of fetched), list (element to hold the problems list; default: inside the canvas),
 * openFile(file, element) (called when a problem of another file is clicked), serverDelay (ms).
 * Returns {ready: Promise<problems> (the first lint and server check shown), refresh(): Promise<problems>,
 * problems(), hasBlockingProblems(), changed(), destroy()}.
 */
export function attachChecks(modeler, options = {}) {
  const previous = attached.get(modeler);
  if (previous) previous.destroy();

  const canvas = modeler.get("canvas");
  const overlays = modeler.get("overlays");
  const elementRegistry = modeler.get("elementRegistry");
  const eventBus = modeler.get("eventBus");
  const selection = modeler.get("selection");
  const checkUrl = options.checkUrl || null;
  const registryUrl = options.registryUrl !== undefined ? options.registryUrl
    : checkUrl ? checkUrl.replace(/check\/?$/, "registry") : null;
  const delay = options.serverDelay ?? SERVER_DELAY_MS;

  let lintFound = [];
  let serverFound = [];
  let serverFailed = false;
  let file = options.file || null;
  let linter = null; // the lint configuration, once the registry is known
  let lintRun = 0;
  let serverRun = 0;
  let timer = null;
  let destroyed = false;
  let shown = { markers: new Map(), list: [] };
  const markedShapes = new Set();

  adoptStyles();
  let answered;
  const firstAnswer = new Promise((resolve) => { answered = resolve; });
  const listRoot = node("section", "ioc-problems");
  listRoot.setAttribute("aria-live", "polite");
  const heading = node("h3", "ioc-problems-title");
  const fold = node("button", "ioc-problems-fold", say("list_title"));
  fold.type = "button";
  fold.setAttribute("aria-expanded", "true");
  fold.addEventListener("click", () => { // the list may cover the diagram: it folds to its title
    const folded = listRoot.classList.toggle("ioc-problems-folded");
    fold.setAttribute("aria-expanded", String(!folded));
  });
  heading.append(fold);
  const items = node("ul", "ioc-problems-list");
  const status = node("p", "ioc-problems-status", say("list_checking"));
  listRoot.append(heading, status, items);
  (options.list || modeler._container || canvas.getContainer()).appendChild(listRoot);

  const registryReady = options.registry !== undefined ? Promise.resolve(options.registry) : loadRegistry(registryUrl);
  const firstLint = registryReady.then((registry) => {
    if (destroyed) return [];
    linter = lintConfig(registry);
    return lint();
  });

  /** The shape that shows element `id` here: itself, or the pool of a process. */
  function resolve(id) {
    const shape = elementRegistry.get(id);
    if (shape && shape.parent) return shape.id; // the root element (a plain process) has no parent
    const pool = elementRegistry.find((e) => e.businessObject && e.businessObject.processRef
      && e.businessObject.processRef.id === id);
    return pool ? pool.id : null;
  }

  async function lint() {
    const definitions = modeler.getDefinitions();
    if (!linter || !definitions) return lintFound;
    linkFlows(definitions);
    const run = ++lintRun;
    performance.mark("ioc-checks:lint"); // one per lint run, for benchmarks and tests
    // A new Linter each time, as bpmn-js-bpmnlint does: bpmnlint caches rule instances, and some rules
    // (no-duplicate-sequence-flows) keep what they saw, so a second run would call every flow a duplicate.
    const reports = await new Linter(linter).lint(definitions);
    if (run === lintRun && !destroyed) {
      lintFound = lintProblems(reports, file);
      render();
    }
    return lintFound;
  }

  async function guessFile(files) {
    if (file) return file;
    const definitions = modeler.getDefinitions();
    const id = definitions && definitions.id;
    const names = Object.keys(files);
    file = (id && names.find((name) => files[name].includes(`id="${id}"`))) || (names.length === 1 ? names[0] : null);
    return file;
  }

  async function check() {
    if (!checkUrl || !options.files) return serverFound;
    const run = ++serverRun;
    let body = null;
    try {
      const files = await options.files();
      if (!Object.keys(files || {}).length || (file && !(file in files))) {
        // The page is still putting the bundle together (this file is not in it yet): ask once it is.
        if (run === serverRun && !destroyed) schedule();
        return serverFound;
      }
      await guessFile(files);
      const response = await fetch(checkUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": options.csrf || "" },
        body: JSON.stringify({ files }),
      });
      body = await response.json().catch(() => null); // 200, or 400/422 with the problems; an HTML error page: null
    } catch (error) {
      body = null;
    }
    if (run !== serverRun || destroyed) return serverFound;
    serverFailed = !body || !Array.isArray(body.problems);
    serverFound = serverFailed ? [] : serverProblems(body.problems);
    if (!serverFailed && file) {
      lintFound = lintFound.map((p) => (p.file ? p : { ...p, file }));
    }
    listRoot.dataset.server = serverFailed ? "failed" : "answered"; // for the page's tests and scripts
    render();
    answered();
    return serverFound;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => { timer = null; check(); }, delay);
  }

  let lintTimer = null;
  function onChange() {
    // A drag or a paste changes many elements in a burst: lint once after it (bpmnlint takes ~50-150 ms
    // on 200 elements), and ask the server 600 ms after the last change.
    clearTimeout(lintTimer);
    lintTimer = setTimeout(() => { lintTimer = null; lint(); }, LINT_DELAY_MS);
    schedule();
  }

  function clearMarkers() {
    overlays.remove({ type: OVERLAY });
    for (const id of markedShapes) {
      if (elementRegistry.get(id)) canvas.removeMarker(id, "ioc-check-error");
    }
    markedShapes.clear();
  }

  function marker(problems) {
    const box = node("div", "ioc-check-marker");
    box.classList.add(problems.some((p) => p.blocking) ? "ioc-check-blocking" : "ioc-check-advice");
    box.append(node("span", "ioc-check-count", String(problems.length)));
    const tip = node("ul", "ioc-check-tip");
    for (const problem of problems) tip.append(node("li", null, problem.message));
    box.append(tip);
    box.title = problems.map((p) => p.message).join("\n");
    return box;
  }

  function select(problem) {
    const shapeId = problem.element && (!problem.file || !file || problem.file === file) ? resolve(problem.element) : null;
    if (shapeId) {
      const shape = elementRegistry.get(shapeId);
      selection.select(shape);
      if (canvas.scrollToElement) canvas.scrollToElement(shape);
    } else if (options.openFile && problem.file) {
      options.openFile(problem.file, problem.element);
    }
  }

  function render() {
    // The project's rules say at once what the server's check then says in ioc deploy's own words: once the
    // server has named a problem on an element, the rules' instant one there is not repeated.
    const named = new Set(serverFound.filter((p) => p.blocking && p.element).map((p) => p.element));
    const instant = lintFound.filter((p) => !(p.code && p.code.startsWith("lint.ioc/") && named.has(p.element)));
    shown = place([...instant, ...serverFound], { file, resolve });
    clearMarkers();
    for (const [id, problems] of shown.markers) {
      overlays.add(id, OVERLAY, { position: { top: -10, right: 10 }, html: marker(problems) });
      if (problems.some((p) => p.blocking)) {
        canvas.addMarker(id, "ioc-check-error");
        markedShapes.add(id);
      }
    }
    items.replaceChildren();
    for (const problem of shown.list) {
      const item = node("li", `ioc-problem ioc-problem-${problem.blocking ? "blocking" : "advice"}`);
      item.dataset.element = problem.element || "";
      item.dataset.file = problem.file || "";
      item.dataset.code = problem.code || "";
      const button = node("button", "ioc-problem-go");
      button.type = "button";
      const place_ = where(problem);
      if (place_) button.append(node("span", "ioc-problem-where", place_));
      button.append(node("span", "ioc-problem-message", problem.message));
      button.addEventListener("click", () => select(problem));
      item.append(button);
      items.append(item);
    }
    status.textContent = serverFailed && checkUrl ? say("server_unreachable")
      : shown.list.length ? "" : say("list_none");
    listRoot.classList.toggle("ioc-problems-empty", !shown.list.length);
    listRoot.dispatchEvent(new CustomEvent("ioc-checks-updated", { bubbles: true, detail: { problems: shown.list } }));
  }

  const events = ["elements.changed", "import.done"];
  eventBus.on(events, onChange);

  const handle = {
    /** Lint and ask the server now; resolves to every problem shown. */
    async refresh() {
      clearTimeout(timer);
      clearTimeout(lintTimer);
      timer = null;
      await registryReady;
      await Promise.all([lint(), check()]);
      return shown.list;
    },
    /** The problems shown now. */
    problems() {
      return shown.list;
    },
    /** Whether a problem that `ioc deploy` would refuse is shown (the deploy button must wait). */
    hasBlockingProblems() {
      return shown.list.some((p) => p.blocking);
    },
    /** Tell the checks that another file of the bundle changed (the server check runs again). */
    changed() {
      schedule();
    },
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      clearTimeout(lintTimer);
      eventBus.off(events, onChange);
      clearMarkers();
      listRoot.remove();
      if (attached.get(modeler) === handle) attached.delete(modeler);
    },
  };
  attached.set(modeler, handle);
  // Opening is no typing: the server is asked at once. `ready` resolves once both answers are shown.
  check();
  handle.ready = Promise.all([firstLint, checkUrl && options.files ? firstAnswer : null]).then(() => shown.list);
  return handle;
}
