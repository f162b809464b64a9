'use strict';
// Sealed referral v1 (see README): the link secret S is in the URL fragment, which the browser never sends.
// From it this page derives the capability that authorises the partner's calls and the key that opens
// the sealed details. Decryption happens here, in the partner's browser, never on the broker.
//
// So that a reload (or the language picker) does not lose the referral, S is kept in this tab's sessionStorage,
// under the referral's id: gone when the tab closes, never in a cookie or localStorage, never sent anywhere (only the
// capability derived from it leaves the page), and cleared at once by the page's "forget" button.
const { t } = page;
const labels = {
  firstName: t('Detail_firstName'), contact: t('Detail_contact'), contactVia: t('Detail_contactVia'),
  language: t('Detail_language'), needs: t('Detail_needs'),
};
const statusNames = {
  'submitted': t('StatusName_submitted'), 'delivered': t('StatusName_delivered'), 'accepted': t('StatusName_accepted'),
  'in-progress': t('StatusName_in-progress'), 'declined': t('StatusName_declined'), 'completed': t('StatusName_completed'),
  'could-not-contact': t('StatusName_could-not-contact'), 'withdrawn': t('StatusName_withdrawn'), 'expired': t('StatusName_expired'),
};
const states = {
  'submitted': t('State_new'), 'delivered': t('State_new'), 'accepted': t('State_accepted'),
  'in-progress': t('State_in-progress'), 'declined': t('State_declined'), 'completed': t('State_completed'),
  'could-not-contact': t('State_could-not-contact'), 'withdrawn': t('State_withdrawn'), 'expired': t('State_expired'),
};
// What the partner can still do in each status (the lifecycle's allowed events).
const progressFrom = { 'accepted': ['in-progress', 'could-not-contact'], 'in-progress': ['completed', 'could-not-contact'] };
const $ = (id) => document.getElementById(id);
const encoder = new TextEncoder();
const referralId = decodeURIComponent(location.pathname.split('/').pop());
const storageKey = 'referral-broker.partner-link.' + referralId;

function fromBase64Url(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
function toBase64Url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
async function hkdf(secret, info) {
  const base = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode(referralId), info: encoder.encode(info) }, base, 256);
  return new Uint8Array(bits);
}

// "…stops working on {0}." with the date in bold: the text around the placeholder stays text, never markup.
function withStrong(element, template, value) {
  const [before, after = ''] = template.split('{0}');
  const strong = document.createElement('strong');
  strong.textContent = value;
  element.replaceChildren(before, strong, after);
}

function addDetail(list, label, value) {
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  list.append(dt, dd);
}

