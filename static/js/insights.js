// Draws every <canvas data-chart="id"> from the JSON in <script id="id">, again after each htmx swap.
(function () {
  // Amounts arrive in the currency's major unit; the axis and tooltips show them as people write money.
  function moneyAxis(config) {
    var money = config.money;
    delete config.money;
    var format = new Intl.NumberFormat(document.documentElement.lang || "en", {
      style: "currency", currency: money.currency, minimumFractionDigits: 0, maximumFractionDigits: money.digits,
    });
    var options = config.options;
    options.scales = options.scales || {};
    options.scales[money.axis] = Object.assign({}, options.scales[money.axis]);
    options.scales[money.axis].ticks = Object.assign({}, options.scales[money.axis].ticks, {
      callback: function (value) { return format.format(value); },
    });
    options.plugins = Object.assign({}, options.plugins);
    options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          var value = money.axis === "x" ? item.parsed.x : item.parsed.y;
          return item.dataset.label + ": " + format.format(value);
        },
      },
    };
  }

  function draw(root) {
    if (typeof Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      var existing = Chart.getChart(canvas);
      if (existing) existing.destroy();
      var config = JSON.parse(source.textContent);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      if (config.money) moneyAxis(config);
      new Chart(canvas, config);
    });
  }
  // "From – to…" shows the two days; the page is asked for only once both are given.
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest(".insight-filters");
    var period = form && form.querySelector("[name=period]");
    var range = form && form.querySelector(".custom-range");
    if (!period || !range) return;
    range.hidden = period.value !== "custom";
    if (period.value === "custom") {
      var first = form.querySelector("[name=date_from]").value;
      var last = form.querySelector("[name=date_to]").value;
      if (!first || !last) event.stopPropagation();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
