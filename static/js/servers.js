// The server forms' small behaviours, each an enhancement: the server checks the typed
// name, and the create guard on the server stops a second submit.
(() => {
  // Delete: the button only says yes once the name typed matches.
  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form[data-confirm-name]")) {
      const input = form.querySelector("input[name=name]");
      const button = form.querySelector("button[type=submit]");
      if (!input || !button) continue;
      const update = () => { button.disabled = input.value.trim() !== form.dataset.confirmName; };
      input.addEventListener("input", update);
      update();
    }
  });

  // A form marked data-once sends once: a double click must not post twice. Coming back
  // to the page (back button, bfcache) gives a usable form again.
  const busy = (form, on) => {
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.classList.toggle("is-busy", on);
      if (on) button.setAttribute("aria-disabled", "true");
      else button.removeAttribute("aria-disabled");
    }
  };
  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (!form.matches || !form.matches("form[data-once]")) return;
    if (form.dataset.sent) return evt.preventDefault();
    form.dataset.sent = "1";
    busy(form, true);
  });
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[data-once][data-sent]")) {
      delete form.dataset.sent;
      busy(form, false);
    }
  });
})();
