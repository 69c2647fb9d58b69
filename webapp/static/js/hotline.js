// The 1022 console: caller history as the number is typed, type-ahead for places and categories,
// the chosen category's questions, the live duplicate check, Ctrl+Enter to save. Keyboard only works.
(function () {
  "use strict";
  var form = document.getElementById("call-form");
  if (!form) return;
  function text(id) { var t = document.getElementById(id); return t ? (t.content || t).textContent.trim() : ""; }  // text, not markup: "&amp;" stays "&"
  function digits(s) { return (s || "").replace(/\D/g, ""); }
  // Vietnamese without marks, for matching what is typed ("buon ma" finds "Buôn Ma Thuột").
  function fold(s) {
    return (s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d").replace(/Đ/g, "D").toLowerCase();
  }
  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  var latest = {};  // the newest request of each list wins, whatever order answers arrive in
  function load(kind, url, render, failed) {
    var mine = latest[kind] = (latest[kind] || 0) + 1;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) { if (mine === latest[kind]) (r.ok ? render(r.body) : failed(r.body)); })
      .catch(function () { if (mine === latest[kind]) failed(null); });
  }

  // ---- caller history
  var phone = document.getElementById("phone");
  var history = document.getElementById("history");
  var historyHint = document.getElementById("history-hint");
  var historyHintText = historyHint.textContent;
  var showHistory = debounce(function () {
    var key = digits(phone.value);
    if (key.length < 8) { history.innerHTML = ""; historyHint.textContent = historyHintText; return; }
    load("history", form.dataset.historyUrl + "?phone=" + encodeURIComponent(phone.value), function (body) {
      history.innerHTML = "";
      historyHint.textContent = body.cases.length ? "" : text("t-none-history");
      body.cases.forEach(function (c) {
        history.appendChild(el("li", {}, [
          el("a", { href: c.url, target: "_blank", rel: "noopener", text: c.code }),
          el("span", { "class": "pill", text: c.status_label }),
          el("span", { "class": "muted", text: c.date + " · " + c.category + (c.phone ? " · " + c.phone : "") }),
          el("div", { text: c.title })
        ]));
      });
    }, function () { historyHint.textContent = text("t-error"); });
  }, 250);
  phone.addEventListener("input", showHistory);
  if (phone.value) showHistory();

  // ---- type-ahead over a <select>: the select stays the form's field, a text box drives it
  function typeahead(select) {
    var options = Array.prototype.slice.call(select.options).filter(function (o) { return o.value; });
    var box = el("input", { type: "text", id: select.id + "-search", role: "combobox", autocomplete: "off",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": select.id + "-list",
      "class": "hl-typeahead" });
    var list = el("ul", { id: select.id + "-list", role: "listbox", "class": "hl-options", hidden: "hidden" });
    var label = form.querySelector("label[for='" + select.id + "']");
    if (label) label.htmlFor = box.id;
    select.classList.add("hl-hidden-select");
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    select.parentNode.insertBefore(box, select);
    select.parentNode.insertBefore(list, select.nextSibling);
    var chosen = select.selectedOptions[0];
    box.value = chosen && chosen.value ? chosen.textContent : "";
    var shown = [], active = -1;
    function close() { list.hidden = true; box.setAttribute("aria-expanded", "false"); active = -1; }
    function pick(option) {
      select.value = option.value;
      box.value = option.textContent;
      close();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function mark(i) {
      active = i;
      shown.forEach(function (item, j) { item.li.setAttribute("aria-selected", j === i ? "true" : "false"); });
      if (shown[i]) { box.setAttribute("aria-activedescendant", shown[i].li.id); shown[i].li.scrollIntoView({ block: "nearest" }); }
    }
    function open() {
      var words = fold(box.value).split(/\s+/).filter(Boolean);
      list.innerHTML = "";
      shown = [];
      options.forEach(function (o, i) {
        var name = fold(o.textContent);
        if (words.every(function (w) { return name.indexOf(w) >= 0; })) {
          var li = el("li", { role: "option", id: select.id + "-opt-" + i, text: o.textContent });
          li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(o); });
          list.appendChild(li);
          shown.push({ li: li, option: o });
        }
      });
      list.hidden = shown.length === 0;
      box.setAttribute("aria-expanded", shown.length ? "true" : "false");
      mark(shown.length ? 0 : -1);
    }
    box.addEventListener("input", open);
    box.addEventListener("focus", function () { box.select(); });
    box.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) open(); else mark(Math.min(active + 1, shown.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && !list.hidden && shown[active] && !e.ctrlKey) { e.preventDefault(); pick(shown[active].option); }
      else if (e.key === "Tab" && !list.hidden && shown[active] && box.value) { pick(shown[active].option); }
      else if (e.key === "Escape") { close(); }
    });
    box.addEventListener("blur", function () {
      setTimeout(close, 100);
      var current = select.selectedOptions[0];
      if (!box.value.trim()) { select.value = ""; select.dispatchEvent(new Event("change", { bubbles: true })); }
      else if (current && current.value) box.value = current.textContent;  // what is typed never differs from what is sent
    });
  }
  Array.prototype.forEach.call(form.querySelectorAll("select[data-typeahead]"), typeahead);

  // ---- the chosen category's questions, and the duplicate check
  var category = document.getElementById("category");
  var place = document.getElementById("place");
  var dupes = document.getElementById("dupes");
  var dupesHint = document.getElementById("dupes-hint");
  var dupesHintText = dupesHint.textContent;
  function showQuestions() {
    Array.prototype.forEach.call(form.querySelectorAll(".hl-questions"), function (set) {
      var mine = set.dataset.category === category.value;
      set.hidden = !mine;
      set.disabled = !mine;  // a hidden category's answers are not sent
    });
  }
  function showDupes() {
    if (!category.value || !place.value) { dupes.innerHTML = ""; dupesHint.textContent = dupesHintText; return; }
    var url = form.dataset.duplicatesUrl + "?category=" + encodeURIComponent(category.value) +
      "&place=" + encodeURIComponent(place.value);
    load("dupes", url, function (body) {
      dupes.innerHTML = "";
      dupesHint.textContent = body.cases.length ? "" : text("t-none-dupes");
      body.cases.forEach(function (c) {
        var where = c.place + (c.metres !== null ? " · " + text("t-metres").replace("{m}", c.metres) : "");
        dupes.appendChild(el("li", {}, [
          el("a", { href: c.url, target: "_blank", rel: "noopener", text: c.code }),
          el("span", { "class": "pill", text: c.status_label }),
          el("span", { "class": "muted", text: c.date + " · " + where }),
          el("div", { text: c.title }),
          el("button", { type: "submit", name: "same_as", value: c.code, "class": "secondary small",
            formnovalidate: "formnovalidate", text: text("t-same") })
        ]));
      });
    }, function () { dupesHint.textContent = text("t-error"); });
  }
  category.addEventListener("change", function () { showQuestions(); showDupes(); });
  place.addEventListener("change", showDupes);
  showQuestions();
  showDupes();

  // ---- Ctrl+Enter saves from anywhere in the form
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(document.getElementById("save-call")); }
  });
  var saving = false;
  form.addEventListener("submit", function (e) {
    if (saving) { e.preventDefault(); return; }  // one call, one case, however often Enter is pressed
    saving = true;
  });
  var firstError = form.querySelector(".has-error input, .has-error select, .has-error textarea");
  if (firstError) {
    var target = firstError.classList.contains("hl-hidden-select") ? document.getElementById(firstError.id + "-search") : firstError;
    (target || firstError).focus();
  }
})();
