/* Knowledge-base suggestions while typing, and in-place article feedback.
 *
 * <div data-kb-suggest data-kb-suggest-url="/kb/suggest/"
 *      data-kb-suggest-input="#id_subject" data-kb-suggest-target="#kb-suggestions">
 * Debounced (300 ms) GET of an HTML fragment rendered and sanitised by the
 * server; only the latest answer is shown. No third-party code.
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
    input.addEventListener("keyup", run);
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
