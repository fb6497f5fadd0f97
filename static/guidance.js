/* The post form's guidance. Every category's guidance is on the page, each in
   its own <details>, whatever happens; with JavaScript, choosing a category
   opens its guidance and closes the others. */
(function () {
  "use strict";
  var panels = document.querySelectorAll("details[data-guidance]");
  var radios = document.querySelectorAll("input[name='category']");
  if (!panels.length || !radios.length) { return; }
  function show(code) {
    panels.forEach(function (panel) {
      panel.open = panel.getAttribute("data-guidance") === code;
    });
  }
  radios.forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked) { show(radio.value); }
    });
  });
})();
