'use strict';
// The network coordinator's console. Everything goes through the admin API with the key asked once per tab
// (page.key: sessionStorage only). Nothing here ever sees client data: the admin API has none.
(() => {
  const t = page.t;
  const $ = (id) => document.getElementById(id);
  const sections = ['organisations', 'partners', 'flags', 'directory', 'staff'];
  const knownCategories = ['health', 'legal', 'employment'];
  const safetyAttributes = [
    'no-id-required', 'no-sharing-with-police-or-immigration-unless-compelled', 'sex-worker-led',
    'sex-worker-friendly', 'confidential-address', 'accepting-referrals',
  ];
  const languageCodes = Object.keys(JSON.parse($('texts').textContent).languages);
  let organisations = [];
  let partners = [];
  let editingOrganisation = null;
  let editingPartner = null;

  // ---- small DOM helpers: text only, never innerHTML, so nothing from the API is ever parsed as markup
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === 'class') node.className = value;
      else if (name === 'onclick') node.addEventListener('click', value);
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function button(text, onclick, className, label) {
    const b = el('button', { type: 'button', onclick }, text);
    if (className) b.className = className;
    if (label) b.setAttribute('aria-label', label);
    return b;
  }

  function say(text, kind) {
    const box = $('message');
    box.replaceChildren();
    if (text) box.append(el('p', { class: kind || 'ok' }, text));
  }

  // The problem's own words when it names no field, else nothing: field errors go next to their field.
  function problemText(response) {
    const body = response.body || {};
    return body.detail || body.title || t('Failed');
  }

  // ---- field errors from problem+json: each next to the field whose data-field is the longest prefix of its name
  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach((p) => { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach((f) => f.removeAttribute('aria-invalid'));
  }

  function showErrors(form, response) {
    clearErrors(form);
    const errors = (response.body && response.body.errors) || {};
    const fields = [...form.querySelectorAll('[data-field]')];
    let first = null;
    const leftOver = [];
    for (const [name, messages] of Object.entries(errors)) {
      const field = fields
        .filter((f) => name === f.dataset.field || name.startsWith(f.dataset.field + '.') || name.startsWith(f.dataset.field + '['))
        .sort((a, b) => b.dataset.field.length - a.dataset.field.length)[0];
      const box = field && $(field.getAttribute('aria-describedby').split(' ').find((id) => id.endsWith('-error')));
      if (!box) { leftOver.push(...messages); continue; }
      box.textContent = [box.textContent, ...messages].filter(Boolean).join(' ');
      box.hidden = false;
      field.setAttribute('aria-invalid', 'true');
      first = first || field;
    }
    if (leftOver.length > 0 || Object.keys(errors).length === 0) {
      const box = form.querySelector('.form-error');
      box.textContent = leftOver.length > 0 ? leftOver.join(' ') : problemText(response);
      box.hidden = false;
    }
    const target = first && (first.matches('fieldset') ? first.querySelector('input') : first);
    (target || form.querySelector('.form-error')).focus?.();
  }

  // ---- confirmation for what cannot be undone: a modal dialog, Escape or Cancel says no
  function confirmAction(text, yes) {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    $('confirm-yes').textContent = yes;
    return new Promise((resolve) => {
      const done = (answer) => {
        $('confirm-yes').removeEventListener('click', onYes);
        $('confirm-no').removeEventListener('click', onNo);
        dialog.removeEventListener('cancel', onNo);
        dialog.close();
        resolve(answer);
      };
      const onYes = () => done(true);
      const onNo = (e) => { if (e) e.preventDefault(); done(false); };
      $('confirm-yes').addEventListener('click', onYes);
      $('confirm-no').addEventListener('click', onNo);
      dialog.addEventListener('cancel', onNo);
      dialog.showModal();
      $('confirm-no').focus();
    });
  }

  // ---- a key shown once, with a copy button
  function showSecret(panelId, title, value) {
    $(panelId + '-title').textContent = title;
    $(panelId + '-value').textContent = value;
    $(panelId).hidden = false;
    $(panelId + '-title').focus();
  }

  document.querySelectorAll('.copy').forEach((b) => b.addEventListener('click', async () => {
    const value = $(b.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(value);
      say(t('Copied'));
    } catch {
      const range = document.createRange();
      range.selectNodeContents($(b.dataset.copy));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      say(t('CopyFailed'), 'warn');
    }
  }));

  document.querySelectorAll('.hide-secret').forEach((b) => b.addEventListener('click', () => {
    const panel = $(b.dataset.hide);
    panel.querySelector('.secret').textContent = '';
    panel.hidden = true;
    say('');
  }));

  // ---- sign in: the key is checked at once, against a route only the coordinator may read
  async function check(key) {
    page.key.set(key);
    let response;
    try {
      response = await page.api('GET', '/api/admin/organisations');
    } catch {
      return t('NetworkError');
    }
    if (response.ok) return null;
    page.key.forget();
    if (response.status === 401) return t('KeyUnknown');
    if (response.status === 403) return t('KeyIsOrganisation');
    return problemText(response);
  }

  function showSignIn(error) {
    $('console').hidden = true;
    $('signin').hidden = false;
    const box = $('key-error');
    box.textContent = error || '';
    box.hidden = !error;
    if (error) $('key').setAttribute('aria-invalid', 'true'); else $('key').removeAttribute('aria-invalid');
  }

  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('key').value.trim();
    if (!key) { showSignIn(t('KeyRequired')); $('key').focus(); return; }
    const error = await check(key);
    if (error) { showSignIn(error); $('key').focus(); return; }
    $('key').value = '';
    await open(true);
  });

  $('signout').addEventListener('click', () => {
    page.key.forget();
    organisations = [];
    partners = [];
    document.querySelectorAll('.secret').forEach((s) => { s.textContent = ''; });
    document.querySelectorAll('.secret-panel').forEach((p) => { p.hidden = true; });
    ['organisation-rows', 'partner-rows', 'flag-rows', 'staff-rows', 'import-error-rows'].forEach((id) => $(id).replaceChildren());
    showSignIn(null);
    say('');
    $('signin').prepend($('message'));
    say(t('SignedOut'));
    $('key').focus();
  });

  async function open(focus) {
    $('signin').hidden = true;
    $('console').hidden = false;
    // A coordinator's personal key is named; the configured coordinator key keeps the general words.
    const me = await page.api('GET', '/api/me').catch(() => null);
    $('signed-in').textContent = me && me.ok && me.body.staffId ? t('SignedInAs', me.body.name) : t('SignedIn');
    $('console').insertBefore($('message'), $('console').querySelector('nav').nextSibling);
    await show(location.hash.slice(1), focus);
  }

  // ---- sections: the hash names the one shown; the links are ordinary links, so Tab and Enter reach them all
  async function show(name, focus) {
    if (!sections.includes(name)) name = sections[0];
    for (const s of sections) {
      $(s).hidden = s !== name;
      const link = document.querySelector(`.staff-nav a[href="#${s}"]`);
      if (s === name) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
    }
    await load(name);
    if (focus) $(name + '-title').focus();
  }

  window.addEventListener('hashchange', () => { if (page.key.get()) show(location.hash.slice(1), true); });

  async function load(name) {
    if (name === 'organisations') await loadOrganisations();
    if (name === 'partners') await loadPartners();
    if (name === 'flags') await loadFlags();
    if (name === 'staff') await loadStaff();
  }

  async function get(path) {
    const response = await page.api('GET', path);
    if (response.status === 401 || response.status === 403) {
      page.key.forget();
      showSignIn(response.status === 401 ? t('KeyUnknown') : t('KeyIsOrganisation'));
      return null;
    }
    if (!response.ok) { say(problemText(response), 'alert'); return null; }
    return response.body;
  }

  // ---- organisations
  function organisationName(id) {
    const found = organisations.find((o) => o.id === id);
    return found ? found.name : id;
  }

  async function loadOrganisations() {
    const list = await get('/api/admin/organisations');
    if (!list) return;
    organisations = list;
    $('organisation-rows').replaceChildren(...list.map((o) => {
      const notify = [];
      if (o.notifications.email) notify.push(el('div', {}, t('NotifyEmail', o.notifications.email)));
      if (o.notifications.webhookUrl) notify.push(el('div', {}, t('NotifyWebhook', o.notifications.webhookUrl)));
      if (o.partnerContact && !o.partnerContact.named) notify.push(el('div', { class: 'hint' }, t('NotNamed')));
      const actions = el('div', { class: 'actions' },
        button(t('Edit'), () => editOrganisation(o), null, t('EditNamed', o.name)));
      if (o.active) {
        actions.append(o.hasApiKey
          ? button(t('RotateKey'), () => issueKey(o, true), null, t('RotateKeyNamed', o.name))
          : button(t('IssueKey'), () => issueKey(o, false), null, t('IssueKeyNamed', o.name)));
      }
      if (o.hasApiKey) actions.append(button(t('RevokeKey'), () => revokeKey(o), 'danger', t('RevokeKeyNamed', o.name)));
      actions.append(o.active
        ? button(t('Deactivate'), () => setActive(o, false), 'danger', t('DeactivateNamed', o.name))
        : button(t('Activate'), () => setActive(o, true), null, t('ActivateNamed', o.name)));
      return el('tr', {},
        el('td', {}, el('strong', {}, o.name), el('div', { class: 'hint' }, o.id)),
        el('td', {}, notify.length ? notify : t('NotifyNone')),
        // A key from configuration has no date of issue.
        el('td', {}, !o.hasApiKey ? t('KeyNone') : o.keyIssuedAt ? t('KeyIssued', page.date(o.keyIssuedAt)) : t('KeyActive')),
        el('td', {}, o.active
          ? el('span', { class: 'badge ok' }, t('StateActive'))
          : el('span', { class: 'badge alert' }, t('StateDeactivated', page.date(o.deactivatedAt)))),
        el('td', {}, actions));
    }));
  }

  function openForm(form, title, focusId) {
    clearErrors(form);
    form.hidden = false;
    form.querySelector('h3').textContent = title;
    $(focusId).focus();
  }

  document.querySelectorAll('.cancel-form').forEach((b) => b.addEventListener('click', () => {
    b.closest('form').hidden = true;
  }));

  $('add-organisation').addEventListener('click', () => {
    editingOrganisation = null;
    $('organisation-form').reset();
    $('org-id').disabled = false;
    $('org-named').checked = true;
    openForm($('organisation-form'), t('NewOrganisationTitle'), 'org-id');
  });

  function editOrganisation(o) {
    editingOrganisation = o;
    const form = $('organisation-form');
    form.reset();
    $('org-id').value = o.id;
    $('org-id').disabled = true;
    $('org-name').value = o.name;
    $('org-email').value = o.notifications.email || '';
    $('org-webhook').value = o.notifications.webhookUrl || '';
    $('org-named').checked = !o.partnerContact || o.partnerContact.named;
    $('org-contact').value = (o.partnerContact && o.partnerContact.contact) || '';
    openForm(form, t('EditNamed', o.name), 'org-name');
  }

  $('organisation-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const id = editingOrganisation ? editingOrganisation.id : $('org-id').value.trim();
    const notifications = {
      email: $('org-email').value.trim() || null,
      webhookUrl: $('org-webhook').value.trim() || null,
    };
    // An empty secret keeps the one already set: it is never shown, so it cannot be sent back.
    if ($('org-secret').value) notifications.webhookSecret = $('org-secret').value;
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) {
      showErrors(form, { body: { errors: { id: [t('IdRule')] } } });
      return;
    }
    const partnerContact = { named: $('org-named').checked, contact: $('org-contact').value.trim() || null };
    const response = await page.api('PUT', '/api/admin/organisations/' + encodeURIComponent(id),
      { name: $('org-name').value.trim(), notifications, partnerContact });
    if (!response.ok) { showErrors(form, response); return; }
    form.reset();
    form.hidden = true;
    await loadOrganisations();
    say(t('OrganisationSaved', response.body.name));
  });

  async function issueKey(o, rotate) {
    if (rotate && !await confirmAction(t('ConfirmRotate', o.name), t('YesRotate'))) return;
    const response = await page.api('POST', `/api/admin/organisations/${encodeURIComponent(o.id)}/key`);
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await loadOrganisations();
    say('');
    showSecret('new-key', t('NewKeyFor', o.name), response.body.apiKey);
  }

  async function revokeKey(o) {
    if (!await confirmAction(t('ConfirmRevoke', o.name), t('YesRevoke'))) return;
    const response = await page.api('DELETE', `/api/admin/organisations/${encodeURIComponent(o.id)}/key`);
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await loadOrganisations();
    say(t('KeyRevoked', o.name));
  }

  async function setActive(o, active) {
    if (!active && !await confirmAction(t('ConfirmDeactivate', o.name), t('YesDeactivate'))) return;
    const response = await page.api('POST', `/api/admin/organisations/${encodeURIComponent(o.id)}/${active ? 'activate' : 'deactivate'}`);
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await loadOrganisations();
    say(active ? t('Activated', o.name) : t('Deactivated', o.name));
  }

  // ---- partners
  function terms(service, taxonomy) {
    return (service.attributes || []).map((a) => a.taxonomy_term).filter((term) => term && term.taxonomy === taxonomy).map((term) => term.code);
  }

  // An HSDS record's id in the broker (a partner's slug, a provider's): the value of its referral-broker-id 'slug' attribute.
  function slugOf(record) {
    const attribute = ((record && record.attributes) || []).find((a) => a.taxonomy_term && a.taxonomy_term.taxonomy === 'referral-broker-id');
    return attribute ? attribute.value : '';
  }

  const slugAttribute = (value) => ({ value, taxonomy_term: { taxonomy: 'referral-broker-id', code: 'slug' } });

  // The partner's HSDS service, with its slug (what the admin routes and referrals name) as id.
  const serviceOf = (partner) => ({ ...partner.service, id: partner.id });

  function pauseText(partner) {
    if (!partner.pause) return el('span', { class: 'badge ok' }, t('StateActive'));
    return el('span', { class: 'badge warn' }, partner.pause.cause === 'flags'
      ? t('StatePausedByFlags', page.date(partner.pause.since))
      : t('StatePausedByCoordinator', page.date(partner.pause.since)));
  }

  function partnerActions(partner) {
    const s = serviceOf(partner);
    const actions = el('div', { class: 'actions' });
    if (partner.pause) {
      actions.append(button(partner.flags.length ? t('ResumeClears') : t('Resume'), () => resume(s), null, t('ResumeNamed', s.name)));
      actions.append(button(t('Remove'), () => remove(s), 'danger', t('RemoveNamed', s.name)));
    } else {
      actions.append(button(t('Pause'), () => pause(s), null, t('PauseNamed', s.name)));
    }
    return actions;
  }

  async function loadPartners() {
    const list = await get('/api/admin/partners');
    if (!list) return;
    partners = list;
    $('partner-rows').replaceChildren(...list.map((p) => {
      const s = serviceOf(p);
      const actions = partnerActions(p);
      actions.prepend(button(t('Edit'), () => editPartner(p), null, t('EditNamed', s.name)));
      return el('tr', {},
        el('td', {}, el('strong', {}, s.name), el('div', { class: 'hint' }, s.id)),
        el('td', {}, terms(s, 'referral-broker-category').map((c) => page.word('Category_', c)).join(', ')),
        el('td', {}, (s.languages || []).map((l) => page.languageName(l.code)).join(', ')),
        el('td', {}, terms(s, 'referral-broker-safety').map((a) => el('div', {}, page.word('Safety_', a)))),
        el('td', {}, pauseText(p), p.flags.length ? el('div', { class: 'hint' }, t('FlagCount', p.flags.length)) : null),
        el('td', {}, actions));
    }));
  }

  function checkboxes(containerId, prefix, values, word) {
    $(containerId).replaceChildren(...values.map((value) => el('div', {},
      el('input', { type: 'checkbox', id: `${prefix}-${value}`, value }),
      el('label', { for: `${prefix}-${value}` }, word(value)))));
  }

  checkboxes('partner-categories', 'category', knownCategories, (c) => page.word('Category_', c));
  checkboxes('partner-languages', 'language', languageCodes, (l) => page.languageName(l));
  checkboxes('partner-safety', 'safety', safetyAttributes, (a) => page.word('Safety_', a));

  function checked(containerId) {
    return [...$(containerId).querySelectorAll('input:checked')].map((i) => i.value);
  }

  function setChecked(containerId, values) {
    $(containerId).querySelectorAll('input').forEach((i) => { i.checked = values.includes(i.value); });
  }

  const list = (text) => text.split(',').map((v) => v.trim()).filter(Boolean);

  $('add-partner').addEventListener('click', () => {
    editingPartner = null;
    $('partner-form').reset();
    $('partner-id').disabled = false;
    openForm($('partner-form'), t('NewPartnerTitle'), 'partner-id');
  });

  function editPartner(p) {
    const s = serviceOf(p);
    editingPartner = s;
    $('partner-form').reset();
    $('partner-id').value = s.id;
    $('partner-id').disabled = true;
    $('partner-name').value = s.name || '';
    $('partner-description').value = s.description || '';
    $('partner-email').value = p.referralEmail || '';
    $('partner-public-email').value = s.email || '';
    const categories = terms(s, 'referral-broker-category');
    setChecked('partner-categories', categories);
    $('partner-other-categories').value = categories.filter((c) => !knownCategories.includes(c)).join(', ');
    const languages = (s.languages || []).map((l) => l.code);
    setChecked('partner-languages', languages);
    $('partner-other-languages').value = languages.filter((l) => !languageCodes.includes(l)).join(', ');
    setChecked('partner-safety', terms(s, 'referral-broker-safety'));
    $('partner-areas').value = (s.service_areas || []).map((a) => a.name).join('\n');
    $('partner-hours').value = (s.schedules || [])[0]?.description || '';
    $('partner-accessibility').value = (s.service_at_locations || [])[0]?.location?.accessibility?.[0]?.description || '';
    $('partner-provider-id').value = slugOf(s.organization);
    $('partner-provider-name').value = s.organization?.name || '';
    openForm($('partner-form'), t('EditNamed', s.name), 'partner-name');
  }

  $('partner-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const id = editingPartner ? editingPartner.id : $('partner-id').value.trim();
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) {
      showErrors(form, { body: { errors: { id: [t('IdRule')] } } });
      return;
    }
    const text = (fieldId) => $(fieldId).value.trim() || null;
    const categories = [...new Set([...checked('partner-categories'), ...list($('partner-other-categories').value)])];
    const languages = [...new Set([...checked('partner-languages'), ...list($('partner-other-languages').value)])];
    // The HSDS record without ids: the broker keeps those of the items that stay. The intake address goes beside
    // the record, never into it; the record's email is the public one.
    const service = {
      name: text('partner-name'),
      description: text('partner-description'),
      email: text('partner-public-email'),
      languages: languages.map((code) => ({ code })),
      service_areas: $('partner-areas').value.split('\n').map((a) => a.trim()).filter(Boolean).map((name) => ({ name })),
      schedules: text('partner-hours') ? [{ description: text('partner-hours') }] : [],
      service_at_locations: text('partner-accessibility')
        ? [{ location: { location_type: 'physical', accessibility: [{ description: text('partner-accessibility') }] } }]
        : [],
      attributes: [
        ...categories.map((code) => ({ taxonomy_term: { taxonomy: 'referral-broker-category', code } })),
        ...checked('partner-safety').map((code) => ({ taxonomy_term: { taxonomy: 'referral-broker-safety', code } })),
      ],
    };
    if (text('partner-provider-id') || text('partner-provider-name')) {
      service.organization = { name: text('partner-provider-name'), attributes: [slugAttribute(text('partner-provider-id') || '')] };
    }
    const response = await page.api('PUT', '/api/admin/partners/' + encodeURIComponent(id),
      { referralEmail: $('partner-email').value.trim(), service });
    if (!response.ok) { showErrors(form, response); return; }
    form.reset();
    form.hidden = true;
    await loadPartners();
    say(t('PartnerSaved', response.body.service.name));
  });

  async function partnerAction(s, action, done) {
    const response = await page.api('POST', `/api/admin/partners/${encodeURIComponent(s.id)}/${action}`);
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await load(location.hash.slice(1) === 'flags' ? 'flags' : 'partners');
    say(done);
  }

  const pause = (s) => partnerAction(s, 'pause', t('Paused', s.name));
  const resume = (s) => partnerAction(s, 'resume', t('Resumed', s.name));

  async function remove(s) {
    if (!await confirmAction(t('ConfirmRemove', s.name), t('YesRemove'))) return;
    const response = await page.api('DELETE', '/api/admin/partners/' + encodeURIComponent(s.id));
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await load(location.hash.slice(1) === 'flags' ? 'flags' : 'partners');
    say(t('Removed', s.name));
  }

  // ---- flags: every organisation's flag on every partner, with the way to pause or review it from here
  async function loadFlags() {
    const [flags, all] = [await get('/api/admin/flags'), await get('/api/admin/partners')];
    if (!flags || !all) return;
    partners = all;
    $('flags-none').hidden = flags.length > 0;
    $('flags-table').hidden = flags.length === 0;
    $('flag-rows').replaceChildren(...flags.map((f) => {
      const partner = partners.find((p) => p.id === f.partnerId);
      return el('tr', {},
        el('td', {}, el('strong', {}, f.partnerName)),
        el('td', {}, f.organisationName),
        el('td', {}, page.word('Reason_', f.reason)),
        el('td', {}, page.date(f.flaggedAt)),
        el('td', {}, partner ? pauseText(partner) : ''),
        el('td', {}, partner ? partnerActions(partner) : ''));
    }));
  }

  // ---- directory: downloads go through fetch (a link cannot carry the key), imports are all or nothing
  async function download(path, name, type) {
    const response = await page.api('GET', path);
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    const content = typeof response.body === 'string' ? response.body : JSON.stringify(response.body, null, 2);
    const url = URL.createObjectURL(new Blob([content], { type }));
    const link = el('a', { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say(t('Exported', name));
  }

  $('export-json').addEventListener('click', () => download('/api/admin/directory', 'directory.json', 'application/json'));
  $('export-csv').addEventListener('click', () => download('/api/admin/directory.csv', 'directory.csv', 'text/csv'));

  // RFC 4180, enough to name the rows of the file the import refused (quoted fields may hold commas and newlines).
  function csvRows(text) {
    const rows = [];
    let row = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') { row.push(field); field = ''; } else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++;
        row.push(field); rows.push(row); row = []; field = '';
      } else field += c;
    }
    if (field || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // Which entry of the file an error names ("rows[2].email", "services[0].name") and how a person finds it.
  function entries(text, csv) {
    if (csv) {
      const rows = csvRows(text);
      const header = rows[0] || [];
      return rows.slice(1).map((r, i) => ({
        label: t('RowNumber', i + 2), id: r[header.indexOf('id')] || '', name: r[header.indexOf('name')] || '',
      }));
    }
    try {
      return (JSON.parse(text).services || []).map((s, i) => ({ label: t('EntryNumber', i + 1), id: slugOf(s) || s?.id || '', name: s?.name || '' }));
    } catch {
      return [];
    }
  }

  $('import-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    clearErrors(form);
    $('import-errors').hidden = true;
    const file = $('import-file').files[0];
    if (!file) {
      showErrors(form, { body: { errors: { file: [t('ImportNoFile')] } } });
      return;
    }
    const text = await file.text();
    const csv = /\.csv$/i.test(file.name) || file.type === 'text/csv';
    const response = await page.api('POST', csv ? '/api/admin/directory.csv' : '/api/admin/directory', text,
      { 'Content-Type': csv ? 'text/csv' : 'application/json' });
    if (response.ok) {
      form.reset();
      say(t('ImportDone', response.body.created, response.body.updated));
      return;
    }
    const errors = (response.body && response.body.errors) || {};
    const names = Object.keys(errors);
    if (names.length === 0) { showErrors(form, response); return; }
    say('');
    const list = entries(text, csv);
    const byEntry = new Map();
    for (const name of names) {
      const match = /^(rows|services)\[(\d+)\]\.?(.*)$/.exec(name);
      const index = match ? Number(match[2]) : -1;
      const field = match ? match[3] : name;
      if (!byEntry.has(index)) byEntry.set(index, []);
      byEntry.get(index).push(...errors[name].map((m) => (field ? `${field}: ${m}` : m)));
    }
    $('import-error-rows').replaceChildren(...[...byEntry.keys()].sort((a, b) => a - b).map((index) => {
      const entry = list[index];
      return el('tr', {},
        el('th', { scope: 'row' }, index < 0 ? t('WholeFile') : entry ? entry.label : (csv ? t('RowNumber', index + 2) : t('EntryNumber', index + 1))),
        el('td', {}, entry ? [el('strong', {}, entry.name), el('div', { class: 'hint' }, entry.id)] : ''),
        el('td', {}, byEntry.get(index).map((m) => el('div', {}, m))));
    }));
    $('import-errors').hidden = false;
    $('import-errors-title').setAttribute('tabindex', '-1');
    $('import-errors-title').focus();
  });

  // ---- staff: personal keys, each person's own
  function roleChanged() {
    const caseworker = $('staff-role-caseworker').checked;
    $('staff-organisation-field').hidden = !caseworker;
  }

  $('staff-role-caseworker').addEventListener('change', roleChanged);
  $('staff-role-coordinator').addEventListener('change', roleChanged);

  async function loadStaff() {
    const response = await page.api('GET', '/api/admin/staff');
    if (response.status === 404 || response.status === 405) {
      $('staff-unavailable').hidden = false;
      $('staff-table').hidden = true;
      $('staff-form').hidden = true;
      return;
    }
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    if (!organisations.length) {
      const list = await get('/api/admin/organisations');
      if (list) organisations = list;
    }
    $('staff-organisation').replaceChildren(...organisations.filter((o) => o.active).map((o) => el('option', { value: o.id }, o.name)));
    const staff = response.body;
    $('staff-none').hidden = staff.length > 0;
    $('staff-table').hidden = staff.length === 0;
    $('staff-rows').replaceChildren(...staff.map((s) => el('tr', {},
      el('td', {}, el('strong', {}, s.name)),
      el('td', {}, page.word('Role_', s.role)),
      el('td', {}, s.organisationId ? organisationName(s.organisationId) : ''),
      el('td', {}, s.lastUsedAt ? page.date(s.lastUsedAt) : t('LastUsedNever')),
      el('td', {}, button(t('Revoke'), () => revokeStaff(s), 'danger', t('RevokeKeyNamed', s.name))))));
    roleChanged();
  }

  $('staff-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.target;
    const role = $('staff-role-coordinator').checked ? 'coordinator' : 'caseworker';
    const body = { name: $('staff-name').value.trim(), role };
    if (role === 'caseworker') body.organisationId = $('staff-organisation').value;
    const response = await page.api('POST', '/api/admin/staff', body);
    if (!response.ok) { showErrors(form, response); return; }
    form.reset();
    clearErrors(form);
    await loadStaff();
    say('');
    showSecret('new-staff-key', t('NewKeyFor', response.body.name), response.body.key);
  });

  async function revokeStaff(s) {
    if (!await confirmAction(t('ConfirmRevokeStaff', s.name), t('YesRevokeStaff'))) return;
    const response = await page.api('DELETE', '/api/admin/staff/' + encodeURIComponent(s.staffId));
    if (!response.ok) { say(problemText(response), 'alert'); return; }
    await loadStaff();
    say(t('StaffRevoked', s.name));
  }

  // ---- start: a key already in this tab is checked again before anything is shown
  (async () => {
    const key = page.key.get();
    if (!key) { showSignIn(null); return; }
    const error = await check(key);
    if (error) { showSignIn(error); return; }
    await open(false);
  })();
})();
