'use strict';
// Shared by the staff pages: their words (rendered by the server in the page's language, see StaffPages.cs), and the
// staff member's key, asked once and kept in this tab's sessionStorage only: gone when the tab closes, never in a
// cookie, never sent anywhere but the broker's own API in the Authorization header.
const page = (() => {
  const texts = JSON.parse(document.getElementById('texts').textContent);
  const keyName = 'referral-broker.staff-key';

  // t('Key', a, b) → the text with {0}, {1} replaced; a missing key shows as itself (a test fails on it first).
  function t(key, ...args) {
    const text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : key;
    return text.replace(/\{(\d+)\}/g, (m, i) => (args[i] ?? m));
  }

  // The word for a value the API sends as a code ("health", "delivered"), or the code itself when there is none.
  function word(prefix, value) {
    return Object.prototype.hasOwnProperty.call(texts, prefix + value) ? texts[prefix + value] : value;
  }

  // "Thai" on an English page, "ภาษาไทย" on a Thai one (ClientText's Language_*); a language without a word there
  // under its own name when it is one of the pages' languages, else its code.
  function languageName(code) {
    const primary = String(code || '').toLowerCase().split(/[-_]/)[0];
    return texts['Language_' + primary] || texts.languages[code] || texts.languages[primary] || code;
  }

  function date(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return t('DateFormat', d.getUTCDate(), t('Month_' + (d.getUTCMonth() + 1)), d.getUTCFullYear(), d.getUTCMonth() + 1);
  }

  const key = {
    get: () => sessionStorage.getItem(keyName),
    set: (value) => sessionStorage.setItem(keyName, value),
    forget: () => sessionStorage.removeItem(keyName),
  };

  // fetch with the tab's key; answers { status, body } with body parsed from JSON or problem+json when there is one.
  async function api(method, path, body, headers) {
    const init = { method, headers: Object.assign({}, headers) };
    const k = key.get();
    if (k) init.headers.Authorization = 'Bearer ' + k;
    if (body !== undefined) {
      if (typeof body === 'string') {
        init.body = body;
      } else {
        init.headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
    }
    const response = await fetch(path, init);
    const type = response.headers.get('Content-Type') || '';
    const parsed = type.includes('json') ? await response.json() : await response.text();
    return { status: response.status, ok: response.ok, body: parsed, headers: response.headers };
  }

  return { t, word, languageName, date, key, api, lang: texts.lang };
})();
