// Jurist console: small helpers shared by the pages. Caller text is always put on the page as text
// (textContent), never as HTML.
"use strict";
window.jurist = (function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  async function call(method, url, body, isJson = true) {
    const headers = { "X-CSRF-Token": csrf() };
    let payload = body;
    if (body !== undefined && isJson) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    const resp = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    return { ok: resp.ok, status: resp.status, data };
  }
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }
  return { csrf, call, el };
})();
