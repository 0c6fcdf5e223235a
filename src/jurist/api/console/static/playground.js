// Jurist console, the Playground: shows the fields of the chosen mode, adds and removes conversation
// turns and criteria rows (from the page's <template>s), copies the curl / Python snippets, and submits
// the form with Ctrl+Enter. The form works without it (every field is shown); the result is the server's.
"use strict";
(function () {
  const form = document.getElementById("playground-form");
  if (!form) return;

  function showMode() {
    const checked = form.querySelector('input[name="mode"]:checked');
    const mode = checked ? checked.value : "single";
    form.dataset.mode = mode;
    for (const block of form.querySelectorAll("[data-modes]")) {
      block.hidden = !block.dataset.modes.split(" ").includes(mode);
    }
  }

  // Rows are numbered 1, 2, … in their ids, labels and buttons' names (kept in step after a removal).
  function renumber(list) {
    list.querySelectorAll(".row").forEach((row, i) => {
      const n = String(i + 1);
      for (const node of row.querySelectorAll("[id]")) node.id = node.id.replace(/-(\d+|N)$/, "-" + n);
      for (const node of row.querySelectorAll("label[for]")) {
        node.htmlFor = node.htmlFor.replace(/-(\d+|N)$/, "-" + n);
        node.textContent = node.textContent.replace(/ (\d+|N) /, " " + n + " ");
      }
      for (const node of row.querySelectorAll("[aria-label]")) {
        node.setAttribute("aria-label", node.getAttribute("aria-label").replace(/(\d+|N)$/, n));
      }
    });
  }

  function addRow(list) {
    const template = document.getElementById(list.dataset.template);
    list.append(template.content.cloneNode(true));
    renumber(list);
    const rows = list.querySelectorAll(".row");
    const first = rows[rows.length - 1].querySelector("input, select, textarea");
    if (first) first.focus();
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "mode") showMode();
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("add")) {
      addRow(document.getElementById(button.dataset.target));
    } else if (button.classList.contains("remove")) {
      const list = button.closest("[data-template]");
      button.closest(".row").remove();
      renumber(list);
      const next = list.parentElement.querySelector("button.add");
      if (next) next.focus();
    }
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", () => {
    const run = document.getElementById("run");
    run.textContent = "Judging…";
    run.setAttribute("aria-busy", "true");
  });

  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent;
      const note = document.querySelector('.copied[data-for="' + button.dataset.copy + '"]');
      try {
        await navigator.clipboard.writeText(text);
        note.textContent = "Copied.";
      } catch (e) {
        note.textContent = "Copying is not allowed here: select the text below.";
      }
    });
  }
  showMode();
})();
