'use strict';
// The API key stays in sessionStorage: this tab only, gone when it closes, never in the address bar or a cookie.
const keyName = 'referral-broker-api-key';
const outcomes = {
  'pending': 'Waiting for an answer',
  'accepted': 'Accepted, ongoing',
  'completed': 'Completed',
  'could-not-contact': 'Could not contact',
  'declined': 'Declined',
  'withdrawn': 'Withdrawn by the client',
  'expired': 'Expired',
  'undelivered': 'Could not be delivered',
};
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
let csvUrl = null;
let chartUrl = null;

function monthString(date) { return date.toISOString().slice(0, 7); }

function element(name, text, attributes = {}) {
  const node = document.createElement(name);
  if (text !== undefined) { node.textContent = text; }
  for (const [key, value] of Object.entries(attributes)) { node.setAttribute(key, value); }
  return node;
}

function svg(name, attributes, text) {
  const node = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) { node.setAttribute(key, String(value)); }
  if (text !== undefined) { node.textContent = text; }
  return node;
}

async function fetchReport(format) {
  const query = new URLSearchParams({ from: `${$('from').value}-01`, to: `${$('to').value}-01`, format });
  const response = await fetch(`/api/reports/summary?${query}`, {
    headers: { Authorization: `Bearer ${sessionStorage.getItem(keyName)}` },
    cache: 'no-store',
  });
  return response;
}

function totalsTable(report) {
  const table = element('table');
  const head = element('tr');
  head.append(element('th', 'Measure', { scope: 'col' }), element('th', 'Count', { scope: 'col' }));
  table.append(head);
  const row = (label, value) => {
    const tr = element('tr');
    tr.append(element('th', label, { scope: 'row' }), element('td', value, { class: 'number' }));
    table.append(tr);
  };
  const shown = (total) => {
    if (total.suppressedCells === 0) { return String(total.count); }
    return total.count === 0 ? 'only “<5”' : `${total.count} + some “<5”`;
  };
  row('All referrals', shown(report.total));
  for (const c of report.byCategory) { row(`Category: ${c.category}`, shown(c)); }
  for (const o of report.byOutcome) { row(outcomes[o.outcome] || o.outcome, shown(o)); }
  row('Acceptance rate', report.acceptanceRate === null ? 'too few to show' : `${Math.round(report.acceptanceRate * 100)}%`);
  row('Median time to acceptance', report.medianHoursToAcceptance === null ? 'too few to show' : `${report.medianHoursToAcceptance} hours`);
  row('Median time to completion', report.medianHoursToCompletion === null ? 'too few to show' : `${report.medianHoursToCompletion} hours`);
  return table;
}

// A plain horizontal bar chart, drawn with SVG attributes only (no inline styles, so the page's CSP holds).
function chart(report) {
  const bars = report.byOutcome.filter((o) => o.count > 0);
  const max = Math.max(1, ...bars.map((o) => o.count));
  const rowHeight = 28;
  const width = 640;
  const labelWidth = 220;
  const height = Math.max(1, bars.length) * rowHeight + 40;
  const root = svg('svg', { xmlns: svgNs, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title' });
  root.append(svg('title', { id: 'chart-title' }, `Referrals by outcome, ${$('period').textContent}`));
  root.append(svg('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  root.append(svg('text', { x: 8, y: 20, 'font-family': 'sans-serif', 'font-size': 14, fill: '#111111' }, `Referrals by outcome, ${$('period').textContent}`));
  bars.forEach((o, i) => {
    const y = 32 + i * rowHeight;
    const barWidth = Math.round(((width - labelWidth - 60) * o.count) / max);
    root.append(svg('text', { x: 8, y: y + 17, 'font-family': 'sans-serif', 'font-size': 13, fill: '#111111' }, outcomes[o.outcome] || o.outcome));
    root.append(svg('rect', { x: labelWidth, y: y + 4, width: barWidth, height: rowHeight - 10, fill: '#1f5f99' }));
    root.append(svg('text', { x: labelWidth + barWidth + 6, y: y + 17, 'font-family': 'sans-serif', 'font-size': 13, fill: '#111111' }, String(o.count)));
  });
  if (bars.length === 0) {
    root.append(svg('text', { x: 8, y: 52, 'font-family': 'sans-serif', 'font-size': 13, fill: '#111111' }, 'No count of 5 or more to draw.'));
  }
  return root;
}

function replaceUrl(old, blob) {
  if (old) { URL.revokeObjectURL(old); }
  return URL.createObjectURL(blob);
}

$('report-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const typed = $('api-key').value.trim();
  if (typed) { sessionStorage.setItem(keyName, typed); }
  $('message').textContent = 'Loading…';
  const response = await fetchReport('json');
  if (!response.ok) {
    $('result').hidden = true;
    $('message').textContent = response.status === 401
      ? 'This API key was not accepted.'
      : 'The report could not be made for these months (at most 60 months, “to” not before “from”).';
    return;
  }
  const report = await response.json();
  $('period').textContent = report.from === report.to ? report.from : `${report.from} to ${report.to}`;
  $('organisation').replaceChildren(totalsTable(report.organisation));
  $('network').replaceChildren(totalsTable(report.network));
  $('suppression').textContent = report.suppression;
  const drawn = chart(report.organisation);
  $('chart').replaceChildren(drawn);
  chartUrl = replaceUrl(chartUrl, new Blob([new XMLSerializer().serializeToString(drawn)], { type: 'image/svg+xml' }));
  $('download-chart').href = chartUrl;
  const csv = await fetchReport('csv');
  if (csv.ok) {
    csvUrl = replaceUrl(csvUrl, await csv.blob());
    $('download-csv').href = csvUrl;
  }
  $('message').textContent = '';
  $('result').hidden = false;
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(keyName);
  $('api-key').value = '';
  $('result').hidden = true;
  $('message').textContent = 'The key is forgotten.';
});

const now = new Date();
$('to').value = monthString(now);
$('from').value = monthString(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)));
if (sessionStorage.getItem(keyName)) { $('api-key').required = false; $('api-key').placeholder = 'Remembered for this tab'; }
