// The list's bulk selection, where htmx cannot help: "select all on this page" (shown
// only with scripts: without them the "all N matching" box does the same server side),
// and the confirmation of an empty selection (a 400 answer) shown in its panel rather
// than as an error toast. The checkboxes themselves survive the live poller's row swaps
// by hx-preserve (templates/servers/_server.jinja.html).
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

  document.addEventListener("htmx:beforeSwap", (evt) => {
    const target = evt.detail.target;
    if (evt.detail.xhr.status === 400 && target && target.id === "bulk-panel") {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });
})();
