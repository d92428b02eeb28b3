// What htmx cannot do for the panel (no inline scripts: the pages run under a strict CSP).
// Polling is decided on the server: each live element carries its own next request
// (hx-trigger="load delay:Ns", servers/live.py). Here only: holding it back while the tab
// is hidden, toasts, the confirmation dialog, busy buttons and keeping the focus.
(() => {
  const region = () => document.getElementById("toasts");
  const label = (name, fallback) => (region() && region().dataset[name]) || fallback;
  // The element that made a request, even if it was swapped away since.
  const sourceOf = (evt) => (evt.detail.requestConfig && evt.detail.requestConfig.elt) || evt.detail.elt;
  const isLive = (elt) => !!elt && elt.nodeType === 1 && elt.hasAttribute("data-live");

  // --- Paused while hidden: the request is held, and asked for once the tab is back. ---
  document.addEventListener("htmx:beforeRequest", (evt) => {
    const elt = sourceOf(evt);
    if (isLive(elt) && document.hidden) {
      evt.preventDefault();
      elt.dataset.held = "true";
    } else if (elt.matches && elt.matches("form.power-form")) {
      if (elt.contains(document.activeElement)) elt.dataset.hadFocus = "true";
      setBusy(elt, true);
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && document.querySelector("[data-live][data-held]")) {
      htmx.trigger(document.body, "panel:wake");
    }
  });

  // --- Toasts (HX-Trigger "panel:toast" {message, level}) ---
  function toast(message, level, detail) {
    const box = region();
    if (!box || !message) return;
    const item = document.createElement("div");
    item.className = `toast toast-${level || "info"}`;
    if (level === "error") item.setAttribute("role", "alert");
    const text = document.createElement("p");
    text.textContent = message;
    if (detail) text.append(" ", Object.assign(document.createElement("small"), { textContent: detail }));
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", label("dismissLabel", "Dismiss"));
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(text, close);
    box.append(item);
    while (box.children.length > 4) box.firstElementChild.remove();
    // Errors stay longer; a hovered or focused toast stays until left.
    let timer = setTimeout(() => item.remove(), level === "error" ? 12000 : 6000);
    const hold = () => clearTimeout(timer);
    const release = () => { clearTimeout(timer); timer = setTimeout(() => item.remove(), 3000); };
    item.addEventListener("mouseenter", hold);
    item.addEventListener("mouseleave", release);
    item.addEventListener("focusin", hold);
    item.addEventListener("focusout", release);
  }
  document.addEventListener("panel:toast", (evt) => toast(evt.detail.message, evt.detail.level, evt.detail.detail));

  // --- The confirmation dialog (Stop, Reboot): hx-confirm shown as a <dialog> ---
  document.addEventListener("htmx:confirm", (evt) => {
    const dialog = document.getElementById("confirm-dialog");
    const source = evt.detail.elt;
    if (!evt.detail.question || !dialog || typeof dialog.showModal !== "function") return;
    evt.preventDefault();
    const opener = document.activeElement;
    dialog.querySelector("[data-dialog-title]").textContent = source.dataset.confirmTitle || evt.detail.question;
    dialog.querySelector("[data-dialog-question]").textContent = source.dataset.confirmTitle
      ? source.dataset.confirmDetail || "" : evt.detail.question;
    const ok = dialog.querySelector("button[value=confirm]");
    ok.textContent = source.dataset.confirmButton || ok.dataset.defaultLabel || "OK";
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "confirm" && source.isConnected) evt.detail.issueRequest(true);
      else if (opener && opener.isConnected) opener.focus();
    }, { once: true });
    dialog.showModal();
  });

  // --- Busy buttons: the clicked one says what is happening, the others wait ---
  function setBusy(form, busy) {
    const group = form.closest(".power-actions") || form;
    for (const button of group.querySelectorAll("button")) button.disabled = busy;
    const button = form.querySelector("button");
    const text = button && button.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) return;
    button.classList.toggle("is-busy", busy);
    if (busy) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
    if (busy && button.dataset.busyLabel) {
      button.dataset.idleLabel = text.nodeValue;
      text.nodeValue = button.dataset.busyLabel;
    } else if (!busy && button.dataset.idleLabel) {
      text.nodeValue = button.dataset.idleLabel;
    }
  }

  // --- Focus: a swapped row or card takes the focused button with it; land on the same
  // server again (its first button, else the row or card itself). ---
  let focused = null;
  document.addEventListener("htmx:beforeSwap", (evt) => {
    // A session that ended answers with the login page: never swap it into a fragment.
    const login = label("loginUrl", "");
    const url = evt.detail.xhr && evt.detail.xhr.responseURL;
    if (login && url && new URL(url).pathname === login) {
      evt.detail.shouldSwap = false;
      const elt = sourceOf(evt);
      if (!isLive(elt)) return window.location.assign(url);
      const note = Object.assign(document.createElement("p"), { className: "notice live-paused" });
      note.textContent = label("sessionLabel", "Live updates have stopped.");
      elt.replaceChildren(note);
      return;
    }
    const active = document.activeElement;
    let holder = active && active !== document.body && active.closest("[data-server-id]");
    const source = sourceOf(evt);
    if (!holder && source && source.dataset && source.dataset.hadFocus) holder = source.closest("[data-server-id]");
    focused = holder ? holder.dataset.serverId : null;
  });
  document.addEventListener("htmx:afterSettle", () => {
    const id = focused;
    focused = null;
    const active = document.activeElement;
    if (id === null || (active && active !== document.body && active.isConnected)) return;
    const holder = document.querySelector(`[data-server-id="${CSS.escape(id)}"]`);
    if (!holder) return;
    const button = holder.querySelector(".power-form button:not([disabled])");
    if (button) return button.focus();
    holder.setAttribute("tabindex", "-1");
    holder.focus();
  });
  document.addEventListener("htmx:afterRequest", (evt) => {
    const elt = sourceOf(evt);
    if (elt && elt.matches && elt.matches("form.power-form") && elt.isConnected) setBusy(elt, false);
  });

  // --- Failures of the user's own requests (a 403, a dropped connection) as toasts ---
  document.addEventListener("htmx:responseError", (evt) => {
    if (isLive(sourceOf(evt))) return;
    const status = evt.detail.xhr.status;
    toast(status === 403 ? label("forbiddenLabel", "You are not allowed to do this.")
      : label("errorLabel", "The panel could not do this (HTTP %s).").replace("%s", status), "error");
  });
  document.addEventListener("htmx:sendError", (evt) => {
    if (!isLive(sourceOf(evt))) toast(label("networkLabel", "The panel could not be reached."), "error");
  });
  // The panel itself did not answer a live element (restarting, offline): only then
  // does the page choose when to ask again.
  for (const name of ["htmx:sendError", "htmx:responseError"]) {
    document.addEventListener(name, (evt) => {
      if (isLive(sourceOf(evt))) setTimeout(() => htmx.trigger(document.body, "panel:wake"), 30000);
    });
  }

  // --- Copy buttons (shown only where the clipboard works): data-copy is the text, or
  // "#id" of a field whose value is copied. Fields marked data-select-on-focus select. ---
  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    for (const button of root.querySelectorAll("button[data-copy][hidden]")) button.hidden = false;
  }
  document.addEventListener("click", async (evt) => {
    const button = evt.target.closest("button[data-copy]");
    if (!button) return;
    const field = button.dataset.copy.startsWith("#") && document.querySelector(button.dataset.copy);
    const text = button.firstChild;
    const original = text.nodeValue;
    try {
      await navigator.clipboard.writeText(field ? field.value : button.dataset.copy);
      text.nodeValue = button.dataset.copied || "✓";
    } catch {
      if (field) field.focus();
    }
    setTimeout(() => { text.nodeValue = original; }, 1500);
  });
  document.addEventListener("focusin", (evt) => {
    if (evt.target.matches && evt.target.matches("input[data-select-on-focus]")) evt.target.select();
  });
  document.addEventListener("DOMContentLoaded", () => showCopyButtons(document));
  document.addEventListener("htmx:afterSettle", (evt) => showCopyButtons(evt.target));
})();
