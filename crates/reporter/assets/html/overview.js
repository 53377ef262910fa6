/* The overview: what was run (the head of report.md), the comparisons as a forest plot,
   and every run that did not complete or exploded, with its reason. */
'use strict';

const VERDICT_COLOURS = {
  'better': '#009e73', 'better, size uncertain': '#56b4a0',
  'worse': '#d55e00', 'worse, size uncertain': '#e69f6b',
  'equivalent': '#0072b2', 'no detectable difference': '#7a808c', 'insufficient seeds': '#b8bcc4',
};

function verdictColour(verdict) {
  return VERDICT_COLOURS[verdict] || '#7a808c';
}

/* The x scale of one metric's rows: linear, or when the intervals reach past 30 times
   the smallest margin (an exploded cell), logarithmic beyond ±margin (symmetric log), so
   every row stays readable and the margin band keeps its place. */
function forestScale(rows) {
  const margins = rows.map(r => r.c.margin).filter(m => m > 0);
  const ends = rows.flatMap(r => [r.c.diff].concat(r.c.interval || [])).filter(Number.isFinite);
  const reach = Math.max(0, ...ends.map(Math.abs), ...margins);
  let unit = margins.length ? Math.min(...margins) : 0;
  if (!(unit > 0)) unit = reach / 100 || 1;
  const symlog = reach > 30 * unit;
  const f = symlog ? v => Math.sign(v) * Math.log10(1 + Math.abs(v) / unit) : v => v;
  const inverse = symlog ? u => Math.sign(u) * unit * (Math.pow(10, Math.abs(u)) - 1) : u => u;
  const ticks = [0];
  if (symlog) {
    for (let v = unit; v <= reach * 1.01; v *= 10) ticks.push(f(v), f(-v));
    ticks.sort((a, b) => a - b);
  }
  return { f, inverse, symlog, ticks };
}

/* One grid per metric, one row per comparison: the interval of a − b as a whisker with
   the difference as a dot, on a band of ±margin, with 0 marked and the verdict beside. */
function forestOption(comparisons) {
  const metrics = [...new Set(comparisons.map(c => c.metric))];
  const rowHeight = 30, gap = 60, top = 28;
  const grids = [], xAxes = [], yAxes = [], series = [];
  let y = top;
  metrics.forEach((metric, g) => {
    const rows = comparisons.map((c, i) => ({ c, i })).filter(r => r.c.metric === metric);
    const height = rows.length * rowHeight;
    grids.push({ left: 360, right: 330, top: y, height });
    y += height + gap;
    const scale = forestScale(rows);
    let lo = 0, hi = 0;
    for (const { c } of rows) {
      for (const v of [c.margin, -c.margin, c.diff].concat(c.interval || [])) {
        if (Number.isFinite(v)) { lo = Math.min(lo, scale.f(v)); hi = Math.max(hi, scale.f(v)); }
      }
    }
    const pad = (hi - lo || 1) * 0.08;
    xAxes.push(Object.assign({
      gridIndex: g, type: 'value', min: lo - pad, max: hi + pad,
      name: metric + ': a − b' + (scale.symlog ? ' (log beyond ±margin)' : ''),
      nameLocation: 'middle', nameGap: 24,
      axisLabel: { formatter: v => tick(scale.inverse(v)), showMinLabel: false, showMaxLabel: false },
      splitLine: { lineStyle: { color: '#eef0f4' } },
    }, scale.symlog ? {
      axisLabel: { formatter: v => tick(scale.inverse(v)), customValues: scale.ticks, hideOverlap: true },
      axisTick: { customValues: scale.ticks },
      splitLine: { show: false },
    } : {}));
    yAxes.push({
      gridIndex: g, type: 'category', inverse: true, data: rows.map(r => r.c.name),
      axisTick: { show: false },
      axisLabel: { width: 340, overflow: 'truncate', fontSize: 12, color: '#1d2330' },
    });
    series.push({
      type: 'custom', name: metric, xAxisIndex: g, yAxisIndex: g,
      data: rows.map(r => [r.i]),
      renderItem: (params, api) => forestRow(comparisons[api.value(0)], params, api, rows.length, scale.f),
      markLine: {
        silent: true, symbol: 'none', label: { show: false },
        lineStyle: { color: '#1d2330', type: 'solid', width: 1 }, data: [{ xAxis: 0 }],
      },
      tooltip: { formatter: p => comparisonTip(comparisons[p.value[0]]) },
    });
  });
  return {
    grid: grids, xAxis: xAxes, yAxis: yAxes, series,
    tooltip: { trigger: 'item', confine: true },
    height: y - gap + 40,
  };
}

