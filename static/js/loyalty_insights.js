// Charts of the loyalty insights page; the numbers come from the page's JSON script tag.
(function () {
  const source = document.getElementById("loyalty-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  // Amounts in the currency's major unit, as people write them: "€1,800.00", "₩18,000".
  const money = new Intl.NumberFormat(document.documentElement.lang || "en", {
    style: "currency", currency: data.currency, maximumFractionDigits: data.digits, minimumFractionDigits: 0,
  });
  const liability = document.getElementById("liability-chart");
  if (liability) {
    new Chart(liability, {
      type: "line",
      data: { labels: data.months, datasets: [{ label: "Liability", data: data.liability, fill: true, tension: 0.2 }] },
      options: {
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => money.format(item.parsed.y) } } },
        scales: { y: { beginAtZero: true, ticks: { callback: (value) => money.format(value) } } },
      },
    });
  }
  const enrolments = document.getElementById("enrolment-chart");
  if (enrolments) {
    new Chart(enrolments, {
      type: "bar",
      data: {
        labels: data.enrolment_months,
        datasets: Object.entries(data.enrolments).map(([channel, counts]) => ({ label: channel, data: counts })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  }
})();
