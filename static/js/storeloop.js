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

  // What the table is about: its caption when that is words (not only a download link), else the heading above it.
  function tableName(box) {
    var table = box.querySelector("table");
    var caption = table && table.caption;
    if (caption && !caption.querySelector("a") && caption.textContent.trim()) return caption.textContent.trim();
    var element = box;
    while (element && element !== document.body) {
      var previous = element.previousElementSibling;
      while (previous) {
        if (/^H[1-6]$/.test(previous.tagName)) return previous.textContent.trim();
        previous = previous.previousElementSibling;
      }
      element = element.parentElement;
    }
    return "Table";
  }

  // A box that scrolls is a region a keyboard can reach and a screen reader can name.
  function labelScrollingBoxes() {
    document.querySelectorAll("main .overflow-auto").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", tableName(box) + " (scrolls sideways)");
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
