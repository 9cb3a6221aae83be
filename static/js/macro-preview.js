// Live preview of a macro's reply text against a chosen ticket. The server
// renders it exactly as the ticket page would show the posted reply
// (escaped placeholders, sanitised markdown); this only fetches and swaps.
(function () {
  "use strict";
  var form = document.getElementById("macro-form");
  var box = document.getElementById("macro-preview");
  var ticket = document.getElementById("id_preview-ticket");
  if (!form || !box || !ticket) return;
  var body = form.querySelector("[name=body]");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var timer = null;
  var seq = 0;

  function refresh() {
    if (!ticket.value) return;
    var mine = ++seq;
    var data = new FormData();
    data.append("preview-body", body.value);
    data.append("preview-ticket", ticket.value);
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrf },
      credentials: "same-origin",
    })
      .then(function (r) { return r.text(); })
      .then(function (html) { if (mine === seq) box.innerHTML = html; });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }
  body.addEventListener("input", later);
  ticket.addEventListener("input", later);
  ticket.addEventListener("change", refresh);
})();
