// Review page: the agreement figures (fetched, and fetched again after each label), labels sent without
// a reload, keyboard shortcuts. Caller text goes on the page only as text (textContent / jurist.el).
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const fmt = (x) => (x === null || x === undefined ? "—" : Number(x).toFixed(3));

  async function loadAgreement() {
    const box = $("#agreement");
    if (!box) return;
    const resp = await jurist.call("GET", box.dataset.url);
    if (!resp.ok || !resp.data) {
      $("#agreement-mode").textContent = (resp.data && resp.data.error && resp.data.error.message) || "unavailable";
      return;
    }
    const mode = resp.data.pairwise ? "pairwise" : resp.data.single ? "single" : null;
    const judge = mode ? resp.data[mode].judge : null;
    $("#agreement-accuracy").textContent = judge ? fmt(judge.accuracy) : "—";
    $("#agreement-kappa").textContent = judge ? fmt(judge.cohen_kappa) : "—";
    $("#agreement-n").textContent = judge ? String(judge.n) : "0";
    $("#agreement-mode").textContent = mode ? `(${mode})` : "(no labels yet)";
  }

  async function sendLabel(form, value) {
    const status = $("#label-status");
    status.className = "";
    status.textContent = "Saving…";
    const body = {
      custom_id: form.elements.custom_id.value,
      label: value,
      annotator: form.elements.annotator.value,
      note: form.elements.note.value,
    };
    const resp = await jurist.call("POST", form.action, body);
    if (!resp.ok) {
      status.className = "error";
      status.textContent = (resp.data && resp.data.error && resp.data.error.message) || `Error ${resp.status}`;
      return;
    }
    const label = resp.data.label;
    status.className = "ok";
    status.textContent = `Saved: ${label.annotator} → ${label.label}`;
    const list = $("#line-labels");
    for (const item of Array.from(list.children)) {
      if (item.dataset.annotator === label.annotator) item.remove();
    }
    const note = label.note ? ` — ${label.note}` : "";
    list.append(jurist.el("li", { "data-annotator": label.annotator }, `${label.annotator}: `,
      jurist.el("strong", { text: String(label.label) }), note));
    await loadAgreement();
  }

  function typing(target) {
    return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("#label-form");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const value = event.submitter ? event.submitter.value : "";
        if (value) sendLabel(form, value);
      });
    }
    document.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      const key = event.key;
      if (key === "j" || key === "ArrowRight") {
        const next = $("#next");
        if (next) { event.preventDefault(); window.location.assign(next.href); }
      } else if (key === "k" || key === "ArrowLeft") {
        const prev = $("#prev");
        if (prev) { event.preventDefault(); window.location.assign(prev.href); }
      } else if (form) {
        const button = form.querySelector(`button[data-key="${CSS.escape(key)}"]`);
        if (button) { event.preventDefault(); sendLabel(form, button.value); }
      }
    });
    loadAgreement();
  });
})();
