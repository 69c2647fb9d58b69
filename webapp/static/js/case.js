/* The case page: the map (Leaflet) and the process diagram (bpmn-js NavigatedViewer).
   Both are extras: the page reads fine without them, and neither may break the other. */
(function () {
  "use strict";
  var MIN_SCALE = 0.65;  // below this, diagram labels are too small to read

  function caseMap() {
    var el = document.getElementById("case-map");
    if (!el || !window.L) { return; }
    var here = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: true }).setView(here, 16);
    var tiles = el.dataset.tiles;
    if (tiles) {
      var layer = L.tileLayer(tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" });
      var warned = false;
      // Offline or blocked tiles leave the marks on a plain background; say so once.
      layer.on("tileerror", function () {
        if (warned) { return; }
        warned = true;
        el.classList.add("no-tiles");
        note(el.dataset.noTiles);
      });
      layer.addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    L.control.scale({ imperial: false }).addTo(map);
    // The circle is the "nearby" distance the related cases are chosen by.
    L.circle(here, { radius: 1000, color: "#0b4f8a", weight: 1, fill: false, dashArray: "4 4", interactive: false }).addTo(map);
    L.marker(here, { title: el.dataset.title, alt: el.dataset.title }).addTo(map);
    var related = [];
    try {
      related = JSON.parse(document.getElementById("related-data").textContent || "[]");
    } catch (e) { related = []; }
    var bounds = [here];
    related.forEach(function (r) {
      var mark = L.circleMarker([r.lat, r.lon], { radius: 7, color: "#fff", weight: 2, fillColor: "#a15c00", fillOpacity: 0.95 });
      // Leaflet puts a string tooltip in as HTML: give it a text node, so a title stays text.
      mark.bindTooltip(document.createTextNode(r.code + " · " + r.title + " · " + r.metres + " m"));
      mark.on("click", function () { window.location.href = r.url; });
      mark.addTo(map);
      bounds.push([r.lat, r.lon]);
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [24, 24], maxZoom: 17 }); }
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }

  function note(text) {
    // Below the map, not on it: an overlay would hide the marks it speaks of.
    var el = document.getElementById("map-note");
    if (el && text) { el.textContent = text; el.hidden = false; }
  }

  function diagram() {
    var el = document.getElementById("bpmn");
    var noteEl = document.getElementById("bpmn-note");
    if (!el) { return; }
    function fail() { if (noteEl) { noteEl.textContent = el.dataset.failed; } el.classList.add("failed"); }
    if (!window.BpmnJS || !window.fetch) { fail(); return; }
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        var viewer = new window.BpmnJS({ container: el });
        return viewer.importXML(data.xml).then(function () {
          var canvas = viewer.get("canvas");
          var registry = viewer.get("elementRegistry");
          var marks = [["done", "st-done"], ["flows", "st-flow"], ["waiting", "st-waiting"], ["active", "st-active"],
                       ["failed", "st-failed"]];
          marks.forEach(function (pair) {
            (data[pair[0]] || []).forEach(function (id) {
              if (registry.get(id)) { canvas.addMarker(id, pair[1]); }
            });
          });
          var focus = (data.active || []).concat(data.waiting || [], data.failed || [])
            .map(function (id) { return registry.get(id); }).filter(Boolean)[0];
          var show = function (whole) {
            canvas.resized();
            canvas.zoom("fit-viewport", "auto");
            var box = canvas.viewbox();
            // A whole process fitted into a narrow column is too small to read: show the
            // current step at a readable scale instead; the reader can pan, or ask for the whole.
            if (!whole && focus && box.scale < MIN_SCALE) {
              var width = box.outer.width / MIN_SCALE, height = box.outer.height / MIN_SCALE;
              canvas.viewbox({ x: focus.x + (focus.width || 0) / 2 - width / 2,
                               y: focus.y + (focus.height || 0) / 2 - height / 2, width: width, height: height });
            }
          };
          var whole = false;
          show(whole);
          var toggle = document.getElementById("bpmn-toggle");
          if (toggle && focus) {
            toggle.hidden = false;
            toggle.addEventListener("click", function () {
              whole = !whole;
              toggle.textContent = whole ? toggle.dataset.step : toggle.dataset.whole;
              show(whole);
            });
          }
          if (noteEl) { noteEl.textContent = ""; noteEl.hidden = true; }
          var timer = null;
          window.addEventListener("resize", function () {
            clearTimeout(timer);
            timer = setTimeout(function () { show(whole); }, 150);
          });
        });
      })
      .catch(fail);
  }

  function start() {
    try { caseMap(); } catch (e) { if (window.console) { console.error(e); } }
    diagram();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
