/* Knowledge-base suggestions while typing, and in-place article feedback.
 *
 * <div data-kb-suggest data-kb-suggest-url="/kb/suggest/"
 *      data-kb-suggest-input="#id_subject" data-kb-suggest-target="#kb-suggestions">
 * Debounced (300 ms) GET of an HTML fragment rendered and sanitised by the
 * server; only the latest answer is shown. Keyboard: Arrow Down/Up move
 * through the suggestions, Enter opens the chosen one (the link carries
 * ?ref=suggest, so the deflection is recorded), Escape closes them.
 * No third-party code.
 */
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  function initSuggest(box) {
    var input = document.querySelector(box.dataset.kbSuggestInput);
    var target = document.querySelector(box.dataset.kbSuggestTarget);
    if (!input || !target) return;
    var last = null, seq = 0;
    var run = debounce(function () {
      var q = input.value.trim();
      if (q === last) return;
      last = q;
      var mine = ++seq;
      var url = box.dataset.kbSuggestUrl + "?q=" + encodeURIComponent(q);
      fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { if (mine === seq) target.innerHTML = html; })
        .catch(function () {});
    }, 300);
    input.addEventListener("input", run);
    input.addEventListener("keyup", function (ev) {
      if (["ArrowDown", "ArrowUp", "Enter", "Escape"].indexOf(ev.key) < 0) run();
    });
    input.setAttribute("aria-controls", target.id);
    input.addEventListener("keydown", function (ev) {
      var items = Array.prototype.slice.call(target.querySelectorAll(".kb-suggestion"));
      if (!items.length) return;
      var current = items.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
      function select(i) {
        items.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
        if (i >= 0) { input.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
        else input.removeAttribute("aria-activedescendant");
      }
      if (ev.key === "ArrowDown") { ev.preventDefault(); select((current + 1) % items.length); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); select(current <= 0 ? items.length - 1 : current - 1); }
      else if (ev.key === "Enter" && current >= 0) { ev.preventDefault(); items[current].querySelector("a").click(); }
      else if (ev.key === "Escape") { ev.preventDefault(); target.innerHTML = ""; last = input.value.trim(); select(-1); }
    });
  }
  function initFeedback(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var data = new FormData(form);
      if (ev.submitter && ev.submitter.name) data.append(ev.submitter.name, ev.submitter.value);
      fetch(form.action, { method: "POST", body: data, headers: { "HX-Request": "true" }, credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) { form.closest("#kb-feedback").outerHTML = html; });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-kb-suggest]").forEach(initSuggest);
    document.querySelectorAll("form[data-kb-feedback]").forEach(initFeedback);
  });
})();
