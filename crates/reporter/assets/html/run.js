/* A run's view: its samples over its training data, its loss curve, its record (metrics,
   timings, config, kernel path, provenance) and, for the featured run, the reverse process
   frame by frame. Samples the page does not carry come from the server when there is
   one (`diffsweep serve`). */
'use strict';

const SAMPLES = new Map(D.samples.map(s => [s.run, s]));
const LOSSES = new Map(D.losses.map(l => [l.model, l.points]));

function scatterOption(data, points, bounds, title) {
  const axis = (lo, hi) => ({
    type: 'value', min: lo, max: hi, axisLine: { onZero: false },
    axisLabel: { fontSize: 11, formatter: v => tick(v), showMinLabel: false, showMaxLabel: false },
    splitLine: { lineStyle: { color: '#eef0f4' } },
  });
  const b = bounds || extent(data.concat(points));
  return {
    title: { text: title, textStyle: { fontSize: 13, fontWeight: 600 }, left: 8, top: 4 },
    grid: { left: 56, right: 16, top: 36, bottom: 36 },
    xAxis: axis(b[0], b[1]), yAxis: axis(b[2], b[3]),
    legend: { top: 6, right: 12, data: ['training data', 'samples'] },
    tooltip: { trigger: 'item', formatter: p => `${p.seriesName}: (${fmt(p.value[0])}, ${fmt(p.value[1])})` },
    series: [
      { type: 'scatter', name: 'training data', data, symbolSize: 3, itemStyle: { color: '#aaaaaa', opacity: 0.5 }, large: true },
      { type: 'scatter', name: 'samples', data: points, symbolSize: 3.5, itemStyle: { color: '#0072b2', opacity: 0.75 }, large: true },
    ],
  };
}

/* A square box around the points, padded, as the PNGs frame their panels. */
function extent(points) {
  if (!points.length) return [-1, 1, -1, 1];
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of points) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const half = Math.max(x1 - x0, y1 - y0) * 0.56 || 1;
  const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
  return [cx - half, cx + half, cy - half, cy + half].map(v => Number(v.toFixed(3)));
}

function lossOption(points) {
  const losses = points.map(p => p[1]).filter(v => v > 0);
  const [lo, hi] = [Math.min(...losses), Math.max(...losses)];
  return {
    title: { text: 'training loss', textStyle: { fontSize: 13, fontWeight: 600 }, left: 8, top: 4 },
    grid: { left: 64, right: 16, top: 36, bottom: 40 },
    xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 24, min: 'dataMin', max: 'dataMax' },
    yAxis: {
      type: 'log', min: lo / 1.2, max: hi * 1.2,
      axisLabel: { formatter: v => tick(v), fontSize: 11 },
      splitLine: { lineStyle: { color: '#eef0f4' } },
    },
    tooltip: { trigger: 'axis', valueFormatter: v => fmt(v) },
    series: [{ type: 'line', name: 'loss', data: points, showSymbol: false, lineStyle: { color: '#0072b2' } }],
  };
}

function kv(entries, axes) {
  return h('div', { class: 'kv' }, entries.map(([k, v]) =>
    h('div', { class: axes && axes.has(k) ? 'axis' : '' }, h('span', { text: k }),
      h('span', { text: typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v) }))));
}

function configOf(i) {
  const diff = D.configs.diff[i];
  if (!diff) return null;
  const config = Object.assign({}, D.configs.base, diff);
  for (const [k, v] of Object.entries(diff)) if (v === null) delete config[k];
  return config;
}

/* What the page carries of run `i`: samples, training data, loss, config, record. */
function inlineDetails(i) {
  const s = SAMPLES.get(i);
  const env = D.records.environment[i];
  return {
    samples: s ? { points: s.points, total: s.total, data: s.data === null ? [] : D.datasets[s.data] } : null,
    loss: LOSSES.get(RUNS.model[i]) || null,
    config: configOf(i),
    environment: env === null || env === undefined ? null : D.records.environments[env],
    started: D.records.started_at[i] || null,
    finished: D.records.finished_at[i] || null,
  };
}

