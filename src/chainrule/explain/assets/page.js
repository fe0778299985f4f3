// chainrule's explanation page: step through the derivation, and let the graph follow the step.
//
// This script holds no maths and formats no number. The page embeds, beside the explanation's JSON, the walk
// over its steps (#graph-walk): for every step, which variant each slot of the graph (a node's value, its
// gradient, an edge's local derivative) shows from then on, and a caption saying what the graph shows. The
// graph at step k is the fold of the changes of steps 0..k. Without this script the whole derivation and the
// graph's first pass stay visible; only the stepping is missing.
(function () {
  "use strict";
  var ROOT = "chainrule-explanation";

  function all(scope, selector) { return Array.prototype.slice.call(scope.querySelectorAll(selector)); }

  function readWalk(root) {
    var element = root.querySelector("script.cr-graph-walk");
    if (!element) { return {stepped: [], start: "", steps: []}; }
    try { return JSON.parse(element.textContent); } catch (err) { return {stepped: [], start: "", steps: []}; }
  }

  function init(root) {
    if (root.getAttribute("data-cr-ready") === "1") { return; }
    root.setAttribute("data-cr-ready", "1");
    root.classList.add("cr-js");
    var steps = all(root, "[data-step-index]").sort(function (a, b) {
      return Number(a.getAttribute("data-step-index")) - Number(b.getAttribute("data-step-index"));
    });
    var controls = root.querySelector(".cr-controls");
    var status = root.querySelector(".cr-status");
    var prev = root.querySelector(".cr-prev"), next = root.querySelector(".cr-next");
    var reset = root.querySelector(".cr-reset"), toggle = root.querySelector(".cr-graph-toggle");
    var stage = root.querySelector(".cr-stage"), panel = root.querySelector(".cr-graph-panel");
    var caption = root.querySelector(".cr-graph-caption");
    var walk = readWalk(root);
    var nodes = {}, edges = {}, slots = {};
    all(root, ".cr-node[data-node-id]").forEach(function (el) { nodes[el.getAttribute("data-node-id")] = el; });
    all(root, ".cr-edge[data-from][data-to], .cr-edge-label[data-from][data-to]").forEach(function (el) {
      var key = el.getAttribute("data-from") + "\u0000" + el.getAttribute("data-to");
      (edges[key] = edges[key] || []).push(el);
    });
    all(root, ".cr-variant[data-slot]").forEach(function (el) {
      var key = el.getAttribute("data-slot");
      (slots[key] = slots[key] || [])[Number(el.getAttribute("data-variant"))] = el;
    });
    var startText = status ? status.textContent : "";
    var current = -1;
    if (controls) { controls.hidden = false; }
    if (toggle && panel) { toggle.hidden = false; }

    // The graph at step `index`: every stepped slot shows the variant the steps so far chose, or nothing.
    function drawGraph(index) {
      var chosen = {};
      for (var i = 0; i <= index && i < walk.steps.length; i++) {
        walk.steps[i].set.forEach(function (change) { chosen[change[0]] = change[1]; });
      }
      walk.stepped.forEach(function (key) {
        (slots[key] || []).forEach(function (el, variant) {
          if (el) { el.classList.toggle("cr-on", chosen[key] === variant); }
        });
      });
      all(root, ".cr-node[data-node-id]").forEach(function (el) {
        el.classList.toggle("cr-updated", el.querySelector(".cr-variant.cr-new.cr-on") !== null);
      });
      if (caption) {
        caption.textContent = index < 0 || !walk.steps[index] ? walk.start : walk.steps[index].caption;
      }
    }

    function mark(key, cls) { (edges[key] || []).forEach(function (el) { el.classList.add(cls); }); }

    function centreNode(node) {
      if (!panel || !node.getBBox || root.classList.contains("cr-graph-hidden")) { return; }
      var rect = node.getBoundingClientRect(), panelRect = panel.getBoundingClientRect();
      panel.scrollLeft += rect.left + rect.width / 2 - (panelRect.left + panel.clientWidth / 2);
      panel.scrollTop += rect.top + rect.height / 2 - (panelRect.top + panel.clientHeight / 2);
    }

    function show(index, scroll) {
      current = Math.max(-1, Math.min(index, steps.length - 1));
      all(root, ".current, .cr-context, .cr-done").forEach(function (el) {
        el.classList.remove("current", "cr-context", "cr-done");
      });
      ["given", "forward", "backward", "update", "check", "other"].forEach(function (d) {
        root.classList.remove("cr-dir-" + d);
      });
      if (prev) { prev.disabled = current < 0; }
      if (reset) { reset.disabled = current < 0; }
      if (next) { next.disabled = current >= steps.length - 1; }
      drawGraph(current);
      if (current < 0) {
        if (status) { status.textContent = startText; }
        return;
      }
      var step = steps[current];
      for (var i = 0; i < current; i++) { steps[i].classList.add("cr-done"); }
      step.classList.add("current");
      root.classList.add("cr-dir-" + (step.getAttribute("data-direction") || "other"));
      var node = nodes[step.getAttribute("data-node")];
      if (node) { node.classList.add("current"); }
      if (step.hasAttribute("data-edge-from")) {
        mark(step.getAttribute("data-edge-from") + "\u0000" + step.getAttribute("data-edge-to"), "current");
      }
      var context = step.getAttribute("data-context-edges");
      if (context) {
        try {
          JSON.parse(context).forEach(function (e) { mark(e[0] + "\u0000" + e[1], "cr-context"); });
        } catch (err) { /* a malformed hint only loses the soft highlight */ }
      }
      if (status) {
        status.textContent = "Step " + (current + 1) + " of " + steps.length + " \u2014 " +
          step.getAttribute("data-phase") + ": " + step.getAttribute("data-label");
      }
      if (scroll) {
        var sticky = stage && window.getComputedStyle(stage).position === "sticky";
        step.style.scrollMarginTop = ((sticky ? stage.offsetHeight : 0) + 16) + "px";
        step.scrollIntoView({block: "center", inline: "nearest"});
        if (node) { centreNode(node); }
      }
    }

    // Collapsing the graph keeps the caption line; the choice stays while stepping.
    function setGraphShown(shown) {
      root.classList.toggle("cr-graph-hidden", !shown);
      if (toggle) {
        toggle.setAttribute("aria-expanded", shown ? "true" : "false");
        toggle.textContent = shown ? "Hide graph" : "Show graph";
      }
    }

    function onKey(event) {
      if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
      var target = event.target;
      if (target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable)) { return; }
      if (event.key === "ArrowRight") { show(current + 1, true); }
      else if (event.key === "ArrowLeft") { show(current - 1, true); }
      else if (event.key === "Escape" || event.key === "Home") { show(-1, false); }
      else { return; }
      event.preventDefault();
    }

    if (next) { next.addEventListener("click", function () { show(current + 1, true); }); }
    if (prev) { prev.addEventListener("click", function () { show(current - 1, true); }); }
    if (reset) { reset.addEventListener("click", function () { show(-1, false); }); }
    if (toggle) {
      toggle.addEventListener("click", function () {
        setGraphShown(root.classList.contains("cr-graph-hidden"));
      });
    }
    root.addEventListener("keydown", onKey);
    // Arrow keys anywhere, but only when nothing else has the focus and this is the only explanation shown
    // (in a notebook the keys belong to the notebook).
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (target !== document.body && target !== document.documentElement && target !== document) { return; }
      if (!document.documentElement.contains(root)) { return; }
      if (document.getElementsByClassName(ROOT).length !== 1) { return; }
      onKey(event);
    });
    setGraphShown(true);
    show(-1, false);
  }

  all(document, "." + ROOT).forEach(init);
})();
