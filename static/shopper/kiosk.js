/* Kiosk pages clear themselves for the next shopper.
   After data-idle-seconds without a touch or key, and data-reset-seconds after a finished signup,
   the page goes back to data-home-url (the first page, in the store's language), replacing
   this page in the history so "back" cannot bring the previous shopper's answers again.
   The card reader's integration calls storeloopKiosk.cardRead({id, lastFour, scheme}). */
(function () {
  "use strict";
  var body = document.body;
  var home = body.getAttribute("data-home-url");
  var idle = parseInt(body.getAttribute("data-idle-seconds") || "60", 10) * 1000;
  var after = parseInt(body.getAttribute("data-reset-seconds") || "0", 10) * 1000;
  var timer;

  function reset() {
    Array.prototype.forEach.call(document.forms, function (form) { form.reset(); });
    window.location.replace(home);
  }
  function arm() {
    clearTimeout(timer);
    timer = setTimeout(reset, idle);
  }
  ["pointerdown", "keydown", "input", "wheel", "touchstart"].forEach(function (name) {
    window.addEventListener(name, arm, { passive: true, capture: true });
  });
  arm();
  if (after > 0) { setTimeout(reset, after); }
  // Came back from the browser's history cache: start afresh.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { reset(); } });

  window.storeloopKiosk = {
    reset: reset,
    cardRead: function (card) {
      var box = document.getElementById("card-link");
      if (!box || !card || !card.id) { return; }
      document.getElementById("id_card_token").value = card.id;
      document.getElementById("id_card_last_four").value = card.lastFour || "";
      document.getElementById("id_card_scheme").value = card.scheme || "other";
      box.querySelector("[data-last-four]").textContent = card.lastFour || "";
      box.hidden = false;
      arm();
    }
  };
})();