/* The same from the server (`diffsweep serve`), for what the page does not carry. */
function fetchDetails(i) {
  return fetch(D.run_url.replace('{id}', RUNS.id[i]))
    .then(r => (r.ok ? r.json() : r.text().then(t => Promise.reject(new Error(t || r.statusText)))))
    .then(json => ({
      samples: json.samples ? { points: json.samples, total: json.total, data: json.data || [] } : null,
      loss: json.loss || null,
      config: json.config || null,
      environment: json.record ? Object.fromEntries(['diffsweep_version', 'semantics_version', 'kernel_isa', 'provenance', 'host']
        .filter(k => k in json.record).map(k => [k, json.record[k]])) : null,
      started: json.record ? json.record.started_at : null,
      finished: json.record ? json.record.finished_at : null,
    }));
}

function recordSection(i, d) {
  const m = D.metrics.map((metric, k) => {
    const v = RUNS.metrics[k][i], f = RUNS.floors[k][i];
    return h('tr', {}, h('td', { text: metric }), h('td', { class: 'num', text: fmt(v) }),
      h('td', { class: 'num', text: fmt(f) }), h('td', { class: 'num', text: v !== null && f ? fmt(v / f) : '–' }));
  });
  const version = RUNS.version[i] === null ? null : D.versions[RUNS.version[i]];
  const e = d.environment || {};
  const provenance = Object.assign({}, e.provenance || {});
  const axes = new Set(D.axes.map(a => a.name).concat(['seed']));
  const shared = D.models[RUNS.model[i]] !== RUNS.id[i];
  return h('div', {},
    h('div', { class: 'grid3' },
      h('div', {}, h('h3', { text: 'Metrics' }),
        h('table', { class: 'plain', id: 'run-metrics' },
          h('tr', {}, ['metric', 'value', 'noise floor', '/ floor'].map(t => h('th', { text: t }))), m)),
      h('div', {}, h('h3', { text: 'Timings' }),
        h('table', { class: 'plain' },
          [['training', seconds(RUNS.train_seconds[i]) + (shared ? ' (its shared model)' : '')],
            ['sampling', seconds(RUNS.sample_seconds[i])], ['metrics', seconds(RUNS.metric_seconds[i])],
            ['final loss', fmt(RUNS.final_loss[i])],
            ['started', d.started || '–'], ['finished', d.finished || '–']]
            .map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v }))))),
      h('div', {}, h('h3', { text: 'Code and machine' }),
        h('table', { class: 'plain', id: 'run-provenance' },
          [['version', version || e.diffsweep_version || '–'], ['kernel path', e.kernel_isa || '–'],
            ...Object.entries(provenance).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
            ['host', e.host ? `${e.host.hostname} (${e.host.cpus} CPUs)` : '–'],
            ['model', (shared ? '' : 'its own: ') + D.models[RUNS.model[i]]]]
            .map(([k, v]) => h('tr', {}, h('th', { text: k }), h('td', { text: v })))))),
    h('h3', { text: 'Config' }),
    d.config ? kv(Object.entries(d.config), axes) : h('p', { class: 'note', text: 'The config of this run could not be read.' }));
}

/* The featured run's reverse process: one frame per shown step, a slider and a play
   button. */
function reverseSection(container) {
  const r = D.reverse;
  const el = h('div', { class: 'chart', id: 'reverse', style: 'height:460px;max-width:520px' });
  const slider = h('input', { type: 'range', min: 0, max: r.frames.length - 1, value: 0, id: 'reverse-frame' });
  const label = h('span', {});
  const play = h('button', { text: 'play' });
  container.append(h('div', { class: 'card' },
    h('div', { class: 'toolbar' }, h('span', { class: 'title', text: `Reverse process x_T → x_0, ${r.label}` })),
    h('div', { class: 'frames' }, play, slider, label), el));
  const { chart, done } = chartIn(el, scatterOption(r.data, r.frames[0], r.bounds, ''));
  DS.charts.reverse = chart;
  const showFrame = k => {
    slider.value = k;
    label.textContent = `t = ${r.timesteps[k]} (frame ${Number(k) + 1} of ${r.frames.length})`;
    chart.setOption({ series: [{}, { data: r.frames[k] }] });
  };
  let timer = null;
  slider.addEventListener('input', () => showFrame(slider.value));
  play.addEventListener('click', () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = 'play'; return; }
    play.textContent = 'pause';
    let k = Number(slider.value) >= r.frames.length - 1 ? 0 : Number(slider.value);
    timer = setInterval(() => {
      showFrame(k);
      k += 1;
      if (k >= r.frames.length) { clearInterval(timer); timer = null; play.textContent = 'play'; }
    }, Math.max(40, 4000 / r.frames.length));
  });
  showFrame(0);
  return done;
}

