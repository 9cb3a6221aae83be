/* Live ticket page: polls the ticket's live endpoint about once a second.
 * When events by others arrive, the timeline and the head come with the
 * poll's answer; the page then refetches itself for the other regions
 * marked [data-live-region] (properties), never a form the agent is editing. It also shows who is viewing or typing, and
 * the collision warning when someone else replied publicly since the page
 * was opened. The server re-checks the collision on send (seen_event).
 * No inline script (CSP); the page works without this file. */
(function () {
  "use strict";

  var page = document.getElementById("ticket-page");
  if (!page || !page.dataset.liveUrl || !window.fetch) return;

  var url = page.dataset.liveUrl;
  var me = parseInt(page.dataset.user, 10);
  var last = parseInt(page.dataset.liveLast, 10) || 0;
  var version = "";
  var polls = 0;
  var EVERY = 1000;      // ms between polls while visible
  var HIDDEN_EVERY = 10000;
  var FULL_EVERY = 10;   // every 10th poll reads the database whatever the cache says
  var unseenBy = [];     // names of others who replied publicly since seen_event
  var timer = null;

  function seenInput() { return document.getElementById("seen-event"); }

  function showPresence(others) {
    var box = document.getElementById("collision");
    if (!box) return;
    box.textContent = "";
    if (!others || !others.length) return;
    var div = document.createElement("div");
    div.className = "collision-notice";
    div.setAttribute("role", "status");
    others.forEach(function (o, i) {
      var strong = document.createElement("strong");
      strong.textContent = o.name;
      div.appendChild(strong);
      div.appendChild(document.createTextNode(
        " " + (o.typing ? box.dataset.typingText : box.dataset.viewingText) + (i < others.length - 1 ? "; " : ".")));
    });
    box.appendChild(div);
  }

  function showCollision() {
    var box = document.getElementById("live-collision");
    var names = document.getElementById("live-collision-names");
    if (!box || !names || !unseenBy.length) return;
    names.textContent = unseenBy.join(", ");
    box.hidden = false;
  }

  function busy(region) {
    // Never replace what the agent is typing into or has changed.
    var active = document.activeElement;
    return active && active !== document.body && region.contains(active);
  }

  function timelineTexts() {
    var known = {};
    document.querySelectorAll("#live-timeline li").forEach(function (li) { known[li.textContent] = true; });
    return known;
  }

  function markNew(known) {
    document.querySelectorAll("#live-timeline li").forEach(function (li) {
      if (!known[li.textContent]) li.classList.add("live-new");
    });
  }

  function swapTimeline(html) {
    // Server-rendered by the live endpoint (our own template; no scripts).
    var region = document.getElementById("live-timeline");
    if (!region || busy(region)) return false;
    var known = timelineTexts();
    var doc = new DOMParser().parseFromString(html, "text/html");
    region.replaceChildren.apply(region, Array.prototype.slice.call(doc.body.childNodes));
    markNew(known);
    return true;
  }

  function swapHead(html) {
    // Subject, status and priority: from the poll answer, no refetch.
    var region = document.getElementById("live-head");
    if (!region || busy(region)) return false;
    var doc = new DOMParser().parseFromString(html, "text/html");
    region.replaceChildren.apply(region, Array.prototype.slice.call(doc.body.childNodes));
    return true;
  }

  function refreshPanel(doc) {
    // The properties form is no region (a half-edited panel must survive),
    // but a field the agent has not touched (its value is still the one it
    // was rendered with, the hidden initial-prop-*) takes the fresh value,
    // so the panel does not show a priority someone else has changed.
    var form = document.getElementById("properties-form");
    var fresh = doc.getElementById("properties-form");
    if (!form || !fresh) return;
    fresh.querySelectorAll("[name^='initial-prop-']").forEach(function (freshInitial) {
      var name = freshInitial.name.slice("initial-".length);
      var initial = form.elements[freshInitial.name];
      var field = form.elements[name];
      var freshField = fresh.querySelector("[name='" + name + "']");
      if (!initial || !field || !freshField || field === document.activeElement) return;
      if (field.value !== initial.value) return;  // changed by the agent: keep it
      field.value = freshField.tagName === "TEXTAREA" ? freshField.textContent : freshField.value;
      initial.value = freshInitial.value;
    });
  }

  function refreshRegions(skip) {
    return fetch(url.replace(/live\/$/, ""), { credentials: "same-origin", headers: { "X-Live-Refresh": "1" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var known = timelineTexts();
        document.querySelectorAll("[data-live-region]").forEach(function (region) {
          var fresh = doc.getElementById(region.id);
          if (!fresh || skip.indexOf(region.id) >= 0 || busy(region)) return;
          region.replaceWith(fresh);
        });
        refreshPanel(doc);
        markNew(known);
      });
  }

  function handle(data) {
    if (data.v !== null && data.v !== undefined) version = String(data.v);
    showPresence(data.others);
    if (!data.changed) return Promise.resolve();
    var byOthers = false;
    data.events.forEach(function (e) {
      if (e.actor_id !== me) byOthers = true;
      if (e.public && e.actor_id !== me && unseenBy.indexOf(e.actor) < 0) unseenBy.push(e.actor);
    });
    last = Math.max(last, data.last);
    showCollision();
    // Own changes reload the page already (post/redirect); refetch for others'.
    if (!byOthers) return Promise.resolve();
    var skip = [];
    if (data.timeline_html && swapTimeline(data.timeline_html)) skip.push("live-timeline");
    if (data.head_html && swapHead(data.head_html)) skip.push("live-head");
    return refreshRegions(skip);
  }

  function poll() {
    polls += 1;
    var q = "?since=" + last + (version ? "&v=" + encodeURIComponent(version) : "");
    if (polls % FULL_EVERY === 0) q += "&full=1";
    fetch(url + q, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { return data ? handle(data) : null; })
      .catch(function () { /* offline or restarting: next poll */ })
      .then(schedule);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, document.visibilityState === "visible" ? EVERY : HIDDEN_EVERY);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { clearTimeout(timer); poll(); }
  });
  document.addEventListener("click", function (e) {
    if (!e.target.closest("[data-live-seen]")) return;
    var input = seenInput();
    if (input) input.value = String(last);
    unseenBy = [];
    var box = document.getElementById("live-collision");
    if (box) box.hidden = true;
  });

  schedule();
})();
