// The create form's enhancements. Without this script the form is complete: every plan is
// shown with its locations, the server checks the pair, and the summary shows what the
// page was rendered with. With it: plans not offered in the chosen location are hidden,
// and the summary follows every choice.
(function () {
  "use strict";

  function init() {
    var form = document.querySelector("form.create-form");
    var summary = form && form.querySelector("[data-create-summary]");
    if (!summary) return;
    var help = document.getElementById("plan-help");

    function show(key, text) {
      var slot = summary.querySelector('[data-summary="' + key + '"]');
      if (!slot) return;
      slot.textContent = text || slot.dataset.empty || "";
      slot.classList.toggle("is-empty", !text);
    }

    function checked(name) {
      return form.querySelector('input[name="' + name + '"]:checked');
    }

    function filterPlans() {
      var place = checked("location");
      var code = place ? place.value : "";
      form.querySelectorAll(".plan-card[data-locations]").forEach(function (card) {
        var offered = !code || !card.dataset.locations ||
          card.dataset.locations.split(" ").indexOf(code) !== -1;
        card.hidden = !offered;
        card.removeAttribute("data-offered");
        var input = card.querySelector("input");
        // A hidden plan must not be sent: it is not offered where the server goes.
        if (!offered && input.checked) input.checked = false;
      });
      if (help) help.textContent = code ? help.dataset.hereText : help.dataset.allText;
    }

    function update() {
      var plan = checked("plan_id");
      var place = checked("location");
      var os = form.querySelector('select[name="os_id"]');
      var name = form.querySelector('input[name="name"]');
      show("plan_id", plan && plan.dataset.summaryText);
      show("monthly", plan && plan.dataset.monthly);
      show("location", place && place.dataset.summaryText);
      show("os_id", os && os.value ? os.options[os.selectedIndex].text : "");
      show("name", name && name.value.trim());
    }

    form.addEventListener("change", function (event) {
      if (event.target.name === "location") filterPlans();
      update();
    });
    form.addEventListener("input", function (event) {
      if (event.target.name === "name") update();
    });
    filterPlans();
    update();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
