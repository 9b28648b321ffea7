// The overview's daily charts: one uPlot line per figure, sized to its card, redrawn on resize.
// Data comes from the page (data-chart, rendered by the server from the analytics service).
(function () {
  "use strict";
  var holder = document.getElementById("charts");
  if (!holder || typeof uPlot === "undefined") { return; }
  var data = JSON.parse(holder.getAttribute("data-chart"));
  var plots = [];
  function compact(value) {  // the caption says KES; the axis stays narrow on a phone
    var v = Number(value);
    if (Math.abs(v) >= 1e6) { return (v / 1e6).toLocaleString("en-KE", {maximumFractionDigits: 1}) + "M"; }
    if (Math.abs(v) >= 1e3) { return (v / 1e3).toLocaleString("en-KE", {maximumFractionDigits: 1}) + "k"; }
    return v.toLocaleString("en-KE", {maximumFractionDigits: 0});
  }
  // Counts (orders, conversations) get whole-number ticks only: uPlot's default steps include
  // 0.2 and 0.5, which a rounding formatter would show as "0, 1, 1".
  var COUNT_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5,
                     5e5, 1e6, 2e6, 5e6, 1e7];
  function whole(u, ticks) {
    return ticks.map(function (v) { return Number.isInteger(v) ? compact(v) : ""; });
  }
  var names = data.names;  // month and weekday names in the page's language (the server's)
  var dayLabel = uPlot.fmtDate("{D} {MMM}", names);  // "7 Des": day first, as in Kenya
  function days(u, ticks) {
    return ticks.map(function (v) { return dayLabel(new Date(v * 1000)); });
  }
  function size(el) {
    return {width: Math.max(240, el.clientWidth), height: 170};
  }
  data.series.forEach(function (series) {
    var figure = document.getElementById("chart-" + series.id);
    if (!figure) { return; }
    var target = figure.querySelector(".plot");
    var dims = size(target);
    var options = {
      width: dims.width, height: dims.height, legend: {show: false},
      fmtDate: function (tpl) { return uPlot.fmtDate(tpl, names); },
      cursor: {drag: {x: false, y: false}},
      scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, Math.max(1, max)]; }}},
      axes: [
        {space: 60, values: days},
        series.counts ? {size: 48, incrs: COUNT_STEPS, values: whole}
                      : {size: 48, values: function (u, ticks) { return ticks.map(compact); }}
      ],
      series: [{}, {label: series.label, stroke: "#0b6e4f", width: 2, fill: "rgba(11,110,79,0.12)",
                    points: {show: false}}]
    };
    plots.push({plot: new uPlot(options, [data.days, series.values], target), target: target});
  });
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (p) { p.plot.setSize(size(p.target)); });
    }, 150);
  });
}());
