'use strict';
// The impact report. Its words come from ReportsText in the page's language (page.t); the staff key is the tab's
// (page.key: sessionStorage, shared with the other staff pages, never in the address bar or a cookie).
const t = page.t;
const $ = (id) => document.getElementById(id);
const svgNs = 'http://www.w3.org/2000/svg';
let csvUrl = null;
let chartUrl = null;

function monthString(date) { return date.toISOString().slice(0, 7); }

// "2026-11" → "November 2026" in the page's language.
function monthName(yearMonth) {
  const [year, month] = yearMonth.split('-');
  return t('MonthYear', page.word('Month_', Number(month)), year);
}

function period(report) {
  return report.from === report.to ? monthName(report.from) : t('PeriodRange', monthName(report.from), monthName(report.to));
}

function outcome(code) { return page.word('Outcome_', code); }

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

function summary(format) {
  const query = new URLSearchParams({ from: `${$('from').value}-01`, to: `${$('to').value}-01`, format });
  return page.api('GET', `/api/reports/summary?${query}`);
}

function totalsTable(report) {
  const table = element('table');
  const head = element('tr');
  head.append(element('th', t('Measure'), { scope: 'col' }), element('th', t('Count'), { scope: 'col' }));
  table.append(head);
  const row = (label, value) => {
    const tr = element('tr');
    tr.append(element('th', label, { scope: 'row' }), element('td', value, { class: 'number' }));
    table.append(tr);
  };
  const shown = (total) => {
    if (total.suppressedCells === 0) { return String(total.count); }
    return total.count === 0 ? t('OnlySuppressed') : t('SomeSuppressed', total.count);
  };
  const tooFew = (value, text) => (value === null ? t('TooFew') : text(value));
  row(t('AllReferrals'), shown(report.total));
  for (const c of report.byCategory) { row(t('CategoryRow', page.word('Category_', c.category)), shown(c)); }
  for (const o of report.byOutcome) { row(outcome(o.outcome), shown(o)); }
  row(t('AcceptanceRate'), tooFew(report.acceptanceRate, (v) => t('Percent', Math.round(v * 100))));
  row(t('MedianAcceptance'), tooFew(report.medianHoursToAcceptance, (v) => t('Hours', v)));
  row(t('MedianCompletion'), tooFew(report.medianHoursToCompletion, (v) => t('Hours', v)));
  return table;
}

// A plain horizontal bar chart, drawn with SVG attributes only (no inline styles, so the page's CSP holds). It is
// drawn on white with its own colours: it is made to be downloaded into a funder's report.
function chart(report, title) {
  const bars = report.byOutcome.filter((o) => o.count > 0);
  const max = Math.max(1, ...bars.map((o) => o.count));
  const rowHeight = 28;
  const width = 640;
  const labelWidth = 220;
  const height = Math.max(1, bars.length) * rowHeight + 40;
  const text = { 'font-family': 'sans-serif', 'font-size': 13, fill: '#111111' };
  const root = svg('svg', { xmlns: svgNs, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title' });
  root.append(svg('title', { id: 'chart-title' }, title));
  root.append(svg('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  root.append(svg('text', { ...text, x: 8, y: 20, 'font-size': 14 }, title));
  bars.forEach((o, i) => {
    const y = 32 + i * rowHeight;
    const barWidth = Math.round(((width - labelWidth - 60) * o.count) / max);
    root.append(svg('text', { ...text, x: 8, y: y + 17 }, outcome(o.outcome)));
    root.append(svg('rect', { x: labelWidth, y: y + 4, width: barWidth, height: rowHeight - 10, fill: '#1f5f99' }));
    root.append(svg('text', { ...text, x: labelWidth + barWidth + 6, y: y + 17 }, String(o.count)));
  });
  if (bars.length === 0) {
    root.append(svg('text', { ...text, x: 8, y: 52 }, t('ChartEmpty')));
  }
  return root;
}

function replaceUrl(old, blob) {
  if (old) { URL.revokeObjectURL(old); }
  return URL.createObjectURL(blob);
}

// The key is asked for only while the tab has none; once kept, the page says so and offers to forget it.
function showKey() {
  const kept = Boolean(page.key.get());
  $('key-ask').hidden = kept;
  $('key-kept').hidden = !kept;
  $('api-key').required = !kept;
  $('forget').hidden = !kept;
}

$('report-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const typed = $('api-key').value.trim();
  if (typed) { page.key.set(typed); $('api-key').value = ''; }
  $('message').textContent = t('Loading');
  let response;
  try {
    response = await summary('json');
  } catch {
    $('message').textContent = t('Failed');
    return;
  }
  if (!response.ok) {
    $('result').hidden = true;
    if (response.status === 401 || response.status === 403) {
      page.key.forget();
      showKey();
      $('message').textContent = t('KeyRefused');
      $('api-key').focus();
    } else {
      $('message').textContent = response.status === 400 ? t('RangeRefused') : t('Failed');
    }
    return;
  }
  showKey();
  const report = response.body;
  const title = t('ResultTitle', period(report));
  $('result-title').textContent = title;
  $('organisation').replaceChildren(totalsTable(report.organisation));
  $('network').replaceChildren(totalsTable(report.network));
  const drawn = chart(report.organisation, t('ChartTitle', period(report)));
  $('chart').replaceChildren(drawn);
  chartUrl = replaceUrl(chartUrl, new Blob([new XMLSerializer().serializeToString(drawn)], { type: 'image/svg+xml' }));
  $('download-chart').href = chartUrl;
  const csv = await summary('csv');
  if (csv.ok) {
    csvUrl = replaceUrl(csvUrl, new Blob([csv.body], { type: 'text/csv' }));
    $('download-csv').href = csvUrl;
  }
  $('message').textContent = '';
  $('result').hidden = false;
});

$('forget').addEventListener('click', () => {
  page.key.forget();
  showKey();
  $('result').hidden = true;
  $('message').textContent = t('Forgotten');
  $('api-key').focus();
});

const now = new Date();
$('to').value = monthString(now);
$('from').value = monthString(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)));
showKey();
