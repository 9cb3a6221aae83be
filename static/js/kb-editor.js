/* Knowledge-base editor: live Markdown preview, image upload into the text,
 * links to other articles by search. Our own code, no third-party JS.
 *
 * The preview is rendered by the server (POST /kb/manage/preview/) with the
 * same sanitiser as the published page, so it never differs from it.
 */
(function () {
  "use strict";
  function debounce(fn, ms) {
    var t;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }
  function csrf(form) {
    var el = form.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }
  function insertAtCursor(area, text) {
    var start = area.selectionStart || 0, end = area.selectionEnd || 0;
    var before = area.value.slice(0, start), after = area.value.slice(end);
    var pad = before && !/\s$/.test(before) ? " " : "";
    area.value = before + pad + text + after;
    var pos = (before + pad + text).length;
    area.setSelectionRange(pos, pos);
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function init(box) {
    var form = box.closest("form");
    var area = document.querySelector(box.dataset.kbBody);
    var preview = document.querySelector(box.dataset.kbPreview);
    if (!area || !preview) return;
    var seq = 0;
    var refresh = debounce(function () {
      var mine = ++seq;
      var data = new FormData();
      data.append("body", area.value);
      fetch(box.dataset.kbPreviewUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf(form), "HX-Request": "true" }
      }).then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && mine === seq) preview.innerHTML = html; })
        .catch(function () {});
    }, 250);
    area.addEventListener("input", refresh);

    // Links to other articles.
    var linkInput = document.getElementById("kb-link-q");
    var linkResults = document.getElementById("kb-link-results");
    if (linkInput && linkResults) {
      var lseq = 0;
      linkInput.addEventListener("input", debounce(function () {
        var mine = ++lseq, q = linkInput.value.trim();
        if (!q) { linkResults.innerHTML = ""; return; }
        var url = box.dataset.kbLinkUrl + (box.dataset.kbLinkUrl.indexOf("?") < 0 ? "?" : "&") + "q=" + encodeURIComponent(q);
        fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
          .then(function (r) { return r.ok ? r.text() : ""; })
          .then(function (html) { if (mine === lseq) linkResults.innerHTML = html; });
      }, 250));
      linkResults.addEventListener("click", function (ev) {
        var btn = ev.target.closest("[data-kb-link]");
        if (!btn) return;
        insertAtCursor(area, btn.dataset.kbLink);
        linkResults.innerHTML = "";
        linkInput.value = "";
      });
    }

    // Images: upload, then insert the Markdown at the cursor.
    var imageForm = document.getElementById("kb-image-form");
    if (imageForm && box.dataset.kbUploadUrl) {
      var error = document.getElementById("kb-image-error");
      imageForm.addEventListener("submit", function (ev) {
        ev.preventDefault();
        error.hidden = true;
        fetch(box.dataset.kbUploadUrl, {
          method: "POST", body: new FormData(imageForm), credentials: "same-origin",
          headers: { "Accept": "application/json" }
        }).then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.markdown) { insertAtCursor(area, data.markdown); imageForm.reset(); }
            else { error.textContent = data.error || error.dataset.failedText; error.hidden = false; }
          })
          .catch(function () { error.textContent = error.dataset.failedText; error.hidden = false; });
      });
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-kb-editor]").forEach(init);
  });
})();
