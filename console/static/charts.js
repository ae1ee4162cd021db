// Draws the charts of the 营销 and 报表 pages from JSON the server embedded (no inline script, no network calls).
(function () {
  "use strict";
  var charts = [];

  function bars(id, labels, values, horizontal) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var chart = echarts.init(node);
    var category = { type: "category", data: labels, axisLabel: { interval: 0 } };
    var value = { type: "value", minInterval: 1 };
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: horizontal ? 160 : 40, right: 24, top: 16, bottom: 28 },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? Object.assign(category, { inverse: true }) : value,
      series: [{ type: "bar", data: values, label: { show: true, position: horizontal ? "right" : "top" } }],
    });
    charts.push(chart);
  }

  function lines(id, data) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var chart = echarts.init(node);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 24, top: 32, bottom: 28 },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value" },
      series: data.series.map(function (s) {
        return { name: s.name, type: data.kind || "line", data: s.values, connectNulls: true, showSymbol: true };
      }),
    });
    charts.push(chart);
  }

  var funnel = document.getElementById("funnel-data");
  if (funnel) {
    var f = JSON.parse(funnel.textContent);
    bars("chart-funnel", f.labels, f.values, true);
  }
  var report = document.getElementById("report-data");
  if (report) { lines("chart-report", JSON.parse(report.textContent)); }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
