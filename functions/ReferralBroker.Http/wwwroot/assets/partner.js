'use strict';
// Sealed referral v1 (see README): the link secret S is in the URL fragment, which the browser never sends.
// From it this page derives the capability that authorises the partner's calls and the key that opens
// the sealed details. Decryption happens here, in the partner's browser, never on the broker.
const labels = { firstName: 'First name', contact: 'Contact', contactVia: 'Contact through', language: 'Language', needs: 'Needs' };
const via = { client: 'the person directly', referrer: 'the referring organisation' };
// What the partner can still do in each status (the lifecycle's allowed events), and what to say when nothing is left.
const progressFrom = { 'accepted': ['in-progress', 'could-not-contact'], 'in-progress': ['completed', 'could-not-contact'] };
const states = {
  'submitted': 'Waiting for your decision.',
  'delivered': 'Waiting for your decision.',
  'accepted': 'You accepted this referral.',
  'in-progress': 'You are working with this person.',
  'declined': 'You declined this referral. It has ended.',
  'completed': 'You marked this referral completed. It has ended.',
  'could-not-contact': 'You recorded that you could not contact the person. The referral has ended.',
  'withdrawn': 'The person withdrew this referral. It has ended: do not contact them about it.',
  'expired': 'This referral expired: nobody accepted it before consent ended.',
};
const $ = (id) => document.getElementById(id);
const day = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });
const encoder = new TextEncoder();
const referralId = decodeURIComponent(location.pathname.split('/').pop());

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

let capability;
async function call(path, body) {
  const response = await fetch(`/api/partner/referrals/${encodeURIComponent(referralId)}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { 'X-Referral-Capability': capability, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: 'no-store',
  });
  return { ok: response.ok, status: response.status, body: await response.json().catch(() => null) };
}

async function render(view, secret) {
  $('category').textContent = view.category;
  $('status').textContent = view.status;
  $('expires').textContent = day(view.expiresAt);
  $('state').textContent = states[view.status] || '';
  $('keep-notice').hidden = !view.detailsDeletedBy;
  $('deleted-by').textContent = view.detailsDeletedBy ? day(view.detailsDeletedBy) : '';
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
      const dt = document.createElement('dt');
      dt.textContent = labels[name] || name;
      const dd = document.createElement('dd');
      dd.textContent = name === 'contactVia' ? (via[value] || value) : String(value);
      details.append(dt, dd);
    }
  }
  $('decide').hidden = !['submitted', 'delivered'].includes(view.status);
  const next = progressFrom[view.status] || [];
  for (const button of $('progress').querySelectorAll('button')) { button.hidden = !next.includes(button.dataset.status); }
  $('progress').hidden = next.length === 0;
  $('referral').hidden = false;
}

let secret;
async function act(path, body) {
  const result = await call(path, body);
  if (result.ok) {
    $('message').textContent = `Saved: the referral is now ${result.body.status}.`;
    await render(result.body, secret);
  } else {
    $('message').textContent = (result.body && result.body.detail) || 'That did not work. Reload the page and try again.';
  }
}

// S is 32 bytes: exactly 43 base64url characters. Anything shorter was cut off on the way (a wrapped line in
// the email, a partial copy); anything else was changed. A changed S and an ended referral look the same to the
// broker (404, on purpose), so the page cannot tell them apart either and says both.
const secretLength = 43;
const incomplete = 'This link is incomplete. Open the full link from the email.';
const unopenable = 'This referral could not be opened with this link. Check that you opened the full link from the email, '
  + 'exactly as it was sent. If you did, the referral has ended and its details are gone.';

async function main() {
  $('referral').hidden = true;
  $('details').replaceChildren();
  const fragment = location.hash.slice(1);
  // Out of the address bar at once: it would otherwise stay on screen, in a shared screenshot or a copied address.
  history.replaceState(null, '', location.pathname + location.search);
  if (!/^[A-Za-z0-9_-]*$/.test(fragment) || fragment.length > secretLength) {
    $('message').textContent = unopenable;
    return;
  }
  if (fragment.length < secretLength) {
    $('message').textContent = incomplete;
    return;
  }
  secret = fromBase64Url(fragment);
  capability = toBase64Url(await hkdf(secret, 'referral-broker/v1/capability'));
  const result = await call('');
  if (!result.ok) {
    $('message').textContent = unopenable;
    return;
  }
  $('message').textContent = '';
  await render(result.body, secret);
}

$('accept').addEventListener('click', () => act('/accept', {}));
$('decline').addEventListener('click', () => act('/decline', { reason: $('reason').value }));
for (const button of $('progress').querySelectorAll('button')) {
  button.addEventListener('click', () => act('/progress', { status: button.dataset.status }));
}
const openLink = () => main().catch(() => { $('message').textContent = unopenable; });
// The emailed link opened again in this tab changes only the fragment, which reloads nothing: open it afresh.
window.addEventListener('hashchange', openLink);
openLink();
