'use strict';
// The caseworker's referrals: GET /api/referrals with its filters and continuation, newest first. Only what the broker
// holds is shown (statuses, dates, partner, service), never anything about the person: the broker has none. A referral
// whose delivery failed is sent again with its details typed again with the person (POST /api/referrals/{id}/resend).
const $ = (id) => document.getElementById(id);
const statuses = ['submitted', 'delivered', 'accepted', 'declined', 'in-progress', 'completed', 'could-not-contact', 'withdrawn', 'expired'];
const flagReasons = ['shared-client-details-without-consent', 'contacted-police-or-immigration', 'demanded-identity-documents',
  'exposed-client-identity', 'other-confidentiality-breach'];
const fields = ['firstName', 'contact', 'contactVia', 'language', 'needs'];
const labels = {
  firstName: page.t('ShareFirstName'), contact: page.t('ShareContact'), contactVia: page.t('ShareContactVia'),
  language: page.t('ShareLanguage'), needs: page.t('ShareNeeds'),
};
let partners = new Map();
let items = [];
let continuation = null;
let resending = null;
let flagging = null;

function say(text) { $('message').textContent = text; }

function partnerName(id) { return partners.has(id) ? partners.get(id).name : page.t('UnknownPartner', id); }

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function query() {
  const parameters = new URLSearchParams();
  for (const [name, id] of [['status', 'filter-status'], ['category', 'filter-category'], ['from', 'filter-from'], ['to', 'filter-to']]) {
    if ($(id).value) parameters.set(name, $(id).value);
  }
  parameters.set('limit', '50');
  if (continuation) parameters.set('continuation', continuation);
  return parameters.toString();
}

function renderAttention() {
  const failed = items.filter((r) => r.deliveryFailed).length;
  const duress = items.filter((r) => r.duressUsedAt).length;
  const box = $('attention');
  box.replaceChildren();
  if (failed === 0 && duress === 0) {
    box.className = 'ok';
    box.append(el('p', page.t('AttentionNone')));
    return;
  }
  box.className = 'alert';
  box.append(el('h2', page.t('AttentionTitle')));
  const list = el('ul');
  if (failed > 0) list.append(el('li', page.t('AttentionFailed', failed)));
  if (duress > 0) list.append(el('li', page.t('AttentionDuress', duress)));
  box.append(list);
}

function historyCell(referral) {
  const details = el('details');
  details.append(el('summary', page.t('HistoryShow', referral.history.length)));
  const list = el('ol');
  referral.history.forEach((entry, i) => {
    const word = entry.status === 'submitted' && i > 0 ? page.t('HistoryResent') : page.word('State_', entry.status);
    list.append(el('li', `${page.date(entry.at)}: ${word}`));
  });
  details.append(list);
  return details;
}

function statusCell(referral) {
  const cell = el('td');
  cell.append(el('span', page.word('State_', referral.status), 'badge'));
  if (referral.declineReason) cell.append(el('p', page.word('DeclineReason_', referral.declineReason), 'hint'));
  if (referral.deliveryFailed) {
    cell.append(' ', el('span', page.t('BadgeFailed'), 'badge alert'));
    cell.append(el('p', page.t('FailedExplain'), 'field-error'));
  }
  if (referral.duressUsedAt) {
    cell.append(' ', el('span', page.t('BadgeDuress'), 'badge alert'));
    cell.append(el('p', page.t('DuressExplain', page.date(referral.duressUsedAt)), 'field-error'));
  }
  cell.append(el('p', page.t('ConsentEnds', page.date(referral.expiresAt)), 'hint'));
  return cell;
}

function actionsCell(referral) {
  const cell = el('td');
  const actions = el('div', null, 'actions');
  if (referral.deliveryFailed) {
    const again = el('button', page.t('SendAgain'), 'primary');
    again.type = 'button';
    again.dataset.referral = referral.referralId;
    again.addEventListener('click', () => openResend(referral));
    actions.append(again);
  }
  const flag = el('button', page.t('FlagPartner'));
  flag.type = 'button';
  flag.addEventListener('click', () => openFlag(referral.partnerId));
  actions.append(flag);
  cell.append(actions);
  return cell;
}

function row(referral) {
  const tr = el('tr');
  tr.id = `referral-${referral.referralId}`;
  if (referral.deliveryFailed || referral.duressUsedAt) tr.className = 'attention';
  const sentCell = el('td');
  sentCell.append(el('span', page.date(referral.createdAt)), el('br'), el('span', referral.referralId, 'hint'));
  tr.append(sentCell, el('td', page.word('Category_', referral.category)), el('td', partnerName(referral.partnerId)), statusCell(referral));
  const history = el('td');
  history.append(historyCell(referral));
  tr.append(history, actionsCell(referral));
  // On a phone each row stacks into a card; its cells name their column (site.css, "referrals").
  const columns = [page.t('ColSent'), page.t('ColService'), page.t('ColPartner'), page.t('ColStatus'), page.t('ColHistory'), page.t('ColActions')];
  [...tr.children].forEach((cell, i) => { cell.dataset.label = columns[i]; });
  return tr;
}

function render() {
  $('rows').replaceChildren(...items.map(row));
  $('empty').hidden = items.length > 0;
  $('more').hidden = !continuation;
  renderAttention();
}

function showErrors(list, body, fieldName) {
  const entries = body && body.errors ? Object.entries(body.errors) : [];
  list.replaceChildren(...(entries.length > 0 ? entries : [['', [(body && (body.detail || body.title)) || '']]])
    .map(([path, messages]) => el('li', path ? page.t('FieldError', fieldName(path), messages.join(' ')) : messages.join(' '))));
  list.hidden = false;
}

