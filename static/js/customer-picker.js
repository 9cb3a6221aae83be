/* "New ticket": suggest customers while the agent types an e-mail or a
 * name; picking one fills the e-mail (and name). The form works without. */
(function () {
  "use strict";
  var box = document.querySelector("[data-customer-picker]");
  if (!box) return;
  var input = box.querySelector('input[name="requester_email"]');
  var list = document.getElementById("customer-picker-results");
  var nameInput = document.querySelector('input[name="requester_name"]');
  var timer = null;
  var last = "";

  function search() {
    var q = input.value.trim();
    if (q.length < 2 || q === last) return;
    last = q;
    fetch(box.dataset.pickerUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html");
        list.replaceChildren.apply(list, Array.prototype.slice.call(doc.body.firstChild.childNodes));
      });
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  list.addEventListener("click", function (e) {
    var button = e.target.closest("[data-pick-email]");
    if (!button) return;
    input.value = button.dataset.pickEmail;
    if (nameInput && !nameInput.value) nameInput.value = button.dataset.pickName || "";
    list.replaceChildren();
    last = input.value;
  });
})();
