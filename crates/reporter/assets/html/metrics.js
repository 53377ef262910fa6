/* The metric figures as interactive charts: each metric against T or K, one panel per
   panel of the PNG figure, one line per series with its 95% band, the noise floor dashed,
   cells that lost or exploded seeds marked with their count. Values on hover, series
   toggled from the legend, log or linear y. */
'use strict';

const PANELS_PER_ROW = 4;
const PANEL_HEIGHT = 300;

function alpha(colour, a) {
  const n = parseInt(colour.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
}

/* Clamps a pixel y into the panel, so bands past the axes are cut at them (as in the
   PNGs); a value the axis cannot show (≤ 0 on a log axis) goes to the nearer edge. */
function clampY(y, box, fallback) {
  if (!Number.isFinite(y)) return fallback;
  return Math.min(box.y + box.height, Math.max(box.y, y));
}

function bandSeries(line, p) {
  const pts = line.points.filter(q => q.lower !== null && q.upper !== null);
  return {
    type: 'custom', name: line.label, xAxisIndex: p, yAxisIndex: p, silent: true, z: 1,
    itemStyle: { color: line.colour },
    data: pts.length > 1 ? [[pts[0].x, pts[0].mean]] : [],
    tooltip: { show: false },
    renderItem: (params, api) => {
      const box = params.coordSys;
      const bottom = box.y + box.height;
      const upper = pts.map(q => { const c = api.coord([q.x, q.upper]); return [c[0], clampY(c[1], box, box.y)]; });
      const lower = pts.map(q => { const c = api.coord([q.x, q.lower]); return [c[0], clampY(c[1], box, bottom)]; });
      return {
        type: 'polygon', shape: { points: upper.concat(lower.reverse()) },
        style: { fill: alpha(line.colour, 0.16) },
      };
    },
  };
}

function lineSeries(chart, line, p) {
  return {
    type: 'line', name: line.label, xAxisIndex: p, yAxisIndex: p, z: 3,
    data: line.points.map(q => [q.x, q.mean, q.lower, q.upper]),
    itemStyle: { color: line.colour }, lineStyle: { color: line.colour, width: 2 },
    symbol: 'circle', symbolSize: 6, emphasis: { focus: 'series' },
    tooltip: {
      formatter: q => `<b>${escapeHtml(line.label)}</b><br>${chart.x_name} = ${q.value[0]}<br>` +
        `mean ${chart.metric} = ${fmt(q.value[1])}<br>95% CI [${fmt(q.value[2])}, ${fmt(q.value[3])}]`,
    },
  };
}

/* Crosses with k/n at cells that lost or exploded seeds; at the panel's top when the
   cell has no mean on the line. */
function marksSeries(line, panel, p) {
  const mean = new Map(line.points.map(q => [q.x, q.mean]));
  const anyY = panel.y_range[0];
  return {
    type: 'custom', name: 'lost or exploded seeds', xAxisIndex: p, yAxisIndex: p, z: 4,
    itemStyle: { color: '#444' },
    data: line.marks.map(m => [m.x, m.on_line ? mean.get(m.x) : anyY, m.failed, m.exploded, m.runs, m.on_line ? 1 : 0]),
    renderItem: (params, api) => {
      const box = params.coordSys;
      const at = api.coord([api.value(0), api.value(1)]);
      const x = at[0];
      const y = api.value(5) ? clampY(at[1], box, box.y + 8) : box.y + 8;
      const s = 5;
      const lost = api.value(2) + api.value(3);
      return {
        type: 'group', children: [
          { type: 'line', shape: { x1: x - s, y1: y - s, x2: x + s, y2: y + s }, style: { stroke: line.colour, lineWidth: 2 } },
          { type: 'line', shape: { x1: x - s, y1: y + s, x2: x + s, y2: y - s }, style: { stroke: line.colour, lineWidth: 2 } },
          { type: 'text', x: x + 7, y: y - 9, style: { text: lost + '/' + api.value(4), fill: line.colour, fontSize: 11 } },
        ],
      };
    },
    tooltip: {
      formatter: q => `<b>${escapeHtml(line.label)}</b> at ${q.value[0]}: ${q.value[2]} of ${q.value[4]} seeds diverged, ` +
        `had non-finite samples or failed; ${q.value[3]} exploded`,
    },
  };
}

function floorSeries(panel, p) {
  return {
    type: 'line', name: 'noise floor', xAxisIndex: p, yAxisIndex: p, data: [],
    itemStyle: { color: '#555' }, lineStyle: { type: 'dashed', color: '#555' },
    markLine: panel.floor === null ? undefined : {
      silent: true, symbol: 'none', label: { show: false },
      lineStyle: { type: 'dashed', color: '#555', width: 1.2 }, data: [{ yAxis: panel.floor }],
    },
  };
}

function yAxis(panel, p, log) {
  const [lo, hi] = panel.y_range;
  return {
    gridIndex: p, type: log ? 'log' : 'value', min: log ? lo : Math.min(0, lo), max: hi,
    logBase: 10, axisLabel: { formatter: v => tick(v), fontSize: 11 },
    splitLine: { lineStyle: { color: '#eef0f4' } },
  };
}

function metricOption(chart, log, pixelWidth) {
  const panels = chart.panels;
  const legendWidth = 230;
  const columns = Math.min(PANELS_PER_ROW, panels.length);
  const rows = Math.ceil(panels.length / columns);
  const width = (pixelWidth - legendWidth) / columns;
  const grid = [], xAxis = [], yAxes = [], series = [], titles = [];
  const xs = panels.flatMap(pn => pn.lines.flatMap(l => l.points.map(q => q.x).concat(l.marks.map(m => m.x))));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  panels.forEach((panel, p) => {
    const column = p % columns, row = Math.floor(p / columns);
    grid.push({
      left: column * width + 64, width: width - 96,
      top: row * (PANEL_HEIGHT + 40) + 40, height: PANEL_HEIGHT - 40,
    });
    titles.push({
      text: panel.title, left: column * width + 64, top: row * (PANEL_HEIGHT + 40) + 14,
      textStyle: { fontSize: 13, fontWeight: 600 },
    });
    xAxis.push({
      gridIndex: p, type: 'log', min: xMin / 1.4, max: xMax * 1.4, name: chart.x_label,
      nameLocation: 'middle', nameGap: 26,
      axisLabel: { fontSize: 11, showMinLabel: false, showMaxLabel: false },
      splitLine: { lineStyle: { color: '#eef0f4' } },
    });
    yAxes.push(yAxis(panel, p, log));
    series.push(floorSeries(panel, p));
    for (const line of panel.lines) {
      series.push(bandSeries(line, p), lineSeries(chart, line, p));
      if (line.marks.length) series.push(marksSeries(line, panel, p));
    }
  });
  const labels = [...new Set(panels.flatMap(pn => pn.lines.map(l => l.label)))];
  return {
    option: {
      title: titles, grid, xAxis, yAxis: yAxes, series,
      legend: {
        type: 'scroll', orient: 'vertical', right: 0, top: 30, width: legendWidth - 30,
        height: Math.max(PANEL_HEIGHT - 60, rows * (PANEL_HEIGHT + 40) - 60),
        data: labels.concat(['noise floor', 'lost or exploded seeds']),
        textStyle: { fontSize: 12 },
      },
      tooltip: { trigger: 'item', confine: true },
    },
    height: rows * (PANEL_HEIGHT + 40) + 10,
  };
}

function metricCard(section, chart, index) {
  const title = `${chart.metric} against ${chart.x_name}` + (chart.page ? `, ${chart.page}` : '');
  const defaultLog = chart.panels.every(pn => pn.y_range[2]);
  let log = defaultLog;
  const el = h('div', { class: 'chart', id: 'metric-' + index });
  const toggle = h('button', {
    class: log ? 'on' : '', text: log ? 'log y' : 'linear y', title: 'switch the y axes between log and linear',
    onclick: () => {
      log = !log;
      toggle.textContent = log ? 'log y' : 'linear y';
      toggle.classList.toggle('on', log);
      DS.charts.metrics[index].chart.setOption({ yAxis: chart.panels.map((pn, p) => yAxis(pn, p, log)) });
    },
  });
  section.append(h('div', { class: 'card' },
    h('div', { class: 'toolbar' }, h('span', { class: 'title', text: title }), toggle),
    el));
  const { option, height } = metricOption(chart, log, el.clientWidth || 1300);
  el.style.height = height + 'px';
  const drawnChart = chartIn(el, option);
  DS.charts.metrics[index] = { data: chart, chart: drawnChart.chart };
  return drawnChart.done;
}

view('metrics', {
  render(section) {
    DS.charts.metrics = [];
    put(section,
      h('h1', { text: 'Metrics' }),
      h('p', { class: 'note', text: 'Mean over completed seeds with its 95% interval as a band; the dashed line is the noise floor; a cross with k/n marks a cell where k of its n seeds diverged, had non-finite samples, failed or exploded (at the top when the cell has no mean in range). Click a legend entry to hide or show a series in every panel; hover a point for its values.' }));
    if (!D.charts.length) {
      section.append(h('p', { class: 'note', text: 'Neither T nor sampling.steps is an axis of this sweep: no metric is drawn against them.' }));
      return null;
    }
    return Promise.all(D.charts.map((chart, i) => metricCard(section, chart, i)));
  },
});
