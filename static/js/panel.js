// Panel behaviour lives here (no inline scripts: the pages run under a strict CSP).

// --- Teams: the invitation link's Copy button (shown only when scripts run) ---
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-select-on-focus]")) {
    input.addEventListener("focus", () => input.select());
  }
  for (const button of document.querySelectorAll("button[data-copy]")) {
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
