/* The citizens' report form: the category's questions, the map point, the commune type-ahead, the
   duplicate check and the file checks. The form works without this script; it only makes it easier. */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var ds = form.dataset;
  var category = document.getElementById("category");
  var place = document.getElementById("admin_unit");
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var offer = document.getElementById("dup-offer");
  var list = document.getElementById("dup-list");
  var choice = document.getElementById("duplicate_choice");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var placeChosenByHand = !!place.value;
  form.classList.add("js");

  // ---------------------------------------------------------------- the category's questions
  function showQuestions() {
    document.querySelectorAll(".questions").forEach(function (box) {
      var mine = box.dataset.category === category.value;
      box.hidden = !mine;
      box.querySelectorAll(".q-head").forEach(function (head) { head.hidden = true; });
    });
  }
  category.addEventListener("change", function () { showQuestions(); check(); });
  showQuestions();

  // ---------------------------------------------------------------- the commune type-ahead
  function plain(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/gi, "d").toLowerCase();
  }
  var filter = document.getElementById("place-filter");
  if (filter) {
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var wanted = plain(filter.value.trim());
      var first = null;
      Array.prototype.forEach.call(place.options, function (option) {
        var shown = !option.value || !wanted || plain(option.text).indexOf(wanted) >= 0;
        option.hidden = !shown;
        if (shown && option.value && !first) { first = option; }
      });
      if (first && wanted) { place.value = first.value; placeChosenByHand = true; check(); }
    });
  }
  place.addEventListener("change", function () { placeChosenByHand = !!place.value; check(); });

  // ---------------------------------------------------------------- the map
  var mapEl = document.getElementById("report-map");
  var map = null, marker = null;
  function note(text) {
    var el = document.getElementById("map-note");
    if (el && text) { el.textContent = text; el.hidden = false; }
  }
  function setPoint(la, lo, move) {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    if (map) {
      if (!marker) { marker = L.marker([la, lo]).addTo(map); } else { marker.setLatLng([la, lo]); }
      if (move) { map.setView([la, lo], Math.max(map.getZoom(), 16)); }
    }
    if (!placeChosenByHand) { place.value = ""; }
    check();
  }
  if (mapEl && window.L) {
    mapEl.hidden = false;
    document.getElementById("map-actions").hidden = false;
    var la = parseFloat(mapEl.dataset.lat), lo = parseFloat(mapEl.dataset.lon);
    var has = !isNaN(la) && !isNaN(lo);
    map = L.map(mapEl, { scrollWheelZoom: false }).setView(has ? [la, lo] : [12.667, 108.04], has ? 16 : 13);
    if (mapEl.dataset.tiles) {
      var layer = L.tileLayer(mapEl.dataset.tiles, { maxZoom: 19, attribution: mapEl.dataset.attribution || "" });
      var warned = false;
      layer.on("tileerror", function () {
        if (warned) { return; }
        warned = true;
        mapEl.classList.add("no-tiles");
        note(mapEl.dataset.noTiles);
      });
      layer.addTo(map);
    } else {
      mapEl.classList.add("no-tiles");
      note(mapEl.dataset.noTiles);
    }
    L.control.scale({ imperial: false }).addTo(map);
    if (has) { marker = L.marker([la, lo]).addTo(map); }
    map.on("click", function (e) { setPoint(e.latlng.lat, e.latlng.lng, false); });
    window.addEventListener("resize", function () { map.invalidateSize(); });
  }
  var locate = document.getElementById("use-location");
  if (locate) {
    locate.addEventListener("click", function () {
      if (!navigator.geolocation) { note(locate.dataset.denied); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPoint(pos.coords.latitude, pos.coords.longitude, true);
      }, function () { note(locate.dataset.denied); }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }
  var clear = document.getElementById("clear-point");
  if (clear) {
    clear.addEventListener("click", function () {
      lat.value = ""; lon.value = "";
      if (marker) { map.removeLayer(marker); marker = null; }
      document.getElementById("place-note").hidden = true;
      check();
    });
  }
  [lat, lon].forEach(function (input) { input.addEventListener("change", check); });

  // ---------------------------------------------------------------- duplicates and the commune of the point
  var pending = 0;
  function check() {
    var params = new URLSearchParams({ category: category.value, lat: lat.value, lon: lon.value,
                                       place: (lat.value && lon.value) ? "" : place.value });
    var mine = ++pending;
    fetch(ds.nearby + "?" + params.toString(), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || mine !== pending) { return; }
        if (data.place && !placeChosenByHand) {
          place.value = data.place.code;
          var placeNote = document.getElementById("place-note");
          placeNote.textContent = placeNote.dataset.text.replace("%(name)s", data.place.name);
          placeNote.hidden = false;
        }
        showDuplicates(data.cases || []);
      })
      .catch(function () { /* the server checks again when the report is sent */ });
  }
  function showDuplicates(cases) {
    if (choice.value === "send") { return; }  // the citizen already said theirs is different
    list.textContent = "";
    cases.forEach(function (c) {
      var li = document.createElement("li");
      var head = document.createElement("div");
      var link = document.createElement("a");
      link.href = c.url;
      var code = document.createElement("code");
      code.textContent = c.code;
      link.appendChild(code);
      head.appendChild(link);
      head.appendChild(document.createTextNode(" · " + c.category + " · " + c.place + " · " + c.status + " · " +
        ds.received + " " + c.date + (c.metres !== null ? " · " + c.metres + " m" : "")));
      var title = document.createElement("div");
      title.className = "dup-title";
      title.textContent = c.title;
      var follow = document.createElement("form");
      follow.method = "post";
      follow.action = c.follow;
      follow.className = "dup-follow";
      var token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      var label = document.createElement("label");
      label.textContent = ds.emailLabel + " ";
      var email = document.createElement("input");
      email.type = "email"; email.name = "email"; email.maxLength = 255; email.autocomplete = "email";
      email.value = (document.getElementById("reporter_email") || {}).value || "";
      label.appendChild(email);
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = ds.followLabel;
      follow.appendChild(token); follow.appendChild(label); follow.appendChild(button);
      li.appendChild(head); li.appendChild(title); li.appendChild(follow);
      list.appendChild(li);
    });
    offer.hidden = cases.length === 0;
  }
  var anyway = document.getElementById("send-anyway");
  if (anyway) {
    anyway.addEventListener("click", function (e) {
      e.preventDefault();
      choice.value = "send";
      offer.hidden = true;
      form.querySelector("button.send").focus();
    });
  }

  // ---------------------------------------------------------------- files, before anything is uploaded
  function checkFiles() {
    var message = "";
    var photos = document.getElementById("photos").files || [];
    var videos = document.getElementById("videos").files || [];
    if (photos.length > parseInt(ds.maxPhotos, 10)) { message = ds.tooManyPhotos; }
    else if (videos.length > parseInt(ds.maxVideos, 10)) { message = ds.tooManyVideos; }
    [[photos, ds.maxPhotoMb], [videos, ds.maxVideoMb]].forEach(function (pair) {
      Array.prototype.forEach.call(pair[0], function (f) {
        if (!message && f.size > parseFloat(pair[1]) * 1024 * 1024) { message = ds.tooLarge + " " + f.name; }
      });
    });
    var box = document.getElementById("files-check");
    box.textContent = message;
    box.hidden = !message;
    return !message;
  }
  ["photos", "videos"].forEach(function (id) { document.getElementById(id).addEventListener("change", checkFiles); });

  form.addEventListener("submit", function (e) {
    if (!offer.hidden && choice.value !== "send") {
      e.preventDefault();
      offer.scrollIntoView({ behavior: "smooth" });
      window.alert(ds.chooseFirst);
      return;
    }
    if (!checkFiles()) {
      e.preventDefault();
      document.getElementById("files-check").scrollIntoView({ behavior: "smooth" });
    }
  });
  if (category.value && (place.value || lat.value)) { check(); }
}());
