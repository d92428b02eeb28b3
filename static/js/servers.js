// The server pages' small behaviours. Everything here is an enhancement: each page works
// without it (copy buttons stay hidden, the server checks the typed name, the create
// guard on the server stops a second submit).
(function () {
  "use strict";

  // Copy an IP address. Buttons are rendered hidden and shown only where this can work.
  function showCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    var label = button.firstChild;
    var original = label.nodeValue;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      label.nodeValue = button.dataset.copied || original;
      button.classList.add("copied");
      setTimeout(function () {
        label.nodeValue = original;
        button.classList.remove("copied");
      }, 1500);
    });
  });

  // Delete: the button only says yes once the name typed matches.
  function wireDeleteForms(root) {
    root.querySelectorAll("form[data-confirm-name]").forEach(function (form) {
      var input = form.querySelector("input[name=name]");
      var button = form.querySelector("button[type=submit]");
      if (!input || !button) return;
      var update = function () {
        button.disabled = input.value.trim() !== form.dataset.confirmName;
      };
      input.addEventListener("input", update);
      update();
    });
  }

  // A form marked data-once sends once: a double click must not post twice.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-once]")) return;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.classList.add("is-busy");
      button.setAttribute("aria-disabled", "true");
    });
  });
  // Coming back to the page (back button, bfcache) must give a usable form again;
  // the server's one-time token still stops the same form from creating twice.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once][data-sent]").forEach(function (form) {
      delete form.dataset.sent;
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.classList.remove("is-busy");
        button.removeAttribute("aria-disabled");
      });
    });
  });

  function init(root) {
    showCopyButtons(root);
    wireDeleteForms(root);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  // Fragments swapped in by htmx (the detail card after a power action).
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
