// A batch's charts (Apache ECharts, vendored): claims and uses per day, online against in store, by store.
// The figures come in the page as JSON; the charts follow the window's width (phone or desktop).
(function () {
  var source = document.getElementById("batch-charts");
  if (!source || !window.echarts) return;
  var page = JSON.parse(source.textContent), data = page.data, labels = page.labels;
  var colours = ["#0b5cad", "#c2410c", "#0f766e"];
  var charts = [];

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) return;
    var chart = echarts.init(element, null, {renderer: "svg"});
    chart.setOption(Object.assign({color: colours, animation: false}, option));
    charts.push(chart);
  }

  draw("chart-days", {
    tooltip: {trigger: "axis"},
    legend: {top: 0},
    grid: {left: 36, right: 12, top: 36, bottom: 28},
    xAxis: {type: "category", data: data.days.map(function (day) { return day.slice(5); })},
    yAxis: {type: "value", minInterval: 1},
    series: [
      {name: labels.claimed, type: "line", data: data.claimed},
      {name: labels.used_online, type: "bar", stack: "used", data: data.used_online},
      {name: labels.used_in_store, type: "bar", stack: "used", data: data.used_in_store}
    ]
  });
  draw("chart-where", {
    tooltip: {trigger: "item"},
    legend: {bottom: 0},
    color: [colours[1], colours[2]],
    series: [{type: "pie", radius: ["40%", "68%"], label: {formatter: "{c}"},
              data: [{name: labels.used_online, value: page.online}, {name: labels.used_in_store, value: page.in_store}]}]
  });
  draw("chart-stores", {
    tooltip: {trigger: "axis"},
    grid: {left: 8, right: 16, top: 8, bottom: 8, containLabel: true},
    xAxis: {type: "value", minInterval: 1},
    yAxis: {type: "category", data: data.stores, inverse: true},
    series: [{name: labels.redeemed, type: "bar", data: data.by_store, color: colours[2]}]
  });
  window.addEventListener("resize", function () { charts.forEach(function (chart) { chart.resize(); }); });
})();
