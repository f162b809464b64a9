'use strict';
// The caseworker's intake page. The key is checked when entered (staff.js) and kept in this tab only; client details
// go straight from this form to POST /api/referrals and are kept nowhere else. Page words come from page.t (the
// caseworker's language); the consent script and the card come in every client language from #client-texts.
const $ = (id) => document.getElementById(id);
const client = JSON.parse($('client-texts').textContent);
const fields = ['firstName', 'contact', 'contactVia', 'language', 'needs'];
const builtIn = ['health', 'legal', 'employment'];
const labels = {
  firstName: page.t('ShareFirstName'), contact: page.t('ShareContact'), contactVia: page.t('ShareContactVia'),
  language: page.t('ShareLanguage'), needs: page.t('ShareNeeds'),
};
let partners = [];
let idempotencyKey = null;
let unconfirmedToken = null;

function say(text) { $('message').textContent = text; }

function language() { return $('client-language').value; }

// Tokens are Crockford base32: any case, spaces and dashes ignored, O read as 0 and I/L as 1 (as the broker reads them).
function canonical(token) {
  return token.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

function value(field) { return $(`field-${field}`).value.trim(); }

// Exactly what leaves the page: the ticked fields that have a value.
function sent() { return fields.filter((f) => $(`share-${f}`).checked && value(f) !== ''); }

function chosenPartner() { return partners.find((p) => p.id === $('partner').value) || null; }

function clientLanguageName(code) { return (client.languages[code] && client.languages[code].name) || page.languageName(code); }

// What the person hears for a field: its description, and what was typed for it (the words she agrees to send).
function spoken(words, field) {
  if (field === 'contactVia') return words.Field_contactVia;
  const typed = field === 'language' ? clientLanguageName(value(field)) : value(field);
  return `${words[`Field_${field}`]}: ${typed}`;
}

function fillScript(prefix, code) {
  const words = client.languages[code];
  const partner = chosenPartner();
  const list = sent();
  $(prefix === 'script' ? 'script' : 'script-own').lang = code;
  $(`${prefix}-intro`).textContent = words.ConsentScriptIntro;
  $(`${prefix}-partner`).textContent = partner ? words.ClientScriptPartner.replace('{0}', partner.name) : '';
  $(`${prefix}-fields-intro`).textContent = list.length > 0 ? words.ConsentScriptFields : '';
  $(`${prefix}-fields`).replaceChildren(...list.map((f) => {
    const li = document.createElement('li');
    li.textContent = spoken(words, f);
    return li;
  }));
  $(`${prefix}-fields`).hidden = list.length === 0;
  $(`${prefix}-privacy`).textContent = words.ConsentScriptPrivacy;
  $(`${prefix}-card`).textContent = words.ConsentScriptCard;
  $(`${prefix}-question`).textContent = list.length > 0 ? words.ConsentScriptQuestion : '';
}

// In the person's language, and beside it in the caseworker's when that is another one.
function renderScript() {
  fillScript('script', language());
  const own = client.languages[page.lang] && page.lang !== language();
  $('script-own').hidden = !own;
  if (own) fillScript('own', page.lang);
  const warnings = [];
  if (!chosenPartner()) warnings.push(page.t('ScriptNoPartner'));
  if (sent().length === 0) warnings.push(page.t('ScriptNothingYet'));
  $('script-warning').textContent = warnings.join(' ');
  $('script-warning').hidden = warnings.length === 0;
}

function fact(list, term, text) {
  if (!text) return;
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = text;
  list.append(dt, dd);
}

function renderPartnerDetails() {
  const partner = chosenPartner();
  const list = $('partner-facts');
  list.replaceChildren();
  $('partner-details').hidden = !partner;
  if (!partner) return;
  fact(list, page.t('PartnerOrganisation'), partner.organisationName);
  fact(list, page.t('PartnerAbout'), partner.description);
  fact(list, page.t('PartnerLanguages'), partner.languages.map(page.languageName).join(', '));
  fact(list, page.t('PartnerSafety'), partner.attributes.length > 0
    ? partner.attributes.map((a) => page.word('Attribute_', a)).join(' · ') : page.t('PartnerNoSafety'));
  fact(list, page.t('PartnerHours'), partner.hours);
  fact(list, page.t('PartnerArea'), (partner.serviceAreas || []).join(', '));
  fact(list, page.t('PartnerAccess'), partner.accessibility);
}

// Partners offering the chosen service who list the person's language; all who offer the service if none does.
function renderPartners() {
  const category = $('category').value;
  const primary = language().split('-')[0].toLowerCase();
  const offering = partners.filter((p) => p.categories.includes(category));
  const speaking = offering.filter((p) => p.languages.some((l) => l.split('-')[0].toLowerCase() === primary));
  const shown = speaking.length > 0 ? speaking : offering;
  const before = $('partner').value;
  $('partner').replaceChildren(...shown.map((p) => new Option(
    `${p.name} (${page.t('PartnerSpeaks', p.languages.map(page.languageName).join(', '))})`, p.id)));
  if (shown.some((p) => p.id === before)) $('partner').value = before;
  $('partner-note').textContent = offering.length === 0
    ? page.t('PartnerNoneForService')
    : speaking.length === 0 ? page.t('PartnerNoneSpeaks', clientLanguageName(language())) : '';
  renderPartnerDetails();
  renderScript();
}

// A paused partner refuses referrals; the coordinator may give partners categories beyond the three built in.
async function loadPartners() {
  const response = await fetch('/api/partners', { cache: 'no-store' });
  partners = (response.ok ? await response.json() : []).filter((p) => !p.paused);
  const offered = [...new Set(partners.flatMap((p) => p.categories))];
  const ordered = [...builtIn.filter((c) => offered.includes(c)), ...offered.filter((c) => !builtIn.includes(c)).sort()];
  $('category').replaceChildren(...ordered.map((c) => new Option(page.word('Category_', c), c)));
  renderPartners();
}

function referral() {
  const details = {};
  for (const field of sent()) details[field] = value(field);
  const body = {
    category: $('category').value,
    partnerId: $('partner').value,
    // Exactly the ticked fields that have a value: nothing unticked leaves this page.
    consent: { obtainedBy: $('obtained-by').value, sharedFields: Object.keys(details) },
    client: details,
  };
  if ($('duress').checked) body.duressToken = true;
  return body;
}

function fieldName(path) {
  const field = path.startsWith('client.') ? path.slice(7) : null;
  if (field && labels[field]) return labels[field];
  return { category: page.t('CategoryLabel'), partnerId: page.t('PartnerLabel'), 'consent.obtainedBy': page.t('ObtainedByLabel') }[path] || path;
}

function showErrors(body) {
  const list = $('errors');
  const entries = body && body.errors ? Object.entries(body.errors) : [];
  list.replaceChildren(...(entries.length > 0 ? entries : [['', [(body && (body.detail || body.title)) || page.t('NotSent')]]])
    .map(([path, messages]) => {
      const li = document.createElement('li');
      li.textContent = path ? page.t('FieldError', fieldName(path), messages.join(' ')) : messages.join(' ');
      return li;
    }));
  list.hidden = false;
}

function showCard(token, duressToken) {
  const words = client.languages[language()];
  const address = `${client.statusPage}?lang=${language()}`;
  $('token').textContent = token;
  $('card').lang = language();
  $('card-title').textContent = words.CardTitle;
  $('card-token').textContent = token;
  $('card-check-at').textContent = words.CardCheckAt;
  $('card-address').textContent = address;
  $('card-private').textContent = words.CardKeepPrivate;
  $('card-no-name').textContent = words.CardNoName;
  $('duress-token').textContent = duressToken || '';
  $('duress-done').hidden = !duressToken;
  $('refer-form').hidden = true;
  // Sent: what was typed with the person leaves the hidden form (and the script quoting it) now, not only at
  // "another referral", which she may never press before someone else sits down at this screen.
  for (const field of ['firstName', 'contact', 'needs']) {
    $(`field-${field}`).value = '';
    $(`share-${field}`).checked = false;
  }
  renderScript();
  $('done').hidden = false;
  unconfirmedToken = token;
  $('type-back').focus();
}

async function send(event) {
  event.preventDefault();
  $('errors').hidden = true;
  // One key per referral: a retry after a lost answer returns the same referral and code instead of a second one.
  idempotencyKey = idempotencyKey || crypto.randomUUID();
  say(page.t('Sending'));
  const response = await page.api('POST', '/api/referrals', referral(), { 'Idempotency-Key': idempotencyKey });
  if (response.status === 401) {
    say('');
    $('refer-form').hidden = true;
    staff.refused();
    return;
  }
  if (!response.ok) {
    say(page.t('NotSent'));
    showErrors(response.body);
    return;
  }
  say('');
  showCard(response.body.statusToken, response.body.duressToken);
}

function checkTypedBack() {
  const typed = $('type-back').value;
  if (!unconfirmedToken || typed.trim() === '') { $('type-back-result').textContent = ''; return; }
  if (canonical(typed) === canonical(unconfirmedToken)) {
    $('type-back-result').textContent = page.t('TypeBackMatch');
    unconfirmedToken = null;
  } else {
    $('type-back-result').textContent = page.t('TypeBackNoMatch');
  }
}

function reset() {
  if (unconfirmedToken && !window.confirm(page.t('LeaveUnchecked'))) { return; }
  unconfirmedToken = null;
  idempotencyKey = null;
  $('refer-form').reset();
  for (const field of fields) {
    $(`field-${field}`).value = field === 'contactVia' ? 'client' : '';
    $(`cleared-${field}`).textContent = '';
  }
  $('type-back').value = '';
  $('type-back-result').textContent = '';
  $('done').hidden = true;
  $('client-language').dispatchEvent(new Event('change'));
  $('refer-form').hidden = false;
}

// Typing in a field ticks its box; unticking clears the field, with a word why, so nothing unticked can be sent.
function wireField(field) {
  const box = $(`share-${field}`);
  const input = $(`field-${field}`);
  input.addEventListener(input.tagName === 'SELECT' ? 'change' : 'input', () => {
    if (value(field) !== '' && !box.checked) box.checked = true;
    $(`cleared-${field}`).textContent = '';
    renderScript();
  });
  box.addEventListener('change', () => {
    $(`cleared-${field}`).textContent = '';
    if (!box.checked && field !== 'contactVia' && value(field) !== '') {
      input.value = '';
      $(`cleared-${field}`).textContent = page.t('Cleared', labels[field]);
    }
    renderScript();
  });
}

function start() {
  $('client-language').replaceChildren(...Object.entries(client.languages).map(([code, words]) => {
    const option = new Option(words.name, code);
    option.lang = code;
    return option;
  }));
  $('client-language').value = client.languages[page.lang] ? page.lang : Object.keys(client.languages)[0];
  $('client-language').addEventListener('change', () => {
    $('field-language').value = language();
    renderPartners();
  });
  $('category').addEventListener('change', renderPartners);
  $('partner').addEventListener('change', () => { renderPartnerDetails(); renderScript(); });
  fields.forEach(wireField);
  $('refer-form').addEventListener('submit', (event) => {
    send(event).catch(() => say(page.t('SendFailed')));
  });
  // Any edit makes it a different referral, with its own Idempotency-Key.
  $('refer-form').addEventListener('input', () => { idempotencyKey = null; });
  $('refer-form').addEventListener('change', () => { idempotencyKey = null; });
  $('print').addEventListener('click', () => window.print());
  $('type-back').addEventListener('input', checkTypedBack);
  $('new-referral').addEventListener('click', reset);
  // Until the code is read back, leaving the page asks first: once gone, the code cannot be shown again.
  window.addEventListener('beforeunload', (event) => { if (unconfirmedToken) { event.preventDefault(); } });
  $('field-language').value = language();
  renderScript();
  staff.start(() => { $('refer-form').hidden = false; }, () => { $('refer-form').hidden = true; $('done').hidden = true; });
  loadPartners().catch(() => say(page.t('PartnersFailed')));
}

start();
