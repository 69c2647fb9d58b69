// Keeps an open task list current: the countdowns every minute (live.js refreshes it on events).
(function () {
  "use strict";
  // On a phone the filters start folded (unless one is on), so the tasks come first.
  var box = document.getElementById("filter-box");
  if (box && window.matchMedia("(max-width: 600px)").matches && !box.dataset.active) { box.open = false; }
  var region = document.getElementById("task-list");
  if (!region) { return; }
  function refresh() {
    fetch(region.dataset.liveUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { region.innerHTML = html; } })
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }
  setInterval(refresh, 60000);
})();
