// Marketing's report charts (Apache ECharts, vendored): each <script class="chart-data" data-for="ID"> holds
// {kind: "bar"|"hbar"|"line", categories, series: [{name, data}], money?}; money is fen, shown as yuan.
(function () {
  if (!window.echarts) return;
  var colours = ["#0b5cad", "#c2410c", "#0f766e", "#6d28d9"];
  var charts = [];
  function yuan(fen) { return "¥" + (fen / 100).toFixed(2); }
  document.querySelectorAll("script.chart-data").forEach(function (source) {
    var element = document.getElementById(source.dataset.for);
    if (!element) return;
    var spec = JSON.parse(source.textContent);
    var values = {type: "value", minInterval: spec.money ? 100 : 1,
                  axisLabel: spec.money ? {formatter: function (v) { return yuan(v); }} : {}};
    var names = {type: "category", data: spec.categories, inverse: spec.kind === "hbar",
                 axisLabel: {width: 120, overflow: "truncate"}};
    var option = {
      color: colours, animation: false,
      tooltip: {trigger: "axis", valueFormatter: spec.money ? yuan : undefined},
      legend: spec.series.length > 1 ? {top: 0} : undefined,
      grid: {left: 8, right: 16, top: spec.series.length > 1 ? 48 : 12, bottom: 8, containLabel: true},
      xAxis: spec.kind === "hbar" ? values : names,
      yAxis: spec.kind === "hbar" ? names : values,
      series: spec.series.map(function (series) {
        return {name: series.name, type: spec.kind === "line" ? "line" : "bar", data: series.data,
                label: spec.kind === "hbar" ? {show: true, position: "right",
                  formatter: spec.money ? function (p) { return yuan(p.value); } : "{c}"} : undefined};
      })
    };
    var chart = echarts.init(element, null, {renderer: "svg"});
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (chart) { chart.resize(); }); });
})();
