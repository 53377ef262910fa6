/* diffsweep report page: the data, shared helpers, and routing between the views.
   Every view is drawn the first time it is shown; `window.diffsweepReadyAt` is set (to
   performance.now()) once the first view has drawn and the page answers input. */
'use strict';

const D = JSON.parse(document.getElementById('diffsweep-data').textContent);
const DS = (window.diffsweep = { data: D, charts: {}, views: {}, idle: Promise.resolve() });
const RUNS = D.runs;
const RUN_COUNT = RUNS.id.length;
const RUN_INDEX = new Map(RUNS.id.map((id, i) => [id, i]));

/* An element with attributes (`text`, `html`, `class`, `on*` handlers, others as
   attributes) and children. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') el.textContent = value;
    else if (key === 'html') el.innerHTML = value;
    else if (key === 'class') el.className = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/* A number with four significant digits, as the report's tables write it. */
function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(x)));
  if (magnitude >= -3 && magnitude < 5) return x.toFixed(Math.max(0, 3 - magnitude));
  return x.toExponential(3);
}

/* An axis tick: three significant digits, no trailing zeros. */
function tick(x) {
  if (!Number.isFinite(x)) return '';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(1);
  return String(Number(x.toPrecision(3)));
}

/* Appends the children that are not null. */
function put(parent, ...children) {
  parent.append(...children.flat().filter(c => c !== null && c !== undefined && c !== false));
  return parent;
}

function seconds(s) {
  if (s === null || s === undefined) return '–';
  return s < 120 ? s.toFixed(1) + ' s' : (s / 60).toFixed(1) + ' min';
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const short = id => id.slice(0, 12);

/* The run's outcome as the page colours it: exploded runs completed, but far off. */
function runStatus(i) {
  return RUNS.exploded[i] ? 'exploded' : RUNS.status[i];
}

const STATUS_COLOURS = {
  completed: '#0072b2', exploded: '#e69f00', non_finite: '#cc79a7', diverged: '#d55e00', failed: '#000000',
};
const STATUSES = Object.keys(STATUS_COLOURS);

function axisLabel(axis, i) {
  return D.axes[axis].labels[RUNS.axes[axis][i]];
}

/* The run's cell as `axis=value` pairs. */
function cellText(i) {
  return D.axes.map((a, k) => a.name + '=' + axisLabel(k, i)).join(', ');
}

function runLink(i, text) {
  return h('a', { href: '#run/' + RUNS.id[i], text: text || short(RUNS.id[i]) });
}

/* A promise that settles when `chart` next finishes drawing (progressive charts
   included). Attach before setOption. */
function drawn(chart) {
  return new Promise(resolve => {
    const done = () => { chart.off('finished', done); resolve(); };
    chart.on('finished', done);
  });
}

const ALL_CHARTS = [];

/* An ECharts instance in `el` drawing `option`; resolves once it has drawn. */
function chartIn(el, option) {
  const chart = echarts.init(el, null, { renderer: 'canvas' });
  ALL_CHARTS.push(chart);
  const done = drawn(chart);
  chart.setOption(Object.assign({ animation: false }, option));
  return { chart, done };
}

/* Empties `section`, disposing of the charts in it. */
function clearSection(section) {
  for (let k = ALL_CHARTS.length - 1; k >= 0; k--) {
    if (section.contains(ALL_CHARTS[k].getDom())) {
      ALL_CHARTS[k].dispose();
      ALL_CHARTS.splice(k, 1);
    }
  }
  section.textContent = '';
}

window.addEventListener('resize', () => {
  for (const chart of ALL_CHARTS) if (chart.getDom().offsetParent) chart.resize();
});

/* Views: `render(section)` once, `update(section, arg)` on every visit; both may return a
   promise that settles when their charts have drawn. */
function view(name, spec) {
  DS.views[name] = Object.assign({ name, rendered: false }, spec);
}

function show(name, arg) {
  const spec = DS.views[name] || DS.views.overview;
  for (const section of document.querySelectorAll('section.view')) {
    section.hidden = section.id !== 'view-' + spec.name;
  }
  for (const link of document.querySelectorAll('#nav a')) {
    link.classList.toggle('active', link.dataset.view === spec.name);
  }
  const section = document.getElementById('view-' + spec.name);
  const steps = [];
  if (!spec.rendered) {
    spec.rendered = true;
    steps.push(spec.render ? spec.render(section) : null);
  }
  if (spec.update) steps.push(spec.update(section, arg));
  // Charts drawn while their section was hidden have no size yet.
  for (const chart of ALL_CHARTS) if (section.contains(chart.getDom())) chart.resize();
  DS.idle = Promise.all(steps.map(p => Promise.resolve(p)));
  return DS.idle;
}

function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#/, ''));
  const [name, ...rest] = hash.split('/');
  return show(name || D.start_view || 'overview', rest.join('/'));
}

function start() {
  document.getElementById('page-title').textContent = D.name;
  const runNav = document.getElementById('nav-run');
  if (D.featured === null) runNav.classList.add('disabled');
  else runNav.href = '#run/' + RUNS.id[D.featured];
  window.addEventListener('hashchange', route);
  route().then(() => {
    // Interactive: the first view has drawn and the event loop is free again.
    requestAnimationFrame(() => setTimeout(() => {
      window.diffsweepReadyAt = performance.now();
    }, 0));
  });
}

document.addEventListener('DOMContentLoaded', start);
