/* Agent workspace: keyboard shortcuts, heartbeats (handle time + collision
 * notice), KB link insertion. No build step; pages work without it. */
(function () {
  "use strict";

  var page = document.getElementById("ticket-page");
  var help = document.getElementById("shortcut-help");

  function typingTarget(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // --- lists: j/k selection --------------------------------------------
  var rows = Array.prototype.slice.call(document.querySelectorAll("[data-list] tr[data-row]"));
  var current = -1;
  function select(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, n) { r.classList.toggle("is-selected", n === current); });
    rows[current].scrollIntoView({ block: "nearest" });
    var link = rows[current].querySelector("a.subject");
    if (link) link.focus({ preventScroll: true });
  }

  // --- ticket page helpers -------------------------------------------------
  function reply(visibility) {
    var form = document.getElementById("reply-form");
    if (!form) return;
    var radio = form.querySelector('input[name="visibility"][value="' + visibility + '"]');
    if (radio) radio.checked = true;
    var body = form.querySelector("textarea[name=body]");
    if (body) { body.focus(); body.scrollIntoView({ block: "center" }); }
  }
  function submit(id) {
    var form = document.getElementById(id);
    if (form) form.submit();
  }
  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { toggleHelp(false); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || typingTarget(e.target)) return;
    switch (e.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o":
      case "Enter":
        if (current >= 0 && rows[current]) { window.location = rows[current].dataset.href; } else { return; }
        break;
      case "r": reply("public"); break;
      case "n": reply("internal"); break;
      case "s": submit("solve-form"); break;
      case "a": submit("assign-me-form"); break;
      case "/":
        var q = document.querySelector('input[name="q"]');
        if (q) q.focus(); else return;
        break;
      case "?": toggleHelp(); break;
      default: return;
    }
    e.preventDefault();
  });
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-close-help]")) toggleHelp(false);
    var ins = e.target.closest("[data-insert-link]");
    if (ins) {
      var body = document.querySelector("#reply-form textarea[name=body]");
      if (body) {
        var text = ins.getAttribute("data-insert-link");
        body.value = body.value + (body.value && !/\s$/.test(body.value) ? " " : "") + text;
        body.focus();
      }
    }
  });

  if (!page) return;

  // --- heartbeat: handle time (docs/metrics.md M9) + collision notice --------------
  var url = page.dataset.heartbeatUrl;
  var csrf = page.dataset.csrf;
  var every = (parseInt(page.dataset.heartbeatSeconds, 10) || 30) * 1000;
  var lastInput = Date.now();
  var typingUntil = 0;
  var ACTIVE_WINDOW = 120 * 1000; // input within the idle limit = active

  ["mousemove", "keydown", "scroll", "click", "focus"].forEach(function (name) {
    window.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
  });
  var body = document.querySelector("#reply-form textarea[name=body]");
  if (body) {
    body.addEventListener("input", function () {
      var wasTyping = Date.now() < typingUntil;
      typingUntil = Date.now() + 15000;
      if (!wasTyping) beat(false); // tell others promptly
    });
  }

  function isActive() {
    return document.visibilityState === "visible" && Date.now() - lastInput < ACTIVE_WINDOW;
  }

  function form(final) {
    var data = new FormData();
    data.append("active", isActive() ? "1" : "0");
    data.append("typing", Date.now() < typingUntil ? "1" : "0");
    if (final) data.append("final", "1");
    data.append("csrfmiddlewaretoken", csrf);
    return data;
  }

  function beat(final) {
    if (final) {
      if (navigator.sendBeacon) { navigator.sendBeacon(url, form(true)); }
      return;
    }
    fetch(url, { method: "POST", body: form(false), credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        var box = document.getElementById("collision");
        if (html !== null && box) box.innerHTML = html;
      })
      .catch(function () { /* offline: try again next beat */ });
  }

  beat(false);
  setInterval(function () { beat(false); }, every);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") beat(true); else beat(false);
  });
  window.addEventListener("pagehide", function () { beat(true); });
})();