function forestRow(c, params, api, count, f) {
  const box = params.coordSys;
  const band = box.height / count;
  const y = box.y + band * (params.dataIndexInside + 0.5);
  const x = v => api.coord([f(v), 0])[0];
  const colour = verdictColour(c.verdict);
  const children = [{
    type: 'rect', silent: true,
    shape: { x: x(-c.margin), y: y - band * 0.36, width: x(c.margin) - x(-c.margin), height: band * 0.72 },
    style: { fill: '#e9edf3' },
  }];
  if (c.interval) {
    const [lo, hi] = c.interval.map(x);
    children.push(
      { type: 'line', shape: { x1: lo, y1: y, x2: hi, y2: y }, style: { stroke: colour, lineWidth: 2.5 } },
      { type: 'line', shape: { x1: lo, y1: y - 6, x2: lo, y2: y + 6 }, style: { stroke: colour, lineWidth: 2 } },
      { type: 'line', shape: { x1: hi, y1: y - 6, x2: hi, y2: y + 6 }, style: { stroke: colour, lineWidth: 2 } },
    );
  }
  if (c.diff !== null) {
    children.push({ type: 'circle', shape: { cx: x(c.diff), cy: y, r: 5 }, style: { fill: colour, stroke: '#fff', lineWidth: 1 } });
  }
  children.push({
    type: 'text', silent: true, x: box.x + box.width + 12, y,
    style: { text: c.verdict, fill: colour, fontSize: 12.5, fontWeight: 600, verticalAlign: 'middle' },
  });
  return { type: 'group', children };
}

function comparisonTip(c) {
  const rows = [
    ['a', escapeHtml(c.a)], ['b', escapeHtml(c.b)],
    ['a − b', fmt(c.diff) + (c.interval ? ` [${fmt(c.interval[0])}, ${fmt(c.interval[1])}] ${c.method}` : ', no interval')],
    ['n a / b', c.n.join(' / ')], ['p (Holm)', fmt(c.p[0]) + ' (' + fmt(c.p[1]) + ')'],
    ['margin', fmt(c.margin)], ['floor', fmt(c.floor)],
  ];
  if (c.lost) rows.push(['lost seeds', escapeHtml(c.lost)]);
  return `<b>${escapeHtml(c.name)}</b> (${escapeHtml(c.metric)}, ${c.lower_is_better ? 'lower' : 'higher'} is better)<br>` +
    rows.map(([k, v]) => `${k}: ${v}`).join('<br>') + `<br><b>${escapeHtml(c.words)}</b>`;
}

function failuresTable() {
  const rows = [];
  for (let i = 0; i < RUN_COUNT; i++) {
    if (RUNS.status[i] !== 'completed' || RUNS.exploded[i]) rows.push(i);
  }
  if (!rows.length) return h('p', { class: 'note', text: 'None: every run completed and none exploded.' });
  const shown = rows.slice(0, 500);
  const reason = i => RUNS.detail[i] ||
    (RUNS.exploded[i] ? `a metric above ${D.exploded_ratio} times its noise floor` : '');
  return h('div', {},
    h('table', { class: 'plain failed-list', id: 'failed-runs' },
      h('tr', {}, ['cell', 'seed', 'status', 'reason', 'run'].map(t => h('th', { text: t }))),
      shown.map(i => h('tr', { 'data-run': RUNS.id[i] },
        h('td', { text: cellText(i) }), h('td', { class: 'num', text: RUNS.seed[i] }),
        h('td', {}, h('span', { class: 'badge ' + runStatus(i), text: runStatus(i) })),
        h('td', { text: reason(i) }), h('td', {}, runLink(i))))),
    rows.length > shown.length
      ? h('p', { class: 'note', text: `${rows.length - shown.length} more: filter the run table by status.` })
      : null);
}

view('overview', {
  render(section) {
    put(section,
      h('h1', { text: 'Report: ' + D.name }),
      D.description ? h('p', { class: 'lead', text: D.description }) : null,
      h('div', { class: 'card header-list', id: 'what-was-run' },
        h('h2', { text: 'What was run', style: 'margin-top:0' }), h('div', { html: D.header_html })),
      D.warnings.length
        ? h('div', { class: 'card warnings' }, h('b', { text: 'Notes' }), h('ul', {}, D.warnings.map(w => h('li', { text: w }))))
        : null,
    );
    let done = null;
    if (D.comparisons.length) {
      const el = h('div', { class: 'chart', id: 'forest' });
      put(section,
        h('h2', { text: 'Comparisons' }),
        h('p', { class: 'note', text: `Each row is the ${D.level}% interval of a − b (paired over the same seeds, or Welch's) with the difference as a dot, on the grey band of ±margin; the line is 0. Colour and words give the verdict, as report.md reads it. Hover a row for its numbers.` }),
        el);
      const option = forestOption(D.comparisons);
      el.style.height = option.height + 'px';
      delete option.height;
      const { chart, done: drawnForest } = chartIn(el, option);
      DS.charts.forest = chart;
      done = drawnForest;
    }
    put(section,
      h('h2', { text: 'Diverged, non-finite, failed and exploded runs' }),
      failuresTable());
    return done;
  },
});
