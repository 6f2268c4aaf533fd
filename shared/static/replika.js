/* Comfort only: every page works without this file. Buttons marked .js-only are hidden until
   this script shows them. data-copy="<id>" copies that element's text; data-print prints. */
(function () {
  "use strict";
  document.querySelectorAll("button.js-only").forEach(function (button) {
    if (button.hasAttribute("data-copy")) {
      if (!navigator.clipboard) { return; }
      button.addEventListener("click", function () {
        var source = document.getElementById(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = button.getAttribute("data-copied");
        });
      });
    } else if (button.hasAttribute("data-print")) {
      button.addEventListener("click", function () { window.print(); });
    }
    button.hidden = false;
  });
})();
