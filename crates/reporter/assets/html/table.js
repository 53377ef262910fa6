/* The run table: one row per run, sortable by any column (click its header), filtered by
   any column (the boxes under the headers) and by the parallel coordinates' brush.
   Virtualised: only the rows in view exist in the page, so 10,000 runs scroll freely. */
'use strict';

const ROW_HEIGHT = 26;

/* A column filter's text as a predicate. Numbers: `>0.1`, `<=5`, `10..100`, `=10` or
   `10`; text: a part of the value (`!part` for runs without it), `=value` for exactly. */
function filterPredicate(text, numeric) {
  const t = text.trim();
  if (!t) return null;
  if (numeric) {
    const range = t.match(/^(-?[\d.e+-]+)\s*\.\.\s*(-?[\d.e+-]+)$/i);
    if (range) {
      const [lo, hi] = [Number(range[1]), Number(range[2])];
      return v => v !== null && v >= lo && v <= hi;
    }
    const cmp = t.match(/^(<=|>=|<|>|=|!=)?\s*(-?[\d.]+(?:e[+-]?\d+)?)$/i);
    if (cmp) {
      const x = Number(cmp[2]);
      const op = cmp[1] || '=';
      return {
        '<': v => v !== null && v < x, '<=': v => v !== null && v <= x,
        '>': v => v !== null && v > x, '>=': v => v !== null && v >= x,
        '=': v => v === x, '!=': v => v !== x,
      }[op];
    }
  }
  const lower = t.toLowerCase();
  if (lower.startsWith('!')) {
    const part = lower.slice(1);
    return v => !String(v ?? '').toLowerCase().includes(part);
  }
  if (lower.startsWith('=')) {
    const exact = lower.slice(1);
    return v => String(v ?? '').toLowerCase() === exact;
  }
  return v => String(v ?? '').toLowerCase().includes(lower);
}

class RunTable {
  /* `columns`: [{ key, title, width, numeric, value(i) (for sort and filter),
     text(i) (shown), link }], over run indices 0..count. */
  constructor(container, columns, count, height) {
    this.columns = columns;
    this.count = count;
    this.height = height || 520;
    this.filters = columns.map(() => null);
    this.brush = null;
    this.sortKey = null;
    this.sortDir = 1;
    this.order = Array.from({ length: count }, (_, i) => i);
    this.listeners = [];
    const width = columns.reduce((s, c) => s + c.width, 0);
    const head = h('div', { class: 'vt-head', style: `min-width:${width}px` },
      columns.map((c, k) => h('div', {
        class: 'vt-col' + (c.numeric ? ' num' : ''), style: `width:${c.width}px`, 'data-key': c.key,
        title: 'sort by ' + c.title, text: c.title, onclick: () => this.sortBy(k),
      })));
    const filters = h('div', { class: 'vt-filters', style: `min-width:${width}px` },
      columns.map((c, k) => h('div', { class: 'vt-col', style: `width:${c.width}px` },
        h('input', {
          type: 'search', 'data-key': c.key, placeholder: c.numeric ? '>0.1, 10..100' : 'filter',
          oninput: e => { this.filters[k] = filterPredicate(e.target.value, c.numeric); this.apply(); },
        }))));
    this.spacer = h('div', { style: `height:0px;min-width:${width}px` });
    this.body = h('div', { class: 'vt-body', style: `height:${this.height}px` }, this.spacer);
    this.body.addEventListener('scroll', () => this.draw());
    this.status = h('span', {});
    this.head = head;
    const scroller = h('div', { style: 'overflow-x:auto' }, head, filters, this.body);
    container.append(h('div', { class: 'vt', id: 'run-table' }, scroller, h('div', { class: 'vt-foot' }, this.status,
      h('span', { text: 'click a header to sort; click a run to open it' }))));
    this.width = width;
    this.apply();
  }

  /* Sorts by column `k` (again: reverses); missing values last either way. */
  sortBy(k, dir) {
    const column = this.columns[k];
    if (dir !== undefined) this.sortDir = dir;
    else if (this.sortKey === k) this.sortDir = -this.sortDir;
    else this.sortDir = 1;
    this.sortKey = k;
    for (const el of this.head.children) {
      const on = el.dataset.key === column.key;
      el.classList.toggle('sorted', on);
      el.classList.toggle('desc', on && this.sortDir < 0);
    }
    this.apply();
  }

