'use strict';
// The code travels only in POST bodies, never in the address bar, so it stays out of history and logs.
const words = {
  'submitted': 'Sent, waiting to reach the service',
  'delivered': 'The service has your referral and will decide soon',
  'accepted': 'Accepted: the service will contact you or your organisation',
  'declined': 'The service could not take it; your organisation can help you find another',
  'in-progress': 'The service is working with you',
  'completed': 'Completed',
  'could-not-contact': 'The service could not reach you; your organisation can help',
  'withdrawn': 'Stopped by you',
  'expired': 'Ended: nobody took it before your consent ran out',
};
const open = new Set(['submitted', 'delivered', 'accepted', 'in-progress']);
const $ = (id) => document.getElementById(id);
const day = (iso) => new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric' });

async function call(path) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: $('token').value }),
    cache: 'no-store',
  });
  return { ok: response.ok, status: response.status, body: await response.json().catch(() => null) };
}

function show(view) {
  $('status').textContent = words[view.status] || view.status;
  $('category').textContent = view.category;
  $('updated').textContent = day(view.updatedAt);
  $('expires').textContent = day(view.expiresAt);
  const held = $('held');
  held.replaceChildren(...view.held.map((item) => {
    const li = document.createElement('li');
    li.textContent = `${item.what} Deleted by ${day(item.deletedBy)}.`;
    return li;
  }));
  $('withdraw-box').hidden = !open.has(view.status);
  $('result').hidden = false;
}

function fail(result) {
  $('result').hidden = true;
  $('message').textContent = result.status === 429
    ? 'Too many tries. Please wait a minute.'
    : 'We could not find a referral with this code. Check the code and try again.';
}

$('lookup').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('message').textContent = 'Checking…';
  const result = await call('/api/status');
  if (result.ok) { $('message').textContent = ''; show(result.body); } else { fail(result); }
});

$('withdraw').addEventListener('click', async () => {
  if (!window.confirm('Stop this referral? This cannot be undone.')) { return; }
  const result = await call('/api/status/withdraw');
  if (result.ok) { $('message').textContent = 'Your referral is stopped.'; show(result.body); } else { fail(result); }
});