async function load(more) {
  if (!more) { continuation = null; items = []; }
  $('filter-errors').hidden = true;
  say(page.t('Loading'));
  const answer = await page.api('GET', `/api/referrals?${query()}`);
  if (answer.status === 401) { signedOut(); staff.refused(); say(''); return; }
  if (!answer.ok) {
    say(page.t('LoadFailed'));
    if (answer.status === 400) showErrors($('filter-errors'), answer.body, (p) => ({ status: page.t('FilterStatus'), category: page.t('FilterCategory'), from: page.t('FilterFrom'), to: page.t('FilterTo') }[p] || p));
    return;
  }
  items = items.concat(answer.body.items);
  continuation = answer.body.continuation || null;
  say('');
  render();
}

async function loadPartners() {
  const answer = await page.api('GET', '/api/partners');
  const list = answer.ok ? answer.body : [];
  partners = new Map(list.map((p) => [p.id, p]));
  const categories = [...new Set(list.flatMap((p) => p.categories))].sort();
  $('filter-category').replaceChildren(new Option(page.t('FilterAny'), ''), ...categories.map((c) => new Option(page.word('Category_', c), c)));
}

// The resend form: the details typed again with the person; typing ticks a box, unticking clears it (as on /refer).
function againValue(field) { return $(`again-${field}`).value.trim(); }

function wireAgain(field) {
  const box = $(`again-share-${field}`);
  const input = $(`again-${field}`);
  input.addEventListener(input.tagName === 'SELECT' ? 'change' : 'input', () => {
    if (againValue(field) !== '') box.checked = true;
    $(`again-cleared-${field}`).textContent = '';
  });
  box.addEventListener('change', () => {
    $(`again-cleared-${field}`).textContent = '';
    if (!box.checked && field !== 'contactVia' && againValue(field) !== '') {
      input.value = '';
      $(`again-cleared-${field}`).textContent = page.t('Cleared', labels[field]);
    }
  });
}

function openResend(referral) {
  closeFlag();
  resending = referral;
  $('resend-form').reset();
  for (const field of fields) { $(`again-cleared-${field}`).textContent = ''; }
  $('resend-errors').hidden = true;
  $('resend-title').textContent = page.t('ResendTitle', partnerName(referral.partnerId), page.word('Category_', referral.category));
  $('resend').hidden = false;
  $('resend-title').focus();
}

// Emptied as it closes, sent or not: what was typed with the person must not wait in a hidden form for the next one.
function closeResend() { resending = null; $('resend-form').reset(); $('resend').hidden = true; }

async function sendAgain(event) {
  event.preventDefault();
  if (!resending) return;
  const details = {};
  for (const field of fields) {
    if ($(`again-share-${field}`).checked && againValue(field) !== '') details[field] = againValue(field);
  }
  const body = { consent: { obtainedBy: $('again-obtained-by').value, sharedFields: Object.keys(details) }, client: details };
  const referral = resending;
  say(page.t('Sending'));
  const answer = await page.api('POST', `/api/referrals/${encodeURIComponent(referral.referralId)}/resend`, body);
  if (answer.status === 401) { signedOut(); staff.refused(); say(''); return; }
  if (answer.status === 409) { closeResend(); say(page.t('ResendConflict')); await load(false); return; }
  if (!answer.ok) {
    say(page.t('ResendFailed'));
    showErrors($('resend-errors'), answer.body, (p) => (p.startsWith('client.') && labels[p.slice(7)]) || p);
    return;
  }
  closeResend();
  await load(false);
  say(page.t('ResendDone', partnerName(referral.partnerId)));
}

function openFlag(partnerId) {
  closeResend();
  flagging = partnerId;
  $('flag-errors').hidden = true;
  $('flag-title').textContent = page.t('FlagTitle', partnerName(partnerId));
  $('flag').hidden = false;
  $('flag-title').focus();
}

function closeFlag() { flagging = null; $('flag').hidden = true; }

async function sendFlag(event) {
  event.preventDefault();
  if (!flagging) return;
  const partnerId = flagging;
  const answer = await page.api('POST', `/api/partners/${encodeURIComponent(partnerId)}/flags`, { reason: $('flag-reason').value });
  if (answer.status === 401) { signedOut(); staff.refused(); return; }
  if (!answer.ok) {
    say(page.t('FlagFailed'));
    showErrors($('flag-errors'), answer.body, (p) => (p === 'reason' ? page.t('FlagReasonLabel') : p));
    return;
  }
  closeFlag();
  say(page.t('FlagDone', partnerName(partnerId)));
}

function signedOut() {
  $('content').hidden = true;
  closeResend();
  closeFlag();
}

function signedIn() {
  $('content').hidden = false;
  loadPartners().catch(() => {}).finally(() => load(false).catch(() => say(page.t('LoadFailed'))));
}

function start() {
  $('filter-status').replaceChildren(new Option(page.t('FilterAny'), ''), ...statuses.map((s) => new Option(page.word('State_', s), s)));
  $('flag-reason').replaceChildren(...flagReasons.map((r) => new Option(page.word('FlagReason_', r), r)));
  fields.forEach(wireAgain);
  $('filters').addEventListener('submit', (event) => { event.preventDefault(); load(false).catch(() => say(page.t('LoadFailed'))); });
  $('more').addEventListener('click', () => load(true).catch(() => say(page.t('LoadFailed'))));
  $('resend-form').addEventListener('submit', (event) => { sendAgain(event).catch(() => say(page.t('ResendFailed'))); });
  $('resend-cancel').addEventListener('click', closeResend);
  $('flag-form').addEventListener('submit', (event) => { sendFlag(event).catch(() => say(page.t('FlagFailed'))); });
  $('flag-cancel').addEventListener('click', closeFlag);
  staff.start(signedIn, signedOut);
}

start();