  setBrush(set) {
    this.brush = set;
    this.apply();
  }

  apply() {
    const active = this.filters.map((f, k) => f && [f, this.columns[k]]).filter(Boolean);
    const keep = [];
    for (let i = 0; i < this.count; i++) {
      if (this.brush && !this.brush.has(i)) continue;
      if (active.every(([f, c]) => f(c.value(i)))) keep.push(i);
    }
    if (this.sortKey !== null) {
      const c = this.columns[this.sortKey];
      const dir = this.sortDir;
      const values = new Map(keep.map(i => [i, c.value(i)]));
      keep.sort((a, b) => {
        const va = values.get(a), vb = values.get(b);
        const missA = va === null || va === undefined, missB = vb === null || vb === undefined;
        if (missA || missB) return missA - missB || a - b;
        if (c.numeric) return (va - vb) * dir || a - b;
        return String(va).localeCompare(String(vb), undefined, { numeric: true }) * dir || a - b;
      });
    }
    this.order = keep;
    this.status.textContent = `${keep.length} of ${this.count} runs`;
    this.spacer.style.height = keep.length * ROW_HEIGHT + 'px';
    this.body.scrollTop = 0;
    this.draw();
    for (const listener of this.listeners) listener(keep);
  }

  draw() {
    const first = Math.max(0, Math.floor(this.body.scrollTop / ROW_HEIGHT) - 5);
    const last = Math.min(this.order.length, first + Math.ceil(this.height / ROW_HEIGHT) + 10);
    for (const row of [...this.body.querySelectorAll('.vt-row')]) row.remove();
    const rows = [];
    for (let r = first; r < last; r++) {
      const i = this.order[r];
      rows.push(h('div', {
        class: 'vt-row', style: `top:${r * ROW_HEIGHT}px;height:${ROW_HEIGHT}px;min-width:${this.width}px`,
        'data-run': i,
      }, this.columns.map(c => {
        const text = c.text(i);
        const cell = h('div', { class: 'vt-col' + (c.numeric ? ' num' : ''), style: `width:${c.width}px`, title: text });
        if (c.link) cell.append(runLink(i, text));
        else if (c.badge) cell.append(h('span', { class: 'badge ' + text, text }));
        else cell.textContent = text;
        return cell;
      })));
    }
    this.body.append(...rows);
  }
}

/* The columns of the run table: run, axes, seed, status, metrics, loss, times, model. */
function runColumns() {
  const num = x => (x === null || x === undefined ? '–' : fmt(x));
  const columns = [{ key: 'run', title: 'run', width: 110, value: i => RUNS.id[i], text: i => short(RUNS.id[i]), link: true }];
  D.axes.forEach((axis, a) => {
    const numeric = axis.numbers !== null;
    columns.push({
      key: 'axis:' + axis.name, title: axis.name, numeric, width: Math.max(70, Math.min(160, axis.name.length * 8 + 20)),
      value: numeric ? i => axis.numbers[RUNS.axes[a][i]] : i => axisLabel(a, i), text: i => axisLabel(a, i),
    });
  });
  columns.push(
    { key: 'seed', title: 'seed', numeric: true, width: 56, value: i => RUNS.seed[i], text: i => String(RUNS.seed[i]) },
    { key: 'status', title: 'status', width: 96, value: i => runStatus(i), text: i => runStatus(i), badge: true });
  D.metrics.forEach((metric, m) => columns.push({
    key: 'metric:' + metric, title: metric, numeric: true, width: 130,
    value: i => RUNS.metrics[m][i], text: i => num(RUNS.metrics[m][i]),
  }));
  columns.push(
    { key: 'final_loss', title: 'final loss', numeric: true, width: 90, value: i => RUNS.final_loss[i], text: i => num(RUNS.final_loss[i]) },
    { key: 'train_seconds', title: 'train s', numeric: true, width: 76, value: i => RUNS.train_seconds[i], text: i => RUNS.train_seconds[i].toFixed(2) },
    { key: 'sample_seconds', title: 'sample s', numeric: true, width: 80, value: i => RUNS.sample_seconds[i], text: i => RUNS.sample_seconds[i].toFixed(3) },
    { key: 'model', title: 'model', width: 110, value: i => D.models[RUNS.model[i]], text: i => short(D.models[RUNS.model[i]]) });
  return columns;
}
