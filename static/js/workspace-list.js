/* Agent ticket list: select all on the page, the "all N matching" count,
 * the selected count. No build step; the form works without it (the
 * scope radio and the checkboxes are plain inputs). */
(function () {
  "use strict";

  var form = document.getElementById("bulk-form");
  if (!form) return;
  var all = document.getElementById("bulk-select-page");
  var selectedCount = document.getElementById("bulk-selected-count");
  var matchCount = document.getElementById("bulk-match-count");
  var matching = document.getElementById("bulk_scope_matching");
  var selected = document.getElementById("bulk_scope_selected");
  var counted = false;

  function boxes() {
    return Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="ids"]'));
  }
  function refresh() {
    var list = boxes();
    var n = list.filter(function (b) { return b.checked; }).length;
    if (selectedCount) selectedCount.textContent = String(n);
    if (all) {
      all.checked = list.length > 0 && n === list.length;
      all.indeterminate = n > 0 && n < list.length;
    }
  }
  function count() {
    if (counted || !matchCount) return;
    counted = true;
    fetch(form.dataset.countUrl, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) { matchCount.textContent = text.trim(); })
      .catch(function () { counted = false; });
  }

  if (all) {
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      if (all.checked) count();
      if (selected && !all.checked) selected.checked = true;
      refresh();
    });
  }
  form.addEventListener("change", function (e) {
    if (e.target && e.target.name === "ids") {
      refresh();
      if (selected) selected.checked = true;
    }
  });
  if (matching) {
    matching.addEventListener("focus", count);
    matching.addEventListener("change", count);
  }
  refresh();
})();
