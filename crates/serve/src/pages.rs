//! The server's own pages: the list of experiments, whose counts refresh by polling
//! `/api/experiments`, with a form for the run list; and a short message page.

/// `/`: the experiments of the store with live counts, and the run query form.
pub const EXPERIMENTS_PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>diffsweep serve</title>
<style>
body { margin: 0; font: 14px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 0 24px; height: 48px; display: flex; align-items: center; gap: 16px; }
header b { letter-spacing: .02em; } header span { color: #c8d1e0; }
main { padding: 16px 24px; max-width: 1400px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 17px; margin: 28px 0 8px; }
a { color: #0072b2; text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid #e3e6ec; vertical-align: top; }
th { color: #5b6475; font-weight: 600; background: #f4f6f9; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.desc { color: #5b6475; font-size: 12.5px; max-width: 560px; }
.bar { display: flex; height: 10px; width: 220px; border-radius: 5px; overflow: hidden; background: #e9edf3; }
.bar span { display: block; height: 100%; }
.done { background: #0072b2; } .nonfinite { background: #cc79a7; } .failed { background: #d55e00; } .corrupt { background: #000; } .running { background: #56b4e9; }
.note { color: #5b6475; font-size: 13px; }
form { display: flex; gap: 10px; flex-wrap: wrap; align-items: end; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 12.5px; color: #5b6475; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid #d9dde5; border-radius: 4px; }
button { background: #0072b2; color: #fff; border-color: #0072b2; cursor: pointer; }
</style>
</head>
<body>
<header><b>diffsweep</b><span>serve</span><span id="store"></span></header>
<main>
<h1>Experiments</h1>
<p class="note">Each experiment of the store (<code>sweeps/&lt;name&gt;.json</code>), its cells counted from the stored runs. The counts refresh every two seconds while a sweep, local or on Slurm, stores runs (<span id="updated">loading…</span>); an experiment's page is its report built from the store as it is when you open it.</p>
<table id="experiments">
<thead><tr><th>experiment</th><th class="num">cells</th><th class="num">done</th><th class="num">non-finite</th><th class="num">failed</th><th class="num">corrupt</th><th class="num">running</th><th class="num">pending</th><th>progress</th><th></th></tr></thead>
<tbody></tbody>
</table>
<h2>Runs across sweeps</h2>
<p class="note">Every stored run whose config has the given values, as <code>diffsweep runs --where PATH=VALUE</code> selects them (several conditions: separate them with spaces).</p>
<form action="/runs" method="get" id="query">
<label>where<input name="where" placeholder="T=10 scaling=minmax" size="34" id="where"></label>
<label>status<select name="status"><option value="">any</option><option>completed</option><option>diverged</option><option>non_finite</option><option>failed</option></select></label>
<label>sweep<select name="sweep" id="sweep"><option value="">any</option></select></label>
<button type="submit">show runs</button>
</form>
</main>
<script>
'use strict';
const body = document.querySelector('#experiments tbody');
const sweepSelect = document.getElementById('sweep');
function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
function bar(e) {
  const div = document.createElement('div'); div.className = 'bar';
  for (const [n, cls] of [[e.done, 'done'], [e.non_finite, 'nonfinite'], [e.failed, 'failed'], [e.corrupt, 'corrupt'], [e.running, 'running']]) {
    const span = document.createElement('span'); span.className = cls;
    span.style.width = (e.cells ? 100 * n / e.cells : 0) + '%'; div.append(span);
  }
  return div;
}
function draw(answer) {
  document.getElementById('store').textContent = answer.store;
  body.textContent = '';
  for (const e of answer.experiments) {
    const tr = document.createElement('tr'); tr.dataset.name = e.name;
    const name = document.createElement('td');
    const link = document.createElement('a'); link.href = '/experiments/' + encodeURIComponent(e.name); link.textContent = e.name;
    const desc = document.createElement('div'); desc.className = 'desc'; desc.textContent = e.description;
    name.append(link, desc);
    const progress = document.createElement('td'); progress.append(bar(e));
    const runs = document.createElement('td');
    const all = document.createElement('a'); all.href = '/runs?sweep=' + encodeURIComponent(e.name); all.textContent = 'runs';
    runs.append(all);
    tr.append(name, cell(e.cells, 'num'), cell(e.done, 'num done-count'), cell(e.non_finite, 'num'), cell(e.failed, 'num failed-count'),
      cell(e.corrupt, 'num'), cell(e.running, 'num running-count'), cell(e.pending, 'num pending-count'), progress, runs);
    body.append(tr);
    if (![...sweepSelect.options].some(o => o.value === e.name)) {
      const o = document.createElement('option'); o.textContent = e.name; sweepSelect.append(o);
    }
  }
  if (!answer.experiments.length) {
    const tr = document.createElement('tr'); tr.append(cell('No sweep index in this store yet: run `diffsweep sweep FILE --results DIR`.'));
    body.append(tr);
  }
  document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  window.diffsweepPolls = (window.diffsweepPolls || 0) + 1;
}
function poll() {
  fetch('/api/experiments').then(r => r.json()).then(draw)
    .catch(err => { document.getElementById('updated').textContent = 'cannot reach the server: ' + err.message; })
    .finally(() => setTimeout(poll, 2000));
}
// Several conditions in one box become one `where` each, as the command line takes them.
document.getElementById('query').addEventListener('submit', event => {
  event.preventDefault();
  const params = new URLSearchParams();
  for (const w of document.getElementById('where').value.split(/\s+/).filter(Boolean)) params.append('where', w);
  for (const name of ['status', 'sweep']) { const v = event.target.elements[name].value; if (v) params.append(name, v); }
  location.href = '/runs?' + params.toString();
});
poll();
</script>
</body>
</html>
"##;

/// A page saying `text` under `title` (escaped).
pub fn message(title: &str, text: &str) -> String {
    let escape = reporter::html::header::escape;
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{title}</title></head><body style=\"font: 14px system-ui, sans-serif; padding: 24px\">\
         <h1 style=\"font-size: 20px\">{title}</h1><p>{text}</p><p><a href=\"/\">all experiments</a></p></body></html>\n",
        title = escape(title),
        text = escape(text)
    )
}
