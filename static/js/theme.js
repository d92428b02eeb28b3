// Loaded in <head> without defer: the saved theme is applied before the first paint, so
// a dark page never flashes light. Without this script the page follows the system
// (prefers-color-scheme in panel.css) and the footer's language button stays.
(function () {
  "use strict";
  var KEY = "panel-theme";
  var root = document.documentElement;

  function saved() {
    try {
      return window.localStorage.getItem(KEY) || "system";
    } catch (e) {
      return "system"; // storage blocked: follow the system
    }
  }

  function apply(theme) {
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    } else {
      root.removeAttribute("data-theme");
    }
  }

  apply(saved());
  root.classList.add("js");

  function wire() {
    // The theme choice: shown only here, since it needs this script to work.
    var select = document.getElementById("theme-switch");
    if (select) {
      select.value = saved();
      select.closest("[data-theme-switch]").hidden = false;
      select.addEventListener("change", function () {
        try {
          if (select.value === "system") {
            window.localStorage.removeItem(KEY);
          } else {
            window.localStorage.setItem(KEY, select.value);
          }
        } catch (e) {
          // Not remembered, but still applied to this page.
        }
        apply(select.value);
      });
    }
    // The language applies as soon as it is chosen (the form's button is hidden by CSS).
    var language = document.getElementById("language-switch");
    if (language && language.form) {
      language.addEventListener("change", function () {
        language.form.requestSubmit ? language.form.requestSubmit() : language.form.submit();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
