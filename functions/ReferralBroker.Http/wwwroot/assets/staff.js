'use strict';
// Signing in on the organisation's staff pages (/refer, /referrals): the key is checked the moment it is entered, before
// any form opens, kept in this tab's sessionStorage only (page.key), and the page says who is signed in. Needs page.js
// and, in the page, #key-form, #api-key, #key-error, #signed-in, #message and a #forget-key button.
const staff = (() => {
  const $ = (id) => document.getElementById(id);

  // Who the key is: an organisation's system key, a caseworker's own key, or the coordinator's (no use here).
  const whoAmI = () => page.api('GET', '/api/me');

  function showSignedIn(me) {
    const line = $('signed-in');
    if (me && me.name) {
      line.textContent = me.organisation && me.organisation.name && me.organisation.name !== me.name
        ? page.t('SignedInAsOf', me.name, me.organisation.name)
        : page.t('SignedInAs', me.name);
      line.hidden = false;
    } else {
      line.hidden = true;
    }
  }

  function askForKey(reason) {
    $('signed-in').hidden = true;
    $('key-error').textContent = reason || '';
    $('key-error').hidden = !reason;
    $('key-form').hidden = false;
    $('api-key').focus();
  }

  // onSignedIn(me) opens the page's own content; onSignedOut() hides it (the key form is shown by this script).
  function start(onSignedIn, onSignedOut) {
    let busy = false;
    async function check() {
      const answer = await whoAmI();
      if (answer.status === 401 || answer.status === 403 || (answer.ok && answer.body && answer.body.kind === 'coordinator')) {
        page.key.forget();
        onSignedOut();
        askForKey(answer.ok || answer.status === 403 ? page.t('KeyNotOrganisation') : page.t('KeyRefused'));
        return;
      }
      if (!answer.ok) throw new Error('status ' + answer.status);
      $('key-form').hidden = true;
      $('key-error').hidden = true;
      $('message').textContent = '';
      showSignedIn(answer.body);
      onSignedIn(answer.body);
    }

    function failed() {
      $('message').textContent = '';
      onSignedOut();
      askForKey(page.t('KeyUnreachable'));
    }

    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      if (busy) return;
      const typed = $('api-key').value.trim();
      if (!typed) return;
      busy = true;
      page.key.set(typed);
      $('api-key').value = '';
      $('message').textContent = page.t('KeyChecking');
      check().catch(failed).finally(() => { busy = false; });
    });
    $('forget-key').addEventListener('click', () => {
      page.key.forget();
      onSignedOut();
      askForKey('');
    });
    if (page.key.get()) {
      $('message').textContent = page.t('KeyChecking');
      check().catch(failed);
    } else {
      onSignedOut();
      askForKey('');
    }
  }

  // A call answered 401 (the key was revoked meanwhile): asked for again.
  function refused() {
    page.key.forget();
    askForKey(page.t('KeyRefused'));
  }

  return { start, refused };
})();
