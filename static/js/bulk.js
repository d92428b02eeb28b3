// The list's bulk selection, where htmx cannot help: "select all on this page" (shown
// only with scripts: without them the "all N matching" box does the same server side),
// the confirmation of an empty selection (a 400 answer) shown in its panel rather
// than as an error toast, the confirmation's Cancel that closes the panel (no request:
// its link back to the list is for browsers without scripts), and each row's outcome
// cleared once it is old news. The checkboxes and the outcomes survive the live poller's
// row swaps by hx-preserve (templates/servers/_server.jinja.html).
(() => {
  const rows = () => document.querySelectorAll("#results input.bulk-select");

  function sync() {
    const all = document.getElementById("select-page");
    if (!all) return;
    all.hidden = false;
    const boxes = [...rows()];
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  document.addEventListener("change", (evt) => {
    const target = evt.target;
    if (target.id === "select-page") {
      for (const box of rows()) box.checked = target.checked;
    }
    if (target.id === "select-page" || target.matches("input.bulk-select")) sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
  document.addEventListener("htmx:afterSettle", sync);

  document.addEventListener("click", (evt) => {
    const cancel = evt.target.closest("#bulk-panel [data-bulk-cancel]");
    if (!cancel) return;
    evt.preventDefault();
    document.getElementById("bulk-panel").replaceChildren();
    const back = document.querySelector(".bulk-bar button");
    if (back) back.focus();
  });

  // A row's outcome ("Reboot: Done") stays while its server carries the action out; the
  // first live refresh that finds the server settled, OUTCOME_MS or more after the
  // outcome came, clears it.
  const OUTCOME_MS = 5000;
  document.addEventListener("htmx:afterSettle", (evt) => {
    const now = Date.now();
    for (const outcome of document.querySelectorAll("#results .row-outcome[data-outcome]")) {
      if (!outcome.dataset.shownAt) outcome.dataset.shownAt = String(now);
    }
    if (!evt.detail.elt || !evt.detail.elt.closest("[data-live]")) return;
    for (const outcome of document.querySelectorAll("#results .row-outcome[data-shown-at]")) {
      const row = outcome.closest("tr");
      const settled = row && !row.querySelector("[data-transition]");
      if (settled && now - Number(outcome.dataset.shownAt) >= OUTCOME_MS) {
        outcome.replaceChildren();
        outcome.removeAttribute("data-outcome");
        outcome.removeAttribute("data-shown-at");
        outcome.className = "row-outcome";
      }
    }
  });

  document.addEventListener("htmx:beforeSwap", (evt) => {
    const target = evt.detail.target;
    if (evt.detail.xhr.status === 400 && target && target.id === "bulk-panel") {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
