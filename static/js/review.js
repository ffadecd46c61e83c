// TrialMark review page: hover highlights, autosubmitting checkboxes, and keeping the scroll position
// across the page's form posts. The page works without this file.
(function () {
  "use strict";

  function highlight(keys, on) {
    keys.forEach(function (key) {
      if (!key) return;
      document.querySelectorAll('.m[data-m="' + CSS.escape(key) + '"]').forEach(function (el) {
        el.classList.toggle("hl", on);
      });
    });
  }
  function keysFor(target) {
    var pair = target.closest("[data-pair]");
    if (pair) return pair.getAttribute("data-pair").split(" ");
    var el = target.closest("[data-m]");
    return el ? [el.getAttribute("data-m")] : [];
  }
  document.querySelectorAll(".version, .gold-draft").forEach(function (box) {
    box.addEventListener("mouseover", function (e) { highlight(keysFor(e.target), true); });
    box.addEventListener("mouseout", function (e) { highlight(keysFor(e.target), false); });
  });

  // An item row of the table highlights the same mention in every version.
  document.querySelectorAll("#mention-items tr[data-item]").forEach(function (row) {
    var item = JSON.parse(row.getAttribute("data-item"));
    var key = JSON.stringify([item[1], item[2]]).replace(/,/g, ", ");
    function keys() {
      return Array.prototype.map.call(document.querySelectorAll(".m[data-m]"), function (el) {
        return el.getAttribute("data-m");
      }).filter(function (k) { return k.slice(k.indexOf(":") + 1) === key; });
    }
    row.addEventListener("mouseenter", function () { highlight(keys(), true); });
    row.addEventListener("mouseleave", function () { highlight(keys(), false); });
  });

  document.querySelectorAll("input[type=checkbox][data-autosubmit]").forEach(function (box) {
    box.addEventListener("change", function () { box.form.submit(); });
  });

  // Each accept/remove posts the page and comes back to it: keep the reader where they were.
  var storeKey = "review-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(storeKey);
  if (saved !== null && !document.getElementById("conflict")) {
    sessionStorage.removeItem(storeKey);
    window.scrollTo(0, parseInt(saved, 10) || 0);
  }
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function () { sessionStorage.setItem(storeKey, String(window.scrollY)); });
  });
})();
