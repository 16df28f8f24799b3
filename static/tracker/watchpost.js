/* Watchpost: draws the Plotly figures sent as JSON, and makes the review queue keyboard-friendly.
   Everything works without this script except the drawings: forms are plain HTML forms. */
(function () {
  "use strict";

  function renderFigures() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) return;
      var fig = JSON.parse(source.textContent);
      window.Plotly.newPlot(el, fig.data, fig.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["lasso2d", "select2d"],
      }).then(function () {
        el.dataset.rendered = "true";
      });
    });
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (target && target.isContentEditable);
  }

  function keyboardQueue() {
    var queue = document.querySelector("[data-keyboard-queue]");
    if (!queue) return;
    var items = Array.prototype.slice.call(queue.querySelectorAll(".queue-item"));
    if (!items.length) return;

    function current() {
      var active = document.activeElement;
      var item = active && active.closest ? active.closest(".queue-item") : null;
      return item || null;
    }
    function focusAt(i) {
      var item = items[Math.max(0, Math.min(items.length - 1, i))];
      item.focus();
      item.scrollIntoView({ block: "nearest" });
    }

    var target = window.location.hash ? document.querySelector(window.location.hash) : null;
    focusAt(target ? items.indexOf(target) : 0);

    document.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
      var item = current();
      var index = item ? items.indexOf(item) : -1;
      var button;
      switch (ev.key) {
        case "j":
          focusAt(index + 1);
          break;
        case "k":
          focusAt(index - 1);
          break;
        case "c":
        case "r":
          if (!item) return;
          button = item.querySelector('button[data-key="' + ev.key + '"]');
          if (button) button.click();
          break;
        case "e":
          if (!item) return;
          item.querySelector("select[data-edit]").focus();
          break;
        default:
          return;
      }
      ev.preventDefault();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderFigures();
    keyboardQueue();
  });
})();
