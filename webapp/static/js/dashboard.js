// The operations dashboard: the map of open cases, and figures kept current without reload.
// Refreshes when live.js reports a "case" or "task" event (a burst becomes one request),
// and every 60 s in case the live connection is down. The map works without its base
// tiles (an offline centre still sees the markers).
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  var url = root.dataset.url;
  var map = null, layer = null, fitted = false, tilesFailed = false, capped = "";

  function showMapNote() {
    var note = document.getElementById("dash-map-note");
    if (!note) { return; }
    var parts = [capped, tilesFailed ? root.dataset.noTiles : ""].filter(Boolean);
    note.textContent = parts.length ? " — " + parts.join(" ") : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function setupMap() {
    if (typeof L === "undefined") { return; }
    var box = document.getElementById("dash-map");
    if (!box) { return; }
    map = L.map(box, { preferCanvas: true, scrollWheelZoom: false }).setView([12.67, 108.05], 9);
    if (root.dataset.tiles) {
      var tiles = L.tileLayer(root.dataset.tiles, { maxZoom: 18, attribution: root.dataset.attribution || "" });
      tiles.once("tileerror", function () { tilesFailed = true; showMapNote(); });
      tiles.addTo(map);
    }
    layer = L.layerGroup().addTo(map);
  }

  function drawMap(info) {
    if (!map || !info) { return; }
    layer.clearLayers();
    var bounds = [];
    info.points.forEach(function (p) {
      var colour = p.overdue ? "#b3261e" : (p.priority === "high" ? "#a15c00" : "#0b4f8a");
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.overdue ? 6 : 5, color: "#fff", weight: 1, fillColor: colour, fillOpacity: 0.85
      });
      var popup = el("div");
      var title = p.url ? el("a", { href: p.url }, p.code) : el("strong", {}, p.code);
      popup.appendChild(title);
      popup.appendChild(el("div", {}, p.category));
      popup.appendChild(el("div", {}, p.status + (p.overdue ? " · " + root.dataset.overdueLabel : "")));
      if (p.snapshot) {
        // A camera case: its snapshot (an element, never markup; the URL is the server's own).
        var shot = el("img", { src: p.snapshot, alt: root.dataset.snapshotLabel + " " + p.code, width: "200",
                              "class": "map-snapshot" });
        // Leaflet sizes a popup when it opens: once the picture is in, size it again.
        shot.addEventListener("load", function () { if (marker.isPopupOpen()) { marker.getPopup().update(); } });
        popup.appendChild(p.url ? el("a", { href: p.url }) : el("div")).appendChild(shot);
      }
      marker.bindPopup(popup);
      marker.addTo(layer);
      bounds.push([p.lat, p.lon]);
    });
    if (!fitted && bounds.length) {
      map.fitBounds(bounds, { padding: [20, 20], maxZoom: 13 });
      fitted = true;  // later refreshes keep the user's view
    }
    capped = info.points.length >= info.limit ? root.dataset.capped.replace("{n}", info.limit) : "";
    showMapNote();
  }

  function bars(id, rows) {
    var list = document.getElementById(id);
    if (!list) { return; }
    list.textContent = "";
    if (!rows.length) { list.appendChild(el("li", { "class": "muted" }, root.dataset.empty)); return; }
    var top = Math.max.apply(null, rows.map(function (r) { return r.count; })) || 1;
    rows.forEach(function (r) {
      var li = el("li");
      li.appendChild(el("span", { "class": "bar-label" }, r.label));
      var bar = el("span", { "class": "bar" });
      var fill = el("span");
      fill.style.width = (100 * r.count / top).toFixed(1) + "%";
      bar.appendChild(fill);
      li.appendChild(bar);
      li.appendChild(el("span", { "class": "bar-n" }, r.count));
      list.appendChild(li);
    });
  }

  function cell(label, child) {
    var td = el("td", { "data-label": label });
    if (typeof child === "string") { td.textContent = child; } else { td.appendChild(child); }
    return td;
  }

  // Empty a table body; with no rows, say so in one cell. True when there are rows to add.
  function restart(body, rows, columns) {
    body.textContent = "";
    if (rows.length) { return true; }
    var empty = el("tr");
    empty.appendChild(el("td", { colspan: String(columns), "class": "muted" }, root.dataset.empty));
    body.appendChild(empty);
    return false;
  }

  function latest(rows) {
    var body = document.getElementById("dash-latest");
    if (!body) { return; }
    var heads = Array.prototype.map.call(body.parentNode.querySelectorAll("thead th"), function (th) {
      return th.textContent;
    });
    var before = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-code]"), function (tr) { before[tr.dataset.code] = true; });
    var hadRows = Object.keys(before).length > 0;
    if (!restart(body, rows, 5)) { return; }
    rows.forEach(function (c) {
      var tr = el("tr", { "data-code": c.code });
      if (hadRows && !before[c.code]) { tr.className = "fresh"; }
      tr.appendChild(cell(heads[0], c.url ? el("a", { href: c.url }, c.code) : c.code));
      tr.appendChild(cell(heads[1], c.category));
      tr.appendChild(cell(heads[2], c.place));
      tr.appendChild(cell(heads[3], el("span", { "class": "pill status-" + c.status_key }, c.status)));
      var when = cell(heads[4], c.received);
      when.className = "nowrap";
      tr.appendChild(when);
      body.appendChild(tr);
    });
  }

  function units(rows) {
    var body = document.getElementById("dash-by-unit");
    if (!body) { return; }
    if (!restart(body, rows, 3)) { return; }
    rows.forEach(function (u) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, u.label));
      tr.appendChild(el("td", { "class": "num" }, u.open));
      tr.appendChild(el("td", { "class": "num" + (u.overdue ? " bad" : "") }, u.overdue));
      body.appendChild(tr);
    });
  }

  function render(data) {
    Object.keys(data.totals).forEach(function (key) {
      var node = root.querySelector('[data-total="' + key + '"]');
      if (node) { node.textContent = String(data.totals[key]); }
    });
    var updated = document.getElementById("dash-updated");
    if (updated) { updated.textContent = data.updated; }
    bars("dash-by-channel", data.by_channel);
    bars("dash-by-status", data.by_status);
    units(data.by_unit);
    latest(data.latest);
    if (data.map) { drawMap(data.map); }
  }

  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(url + "?map=1", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { /* offline for a moment: the next event or tick tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var pending = null;
  document.addEventListener("ioc:live", function (e) {
    // live.js names the Socket.IO event in detail.name (detail.event is its payload); older builds used detail.event.
    var detail = e.detail || {};
    var name = typeof detail.name === "string" ? detail.name : detail.event;
    if (name !== "case" && name !== "task") { return; }
    clearTimeout(pending);
    pending = setTimeout(refresh, 1000);
  });
  setInterval(refresh, 60000);
  // The server draws the bars with their share in data-pct (the CSP refuses style attributes).
  Array.prototype.forEach.call(root.querySelectorAll(".bar > span[data-pct]"), function (fill) {
    fill.style.width = fill.dataset.pct + "%";
  });
  setupMap();
  refresh();
})();