let capability;
let secret;
async function call(path, body) {
  const response = await fetch(`/api/partner/referrals/${encodeURIComponent(referralId)}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'X-Referral-Capability': capability, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store',
  });
  return { ok: response.ok, status: response.status, body: await response.json().catch(() => null) };
}

// The organisation that referred, as its settings allow: named with the contact route it gave, or unnamed. A broker
// without the field (an older one) shows no row rather than a guess.
function renderReferrer(referrer) {
  const known = !!referrer && typeof referrer === 'object';
  for (const element of document.querySelectorAll('.referrer, .referrer-contact')) element.hidden = !known;
  if (!known) return;
  $('referrer').textContent = referrer.name || t('ReferrerUnnamed');
  $('referrer-contact').textContent = referrer.contact || t('ReferrerNoContact');
}

function showOnly(section) {
  for (const id of ['decide', 'confirm-accept', 'confirm-decline']) $(id).hidden = id !== section;
}

async function render(view) {
  $('category').textContent = page.word('Category_', view.category);
  $('status').textContent = statusNames[view.status] || view.status;
  $('expires').textContent = page.date(view.expiresAt);
  $('state').textContent = states[view.status] || '';
  renderReferrer(view.referrer);
  $('keep-notice').hidden = !view.detailsDeletedBy;
  if (view.detailsDeletedBy) withStrong($('keep-notice'), t('KeepNotice'), page.date(view.detailsDeletedBy));
  const details = $('details');
  details.replaceChildren();
  $('sealed-gone').hidden = !!view.sealed;
  if (view.sealed) {
    const key = await crypto.subtle.importKey('raw', await hkdf(secret, 'referral-broker/v1/key'), 'AES-GCM', false, ['decrypt']);
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: fromBase64Url(view.sealed.nonce), additionalData: encoder.encode(referralId) },
      key, fromBase64Url(view.sealed.ciphertext));
    const client = JSON.parse(new TextDecoder().decode(plain));
    for (const [name, value] of Object.entries(client)) {
      let shown = String(value);
      if (name === 'language') shown = page.languageName(value);
      if (name === 'contactVia') {
        shown = value === 'client' ? t('Via_client') : value === 'referrer' ? t('Via_referrer') : shown;
        if (value === 'referrer' && view.referrer && view.referrer.name) shown += ': ' + view.referrer.name;
      }
      addDetail(details, labels[name] || name, shown);
    }
  }
  const open = ['submitted', 'delivered'].includes(view.status);
  showOnly(open ? 'decide' : null);
  const next = progressFrom[view.status] || [];
  for (const button of $('progress').querySelectorAll('button')) { button.hidden = !next.includes(button.dataset.status); }
  $('progress').hidden = next.length === 0;
  $('referral').hidden = false;
  $('device').hidden = false;
}

async function act(path, body) {
  const result = await call(path, body);
  if (result.ok) {
    $('message').textContent = t('Saved', statusNames[result.body.status] || result.body.status);
    await render(result.body);
    return;
  }
  // The broker's problem text is English and for developers: say it in the page's words, and show what is true now
  // (the person may have withdrawn meanwhile).
  $('message').textContent = t('ActFailed');
  const fresh = await call('');
  if (fresh.ok) await render(fresh.body);
}

// S is 32 bytes: exactly 43 base64url characters. Anything shorter was cut off on the way (a wrapped line in
// the email, a partial copy); anything else was changed. A changed S and an ended referral look the same to the
// broker (404, on purpose), so the page cannot tell them apart either and says both.
const secretLength = 43;

function close(message) {
  $('referral').hidden = true;
  $('device').hidden = true;
  $('details').replaceChildren();
  $('message').textContent = message;
}

async function main() {
  close(t('Opening'));
  const fragment = location.hash.slice(1);
  // Out of the address bar at once: it would otherwise stay on screen, in a shared screenshot or a copied address.
  history.replaceState(null, '', location.pathname + location.search);
  // The link just opened wins over the one this tab remembers (a new email for the same referral).
  const stored = sessionStorage.getItem(storageKey);
  const text = fragment || stored || '';
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length > secretLength) {
    close(t('Unopenable'));
    return;
  }
  if (text.length < secretLength) {
    close(t('Incomplete'));
    return;
  }
  secret = fromBase64Url(text);
  capability = toBase64Url(await hkdf(secret, 'referral-broker/v1/capability'));
  const result = await call('');
  if (result.status !== 404 && !result.ok) {
    // Busy or unreachable (429, 5xx): the link is fine, and stays remembered for the next try.
    close(t('TryAgain'));
    return;
  }
  if (!result.ok) {
    // A remembered link that no longer opens anything (the referral ended and was purged) is of no use to keep.
    if (text === stored) sessionStorage.removeItem(storageKey);
    close(t('Unopenable'));
    return;
  }
  sessionStorage.setItem(storageKey, text);
  $('message').textContent = '';
  await render(result.body);
}

function confirmStep(section, heading) {
  showOnly(section);
  $(heading).focus();
}
$('accept').addEventListener('click', () => confirmStep('confirm-accept', 'confirm-accept-title'));
$('decline').addEventListener('click', () => {
  const reason = $('reason');
  $('confirm-decline-what').textContent = t('ConfirmDeclineWhat', reason.options[reason.selectedIndex].text);
  confirmStep('confirm-decline', 'confirm-decline-title');
});
for (const button of document.querySelectorAll('.go-back')) {
  button.addEventListener('click', () => {
    const from = button.closest('[id^="confirm-"]').id;
    showOnly('decide');
    $(from === 'confirm-accept' ? 'accept' : 'decline').focus();
  });
}
$('confirm-accept-yes').addEventListener('click', () => act('/accept', {}));
$('confirm-decline-yes').addEventListener('click', () => act('/decline', { reason: $('reason').value }));
for (const button of $('progress').querySelectorAll('button')) {
  button.addEventListener('click', () => act('/progress', { status: button.dataset.status }));
}
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(storageKey);
  secret = undefined;
  capability = undefined;
  close(t('Forgotten'));
});
const openLink = () => main().catch(() => close(t('Unopenable')));
// The emailed link opened again in this tab changes only the fragment, which reloads nothing: open it afresh.
window.addEventListener('hashchange', openLink);
openLink();
