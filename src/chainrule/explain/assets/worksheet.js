// Writes the numbers typed into the blanks as an answers file for `chainrule check`.
// Nothing here computes or knows an answer: the page holds only the blanks.
(function () {
  "use strict";
  var output = document.getElementById("ws-answers");
  var inputs = document.querySelectorAll("input[data-step]");
  function update() {
    var lines = [];
    inputs.forEach(function (input) {
      var text = input.value.trim().replace(/\u2212/g, "-");
      if (text !== "" && isFinite(Number(text))) {
        lines.push(JSON.stringify(input.dataset.step) + " = " + Number(text));
      }
    });
    output.value = output.dataset.header + (lines.length ? lines.join("\n") + "\n" : "");
  }
  inputs.forEach(function (input) { input.addEventListener("input", update); });
  update();
})();
