// PDF reports (/leaders/reports): the progress of a report being made, fed by the worker's Socket.IO pushes (the
// event named in data-event, for one job's id), then its download link; a failure shows its reason.
// - On the reports page the form is sent by fetch while the page keeps its Socket.IO connection, so every push
//   of the new job is heard from the first one (pushes that come before the answer are kept and replayed). A
//   refused form is sent again the ordinary way, so the server shows each problem under its field.
// - On a job's own page (/leaders/reports/jobs/<id>, the way without script) the same box follows the job.
// The status JSON fills in what a page missed (on opening, after a lost connection, when no push came for a few
// seconds). Texts come from the page (translated on the server); nothing here builds HTML from data.
/* global io */

const heard = new Map(); // job id -> pushes heard before the page knew the job was its own
let socket = null;

function connect(onPush, onConnect) {
  if (typeof io !== "function") {
    return;
  }
  if (!socket) {
    socket = io({ transports: ["websocket", "polling"] });
  }
  const box = document.getElementById("report-job");
  socket.on(box.dataset.event, onPush);
  socket.on("connect", onConnect);
}

function follow(box) {
  const bar = box.querySelector("progress");
  const percentText = box.querySelector("[data-part=percent]");
  const step = box.querySelector("[data-part=step]");
  const state = box.querySelector("[data-part=state]");
  const done = box.querySelector("[data-part=done]");
  const download = box.querySelector("[data-part=download]");
  const sha = box.querySelector("[data-part=sha256]");
  const pages = box.querySelector("[data-part=pages]");
  const failed = box.querySelector("[data-part=failed]");
  const reason = box.querySelector("[data-part=reason]");
  let finished = false;
  let lastPush = 0;
  const seen = [];

  function show(status) {
    if (!status || finished) {
      return;
    }
    if (typeof status.percent === "number" && status.percent >= Number(bar.value)) {
      bar.value = status.percent;
      percentText.textContent = `${status.percent} %`;
    }
    if (status.step) {
      step.textContent = status.step;
    }
    if (status.state_label) {
      state.textContent = status.state_label;
    }
    box.dataset.state = status.state || box.dataset.state;
    if (status.state === "done" && status.download_url) {
      finished = true;
      bar.value = 100;
      percentText.textContent = "100 %";
      download.href = status.download_url;
      sha.textContent = status.sha256 || "";
      pages.textContent = status.pages ? String(status.pages) : "";
      done.hidden = false;
      download.focus();
      refreshArchive();
    } else if (status.state === "failed") {
      finished = true;
      box.classList.add("failed");
      reason.textContent = status.error || "";
      failed.hidden = false;
    }
  }

  function fetchStatus() {
    if (finished || !box.dataset.statusUrl) {
      return;
    }
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then(show)
      .catch(() => {
        /* offline for a moment: the next push or poll tries again */
      });
  }

  function push(event) {
    seen.push(event.percent);
    box.dataset.pushes = String(seen.length);
    box.dataset.seen = seen.join(",");
    lastPush = Date.now();
    show(event);
    if (event.state === "done" && !event.download_url) {
      fetchStatus(); // the push says it is done; the status carries the link
    }
  }

  const timer = setInterval(() => {
    if (finished) {
      clearInterval(timer);
    } else if (Date.now() - lastPush > 4000) {
      fetchStatus();
    }
  }, 4000);
  (heard.get(box.dataset.job) || []).forEach(push);
  heard.delete(box.dataset.job);
  fetchStatus();
  return { push, fetchStatus, isFinished: () => finished };
}

// The reports page's archive, fetched again once a new PDF is in it (the server's own rendering of the region,
// parsed as a document and put in place of the old one: no HTML is built here).
function refreshArchive() {
  const region = document.getElementById("archive-region");
  if (!region) {
    return;
  }
  fetch(window.location.pathname, { credentials: "same-origin" })
    .then((response) => (response.ok ? response.text() : null))
    .then((html) => {
      const fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("archive-region");
      if (fresh) {
        region.replaceWith(document.importNode(fresh, true));
      }
    })
    .catch(() => {
      /* the list is fetched again on the next visit */
    });
}

function start() {
  const box = document.getElementById("report-job");
  if (!box) {
    return;
  }
  let current = null;
  connect(
    (event) => {
      if (!event || event.job === undefined) {
        return;
      }
      const id = String(event.job);
      if (current && id === box.dataset.job) {
        current.push(event);
      } else {
        heard.set(id, (heard.get(id) || []).concat([event]));
      }
    },
    () => {
      if (current) {
        current.fetchStatus();
      }
    },
  );
  if (box.dataset.job) {
    current = follow(box); // a job's own page
  }
  const form = document.getElementById("report-form");
  if (!form) {
    return;
  }
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((response) => {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then((answer) => {
        box.dataset.job = String(answer.job);
        box.dataset.statusUrl = answer.status_url;
        box.querySelector("[data-part=title]").textContent = answer.title || "";
        box.querySelector("[data-part=existing]").hidden = !answer.existing;
        box.hidden = false;
        current = follow(box);
        button.disabled = false;
      })
      .catch(() => {
        form.submit(); // refused (or offline): the server's own answer shows what is wrong
      });
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
