/* The runs: parallel coordinates over every grid axis, the seed, the status and every
   metric (one line per run, coloured by status), and the run table below. Brushing an
   axis (drag along it) keeps the runs inside the brushed ranges, in the chart and in the
   table. */
'use strict';

/* The dimensions of the parallel coordinates and each run's value on them. */
function parallelDimensions() {
  const dims = D.axes.map((axis, a) => ({
    name: axis.name, type: 'category', data: axis.labels, value: i => RUNS.axes[a][i],
  }));
  dims.push({ name: 'seed', type: 'value', value: i => RUNS.seed[i] });
  dims.push({ name: 'status', type: 'category', data: STATUSES, value: i => STATUSES.indexOf(runStatus(i)) });
  D.metrics.forEach((metric, m) => {
    const values = RUNS.metrics[m].filter(v => v !== null && v > 0);
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    // Distances span decades once runs explode: a log axis keeps the good runs apart.
    const log = values.length > 0 && hi / lo > 50;
    dims.push({
      name: metric, type: log ? 'log' : 'value', value: i => RUNS.metrics[m][i] ?? '-',
      range: log ? [lo / 1.2, hi * 1.2] : null,
    });
  });
  return dims;
}

function parallelOption(dims) {
  const statusDim = D.axes.length + 1;
  const data = new Array(RUN_COUNT);
  for (let i = 0; i < RUN_COUNT; i++) data[i] = dims.map(d => d.value(i));
  const large = RUN_COUNT > 2000;
  return {
    parallel: {
      left: 60, right: 150, top: 36, bottom: 28,
      parallelAxisDefault: {
        nameLocation: 'start', nameGap: 16, nameTextStyle: { fontSize: 12, color: '#1d2330', fontWeight: 600 },
        axisLabel: { fontSize: 11, formatter: v => (typeof v === 'number' ? tick(v) : v) },
        realtime: !large, areaSelectStyle: { width: 18, opacity: 0.35 },
      },
    },
    parallelAxis: dims.map((d, k) => Object.assign({ id: 'axis-' + k, dim: k, name: d.name, type: d.type },
      d.type === 'category' ? { data: d.data } : d.range ? { min: d.range[0], max: d.range[1] } : { scale: true })),
    visualMap: {
      type: 'piecewise', dimension: statusDim, orient: 'vertical', right: 0, top: 'middle',
      pieces: STATUSES.map((s, k) => ({ value: k, label: s, color: STATUS_COLOURS[s] })),
      textStyle: { fontSize: 12 },
    },
    series: [{
      type: 'parallel', data, smooth: false, progressive: large ? 2000 : 0,
      lineStyle: { width: large ? 0.6 : 1.2, opacity: large ? 0.25 : 0.55 },
      inactiveOpacity: 0.03, activeOpacity: large ? 0.5 : 0.9,
      emphasis: { disabled: true },
    }],
  };
}

view('explore', {
  render(section) {
    const dims = parallelDimensions();
    const el = h('div', { class: 'chart', id: 'parallel', style: 'height:420px' });
    const tableBox = h('div', {});
    put(section,
      h('h1', { text: 'Runs' }),
      h('p', { class: 'note', text: `Every run of the sweep, ${RUN_COUNT} in all. Drag along an axis to brush a range (drag again elsewhere on it to move or add one; click the axis outside its range to clear); the table keeps the brushed runs. Failed and non-finite runs have no metrics and drop out when a metric is brushed.` }),
      h('div', { class: 'card' }, el),
      tableBox);
    const { chart, done } = chartIn(el, parallelOption(dims));
    const table = new RunTable(tableBox, runColumns(), RUN_COUNT, 520);
    DS.charts.parallel = chart;
    DS.table = table;
    // Brushed intervals by axis; the table keeps what the chart shows active.
    const brushed = new Map();
    chart.on('axisareaselected', params => {
      brushed.set(params.parallelAxisId, (params.intervals || []).length);
      const any = [...brushed.values()].some(n => n > 0);
      if (!any) { table.setBrush(null); return; }
      const series = chart.getModel().getSeriesByIndex(0);
      table.setBrush(new Set(series.getRawIndicesByActiveState('active')));
    });
    return done;
  },
});
