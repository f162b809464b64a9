'use strict';
// The caseworker's intake page. The organisation's API key lives in this tab's sessionStorage only (gone when the
// tab closes); client details go straight from this form to POST /api/referrals and are kept nowhere else.
const $ = (id) => document.getElementById(id);
const texts = JSON.parse($('client-texts').textContent);
const keyName = 'referral-broker.api-key';
const fields = ['firstName', 'contact', 'contactVia', 'language', 'needs'];
let partners = [];
let idempotencyKey = null;
let unconfirmedToken = null;

function say(text) { $('message').textContent = text; }

function showKeyForm() {
  $('key-form').hidden = false;
  $('refer-form').hidden = true;
  $('api-key').focus();
}

function showReferForm() {
  $('key-form').hidden = true;
  $('refer-form').hidden = false;
}

function language() { return $('client-language').value; }

// Tokens are Crockford base32: any case, spaces and dashes ignored, O read as 0 and I/L as 1 (as the broker reads them).
function canonical(token) {
  return token.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

function renderScript() {
  const t = texts.languages[language()];
  $('script').lang = language();
  $('script-intro').textContent = t.ConsentScriptIntro;
  $('script-fields-intro').textContent = t.ConsentScriptFields;
  $('script-fields').replaceChildren(...fields.filter((f) => $(`share-${f}`).checked).map((f) => {
    const li = document.createElement('li');
    li.textContent = t[`Field_${f}`];
    return li;
  }));
  $('script-privacy').textContent = t.ConsentScriptPrivacy;
  $('script-card').textContent = t.ConsentScriptCard;
  $('script-question').textContent = t.ConsentScriptQuestion;
}

// Partners offering the chosen service who list the person's language; all who offer the service if none does.
function renderPartners() {
  const category = $('category').value;
  const primary = language().split('-')[0];
  const offering = partners.filter((p) => p.categories.includes(category));
  const speaking = offering.filter((p) => p.languages.some((l) => l.split('-')[0] === primary));
  const shown = speaking.length > 0 ? speaking : offering;
  $('partner').replaceChildren(...shown.map((p) => {
    const option = document.createElement('option');
    option.value = p.id;
    option.textContent = `${p.name} (${p.languages.join(', ')})`;
    return option;
  }));
  $('partner-note').textContent = offering.length === 0
    ? 'No partner offers this service.'
    : speaking.length === 0 ? `No partner lists ${texts.languages[language()].name}: showing every partner for this service.` : '';
}

// A paused partner refuses referrals; the coordinator may add categories beyond the three the page names.
async function loadPartners() {
  const response = await fetch('/api/partners', { cache: 'no-store' });
  partners = (response.ok ? await response.json() : []).filter((p) => !p.paused);
  const select = $('category');
  const named = new Set([...select.options].map((o) => o.value));
  for (const category of [...new Set(partners.flatMap((p) => p.categories))].sort()) {
    if (!named.has(category)) { select.append(new Option(category, category)); }
  }
  renderPartners();
}

function referral() {
  const client = {};
  for (const field of fields) {
    const value = $(`field-${field}`).value.trim();
    if ($(`share-${field}`).checked && value !== '') { client[field] = value; }
  }
  return {
    category: $('category').value,
    partnerId: $('partner').value,
    // Exactly the ticked fields that have a value: nothing unticked leaves this page.
    consent: { obtainedBy: $('obtained-by').value, sharedFields: Object.keys(client) },
    client,
  };
}

function showErrors(body) {
  const list = $('errors');
  const entries = body && body.errors ? Object.entries(body.errors) : [];
  list.replaceChildren(...(entries.length > 0 ? entries : [['', [(body && (body.detail || body.title)) || 'The referral was not sent.']]])
    .map(([path, messages]) => {
      const li = document.createElement('li');
      li.textContent = path ? `${path}: ${messages.join(' ')}` : messages.join(' ');
      return li;
    }));
  list.hidden = false;
}

function showCard(token) {
  const t = texts.languages[language()];
  const address = `${texts.statusPage}?lang=${language()}`;
  $('token').textContent = token;
  $('card').lang = language();
  $('card-title').textContent = t.CardTitle;
  $('card-token').textContent = token;
  $('card-check-at').textContent = t.CardCheckAt;
  $('card-address').textContent = address;
  $('card-private').textContent = t.CardKeepPrivate;
  $('card-no-name').textContent = t.CardNoName;
  $('refer-form').hidden = true;
  $('done').hidden = false;
  unconfirmedToken = token;
  $('type-back').focus();
}

async function send(event) {
  event.preventDefault();
  $('errors').hidden = true;
  // One key per referral: a retry after a lost answer returns the same referral and code instead of a second one.
  idempotencyKey = idempotencyKey || crypto.randomUUID();
  say('Sending…');
  const response = await fetch('/api/referrals', {
    method: 'POST',
    headers: {
      'Authorization': `Bearer ${sessionStorage.getItem(keyName)}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': idempotencyKey,
    },
    body: JSON.stringify(referral()),
    cache: 'no-store',
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(keyName);
    say('The API key was not accepted. Enter it again.');
    showKeyForm();
    return;
  }
  if (!response.ok) {
    say('The referral was not sent.');
    showErrors(body);
    return;
  }
  say('');
  showCard(body.statusToken);
}

function checkTypedBack() {
  const typed = $('type-back').value;
  if (!unconfirmedToken || typed.trim() === '') { $('type-back-result').textContent = ''; return; }
  if (canonical(typed) === canonical(unconfirmedToken)) {
    $('type-back-result').textContent = 'It matches: the code is safe on the card.';
    unconfirmedToken = null;
  } else {
    $('type-back-result').textContent = 'It does not match yet. Check each letter and number on the card.';
  }
}

function reset() {
  if (unconfirmedToken && !window.confirm('The code has not been checked. Leave it anyway? It cannot be shown again.')) { return; }
  unconfirmedToken = null;
  idempotencyKey = null;
  $('refer-form').reset();
  for (const field of fields) { $(`field-${field}`).value = ''; }
  $('type-back').value = '';
  $('type-back-result').textContent = '';
  $('done').hidden = true;
  $('client-language').dispatchEvent(new Event('change'));
  showReferForm();
}

function start() {
  $('client-language').replaceChildren(...Object.entries(texts.languages).map(([code, t]) => {
    const option = document.createElement('option');
    option.value = code;
    option.textContent = t.name;
    return option;
  }));
  $('client-language').addEventListener('change', () => {
    $('field-language').value = language();
    renderScript();
    renderPartners();
  });
  $('category').addEventListener('change', renderPartners);
  for (const field of fields) { $(`share-${field}`).addEventListener('change', renderScript); }
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(keyName, $('api-key').value.trim());
    $('api-key').value = '';
    showReferForm();
  });
  $('forget-key').addEventListener('click', () => { sessionStorage.removeItem(keyName); showKeyForm(); });
  $('refer-form').addEventListener('submit', (event) => {
    send(event).catch(() => say('The referral could not be sent: check the connection and send again (it will not be sent twice).'));
  });
  // Any edit makes it a different referral, with its own Idempotency-Key.
  $('refer-form').addEventListener('input', () => { idempotencyKey = null; });
  $('print').addEventListener('click', () => window.print());
  $('type-back').addEventListener('input', checkTypedBack);
  $('new-referral').addEventListener('click', reset);
  // Until the code is read back, leaving the page asks first: once gone, the code cannot be shown again.
  window.addEventListener('beforeunload', (event) => { if (unconfirmedToken) { event.preventDefault(); } });
  $('field-language').value = language();
  renderScript();
  if (sessionStorage.getItem(keyName)) { showReferForm(); } else { showKeyForm(); }
  loadPartners().catch(() => say('The partner list could not be loaded. Reload the page.'));
}

start();