function samplesChart(i, box, d) {
  if (!d.samples) {
    const why = RUNS.status[i] === 'diverged' || RUNS.status[i] === 'failed'
      ? 'This run stored no samples.'
      : `This page carries the samples of ${D.samples.length} runs (the featured run, the comparisons' cells and one run per cell, at most ${D.limits.sampled_runs}); \`diffsweep serve\` shows every run's.`;
    box.append(h('p', { class: 'note', text: why }));
    return null;
  }
  const el = h('div', { class: 'chart', id: 'run-samples', style: 'height:420px' });
  box.append(el);
  const n = d.samples.points.length < d.samples.total ? `${d.samples.points.length} of ${d.samples.total}` : d.samples.total;
  const drawnChart = chartIn(el, scatterOption(d.samples.data, d.samples.points, null, `samples (${n}) over the training data`));
  DS.charts.samples = drawnChart.chart;
  return drawnChart.done;
}

function lossChart(box, d) {
  if (!d.loss || !d.loss.length) {
    box.append(h('p', { class: 'note', text: 'The page carries no loss curve of this run.' }));
    return null;
  }
  const el = h('div', { class: 'chart', id: 'run-loss', style: 'height:420px' });
  box.append(el);
  return chartIn(el, lossOption(d.loss)).done;
}

/* Draws run `i` from `d` into `section`, below its title. */
function drawRun(section, i, d) {
  const samplesBox = h('div', { class: 'card' });
  const lossBox = h('div', { class: 'card' });
  section.append(h('div', { class: 'grid2' }, samplesBox, lossBox));
  const steps = [samplesChart(i, samplesBox, d), lossChart(lossBox, d)];
  if (D.reverse && D.reverse.run === i) steps.push(reverseSection(section));
  section.append(h('div', { class: 'card' }, recordSection(i, d)));
  return Promise.all(steps);
}

view('run', {
  update(section, id) {
    const i = id ? RUN_INDEX.get(id) : D.featured;
    clearSection(section);
    DS.charts.samples = null;
    if (i === undefined || i === null) {
      put(section, h('h1', { text: 'Run' }), h('p', { class: 'note', text: id ? `No run ${id} in this sweep.` : 'Pick a run from the run table.' }));
      return null;
    }
    DS.currentRun = i;
    const status = runStatus(i);
    put(section,
      h('h1', {}, 'Run ', h('code', { text: short(RUNS.id[i]) }), ' ', h('span', { class: 'badge ' + status, text: status }),
        i === D.featured ? h('span', { class: 'note', text: '  the featured run' }) : null),
      h('p', { class: 'lead' }, cellText(i) + ', seed ' + RUNS.seed[i] + ' · ', h('code', { text: RUNS.id[i] })),
      RUNS.detail[i] ? h('div', { class: 'card warnings', text: RUNS.detail[i] }) : null);
    const d = inlineDetails(i);
    const stored = RUNS.status[i] !== 'diverged' && RUNS.status[i] !== 'failed';
    const missing = (!d.samples && stored) || !d.loss || !d.config;
    if (!missing || !D.run_url) return drawRun(section, i, d);
    const loading = h('p', { class: 'note', text: 'loading the run from the server…' });
    section.append(loading);
    return fetchDetails(i)
      .then(f => {
        loading.remove();
        if (DS.currentRun !== i) return null;
        return drawRun(section, i, {
          samples: d.samples || f.samples, loss: d.loss || f.loss, config: d.config || f.config,
          environment: d.environment || f.environment, started: d.started || f.started, finished: d.finished || f.finished,
        });
      })
      .catch(err => { loading.textContent = 'cannot load the run: ' + err.message; });
  },
});
