// The chainrule app: it sends what the learner sets to the server's API and shows what comes back.
// Every number on the page comes from the server (explain, fit, check); this script only draws them.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const DEBOUNCE_MS = 300;

  // -- talking to the server ------------------------------------------------------------------------

  async function api(method, path, body) {
    const options = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    const type = response.headers.get("content-type") || "";
    const payload = type.startsWith("application/json") ? await response.json() : await response.text();
    if (!response.ok) {
      throw new Error(payload && payload.error ? payload.error : `the server answered ${response.status}`);
    }
    return payload;
  }

  function showError(element, error) {
    element.hidden = !error;
    element.textContent = error ? String(error.message || error) : "";
  }

  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    const text = Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(digits) : value.toExponential(2);
    return text.replace("-", "−");
  }

  // -- tabs and the state in the URL ----------------------------------------------------------------

  const TABS = ["explore", "train", "exercises"];

  function selectTab(name, focus) {
    for (const tab of TABS) {
      const button = $(`tab-${tab}`);
      button.setAttribute("aria-selected", String(tab === name));
      button.tabIndex = tab === name ? 0 : -1;
      $(tab).hidden = tab !== name;
    }
    if (focus) $(`tab-${name}`).focus();
    saveState();
  }

  function currentTab() {
    return TABS.find((tab) => !$(tab).hidden) || "explore";
  }

  function setupTabs() {
    for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => selectTab(tab));
    document.querySelector("[role=tablist]").addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = TABS[(TABS.indexOf(currentTab()) + step + TABS.length) % TABS.length];
      selectTab(next, true);
      event.preventDefault();
    });
  }

  // The explorer's request (and the open tab) live in the URL's fragment, so a link reproduces them;
  // the fragment never reaches the server, the query (which may carry the token) is left alone.
  function saveState() {
    const state = { tab: currentTab(), explain: explainRequest() };
    history.replaceState(null, "", `${location.pathname}${location.search}#${encodeURIComponent(JSON.stringify(state))}`);
  }

  function loadState() {
    if (location.hash.length < 2) return null;
    try {
      return JSON.parse(decodeURIComponent(location.hash.slice(1)));
    } catch (error) {
      return null;
    }
  }

  // -- the derivation explorer ------------------------------------------------------------------------

  const explore = { set: {}, options: {}, timer: null, sequence: 0, last: null };
  const KIND_EXPRESSION = "__expression", KIND_TOML = "__toml";

  function explainRequest() {
    const kind = $("problem-kind").value;
    const request = { problem: kind === KIND_EXPRESSION || kind === KIND_TOML ? $("problem-text").value : kind };
    if (Object.keys(explore.set).length) request.set = { ...explore.set };
    for (const [key, value] of Object.entries(explore.options)) request[key] = value;
    return request;
  }

  function parseValues(text) {
    const values = {};
    for (const part of text.split(/[\s,;]+/)) {
      if (!part) continue;
      const [name, value] = part.split("=");
      if (name && value !== undefined && value.trim() !== "" && Number.isFinite(Number(value))) {
        values[name.trim()] = Number(value);
      }
    }
    return values;
  }

  function valuesText(values) {
    return Object.entries(values).map(([name, value]) => `${name}=${value}`).join(" ");
  }

  function showProblemText() {
    const kind = $("problem-kind").value;
    const custom = kind === KIND_EXPRESSION || kind === KIND_TOML;
    $("problem-text-row").hidden = !custom;
    $("problem-text-label").textContent = kind === KIND_TOML ? "Problem (TOML)" : "Expression";
    $("problem-text").rows = kind === KIND_TOML ? 12 : 2;
    $("problem-values").hidden = $("problem-values-label").hidden = kind !== KIND_EXPRESSION;
  }

  function scheduleExplain() {
    clearTimeout(explore.timer);
    explore.timer = setTimeout(runExplain, DEBOUNCE_MS);
    saveState();
  }

  async function runExplain() {
    const request = explainRequest();
    if (!request.problem.trim()) return;
    const sequence = ++explore.sequence;
    const view = document.querySelector("input[name=view]:checked").value;
    try {
      const data = await api("POST", "api/explain", request);
      const shown = view === "json" ? null : await api("POST", "api/explain", { ...request, format: view });
      if (sequence !== explore.sequence) return; // a newer edit is on its way
      showError($("explore-error"), null);
      explore.last = data;
      renderSummary($("summary"), data);
      renderGiven(data);
      renderView(view, view === "json" ? JSON.stringify(data, null, 2) : shown);
    } catch (error) {
      if (sequence === explore.sequence) showError($("explore-error"), error);
    }
  }

  function renderView(view, content) {
    const frame = $("explanation-frame"), text = $("explanation-text");
    frame.hidden = view !== "html";
    text.hidden = view === "html";
    if (view === "html") {
      frame.srcdoc = content;
    } else {
      text.textContent = content;
    }
  }

  function renderSummary(container, data) {
    container.replaceChildren();
    const summary = data.summary || {};
    const rows = [];
    if (summary.loss !== undefined) rows.push(["loss L", summary.loss]);
    if (summary.new_loss !== undefined && summary.new_loss !== null) rows.push(["new L", summary.new_loss]);
    for (const [name, value] of Object.entries(summary.gradients || {})) {
      if (name !== "L" && typeof value !== "object") rows.push([`∂L/∂${name}`, value]);
    }
    for (const [name, value] of Object.entries(summary.new_parameters || {})) {
      if (typeof value !== "object") rows.push([`${name}_new`, value]);
    }
    // Beside each exact value, the number the derivation writes for it (carried by hand, as the page
    // shows it), so that the table and the page never seem to disagree: 0.4708 worked, 0.470744 exact.
    const worked = workedNumbers(data);
    const table = el("table", { class: "numbers" });
    table.append(el("caption", {}, data.title || ""));
    const head = el("tr");
    head.append(el("th", { scope: "col" }, ""), el("th", { scope: "col" }, "exact"),
                el("th", { scope: "col" }, "as worked"));
    table.append(head);
    for (const [name, value] of rows) {
      const row = el("tr", { "data-name": name });
      row.append(el("th", { scope: "row" }, name), el("td", { "data-value": JSON.stringify(value) }, number(value, 6)),
                 el("td", { class: "worked" }, worked.get(name) ?? "—"));
      table.append(row);
    }
    container.append(table);
  }

  // The written number of each line, by the name the summary gives it: the loss line is "loss L", the
  // check's loss "new L", an update "w_new"; gradients keep their own names. The first line of a name wins
  // (a data set's narration repeats names per sample; its summary has no single worked number for them).
  function workedNumbers(data) {
    const worked = new Map();
    for (const section of data.sections || []) {
      for (const item of section.items || []) {
        if (item.type !== "equation" || !item.lhs || item.shown_text === undefined || item.context) continue;
        const lhs = item.lhs.text;
        const name = item.kind === "loss" ? "loss L" : section.kind === "check" && lhs === "L" ? "new L" : lhs;
        if (!worked.has(name)) worked.set(name, item.shown_text);
      }
    }
    return worked;
  }

  // The given values of the explanation (parameters, inputs, the target), as fields to edit.
  function renderGiven(data) {
    const container = $("given-values");
    const given = [];
    for (const section of data.sections || []) {
      if (section.kind !== "given") continue;
      for (const item of section.items) {
        const editable = ["parameter", "input", "target"].includes(item.note) || String(item.note).startsWith("frozen");
        if (item.type === "equation" && editable &&
            typeof item.value === "number" && item.lhs && /^[^\W\d]\w*$/u.test(item.lhs.text)) {
          given.push(item);
        }
      }
    }
    const focused = document.activeElement && document.activeElement.dataset.given;
    if (!given.length) {
      container.replaceChildren(el("p", { class: "hint" }, "This problem's values are set in its text."));
      return;
    }
    const existing = [...container.querySelectorAll("input[data-given]")].map((input) => input.dataset.given);
    const names = given.map((item) => item.lhs.text);
    if (existing.join("\n") === names.join("\n")) {
      for (const item of given) {  // keep the field being typed in as it is
        const input = container.querySelector(`input[data-given="${CSS.escape(item.lhs.text)}"]`);
        if (item.lhs.text !== focused) input.value = item.value;
      }
      return;
    }
    container.replaceChildren();
    for (const item of given) {
      const name = item.lhs.text, id = `given-${names.indexOf(name)}`;
      const input = el("input", { id, type: "number", step: "any", "data-given": name });
      input.value = item.value;
      input.addEventListener("input", () => {
        if (input.value.trim() === "" || !Number.isFinite(Number(input.value))) return;
        explore.set[name] = Number(input.value);
        if ($("problem-kind").value === KIND_EXPRESSION) $("problem-values").value = valuesText(explore.set);
        scheduleExplain();
      });
      container.append(el("label", { for: id }, `${name} (${item.note})`), input);
    }
  }

  function readOption(input) {
    const key = input.dataset.option;
    const raw = input.value.trim();
    if (raw === "") {
      delete explore.options[key];
    } else if (input.type === "number") {
      if (!Number.isFinite(Number(raw))) return;
      explore.options[key] = Number(raw);
    } else {
      explore.options[key] = raw;
    }
  }

  async function download(format) {
    try {
      const content = await api("POST", "api/explain", { ...explainRequest(), format });
      const text = typeof content === "string" ? content : JSON.stringify(content, null, 2);
      const types = { html: "text/html", markdown: "text/markdown", json: "application/json" };
      const names = { html: "explanation.html", markdown: "explanation.md", json: "explanation.json" };
      const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: types[format] })),
                             download: names[format] });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      showError($("explore-error"), error);
    }
  }

  function setupExplore(info, state) {
    const kind = $("problem-kind");
    for (const example of info.examples) kind.append(el("option", { value: example.name }, example.title));
    kind.append(el("option", { value: KIND_EXPRESSION }, "An expression…"),
                el("option", { value: KIND_TOML }, "A problem file (TOML)…"));
    const request = (state && state.explain) || { problem: "example1" };
    const builtin = info.examples.some((example) => example.name === request.problem);
    const looksToml = /^\s*(\[|[A-Za-z_][\w.-]*\s*=(?!=))/m.test(request.problem || "");
    kind.value = builtin ? request.problem : looksToml ? KIND_TOML : KIND_EXPRESSION;
    if (!builtin) $("problem-text").value = request.problem || "";
    explore.set = { ...(request.set || {}) };
    $("problem-values").value = valuesText(explore.set);
    for (const input of document.querySelectorAll("[data-option]")) {
      const value = request[input.dataset.option];
      if (value !== undefined) {
        input.value = value;
        explore.options[input.dataset.option] = value;
      }
    }
    showProblemText();
    // On a phone the settings fold away, so that the values and the numbers they change fit on one screen.
    if (window.matchMedia("(max-width: 760px)").matches) $("explore-settings").open = false;

    kind.addEventListener("change", () => {
      explore.set = {};
      $("given-values").replaceChildren();
      if (kind.value === KIND_EXPRESSION && !$("problem-text").value.trim()) {
        $("problem-text").value = "sigmoid(w*x + b)";
        $("problem-values").value = "w=0.5 x=1 b=0";
        explore.set = parseValues($("problem-values").value);
        $("opt-target").value = 1;
        $("opt-lr").value = 0.1;
        readOption($("opt-target"));
        readOption($("opt-lr"));
      }
      showProblemText();
      scheduleExplain();
    });
    $("problem-text").addEventListener("input", scheduleExplain);
    $("problem-values").addEventListener("input", () => {
      explore.set = parseValues($("problem-values").value);
      scheduleExplain();
    });
    $("problem-file").addEventListener("change", async () => {
      const file = $("problem-file").files[0];
      if (!file) return;
      if (file.size > info.limits.max_problem_chars * 4) {
        showError($("explore-error"), new Error("the file is larger than the server takes"));
        return;
      }
      $("problem-text").value = await file.text();  // read here, sent as text: the server opens no files
      kind.value = KIND_TOML;
      explore.set = {};
      showProblemText();
      scheduleExplain();
    });
    for (const input of document.querySelectorAll("[data-option]")) {
      input.addEventListener("input", () => { readOption(input); scheduleExplain(); });
    }
    for (const radio of document.querySelectorAll("input[name=view]")) radio.addEventListener("change", runExplain);
    for (const button of document.querySelectorAll("[data-download]")) {
      button.addEventListener("click", () => download(button.dataset.download));
    }
    runExplain();
  }

  // -- the training playground ------------------------------------------------------------------------

  const play = { id: null, source: null, data: null, losses: [], val: [], boundary: null, state: null };

  function trainRequest(paused) {
    const request = { paused };
    for (const input of document.querySelectorAll("[data-train]")) {
      const key = input.dataset.train, raw = input.value.trim();
      if (key === "hidden") {
        const hidden = raw.split(/[\s,]+/).filter(Boolean).map(Number);
        request.sizes = [2, ...hidden, 1];
      } else if (input.type === "number") {
        if (raw !== "") request[key] = Number(raw);
      } else {
        request[key] = raw;
      }
    }
    if (request.mode !== "minibatch") delete request.batch_size;
    return request;
  }

  async function startSession(paused) {
    await stopSession();
    play.losses = [];
    play.val = [];
    const created = await api("POST", "api/train", trainRequest(paused));
    play.id = created.id;
    play.data = created.data;
    play.source = new EventSource(`api/train/${encodeURIComponent(play.id)}/events`);
    play.source.onmessage = (event) => onTrainState(JSON.parse(event.data));
    play.source.onerror = () => {
      if (play.state && play.state.done && play.source) { play.source.close(); play.source = null; }
    };
    drawBoundary();
  }

  async function stopSession() {
    if (play.source) { play.source.close(); play.source = null; }
    if (play.id) {
      const id = play.id;
      play.id = null;
      try { await api("DELETE", `api/train/${encodeURIComponent(id)}`); } catch (error) { /* finished already */ }
    }
  }

  function onTrainState(state) {
    // The stream and the control replies race: a reply computed before the last streamed epoch can arrive
    // after it. Older states are dropped, and the losses are placed at the epoch they start from.
    if (play.state && state.id === play.state.id && state.step < play.state.step) return;
    play.state = state;
    play.losses.splice(state.since, Infinity, ...state.losses);
    play.val.splice(state.since, Infinity, ...state.val_losses);
    play.boundary = state.boundary;
    if (state.done && play.source) { play.source.close(); play.source = null; }
    const last = (list) => (list.length ? list[list.length - 1] : null);
    const accuracy = last(state.accuracy), valAccuracy = last(state.val_accuracy);
    const parts = [`Step ${state.step} of ${state.steps}`];
    if (play.losses.length) parts.push(`training loss ${number(last(play.losses), 4)}`);
    if (play.val.length) parts.push(`validation loss ${number(last(play.val), 4)}`);
    if (accuracy !== null && accuracy !== undefined) parts.push(`accuracy ${(100 * accuracy).toFixed(1)}%`);
    if (valAccuracy !== null && valAccuracy !== undefined) parts.push(`validation ${(100 * valAccuracy).toFixed(1)}%`);
    parts.push(state.done ? "finished" : state.paused ? "paused" : "training…");
    $("train-status").textContent = parts.join(" · ");
    $("train-status").dataset.step = state.step;
    $("train-status").dataset.done = String(state.done);
    $("train-status").dataset.loss = last(play.losses) ?? "";
    showError($("train-error"), state.error ? new Error(state.error) : null);
    $("tr-pause").disabled = state.done;
    $("tr-pause").textContent = state.paused ? "Resume" : "Pause";
    drawBoundary();
    drawLosses();
  }

  const COLORS = { zero: [230, 120, 40], one: [40, 110, 200] };

  function drawBoundary() {
    const canvas = $("boundary"), context = canvas.getContext("2d");
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (!play.data) return;
    const [x0, x1, y0, y1] = play.data.extent;
    if (play.boundary) {
      const n = play.boundary.size, cell = canvas.width / n;
      play.boundary.values.forEach((row, i) => row.forEach((p, j) => {
        const mix = (k) => Math.round(255 + (p * COLORS.one[k] + (1 - p) * COLORS.zero[k] - 255) * 0.45);
        context.fillStyle = `rgb(${mix(0)}, ${mix(1)}, ${mix(2)})`;
        context.fillRect(j * cell, i * cell, cell + 1, cell + 1);
      }));
    }
    const at = (point) => [(point[0] - x0) / (x1 - x0) * canvas.width, (y1 - point[1]) / (y1 - y0) * canvas.height];
    for (const [which, filled] of [["train", true], ["validation", false]]) {
      const set = play.data[which];
      set.x.forEach((point, index) => {
        const [px, py] = at(point);
        const color = set.y[index] ? COLORS.one : COLORS.zero;
        context.beginPath();
        context.arc(px, py, filled ? 3.5 : 4, 0, 2 * Math.PI);
        context.strokeStyle = `rgb(${color.join(",")})`;
        context.fillStyle = context.strokeStyle;
        context.lineWidth = 1.5;
        if (filled) context.fill(); else context.stroke();
        if (play.picked && play.picked.set === which && play.picked.index === index) {
          context.beginPath();
          context.arc(px, py, 8, 0, 2 * Math.PI);
          context.strokeStyle = "#000";
          context.stroke();
        }
      });
    }
  }

  function drawLosses() {
    const canvas = $("loss-chart"), context = canvas.getContext("2d");
    const width = canvas.width, height = canvas.height, pad = 34;
    context.clearRect(0, 0, width, height);
    const all = play.losses.concat(play.val).filter((v) => v !== null);
    if (!all.length) return;
    const top = Math.max(...all), steps = Math.max(play.losses.length, 2);
    context.strokeStyle = "#999";
    context.beginPath();
    context.moveTo(pad, 8);
    context.lineTo(pad, height - pad);
    context.lineTo(width - 8, height - pad);
    context.stroke();
    context.fillStyle = "#444";
    context.font = "11px sans-serif";
    context.fillText(number(top, 3), 2, 14);
    context.fillText("0", pad - 12, height - pad);
    context.fillText(`epoch ${play.losses.length}`, width - 80, height - pad + 16);
    const line = (values, color) => {
      context.strokeStyle = color;
      context.lineWidth = 2;
      context.beginPath();
      values.forEach((value, index) => {
        const x = pad + index / (steps - 1) * (width - pad - 8);
        const y = height - pad - (value / top) * (height - pad - 8);
        if (index === 0) context.moveTo(x, y); else context.lineTo(x, y);
      });
      context.stroke();
    };
    line(play.losses, "#1f6fb2");
    line(play.val, "#d9822b");
  }

  function pickSample(event) {
    if (!play.data) return;
    const canvas = $("boundary"), box = canvas.getBoundingClientRect();
    const [x0, x1, y0, y1] = play.data.extent;
    const px = (event.clientX - box.left) / box.width * canvas.width;
    const py = (event.clientY - box.top) / box.height * canvas.height;
    let best = null;
    for (const which of ["train", "validation"]) {
      play.data[which].x.forEach((point, index) => {
        const qx = (point[0] - x0) / (x1 - x0) * canvas.width, qy = (y1 - point[1]) / (y1 - y0) * canvas.height;
        const distance = Math.hypot(px - qx, py - qy);
        if (distance < 10 && (!best || distance < best.distance)) best = { set: which, index, distance };
      });
    }
    if (best) {
      $("tr-sample").value = best.index;
      $("tr-sample-set").value = best.set;
      explainSample();
    }
  }

  async function explainSample() {
    if (!play.id) { showError($("train-error"), new Error("start (or step) a training session first")); return; }
    const request = { set: $("tr-sample-set").value, index: Number($("tr-sample").value) };
    play.picked = request;
    drawBoundary();
    try {
      const data = await api("POST", `api/train/${encodeURIComponent(play.id)}/explain`, request);
      const page = await api("POST", `api/train/${encodeURIComponent(play.id)}/explain`, { ...request, format: "html" });
      showError($("train-error"), null);
      renderSummary($("sample-summary"), data);
      $("sample-frame").hidden = false;
      $("sample-frame").srcdoc = page;
    } catch (error) {
      showError($("train-error"), error);
    }
  }

  function setupTrain(info) {
    const fill = (id, options, chosen) => {
      for (const option of options) $(id).append(el("option", { value: option }, option));
      $(id).value = chosen;
    };
    fill("tr-dataset", info.training.datasets, "moons");
    fill("tr-activation", info.training.activations, "tanh");
    fill("tr-loss", info.training.losses, "bce_with_logits");
    fill("tr-optimizer", info.training.optimizers, "sgd");
    fill("tr-mode", info.training.modes, "batch");
    const guarded = (action) => async () => {
      try { await action(); showError($("train-error"), null); } catch (error) { showError($("train-error"), error); }
    };
    $("tr-start").addEventListener("click", guarded(() => startSession(false)));
    $("tr-pause").addEventListener("click", guarded(async () => {
      if (!play.id) return;
      const action = play.state && play.state.paused ? "resume" : "pause";
      onTrainState(await api("POST", `api/train/${encodeURIComponent(play.id)}/control`, { action }));
    }));
    $("tr-step").addEventListener("click", guarded(async () => {
      if (!play.id || (play.state && play.state.done)) await startSession(true);
      else if (play.state && !play.state.paused) {
        onTrainState(await api("POST", `api/train/${encodeURIComponent(play.id)}/control`, { action: "pause" }));
      }
      onTrainState(await api("POST", `api/train/${encodeURIComponent(play.id)}/control`, { action: "step" }));
    }));
    $("tr-reset").addEventListener("click", guarded(async () => {
      await stopSession();
      Object.assign(play, { data: null, losses: [], val: [], boundary: null, state: null, picked: null });
      $("train-status").textContent = "Not started.";
      $("sample-summary").replaceChildren();
      $("sample-frame").hidden = true;
      drawBoundary();
      drawLosses();
    }));
    $("tr-explain").addEventListener("click", explainSample);
    $("boundary").addEventListener("click", pickSample);
    window.addEventListener("pagehide", () => { if (play.source) play.source.close(); });
  }

  // -- exercises ----------------------------------------------------------------------------------------

  async function newWorksheet() {
    const form = $("worksheet");
    try {
      const sheet = await api("POST", "api/worksheet", explainRequest());
      showError($("ex-error"), null);
      $("ex-report").hidden = true;
      form.replaceChildren(el("h2", {}, `Worksheet: ${sheet.title}`));
      if (sheet.description) form.append(el("p", {}, sheet.description));
      let count = 0;
      sheet.parts.forEach((part, number) => {
        const block = el("fieldset", { class: "ws-part" });
        block.append(el("legend", {}, `${number + 1}. ${part.title}`));
        if (part.intro) block.append(el("p", { class: "hint" }, part.intro));
        for (const item of part.items) {
          if (item.type === "line") {
            const line = el("div", { class: "ws-line" });
            line.append(el("div", { class: "ws-equation" }, item.text));
            for (const blank of item.blanks) {
              if (!blank.step) continue;
              const id = `answer-${count++}`;
              const input = el("input", { id, type: "text", inputmode: "decimal", "data-step": blank.step });
              line.append(el("label", { for: id }, blank.step), input);
            }
            block.append(line);
          } else {
            block.append(el("p", { class: item.type === "given" ? "ws-given" : "hint" }, item.text));
          }
        }
        form.append(block);
      });
      $("ex-check").disabled = count === 0;
    } catch (error) {
      showError($("ex-error"), error);
    }
  }

  async function checkAnswers() {
    const answers = {};
    for (const input of document.querySelectorAll("#worksheet input[data-step]")) {
      const raw = input.value.trim().replace("−", "-");
      if (raw !== "") answers[input.dataset.step] = raw;
    }
    try {
      const result = await api("POST", "api/check", { ...explainRequest(), answers });
      showError($("ex-error"), null);
      $("ex-report").hidden = false;
      $("ex-report").textContent = result.report;
      const status = Object.fromEntries(result.verdicts.map((verdict) => [verdict.step, verdict.status]));
      for (const input of document.querySelectorAll("#worksheet input[data-step]")) {
        input.dataset.status = status[input.dataset.step] || "";
        input.setAttribute("aria-invalid", String(status[input.dataset.step] === "wrong"));
      }
    } catch (error) {
      showError($("ex-error"), error);
    }
  }

  function setupExercises() {
    $("ex-new").addEventListener("click", newWorksheet);
    $("ex-check").addEventListener("click", checkAnswers);
    $("worksheet").addEventListener("submit", (event) => { event.preventDefault(); checkAnswers(); });
  }

  // -- start --------------------------------------------------------------------------------------------

  async function start() {
    setupTabs();
    const state = loadState();
    try {
      const info = await api("GET", "api/info");
      setupExplore(info, state);
      setupTrain(info);
      setupExercises();
      if (state && TABS.includes(state.tab)) selectTab(state.tab);
    } catch (error) {
      showError($("explore-error"), error);
    }
  }

  start();
})();
