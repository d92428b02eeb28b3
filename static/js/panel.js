// Panel behaviour lives here (no inline scripts: the pages run under a strict CSP).

// --- Teams: the invitation link's Copy button (shown only when scripts run) ---
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-select-on-focus]")) {
    input.addEventListener("focus", () => input.select());
  }
  // Only buttons whose data-copy names a field ("#id"): the server page's copy buttons
  // carry the text itself (static/js/servers.js), which is no selector.
  for (const button of document.querySelectorAll('button[data-copy^="#"]')) {
    const field = document.querySelector(button.dataset.copy);
    if (!field || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(field.value);
        button.textContent = button.dataset.copied || "✓";
      } catch {
        field.focus();
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
});

// --- Servers: power actions, toasts and the live status (servers/power.py) ---
//
// Everything here reacts to htmx events; the markup only carries data- attributes and
// hx-* attributes, never inline handlers (CSP). The server talks back through HX-Trigger:
//   panel:toast       {message, level}   a toast in #toasts
//   panel:poll-error  {retryAfter}       VPS.org failed: back off before the next poll
//   panel:poll-stop   {}                 the token is unusable: stop polling (banner shown)
//
// Polling has ONE clock per page. Badges in transition ([data-transition]) either poll
// themselves ([data-poll], the detail card) or are watched by the list page's single
// #status-poller, which asks for all of them in one request. The clock fires the
// "panel:poll" trigger: every 2 s at first, then 5 s, then 12 s for long transitions,
// paused while the tab is hidden, backing off on errors, giving up after a bound with a
// hint to refresh.
(() => {
  const CONFIG = Object.assign(
    {
      fastDelay: 2000, // ms between polls at first...
      fastFor: 30000, // ...for this long after the transition began,
      midDelay: 5000,
      midFor: 120000,
      slowDelay: 12000, // then this, within the 10-15 s the issue asks for
      errorMaxDelay: 60000,
      giveUpAfter: 15 * 60 * 1000, // provisioning takes 2-5 minutes; 15 is plenty
      toastMax: 4,
    },
    // Tests (and the curious) may shorten these without touching this file.
    window.PANEL_POLL_CONFIG || {},
  );

  const poll = {
    timer: null,
    started: 0,
    errors: 0,
    erredThisRound: false,
    minDelay: 0,
    inflight: 0,
    inflightSince: 0,
    paused: false,
    stopped: false,
  };

  const region = () => document.getElementById("toasts");
  const label = (name, fallback) => (region() && region().dataset[name]) || fallback;

  // --- toasts ---------------------------------------------------------------------------
  function toast(message, level) {
    const box = region();
    if (!box || !message) return;
    const item = document.createElement("div");
    item.className = `toast toast-${level || "info"}`;
    if (level === "error") item.setAttribute("role", "alert");
    const text = document.createElement("p");
    text.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", label("dismissLabel", "Dismiss"));
    close.textContent = "×";
    close.addEventListener("click", () => item.remove());
    item.append(text, close);
    box.append(item);
    while (box.children.length > CONFIG.toastMax) box.firstElementChild.remove();
    // Errors stay longer; hovering or focusing keeps a toast until the pointer leaves.
    const ttl = level === "error" ? 12000 : 6000;
    let timer = setTimeout(() => item.remove(), ttl);
    const hold = () => clearTimeout(timer);
    const release = () => {
      clearTimeout(timer);
      timer = setTimeout(() => item.remove(), 3000);
    };
    item.addEventListener("mouseenter", hold);
    item.addEventListener("mouseleave", release);
    item.addEventListener("focusin", hold);
    item.addEventListener("focusout", release);
  }

  document.addEventListener("panel:toast", (evt) => toast(evt.detail.message, evt.detail.level));

  // --- confirmation dialog (Stop, Reboot) ------------------------------------------------
  // htmx asks before a request whose element has hx-confirm; we answer with a <dialog>
  // naming the server instead of the browser's confirm() (which stays the fallback).
  document.addEventListener("htmx:confirm", (evt) => {
    const question = evt.detail.question;
    const dialog = document.getElementById("confirm-dialog");
    if (!question || !dialog || typeof dialog.showModal !== "function") return;
    evt.preventDefault();
    const source = evt.detail.elt;
    const opener = document.activeElement;
    dialog.querySelector("[data-dialog-title]").textContent =
      source.dataset.confirmTitle || question;
    // The title names the server; the text says what follows. Without a title the
    // whole question (htmx's own, for window.confirm) is the text.
    dialog.querySelector("[data-dialog-question]").textContent = source.dataset.confirmTitle
      ? source.dataset.confirmDetail || ""
      : question;
    const ok = dialog.querySelector("button[value=confirm]");
    ok.textContent = source.dataset.confirmButton || ok.dataset.defaultLabel || "OK";
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue === "confirm" && source.isConnected) {
          evt.detail.issueRequest(true);
        } else if (opener && opener.isConnected) {
          opener.focus();
        }
      },
      { once: true },
    );
    dialog.showModal();
  });

  // --- busy buttons ----------------------------------------------------------------------
  function setBusy(form, busy) {
    const group = form.closest(".power-actions") || form;
    for (const button of group.querySelectorAll("button")) button.disabled = busy;
    const button = form.querySelector("button");
    if (!button) return;
    const text = button.firstChild;
    if (busy) {
      button.setAttribute("aria-busy", "true");
      button.classList.add("is-busy");
      if (text && text.nodeType === Node.TEXT_NODE && button.dataset.busyLabel) {
        button.dataset.idleLabel = text.nodeValue;
        text.nodeValue = button.dataset.busyLabel;
      }
    } else {
      button.removeAttribute("aria-busy");
      button.classList.remove("is-busy");
      if (text && text.nodeType === Node.TEXT_NODE && button.dataset.idleLabel) {
        text.nodeValue = button.dataset.idleLabel;
      }
    }
  }

  // --- the polling clock -----------------------------------------------------------------
  // The element that made the request. htmx sets detail.elt to wherever it fires an
  // event: for a request whose element was swapped away (a badge, a row's form), that
  // is a surviving ancestor, so detail.elt alone would lose track of it.
  const sourceOf = (evt) =>
    (evt.detail.requestConfig && evt.detail.requestConfig.elt) || evt.detail.elt;

  const isPollSource = (elt) =>
    !!elt && elt.nodeType === 1 && (elt.id === "status-poller" || elt.hasAttribute("data-poll"));

  // Rows in transition that the list's single poller watches (their badges do not poll).
  const watchedBadges = () =>
    Array.from(
      document.querySelectorAll("[data-server-id] [data-status][data-transition]:not([data-poll])"),
    );

  function pollTargets() {
    const targets = [];
    const poller = document.getElementById("status-poller");
    if (poller && watchedBadges().length) targets.push(poller);
    for (const badge of document.querySelectorAll("[data-status][data-transition][data-poll]")) {
      targets.push(badge);
    }
    return targets;
  }

  function nextDelay() {
    const elapsed = Date.now() - poll.started;
    let delay =
      elapsed < CONFIG.fastFor
        ? CONFIG.fastDelay
        : elapsed < CONFIG.midFor
          ? CONFIG.midDelay
          : CONFIG.slowDelay;
    if (poll.errors) delay = Math.min(CONFIG.errorMaxDelay, delay * 2 ** poll.errors);
    return Math.max(delay, poll.minDelay);
  }

  function showHint() {
    const hint = document.getElementById("poll-hint");
    if (hint) hint.hidden = false;
  }

  function stop() {
    clearTimeout(poll.timer);
    poll.timer = null;
    poll.stopped = true;
  }

  function schedule() {
    clearTimeout(poll.timer);
    poll.timer = null;
    if (poll.stopped) return;
    // A request of ours is on its way; its answer schedules the next one. (Unless it
    // vanished without an answer event: then stop waiting for it after a while.)
    if (poll.inflight && Date.now() - poll.inflightSince < 30000) return;
    poll.inflight = 0;
    const targets = pollTargets();
    if (!targets.length) {
      poll.started = 0;
      poll.errors = 0;
      return;
    }
    if (!poll.started) poll.started = Date.now();
    if (Date.now() - poll.started > CONFIG.giveUpAfter) {
      stop();
      showHint();
      return;
    }
    if (document.hidden) {
      poll.paused = true;
      return;
    }
    poll.timer = setTimeout(fire, nextDelay());
  }

  function fire() {
    poll.timer = null;
    if (poll.stopped) return;
    if (document.hidden) {
      poll.paused = true;
      return;
    }
    poll.minDelay = 0;
    const targets = pollTargets();
    for (const target of targets) htmx.trigger(target, "panel:poll");
    if (!targets.length) schedule();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      clearTimeout(poll.timer);
      poll.timer = null;
      poll.paused = true;
    } else if (poll.paused) {
      poll.paused = false;
      fire(); // catch up at once: things may have settled while nobody looked
    }
  });

  // The list's poller sends the rows it watches, read from the page as it is now.
  document.addEventListener("htmx:configRequest", (evt) => {
    if (evt.detail.elt.id !== "status-poller") return;
    const ids = [];
    const names = [];
    for (const badge of watchedBadges()) {
      ids.push(badge.closest("[data-server-id]").dataset.serverId);
      names.push(badge.dataset.name || "");
    }
    evt.detail.parameters.id = ids;
    evt.detail.parameters.name = names;
  });

  document.addEventListener("htmx:beforeRequest", (evt) => {
    const elt = sourceOf(evt);
    if (isPollSource(elt)) {
      if (document.hidden || poll.stopped) {
        evt.preventDefault();
        poll.paused = document.hidden;
        return;
      }
      poll.inflight += 1;
      poll.inflightSince = Date.now();
      poll.erredThisRound = false;
    } else if (elt.matches("form.power-form")) {
      if (elt.contains(document.activeElement)) elt.dataset.hadFocus = "true";
      setBusy(elt, true);
    }
  });

  document.addEventListener("panel:poll-error", (evt) => {
    poll.errors += 1;
    poll.erredThisRound = true;
    const retryAfter = Number(evt.detail.retryAfter);
    if (retryAfter > 0) poll.minDelay = Math.min(300, retryAfter) * 1000;
  });

  document.addEventListener("panel:poll-stop", stop);

  // A session that ended answers with the login page (the XHR follows the redirect):
  // never swap that into a badge or row.
  document.addEventListener("htmx:beforeSwap", (evt) => {
    const login = label("loginUrl", "");
    const url = evt.detail.xhr && evt.detail.xhr.responseURL;
    if (!login || !url || new URL(url).pathname !== login) return;
    evt.detail.shouldSwap = false;
    if (isPollSource(sourceOf(evt))) {
      stop();
      showHint();
    } else {
      window.location.assign(url);
    }
  });

  document.addEventListener("htmx:afterRequest", (evt) => {
    const elt = sourceOf(evt);
    if (isPollSource(elt)) {
      poll.inflight = Math.max(0, poll.inflight - 1);
      if (!evt.detail.successful) {
        poll.errors += 1;
        const status = evt.detail.xhr ? evt.detail.xhr.status : 0;
        // Logged out of the team or lost the right to see it: polling cannot recover.
        if (status === 401 || status === 403) {
          stop();
          showHint();
        }
      } else if (!poll.erredThisRound) {
        poll.errors = 0;
      }
      schedule();
      return;
    }
    if (elt && elt.matches && elt.matches("form.power-form")) {
      if (elt.isConnected) setBusy(elt, false);
      // A new transition starts now: poll fast again, even after an earlier give-up.
      poll.started = 0;
      poll.errors = 0;
      poll.stopped = false;
      const hint = document.getElementById("poll-hint");
      if (hint) hint.hidden = true;
    }
    schedule();
  });

  // --- focus --------------------------------------------------------------------------
  // A swapped row or card takes the focused button with it (the one just clicked, or a
  // row the poller replaced). Keyboard and screen-reader users then land on the same
  // server again: its first button if it has one, else the row or card itself.
  let focusedServer = null;
  document.addEventListener("htmx:beforeSwap", (evt) => {
    const active = document.activeElement;
    let holder = active && active !== document.body && active.closest("[data-server-id]");
    // The clicked button was disabled while busy, which took the focus away from it.
    const source = sourceOf(evt);
    if (!holder && source && source.dataset && source.dataset.hadFocus) {
      holder = source.closest("[data-server-id]");
    }
    focusedServer = holder ? holder.dataset.serverId : null;
  });
  document.addEventListener("htmx:afterSettle", () => {
    if (focusedServer === null) return;
    const id = focusedServer;
    focusedServer = null;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    const holder = document.querySelector(`[data-server-id="${CSS.escape(id)}"]`);
    if (!holder) return;
    const button = holder.querySelector(".power-form button:not([disabled])");
    if (button) {
      button.focus();
    } else {
      holder.setAttribute("tabindex", "-1");
      holder.focus();
    }
  });

  // Failures of non-polling requests (a 403, a dropped connection) become toasts.
  document.addEventListener("htmx:responseError", (evt) => {
    if (isPollSource(sourceOf(evt))) return;
    const status = evt.detail.xhr.status;
    const text =
      status === 403
        ? label("forbiddenLabel", "You are not allowed to do this.")
        : label("errorLabel", "The panel could not do this (HTTP %s).").replace("%s", status);
    toast(text, "error");
  });
  document.addEventListener("htmx:sendError", (evt) => {
    if (isPollSource(sourceOf(evt))) return;
    toast(label("networkLabel", "The panel could not be reached. Check the connection."), "error");
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", schedule);
  } else {
    schedule();
  }
})();
