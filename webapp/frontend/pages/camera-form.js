// A camera's form: where the camera stands, chosen on a map (Leaflet, loaded by the page from static/vendor) or
// typed. A click or a dragged marker writes the latitude and longitude fields; typed ones move the marker. The
// map is an extra: the fields work without it (and without its base tiles, on an offline centre).
const CENTRE = [12.6667, 108.0383]; // Buôn Ma Thuột

function number(input) {
  const value = parseFloat((input.value || "").replace(",", "."));
  return Number.isFinite(value) ? value : null;
}

function start() {
  const box = document.getElementById("camera-map");
  const lat = document.getElementById("c-lat");
  const lon = document.getElementById("c-lon");
  if (!box || !lat || !lon || !window.L) return;
  const L = window.L;
  const editable = !lat.closest("fieldset").disabled;
  const here = () => (number(lat) !== null && number(lon) !== null ? [number(lat), number(lon)] : null);
  const map = L.map(box, { scrollWheelZoom: false }).setView(here() || CENTRE, here() ? 16 : 12);
  if (box.dataset.tiles) {
    const tiles = L.tileLayer(box.dataset.tiles, { maxZoom: 19, attribution: box.dataset.attribution || "" });
    tiles.once("tileerror", () => {
      box.classList.add("no-tiles");
      document.getElementById("camera-map-note").textContent = box.dataset.noTiles;
    });
    tiles.addTo(map);
  } else {
    box.classList.add("no-tiles");
  }
  L.control.scale({ imperial: false }).addTo(map);
  let marker = null;
  const place = (point) => {
    if (!marker) {
      marker = L.marker(point, { draggable: editable, keyboard: editable }).addTo(map);
      marker.on("dragend", () => write(marker.getLatLng()));
    } else {
      marker.setLatLng(point);
    }
  };
  const write = (point) => {
    lat.value = point.lat.toFixed(6);
    lon.value = point.lng.toFixed(6);
    lat.dispatchEvent(new Event("change", { bubbles: true }));
  };
  if (here()) place(here());
  if (editable) {
    map.on("click", (e) => {
      place(e.latlng);
      write(e.latlng);
    });
  }
  const typed = () => {
    const point = here();
    if (point && Math.abs(point[0]) <= 90 && Math.abs(point[1]) <= 180) {
      place(point);
      map.panTo(point);
    }
  };
  lat.addEventListener("input", typed);
  lon.addEventListener("input", typed);
  box.dataset.ready = "true";
}

start();
