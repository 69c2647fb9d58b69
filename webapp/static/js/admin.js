// The console's unit pickers: a search box narrows the tree of units in the select beside it.
(function () {
  "use strict";
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
  }
  document.querySelectorAll("input.unit-filter[data-filter-for]").forEach(function (box) {
    var select = document.getElementById(box.getAttribute("data-filter-for"));
    if (!select) { return; }
    box.addEventListener("input", function () {
      var wanted = fold(box.value.trim());
      var first = null;
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }
        var shown = !wanted || fold(option.getAttribute("data-search") || option.textContent).indexOf(wanted) >= 0;
        option.hidden = !shown;
        if (shown && !first) { first = option; }
      });
      if (wanted && first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden ||
                              !select.value)) {
        select.value = first.value;
      }
    });
  });
})();
