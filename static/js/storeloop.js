// Every page: a wide table scrolls inside its own box on a phone, and that box can be scrolled with the keyboard.
(function () {
  function boxTables(root) {
    root.querySelectorAll("main table").forEach(function (table) {
      var box = table.parentElement;
      if (!box.classList.contains("overflow-auto")) {
        box = document.createElement("div");
        box.className = "overflow-auto";
        table.parentNode.insertBefore(box, table);
        box.appendChild(table);
      }
    });
    labelScrollingBoxes();
  }

  // A box that scrolls is a region a keyboard can reach and a screen reader can name.
  function labelScrollingBoxes() {
    document.querySelectorAll("main .overflow-auto").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        var table = box.querySelector("table");
        var caption = table && table.caption ? table.caption.textContent.trim() : "";
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", caption || "Table (scrolls sideways)");
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { boxTables(document); });
  document.addEventListener("htmx:afterSettle", function (event) { boxTables(event.target); });
  window.addEventListener("resize", labelScrollingBoxes);
})();
