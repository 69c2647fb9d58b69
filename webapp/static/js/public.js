// The map of published resolutions: points from the page's JSON address (public fields only).
// Works without base tiles: an offline centre, or a blocked tile server, still shows the marks.
(function () {
  "use strict";
  var box = document.getElementById("pub-map");
  if (!box || typeof L === "undefined") { return; }
  var map = L.map(box, { preferCanvas: true, scrollWheelZoom: false }).setView([12.67, 108.05], 9);
  var note = document.getElementById("pub-map-note");
  if (box.dataset.tiles) {
    var tiles = L.tileLayer(box.dataset.tiles, { maxZoom: 18, attribution: box.dataset.attribution || "" });
    tiles.once("tileerror", function () { if (note) { note.textContent = " — " + box.dataset.noTiles; } });
    tiles.addTo(map);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  fetch(box.dataset.url, { headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : { points: [] }; })
    .then(function (data) {
      var bounds = [];
      data.points.forEach(function (p) {
        var marker = L.circleMarker([p.lat, p.lon], {
          radius: 6, color: "#fff", weight: 1, fillColor: p.closed ? "#1f7a3f" : "#0b4f8a", fillOpacity: 0.9
        });
        var popup = el("div");
        popup.appendChild(el("a", { href: p.url }, p.code));
        popup.appendChild(el("div", {}, p.title));
        popup.appendChild(el("div", { "class": "muted" }, p.category + " · " + p.unit));
        marker.bindPopup(popup);
        marker.addTo(map);
        bounds.push([p.lat, p.lon]);
      });
      if (bounds.length) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 14 }); }
      box.dataset.count = String(bounds.length);
    })
    .catch(function () { box.dataset.count = "0"; });
}());
