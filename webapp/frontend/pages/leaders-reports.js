// A PDF report being made (/leaders/reports/jobs/<id>): the progress bar follows the worker's Socket.IO pushes
// (the event named in data-event, for this job's id), and the status JSON (data-status-url) fills in what the
// page missed — when it opens, after a lost connection, and every few seconds while no push arrives. When the
// PDF is archived the download link appears; a failure shows its reason. Texts come from the page (translated
// on the server); nothing here builds HTML from data.
/* global io */

function start() {
  const box = document.getElementById("report-job");
  if (!box) {
    return;
  }
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
  let finished = box.dataset.state === "done" || box.dataset.state === "failed";
  let lastPush = 0;
  let pushes = 0;

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
      if (status.sha256) {
        sha.textContent = status.sha256;
      }
      if (status.pages) {
        pages.textContent = String(status.pages);
      }
      done.hidden = false;
      download.focus();
    } else if (status.state === "failed") {
      finished = true;
      box.classList.add("failed");
      reason.textContent = status.error || "";
      failed.hidden = false;
    }
  }

  function fetchStatus() {
    if (finished) {
      return;
    }
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : null))
      .then(show)
      .catch(() => {
        /* offline for a moment: the next push or poll tries again */
      });
  }

  if (typeof io === "function") {
    const socket = io({ transports: ["websocket", "polling"] });
    socket.on(box.dataset.event, (event) => {
      if (!event || String(event.job) !== box.dataset.job) {
        return;
      }
      pushes += 1;
      box.dataset.pushes = String(pushes);
      lastPush = Date.now();
      show(event);
      if (event.state === "done" && !event.download_url) {
        fetchStatus(); // the push says it is done; the status carries the link
      }
    });
    socket.on("connect", fetchStatus);
  }
  fetchStatus();
  const timer = setInterval(() => {
    if (finished) {
      clearInterval(timer);
    } else if (Date.now() - lastPush > 4000) {
      fetchStatus();
    }
  }, 4000);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
