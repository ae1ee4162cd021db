// Draws the 概览 charts from the JSON the server embedded in the page (no inline script, no network calls).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var statusNames = { open: "处理中", pending: "挂起", solved: "已解决", closed: "已关闭" };
  var charts = [];

  // A chart with nothing to show is a line of text the server wrote instead of its plot.
  function line(id, name, values, extra) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var chart = echarts.init(node);
    var series = Object.assign({ name: name, type: "line", smooth: true, data: values, connectNulls: true }, extra || {});
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 16, top: 16, bottom: 28 },
      xAxis: { type: "category", data: data.days },
      yAxis: id === "chart-csat" ? { type: "value", min: 0, max: 5, interval: 1 } : { type: "value", minInterval: 1 },
      series: [series],
    });
    charts.push(chart);
  }

  line("chart-new", "新客户", data.new_customers, { type: "bar", smooth: false });
  line("chart-messages", "消息", data.messages, { areaStyle: {}, showSymbol: false });
  // A day with one answer is a lone point between gaps: draw its symbol or nothing would show.
  line("chart-csat", "平均满意度", data.csat, { showSymbol: true, showAllSymbol: true, symbolSize: 8 });

  var pieNode = document.getElementById("chart-tickets");
  if (pieNode) {
    var pie = echarts.init(pieNode);
    pie.setOption({
      tooltip: { trigger: "item" },
      series: [{
        type: "pie",
        radius: ["40%", "70%"],
        label: { formatter: "{b} {c}" },
        data: Object.keys(data.tickets_by_status).map(function (k) {
          return { name: statusNames[k] || k, value: data.tickets_by_status[k] };
        }),
      }],
    });
    charts.push(pie);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
