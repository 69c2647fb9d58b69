// Live updates: task, case and notification events from the server (Socket.IO) reach the open page.
// - "notification": the unread count in the menu, and a short note;
// - "task": the task list region (#task-list, data-live-url) is fetched again and the changed row flashes;
// - "case": a case page (#case-live, data-case-code) reloads its region (data-live-url) or offers a reload.
// Delivery is at least once: an event id seen before is ignored. The Socket.IO connection is refused to
// visitors, so the script is only included for signed-in users (base.html).
(function () {
  "use strict";
  if (typeof io !== "function" || !document.body.dataset.user) { return; }

  var lang = (document.documentElement.lang || "vi").slice(0, 2) === "en" ? "en" : "vi";
  var TEXTS = {
    vi: {
      created: "Việc mới: %s", closed: "Đã xong: %s", assigned: "Đã giao lại: %s",
      notification: "Thông báo mới: %s", caseChanged: "Vụ việc này vừa thay đổi.", reload: "Tải lại"
    },
    en: {
      created: "New task: %s", closed: "Done: %s", assigned: "Reassigned: %s",
      notification: "New notification: %s", caseChanged: "This case has just changed.", reload: "Reload"
    }
  };
  function text(key, value) { return TEXTS[lang][key].replace("%s", value || ""); }

  var note = document.getElementById("live-note");
  var noteTimer = null;
  function showNote(message, action) {
    if (!note) { return; }
    note.textContent = message;
    if (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "small secondary";
      button.style.marginLeft = ".6rem";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      note.appendChild(button);
      note.style.pointerEvents = "auto";
    } else {
      note.style.pointerEvents = "";
    }
    note.classList.add("show");
    clearTimeout(noteTimer);
    if (!action) { noteTimer = setTimeout(function () { note.classList.remove("show"); }, 4000); }
  }

  var seen = {};
  function firstTime(name, event) {
    if (event.id === null || event.id === undefined) { return true; }
    var key = name + ":" + event.id;
    if (seen[key]) { return false; }
    seen[key] = true;
    return true;
  }

  var badge = document.getElementById("unread-count");  // in the menu's link to the inbox
  function setUnread(count) {
    if (typeof count !== "number") { return; }
    if (badge) {
      badge.textContent = String(count);
      badge.classList.toggle("zero", count === 0);
    }
    var inbox = document.getElementById("inbox-unread");
    if (inbox) { inbox.textContent = String(count); }
  }

  // Re-fetch a region from its data-live-url; events arriving together cause one fetch.
  function refresher(region, after) {
    var timer = null, pending = [];
    return function (event) {
      if (event) { pending.push(event); }
      clearTimeout(timer);
      timer = setTimeout(function () {
        var events = pending;
        pending = [];
        fetch(region.dataset.liveUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html === null) { return; }
            region.innerHTML = html;
            if (after) { after(events); }
          })
          .catch(function () { /* offline for a moment: the next event tries again */ });
      }, 150);
    };
  }

  function flashRows(events) {
    events.forEach(function (event) {
      var row = document.querySelector('#task-list tr[data-task-id="' + CSS.escape(event.task_id || "") + '"]');
      if (row) {
        row.classList.remove("flash-row");
        void row.offsetWidth;  // restart the animation
        row.classList.add("flash-row");
      }
    });
  }

  var taskList = document.getElementById("task-list");
  var refreshTasks = taskList && taskList.dataset.liveUrl ? refresher(taskList, flashRows) : null;
  var caseLive = document.getElementById("case-live");
  var refreshCase = caseLive && caseLive.dataset.liveUrl ? refresher(caseLive) : null;

  var socket = io({ transports: ["websocket", "polling"] });

  function fetchUnread() {
    if (!badge || !badge.parentElement) { return; }
    fetch(badge.parentElement.getAttribute("href") + "count", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { setUnread(body.unread); } })
      .catch(function () { /* the next notification tries again */ });
  }

  // Other scripts of the page (the dashboard, a case page) may listen: document "ioc:live", detail {name, event}.
  ["task", "case", "notification"].forEach(function (name) {
    socket.on(name, function (event) {
      document.dispatchEvent(new CustomEvent("ioc:live", { detail: { name: name, event: event } }));
    });
  });

  socket.on("notification", function (event) {
    if (!firstTime("notification", event)) { return; }
    if (typeof event.unread === "number") { setUnread(event.unread); } else { fetchUnread(); }
    if (event.title) { showNote(text("notification", event.title)); }
  });

  socket.on("task", function (event) {
    if (!firstTime("task", event)) { return; }
    if (refreshTasks) {
      refreshTasks(event);
      showNote(text(event.change, event.title + (event.case_code ? " (" + event.case_code + ")" : "")));
    }
  });

  socket.on("case", function (event) {
    if (!firstTime("case", event) || !caseLive || event.case_code !== caseLive.dataset.caseCode) { return; }
    if (refreshCase) {
      refreshCase(event);
      showNote(text("caseChanged"));
    } else {
      showNote(text("caseChanged"), { label: text("reload"), run: function () { window.location.reload(); } });
    }
  });

  // After a lost connection the page may have missed events: fetch the regions again.
  var connectedOnce = false;
  socket.on("connect", function () {
    if (connectedOnce) {
      if (refreshTasks) { refreshTasks(); }
      if (refreshCase) { refreshCase(); }
    }
    connectedOnce = true;
  });
})();
