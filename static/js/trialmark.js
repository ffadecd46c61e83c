// TrialMark: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // <select data-autosubmit> submits its form on change.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // Hovering a mention, or a relation/group argument, highlights every fragment of that mention.
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
  document.querySelectorAll(".sentence").forEach(function (sentence) {
    sentence.addEventListener("mouseover", function (e) { highlight(keysFor(e.target), true); });
    sentence.addEventListener("mouseout", function (e) { highlight(keysFor(e.target), false); });
  });
})();
