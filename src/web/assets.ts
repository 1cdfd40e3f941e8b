/**
 * The dashboard's stylesheet and script, served from /assets/. They live in a .ts file so the
 * build (tsc) ships them in dist/ with no copy step. The Content-Security-Policy allows only
 * these same-origin files: no inline script or style runs on any page.
 */

export const APP_CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2733;background:#f5f7fa}
header{display:flex;flex-wrap:wrap;align-items:center;gap:16px;padding:10px 20px;background:#1f2d3d;color:#fff}
header a{color:#cfe0f3;text-decoration:none}
header .brand{font-weight:700;color:#fff;font-size:16px}
header nav a{padding:6px 10px;border-radius:4px}
header nav a.current,header nav a:hover{background:#34495e;color:#fff}
header .servers{margin-left:auto;display:flex;gap:6px;flex-wrap:wrap}
.srv{font-size:12px;padding:2px 8px;border-radius:10px;background:#2e7d32}
.srv.down{background:#c62828}
main{padding:16px 20px;max-width:1400px}
h1{font-size:22px;margin:4px 0 12px}
h2{font-size:17px;margin:22px 0 8px}
h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;background:#fff;min-width:40%;margin-bottom:8px}
th,td{padding:6px 10px;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}
thead th{background:#eef2f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.total{font-weight:600}
tr.down td{background:#fff3f3}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{margin:0;white-space:pre-wrap;word-break:break-all;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
a{color:#1565c0}
.muted{color:#7a8794}
.clipped{display:block;color:#7a8794;font-style:italic;white-space:normal}
.badge{display:inline-block;font-size:11.5px;padding:1px 7px;border-radius:9px;background:#e0e0e0;margin-left:4px}
.badge.up{background:#d7f0d8;color:#1b5e20}
.badge.down{background:#fbd5d5;color:#8e1616}
.badge.warn{background:#fff0c2;color:#7a5a00}
.badge.retried{background:#e1ecfb;color:#0d47a1}
.down-notice{background:#fdecea;border:1px solid #f5c2c0;color:#8e1616;padding:8px 12px;border-radius:4px;margin:6px 0}
.unreadable-notice{background:#fff8e1;border:1px solid #f0d58a;color:#6b4e00;padding:8px 12px;border-radius:4px;margin:6px 0}
.unreadable-notice ul{margin:4px 0 0;padding-left:20px}
.flash{padding:8px 12px;border-radius:4px;margin:0 0 10px}
.flash.ok{background:#e7f5e8;border:1px solid #b9e0bb}
.flash.error{background:#fdecea;border:1px solid #f5c2c0;color:#8e1616}
.intro,.sub{color:#4a5866}
form.inline{display:inline}
button{font:inherit;font-size:13px;padding:3px 10px;border:1px solid #9fb3c8;border-radius:4px;background:#fff;cursor:pointer}
button:hover{background:#eef4fb}
button.danger{border-color:#d9a0a0;color:#8e1616}
input[type=number]{width:70px;font:inherit;padding:2px 4px}
.controls{margin:6px 0}
.controls.bulk form{margin-right:6px}
.tabs{display:flex;gap:4px;margin:6px 0 12px;border-bottom:1px solid #cfd8e3}
.tabs a{padding:6px 12px;text-decoration:none;border:1px solid transparent;border-bottom:none;border-radius:4px 4px 0 0}
.tabs a.current{background:#fff;border-color:#cfd8e3;font-weight:600;margin-bottom:-1px}
.tabs .count{font-size:11.5px;background:#eef2f6;border-radius:8px;padding:0 6px;margin-left:4px}
.pager{display:flex;gap:14px;margin:8px 0}
ul.failed{list-style:none;padding:0;margin:0}
li.failure{background:#fff;border:1px solid #e3e8ee;border-left:4px solid #c62828;border-radius:4px;padding:8px 12px;margin:0 0 10px}
li.failure.retried{border-left-color:#1565c0}
li.failure .head{display:flex;flex-wrap:wrap;gap:6px;align-items:baseline}
li.failure .head .controls{margin:0 0 0 auto}
li.failure .idx{color:#7a8794}
li.failure dl{display:grid;grid-template-columns:110px 1fr;gap:4px 10px;margin:8px 0 0}
li.failure dt{color:#4a5866}
li.failure dd{margin:0;min-width:0}
.queue-tag{background:#eef2f6;border-radius:3px;padding:0 5px;text-decoration:none}
.chart{background:#fff;border:1px solid #e3e8ee;border-radius:4px;padding:8px;max-width:760px}
.chart svg{width:100%;height:auto;display:block}
.chart .legend{margin:4px 0 0;font-size:13px}
.chart .legend .p{color:#1565c0;font-weight:600}
.chart .legend .f{color:#c62828;font-weight:600}
section.master{background:#fff;border:1px solid #e3e8ee;border-radius:4px;padding:4px 14px 10px;margin:0 0 14px}
footer{padding:14px 20px;color:#7a8794;font-size:12px}
.tiles{display:grid;grid-template-columns:repeat(5,minmax(140px,1fr));gap:10px;margin:0 0 10px;max-width:1100px}
.tile{display:flex;flex-direction:column;background:#fff;border:1px solid #e3e8ee;border-radius:6px;padding:10px 14px;text-decoration:none;color:inherit}
.tile:hover{border-color:#9fb3c8}
.tile .label{font-size:12px;color:#4a5866;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:28px;font-weight:650;font-variant-numeric:tabular-nums;color:#1f2d3d}
.tile .tsub{font-size:12px;color:#7a8794}
.tile[data-tile=failed] .value,.tile[data-tile=failures] .value{color:#8e1616}
form.search{background:#fff;border:1px solid #e3e8ee;border-radius:4px;padding:8px 10px;margin:6px 0 10px;display:flex;flex-wrap:wrap;gap:8px;align-items:center}
form.search input{font:inherit;padding:2px 5px}
table.groups-by-exception tr.current td{background:#eef4fb}
td.row-actions{white-space:nowrap}
a.details{font-size:13px}
dl.detail{display:grid;grid-template-columns:120px 1fr;gap:6px 12px;background:#fff;border:1px solid #e3e8ee;border-radius:4px;padding:10px 14px}
dl.detail dt{color:#4a5866}
dl.detail dd{margin:0;min-width:0}
pre.pretty,pre.raw,pre.backtrace{background:#f7f9fb;border:1px solid #e3e8ee;border-radius:3px;padding:6px 8px}
.confirm-question{font-size:15px;word-break:break-all}
@media (max-width:760px){.tiles{grid-template-columns:repeat(2,1fr)}dl.detail{grid-template-columns:1fr}}
`;

export const APP_JS = `(function () {
  'use strict';
  // Destructive buttons ask first; the pages carry no inline script (CSP). An accepted dialog
  // is the confirmation step: the form says so (confirmed=yes), else the server asks on a page.
  document.addEventListener('submit', function (e) {
    var f = e.target;
    var q = f && f.getAttribute ? f.getAttribute('data-confirm') : null;
    if (!q) return;
    if (!window.confirm(q)) { e.preventDefault(); return; }
    if (!f.querySelector('input[name=confirmed]')) {
      var c = document.createElement('input');
      c.type = 'hidden'; c.name = 'confirmed'; c.value = 'yes';
      f.appendChild(c);
    }
  });

  // Live pages: every few seconds the page is read again and each live region ([data-live]) is
  // swapped for its new rendering, unless someone is typing or has selected text in it. Paused
  // while the tab is hidden.
  var LIVE_EVERY = Number(document.body.getAttribute('data-live-every')) || 3000;
  var status = document.getElementById('live-status');
  var ticks = 0;
  var gone = false;
  function openKeys(region) {
    var keys = [];
    region.querySelectorAll('details[open]').forEach(function (d) {
      var k = d.closest('[data-digest],[data-index],[data-master],[data-queue]');
      keys.push(k ? (k.getAttribute('data-digest') || k.getAttribute('data-index') || k.getAttribute('data-master') || k.getAttribute('data-queue')) : '');
    });
    return keys;
  }
  function refresh() {
    if (document.hidden || !document.querySelector('[data-live]')) return Promise.resolve();
    return fetch(location.href, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-Pyres-Live': '1' } })
      .then(function (r) {
        if (r.status === 404) { gone = true; throw new Error('what this page shows is gone; reload'); }
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      })
      .then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        document.querySelectorAll('[data-live]').forEach(function (old) {
          var fresh = doc.querySelector('[data-live="' + old.getAttribute('data-live') + '"]');
          if (!fresh) return;
          var a = document.activeElement;
          if (a && old.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName)) return;
          var sel = window.getSelection && window.getSelection();
          if (sel && !sel.isCollapsed && sel.anchorNode && old.contains(sel.anchorNode)) return;
          var keys = openKeys(old);
          old.replaceWith(fresh);
          fresh.querySelectorAll('details').forEach(function (d) {
            var k = d.closest('[data-digest],[data-index],[data-master],[data-queue]');
            var key = k ? (k.getAttribute('data-digest') || k.getAttribute('data-index') || k.getAttribute('data-master') || k.getAttribute('data-queue')) : '';
            if (keys.indexOf(key) >= 0) d.open = true;
          });
        });
        ticks++;
        document.body.setAttribute('data-live-ticks', String(ticks));
        if (status) status.textContent = '· live, updated ' + new Date().toLocaleTimeString();
      })
      .catch(function (err) { if (status) status.textContent = '· live updates paused: ' + err.message; });
  }
  (function loop() {
    if (!gone) setTimeout(function () { refresh().then(loop, loop); }, LIVE_EVERY);
  })();

  var box = document.getElementById('live-chart');
  if (!box) return;
  var NS = 'http://www.w3.org/2000/svg';
  var W = 720, H = 200, L = 48, R = 10, T = 10, B = 22, N = 60, EVERY = 2000;
  var points = [];
  var last = null;

  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  box.textContent = '';
  var svg = el('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img' });
  box.appendChild(svg);
  var legend = document.createElement('p');
  legend.className = 'legend';
  box.appendChild(legend);

  function fmt(n) { return n >= 10 ? n.toFixed(0) : n.toFixed(1); }

  function draw(s) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var max = 1;
    points.forEach(function (p) { max = Math.max(max, p.p, p.f); });
    var step = Math.pow(10, Math.floor(Math.log(max) / Math.LN10));
    max = Math.ceil(max / step) * step;
    var x = function (i) { return L + (W - L - R) * (N - 1 - (points.length - 1 - i)) / (N - 1); };
    var y = function (v) { return T + (H - T - B) * (1 - v / max); };
    if (max / step < 3) step = step / 2;
    for (var v = 0; v <= max + step / 1000; v += step) {
      svg.appendChild(el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e3e8ee' }));
      svg.appendChild(el('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#7a8794' }, fmt(v)));
    }
    svg.appendChild(el('text', { x: L, y: H - 6, 'font-size': 11, fill: '#7a8794' }, (N * EVERY / 1000) + 's ago'));
    svg.appendChild(el('text', { x: W - R, y: H - 6, 'text-anchor': 'end', 'font-size': 11, fill: '#7a8794' }, 'now'));
    [['p', '#1565c0'], ['f', '#c62828']].forEach(function (sr) {
      if (points.length < 2) return;
      var d = points.map(function (p, i) { return x(i).toFixed(1) + ',' + y(p[sr[0]]).toFixed(1); }).join(' ');
      svg.appendChild(el('polyline', { points: d, fill: 'none', stroke: sr[1], 'stroke-width': 2, 'class': 'series-' + sr[0] }));
    });
    legend.textContent = '';
    var cur = points.length ? points[points.length - 1] : { p: 0, f: 0 };
    var a = document.createElement('span'); a.className = 'p'; a.textContent = 'processed/s ' + fmt(cur.p);
    var b = document.createElement('span'); b.className = 'f'; b.textContent = 'failed/s ' + fmt(cur.f);
    legend.appendChild(a); legend.appendChild(document.createTextNode('  ·  ')); legend.appendChild(b);
    var down = (s && s.servers || []).filter(function (x) { return !x.ok; });
    if (down.length) {
      legend.appendChild(document.createTextNode('  ·  down: ' + down.map(function (x) { return x.label; }).join(', ')));
    }
    box.setAttribute('data-samples', String(points.length));
  }

  function rate(a, b, key, dt) {
    var sum = 0;
    b.servers.forEach(function (sb) {
      var sa = a.servers.filter(function (x) { return x.id === sb.id; })[0];
      if (sa && sa.ok && sb.ok) sum += Math.max(0, sb[key] - sa[key]);
    });
    return sum / dt;
  }

  function tick() {
    fetch(box.getAttribute('data-src'), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (s) {
        if (last && s.t > last.t) {
          var dt = (s.t - last.t) / 1000;
          points.push({ p: rate(last, s, 'processed', dt), f: rate(last, s, 'failed', dt) });
          if (points.length > N) points.shift();
        }
        last = s;
        draw(s);
      })
      .catch(function (err) { legend.textContent = 'live stats unavailable: ' + err.message; })
      .then(function () { setTimeout(tick, EVERY); });
  }
  draw(null);
  tick();
})();
`;
