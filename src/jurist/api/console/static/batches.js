// Jurist console, batches: create a batch from a dropped (or chosen) JSONL file, and keep the progress of
// the batches on the page live (a poll of /console/batches/progress every second while any is running).
"use strict";
(function () {
  const POLL_MS = 1000;

  function setUpUpload() {
    const form = document.getElementById("batch-form");
    if (!form) return;
    const zone = document.getElementById("dropzone");
    const input = document.getElementById("batch-file");
    const error = document.getElementById("upload-error");
    const button = document.getElementById("batch-create");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      if (!e.dataTransfer || !e.dataTransfer.files.length) return;
      input.files = e.dataTransfer.files; // the dropped file goes through the same input
      form.requestSubmit();
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      if (!input.files.length) { error.textContent = "Choose or drop a JSONL file first."; error.hidden = false; return; }
      button.disabled = true;
      try {
        const resp = await window.jurist.call("POST", form.dataset.action, new FormData(form), false);
        if (resp.ok && resp.data && resp.data.url) { window.location.assign(resp.data.url); return; }
        const message = resp.data && resp.data.error ? resp.data.error.message : `Upload failed (HTTP ${resp.status}).`;
        error.textContent = message;
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  }

  function show(box, p) {
    const put = (field, value) => box.querySelectorAll(`[data-field="${field}"]`).forEach((n) => { n.textContent = String(value); });
    for (const field of ["completed", "failed", "total", "rate", "eta", "status"]) put(field, p[field]);
    box.querySelectorAll('[data-field="status"]').forEach((n) => { n.className = `badge ${p.badge}`; });
    box.querySelectorAll('progress[data-field="bar"]').forEach((bar) => {
      bar.max = p.total || 1;
      bar.value = p.done;
      bar.textContent = `${p.done} / ${p.total}`;
    });
    box.dataset.final = JSON.stringify(p.final);
  }

  function running() {
    return Array.from(document.querySelectorAll("[data-batch]")).filter((n) => n.dataset.final === "false");
  }

  async function poll() {
    const boxes = running();
    if (!boxes.length) return;
    const query = boxes.map((n) => `id=${encodeURIComponent(n.dataset.batch)}`).join("&");
    try {
      const resp = await fetch(`/console/batches/progress?${query}`, { credentials: "same-origin" });
      if (resp.ok) {
        const data = await resp.json();
        for (const p of data.batches) {
          for (const box of boxes.filter((n) => n.dataset.batch === p.id)) {
            show(box, p);
            if (p.final && box.dataset.reload === "true") { window.location.reload(); return; }
          }
        }
      }
    } catch (e) {
      // a dropped connection: try again at the next tick
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    setUpUpload();
    if (running().length) window.setTimeout(poll, POLL_MS);
  });
})();
