// minhbach public transparency portal: hash router and pages. Plain ES2020 modules, no dependencies.
//
// Routes: #/  #/search?q=...  #/child  #/child/<id>  #/donor/<id>  #/programme  #/programme/<id>

import { api, ApiError } from './api.js';
import { h, clear, money, groupDigits, permille, dateOnly, table, facts } from './dom.js';
import { barChart } from './chart.js';
import { t, tCode, getLang, setLang } from './i18n.js';
import * as verify from './verify.js';

const KEY_STORAGE = 'minhbach.verifierKey';
const main = () => document.getElementById('main');
let renderGeneration = 0;

// ---------------------------------------------------------------------------------------------------
// Routing

function parseRoute() {
  let hash = location.hash || '#/';
  if (!hash.startsWith('#/')) hash = '#/';
  const raw = hash.slice(1);
  const qi = raw.indexOf('?');
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const params = new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1));
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  });
  return { parts, params };
}

const enc = encodeURIComponent;
export const links = {
  home: () => '#/',
  search: (q, extra) => {
    const p = new URLSearchParams();
    if (q) p.set('q', q);
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    const qs = p.toString();
    return qs ? `#/search?${qs}` : '#/search';
  },
  child: (id) => (id ? `#/child/${enc(id)}` : '#/child'),
  donor: (id) => `#/donor/${enc(id)}`,
  programme: (id) => (id ? `#/programme/${enc(id)}` : '#/programme'),
};

const ROUTES = {
  '': pageDashboard,
  search: pageSearch,
  child: pageChild,
  donor: pageDonor,
  programme: pageProgramme,
};

async function render() {
  const gen = ++renderGeneration;
  const { parts, params } = parseRoute();
  renderChrome(parts[0] || '');
  const page = ROUTES[parts[0] || ''];
  const el = main();
  el.setAttribute('aria-busy', 'true');
  const content = h('div', { class: 'page' });
  let replaced = false;
  const show = (node) => {
    if (gen !== renderGeneration) return;
    clear(el).appendChild(node);
    replaced = true;
  };
  // Only show "loading" when the page takes a moment, so fast pages do not flicker.
  const timer = setTimeout(() => {
    if (!replaced) show(h('p', { class: 'loading', role: 'status' }, t('loading')));
  }, 150);
  try {
    if (!page) {
      content.appendChild(notFound(t('notfound.page')));
    } else {
      await page(content, parts.slice(1), params, () => gen !== renderGeneration);
    }
  } catch (err) {
    content.replaceChildren(errorView(err));
  }
  clearTimeout(timer);
  if (gen !== renderGeneration) return;
  replaced = false;
  show(content);
  el.setAttribute('aria-busy', 'false');
  const h1 = el.querySelector('h1');
  document.title = h1 ? `${h1.textContent} — ${t('site.name')}` : t('site.title');
}

function renderChrome(section) {
  document.documentElement.lang = getLang();
  const nav = document.getElementById('site-nav');
  const item = (href, key, sec) => h('a', { href, 'aria-current': sec === section ? 'page' : null }, t(key));
  clear(nav).appendChild(h('ul', null,
    h('li', null, item('#/', 'nav.dashboard', '')),
    h('li', null, item('#/search', 'nav.search', 'search')),
    h('li', null, item('#/child', 'nav.child', 'child')),
    h('li', null, item('#/programme', 'nav.programmes', 'programme'))));
  nav.setAttribute('aria-label', getLang() === 'en' ? 'Main menu' : 'Menu chính');
  const sw = document.getElementById('lang-switch');
  sw.textContent = t('lang.switch');
  sw.setAttribute('lang', getLang() === 'en' ? 'vi' : 'en');
  sw.setAttribute('aria-label', t('lang.switch.label'));
  document.getElementById('brand-tagline').textContent = t('site.tagline');
  document.getElementById('skip-link').textContent = t('skip');
  const footer = document.getElementById('footer');
  clear(footer).append(
    h('p', null, t('footer.text')),
    h('p', null, h('a', { href: '/api/v1/log' }, t('footer.api')), ' · ', h('a', { href: '/checkpoint' }, 'checkpoint')));
}

function notFound(text) {
  return h('section', { class: 'notice notfound', 'data-testid': 'not-found' },
    h('h1', { tabindex: '-1' }, t('notfound.title')),
    h('p', null, text || t('notfound.text')),
    h('p', null, h('a', { href: '#/' }, t('back.home'))));
}

function errorView(err) {
  if (err instanceof ApiError && err.status === 404) return notFound();
  const msg = err instanceof ApiError && err.status === 0 ? t('error.network') : (err && err.message) || String(err);
  return h('section', { class: 'notice error', role: 'alert' },
    h('h1', { tabindex: '-1' }, t('error.title')),
    h('p', null, msg),
    h('p', null, h('a', { href: '#/' }, t('back.home'))));
}

/** A section that fails on its own: shows an inline error instead of breaking the page. */
async function settle(promise) {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

function inlineError(err) {
  return h('p', { class: 'error', role: 'alert' }, (err && err.message) || String(err));
}

// ---------------------------------------------------------------------------------------------------
// Shared bits

function subaccountLabel(sub) {
  if (sub === 'u') return t('sub.u');
  const kind = sub.slice(0, 2);
  const id = sub.slice(2);
  if (kind === 'p:') return h('span', null, `${t('sub.p')} `, h('a', { class: 'id', href: links.programme(id) }, id));
  if (kind === 'c:') return h('span', null, `${t('sub.c')} `, h('a', { class: 'id', href: links.child(id) }, id));
  return sub;
}

function amountCell(n) {
  return h('span', { class: 'amount' }, money(n));
}

function share(p) {
  return p < 0 ? t('dash.share.none') : permille(p, getLang());
}

function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}

function lookupForm({ id, label, button, value, onSubmit }) {
  const input = h('input', { id, name: 'q', type: 'search', value: value || '', required: true, autocomplete: 'off', spellcheck: 'false' });
  return h('form', {
    class: 'lookup', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (v) onSubmit(v);
    },
  }, h('label', { for: id }, label), h('div', { class: 'lookup-row' }, input, h('button', { type: 'submit' }, button)));
}

// ---------------------------------------------------------------------------------------------------
// Fund dashboard

async function pageDashboard(root) {
  const [logR, fundsR, progR] = await Promise.all([settle(api.log()), settle(api.funds()), settle(api.programmes())]);
  root.appendChild(h('h1', { tabindex: '-1' }, t('dash.title')));
  root.appendChild(h('p', { class: 'lead' }, t('dash.intro')));

  if (!fundsR.ok) {
    root.appendChild(inlineError(fundsR.error));
  } else if (!fundsR.value.funds || fundsR.value.funds.length === 0) {
    root.appendChild(h('p', null, t('dash.nofunds')));
  } else {
    const dashes = await Promise.all(fundsR.value.funds.map((f) => settle(api.dashboard(f))));
    dashes.forEach((d, i) => {
      root.appendChild(d.ok ? fundSection(d.value) : section(fundsR.value.funds[i], inlineError(d.error)));
    });
  }

  root.appendChild(progR.ok ? programmesSection(progR.value.programmes || [], t('dash.programmes'))
    : section(t('dash.programmes'), inlineError(progR.error)));
  root.appendChild(logR.ok ? await checkpointSection(logR.value) : section(t('log.title'), inlineError(logR.error)));
}

function fundSection(d) {
  const rows = d.balances || [];
  const total = (k) => rows.reduce((a, r) => a + (r[k] || 0), 0);
  const balance = total('balance');
  const months = d.months || [];
  const lang = getLang();
  const sec = h('section', { class: 'card fund', 'data-fund': d.fund },
    h('h2', null, `${t('dash.fund')} ${d.fund}`),
    h('div', { class: 'kpis' },
      kpi(t('dash.balance.total'), money(balance), 'balance'),
      kpi(t('dash.received'), money(d.received), 'received'),
      kpi(t('dash.disbursed'), money(d.disbursed), 'disbursed'),
      kpi(t('dash.expensed'), money(d.expensed), 'expensed'),
      kpi(t('dash.share'), share(d.share_to_children_permille), 'share', t('dash.share.help'))));

  sec.appendChild(h('h3', null, t('dash.subaccounts')));
  sec.appendChild(table({
    className: 'balances',
    head: [{ label: t('col.subaccount') }, { label: t('col.received'), num: true }, { label: t('col.allocated_in'), num: true },
      { label: t('col.allocated_out'), num: true }, { label: t('col.disbursed'), num: true }, { label: t('col.expensed'), num: true },
      { label: t('col.balance'), num: true }],
    rows: rows.map((r) => ({
      attrs: { 'data-subaccount': r.subaccount },
      cells: [subaccountLabel(r.subaccount), money(r.received), money(r.allocated_in), money(r.allocated_out),
        money(r.disbursed), money(r.expensed), h('strong', null, money(r.balance))],
    })),
    foot: [t('col.total'), money(total('received')), money(total('allocated_in')), money(total('allocated_out')),
      money(total('disbursed')), money(total('expensed')), h('strong', { 'data-testid': 'fund-balance' }, money(balance))],
  }));

  sec.appendChild(h('h3', null, t('dash.chart')));
  if (months.length === 0) {
    sec.appendChild(h('p', null, t('dash.chart.empty')));
  } else {
    const axis = fillMonths(months, ['received', 'disbursed']);
    sec.appendChild(h('figure', { class: 'chart-figure' },
      barChart({
        months: axis.map((m) => m.month),
        series: [
          { label: t('chart.received'), cls: 'received', values: axis.map((m) => m.received) },
          { label: t('chart.disbursed'), cls: 'disbursed', values: axis.map((m) => m.disbursed) },
        ],
        title: t('chart.label', { fund: d.fund }),
        lang,
      })));
    sec.appendChild(h('details', { class: 'chart-data' },
      h('summary', null, t('dash.chart.table')),
      table({
        head: [{ label: t('col.month'), nowrap: true }, { label: t('col.received'), num: true }, { label: t('col.disbursed'), num: true },
          { label: t('col.expensed'), num: true }, { label: t('col.allocated_out'), num: true }],
        rows: months.map((m) => [m.month, money(m.received), money(m.disbursed), money(m.expensed), money(m.allocated_out)]),
      })));
  }
  return sec;
}

/** POSIX seconds (BigInt or number) -> "2026-11-22 16:17 UTC". */
function isoTime(secs) {
  const d = new Date(Number(secs) * 1000);
  return Number.isNaN(d.getTime()) ? String(secs) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Every month from the first to the last given one (at most 10 years), so that the chart's time axis has no jumps. */
function fillMonths(months, keys) {
  if (months.length < 2) return months;
  const all = monthsBetween(months[0].month, months[months.length - 1].month);
  if (all.length > 120) return months;
  const by = new Map(months.map((m) => [m.month, m]));
  return all.map((m) => by.get(m) || Object.fromEntries([['month', m], ...keys.map((k) => [k, 0])]));
}

function kpi(label, value, key, help) {
  return h('div', { class: `kpi kpi-${key}`, 'data-kpi': key },
    h('div', { class: 'kpi-label' }, label),
    h('div', { class: 'kpi-value' }, value),
    help ? h('div', { class: 'kpi-help' }, help) : null);
}

function programmesSection(list, title) {
  if (list.length === 0) return section(title, h('p', null, t('dash.noprogrammes')));
  return section(title, table({
    className: 'programmes',
    head: [{ label: t('col.programme') }, { label: t('col.fund'), nowrap: true }, { label: t('col.received'), num: true },
      { label: t('col.disbursed'), num: true }, { label: t('col.expensed'), num: true }, { label: t('col.children'), num: true },
      { label: t('dash.share'), num: true }, { label: t('col.status') }],
    rows: list.map((p) => [
      h('a', { href: links.programme(p.programme) }, p.name || p.programme), p.fund, money(p.received), money(p.disbursed),
      money(p.expensed), groupDigits(p.children_reached), share(p.share_to_children_permille),
      p.closed ? t('status.closed') : t('status.open')]),
  }));
}

async function checkpointSection(log) {
  const sec = h('section', { class: 'card checkpoint', 'data-testid': 'checkpoint' }, h('h2', null, t('log.title')));
  if (!log.checkpoint) {
    sec.appendChild(h('p', null, t('log.nocheckpoint')));
    return sec;
  }
  let cp = null;
  let key = null;
  let sigOk = null;
  let sigErr = '';
  try {
    key = await verify.parseVerifierKey(log.log_key);
    cp = await verify.verifyCheckpoint(log.checkpoint, key);
    sigOk = true;
  } catch (e) {
    sigOk = false;
    sigErr = e.message;
    try {
      cp = verify.parseCheckpoint(verify.parseNote(log.checkpoint).text);
    } catch (e2) {
      cp = null;
    }
  }
  let fp = '';
  try {
    fp = key ? await verify.keyFingerprint(key) : '';
  } catch (e) {
    fp = '';
  }
  sec.appendChild(facts([
    [t('log.origin'), h('code', null, cp ? cp.origin : log.origin)],
    [t('log.size'), h('span', { 'data-testid': 'checkpoint-size' }, groupDigits(cp ? cp.size.toString() : log.checkpoint_size))],
    [t('log.size.log'), groupDigits(log.size)],
    [t('log.root'), h('code', { class: 'hash' }, cp ? cp.rootB64 : '')],
    [t('log.key'), h('code', { class: 'key' }, log.log_key)],
    fp ? [t('log.fingerprint'), h('code', { class: 'fingerprint' }, fp)] : null,
    [t('verify.checkpoint'), sigOk
      ? h('span', { class: 'ok' }, `✓ ${t('verify.entry.ok')} (${t('verify.key.server').toLowerCase()})`)
      : h('span', { class: 'bad' }, `✗ ${t('verify.entry.bad')}: ${sigErr}`)],
  ]));

  sec.appendChild(h('h3', null, t('log.witnesses')));
  const lines = verify.witnessLines(log.checkpoint, key ? key.name : cp ? cp.origin : '');
  if (lines.length === 0 && (log.witnesses || []).length === 0) {
    sec.appendChild(h('p', null, t('log.witnesses.none')));
  } else {
    const items = lines.map((l) => h('li', { class: 'witness', 'data-witness': `${l.name}+${l.keyIdHex}` },
      h('code', null, `${l.name}+${l.keyIdHex}`),
      l.time !== undefined ? ` · ${t('log.cosigned')} ${isoTime(l.time)}` : ''));
    for (const w of log.witnesses || []) {
      if (!lines.some((l) => l.name === w.name && l.keyIdHex === w.key_id)) {
        items.push(h('li', { class: 'witness', 'data-witness': `${w.name}+${w.key_id}` }, h('code', null, `${w.name}+${w.key_id}`)));
      }
    }
    sec.appendChild(h('p', { class: 'hint' }, t('log.witnesses.help')));
    sec.appendChild(h('ul', { class: 'witnesses' }, items));
  }
  sec.appendChild(h('details', null, h('summary', null, t('log.note')), h('pre', { class: 'note' }, log.checkpoint)));
  return sec;
}

// ---------------------------------------------------------------------------------------------------
// Statement search (sao kê)

async function pageSearch(root, parts, params, stale) {
  const q = (params.get('q') || '').trim();
  const fund = params.get('fund') || '';
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  const fundsR = await settle(api.funds());
  if (stale()) return;
  const funds = fundsR.ok ? fundsR.value.funds || [] : [];

  root.appendChild(h('h1', { tabindex: '-1' }, t('search.title')));
  root.appendChild(h('p', { class: 'lead' }, t('search.intro')));
  const input = h('input', { id: 'search-q', name: 'q', type: 'search', value: q, autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'search-hint' });
  const fundSel = h('select', { id: 'search-fund', name: 'fund' },
    h('option', { value: '' }, t('search.fund.all')),
    funds.map((f) => h('option', { value: f, selected: f === fund }, f)));
  const fromIn = h('input', { id: 'search-from', name: 'from', type: 'date', value: from });
  const toIn = h('input', { id: 'search-to', name: 'to', type: 'date', value: to });
  root.appendChild(h('form', {
    class: 'search', role: 'search', id: 'search-form',
    onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = links.search(input.value.trim(), { fund: fundSel.value, from: fromIn.value, to: toIn.value });
    },
  },
  h('label', { for: 'search-q' }, t('search.label')),
  h('div', { class: 'lookup-row' }, input, h('button', { type: 'submit', id: 'search-button' }, t('search.button'))),
  h('p', { id: 'search-hint', class: 'hint' }, 'FT22005123456 · 300.000.000 · Minh Phát'),
  h('details', { class: 'filters', open: fund || from || to ? true : null },
    h('summary', null, t('search.more')),
    h('div', { class: 'filter-row' },
      h('div', null, h('label', { for: 'search-fund' }, t('search.fund')), fundSel),
      h('div', null, h('label', { for: 'search-from' }, t('search.from')), fromIn),
      h('div', null, h('label', { for: 'search-to' }, t('search.to')), toIn)))));

  const results = h('section', { class: 'results', 'aria-live': 'polite', 'data-testid': 'search-results' });
  root.appendChild(results);
  const donorLookup = h('details', { class: 'donor-lookup' }, h('summary', null, t('search.donor')),
    lookupForm({ id: 'donor-id', label: t('search.donor.label'), button: t('child.lookup.button'),
      onSubmit: (v) => { location.hash = links.donor(v); } }));
  root.appendChild(donorLookup);
  if (!q) return;
  let res;
  try {
    res = await api.search({ q, fund, from, to });
  } catch (e) {
    results.appendChild(e instanceof ApiError && e.status === 404 ? h('p', null, t('search.none', { q })) : inlineError(e));
    return;
  }
  const rows = res.rows || [];
  if (rows.length === 0) {
    results.appendChild(h('p', { class: 'empty' }, t('search.none', { q })));
    return;
  }
  results.appendChild(h('h2', null, t('search.results', { n: rows.length, q })));
  results.appendChild(table({
    className: 'statement',
    head: [{ label: t('col.date'), nowrap: true }, { label: t('col.fund'), nowrap: true }, { label: t('col.side') }, { label: t('col.amount'), num: true },
      { label: t('col.ref') }, { label: t('col.channel') }, { label: t('col.counterparty') }, { label: t('col.description') },
      { label: t('col.seq'), num: true }],
    rows: rows.map((r) => ({
      attrs: { class: `side-${r.side}`, 'data-seq': r.seq },
      cells: [r.date, r.fund || fund, tCode('side.', r.side),
        h('span', { class: `amount ${r.side}` }, money(r.amount)), h('code', null, r.bank_ref || ''),
        tCode('channel.', r.channel),
        r.donor ? h('a', { href: links.donor(r.donor) }, r.counterparty || r.donor) : r.counterparty || '',
        describe(r.description), `#${r.seq}`],
    })),
  }));
  if (res.truncated) results.appendChild(h('p', { class: 'hint' }, t('search.truncated')));
}

/** "for p:P-COVID" -> a link to the programme; other descriptions as text. */
function describe(text) {
  const m = /^for ([upc]:?.*)$/.exec(text || '');
  if (m) return subaccountLabel(m[1]);
  return text || '';
}

// ---------------------------------------------------------------------------------------------------
// Child page

async function pageChild(root, parts) {
  const id = parts[0];
  if (!id) {
    root.appendChild(h('h1', { tabindex: '-1' }, t('nav.child')));
    root.appendChild(h('p', { class: 'lead' }, t('child.intro')));
    root.appendChild(lookupForm({ id: 'child-id', label: t('child.lookup.label'), button: t('child.lookup.button'),
      onSubmit: (v) => { location.hash = links.child(v); } }));
    return;
  }
  const data = await api.child(id);
  root.appendChild(h('h1', { tabindex: '-1' }, t('child.title', { id: data.child || id })));
  root.appendChild(h('p', { class: 'lead' }, t('child.intro')));
  const totals = data.totals || {};
  const spons = data.sponsorships || {};

  root.appendChild(h('div', { class: 'kpis' },
    kpi(t('child.total'), money(totals.total || 0), 'total'),
    kpi(t('child.sponsorships'), String((spons.rows || []).length), 'sponsorships')));

  root.appendChild(verifySection(id));

  // History.
  const history = data.history || [];
  root.appendChild(section(t('child.history'), history.length === 0 ? h('p', null, t('child.history.none')) : table({
    className: 'history',
    head: [{ label: t('col.seq'), num: true }, { label: t('col.date'), nowrap: true }, { label: t('col.type') }, { label: t('col.kind') },
      { label: t('col.month'), nowrap: true }, { label: t('col.programme') }, { label: t('col.amount'), num: true }, { label: t('col.from') },
      { label: t('col.status') }],
    rows: history.map((r) => ({
      attrs: { class: r.reversed_by ? 'reversed' : null, 'data-seq': r.seq },
      cells: [`#${r.seq}`, dateOnly(r.recorded_at), tCode('type.', r.type), tCode('kind.', r.kind), r.month,
        r.programme ? h('a', { href: links.programme(r.programme) }, r.programme) : '',
        r.item ? `${groupDigits(r.quantity)} × ${r.item}` : r.amount ? money(r.amount) : '',
        [r.from, r.sponsorship ? ` (${r.sponsorship})` : ''].join('').trim(),
        r.reversed_by ? t('child.reversed', { seq: r.reversed_by }) : r.reverses ? t('child.reverses', { seq: r.reverses }) : ''],
    })),
  })));

  // Totals.
  const byProg = Object.entries(totals.by_programme || {});
  const byYear = Object.entries(totals.by_year || {});
  root.appendChild(section(t('child.totals'),
    table({
      className: 'totals',
      head: [{ label: t('col.programme') }, { label: t('col.amount'), num: true }],
      rows: byProg.map(([p, v]) => [p ? h('a', { href: links.programme(p) }, p) : t('child.noprogramme'), money(v)]),
      foot: [t('col.total'), money(totals.total || 0)],
    }),
    byYear.length ? h('h3', null, t('child.totals.year')) : null,
    byYear.length ? table({
      className: 'totals',
      head: [{ label: t('col.year') }, { label: t('col.amount'), num: true }],
      rows: byYear.map(([y, v]) => [y, money(v)]),
    }) : null));

  // Sponsorships.
  root.appendChild(sponsorshipSection(spons));
}

function monthsBetween(first, last) {
  const out = [];
  let [y, m] = first.split('-').map(Number);
  const [ly, lm] = last.split('-').map(Number);
  while (y < ly || (y === ly && m <= lm)) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    m++;
    if (m > 12) { m = 1; y++; }
    if (out.length > 1200) break;
  }
  return out;
}

function sponsorshipSection(spons) {
  const rows = spons.rows || [];
  const sec = section(t('child.sponsorships'));
  if (rows.length === 0) {
    sec.appendChild(h('p', null, t('child.sponsorships.none')));
    return sec;
  }
  if (spons.as_of) sec.appendChild(h('p', { class: 'hint' }, t('child.sponsorships.asof', { m: spons.as_of })));
  sec.appendChild(table({
    className: 'sponsorships',
    head: [{ label: t('col.sponsorship'), nowrap: true }, { label: t('col.sponsor') }, { label: t('col.period'), nowrap: true }, { label: t('col.due'), num: true },
      { label: t('col.paid'), num: true }, { label: t('col.missing'), num: true }, { label: t('col.owed'), num: true }],
    rows: rows.map((r) => [r.sponsorship, r.sponsor, `${r.first_month} – ${r.last_month}${r.ended ? ` (${t('child.ended')})` : ''}`,
      String(r.months_due), String(r.months_paid), String((r.missing || []).length), money(r.owed)]),
  }));
  for (const r of rows) {
    const missing = new Set(r.missing || []);
    const asOf = spons.as_of || r.last_month;
    const months = monthsBetween(r.first_month, r.last_month);
    const years = new Map();
    for (const m of months) {
      const y = m.slice(0, 4);
      if (!years.has(y)) years.set(y, []);
      const due = m <= asOf;
      const state = missing.has(m) ? 'missing' : due ? 'paid' : 'future';
      years.get(y).push({ m, state });
    }
    const label = (st) => (st === 'missing' ? t('col.missing') : st === 'paid' ? t('col.paid') : t('col.due'));
    sec.appendChild(h('figure', { class: 'months-grid', 'data-sponsorship': r.sponsorship },
      h('figcaption', null, `${r.sponsorship} · ${r.sponsor}: ${r.months_paid} ${t('col.paid').toLowerCase()}, ${(r.missing || []).length} ${t('col.missing').toLowerCase()}`),
      h('ul', { class: 'legend-list' },
        h('li', null, h('span', { class: 'cell paid', 'aria-hidden': 'true' }), t('col.paid')),
        h('li', null, h('span', { class: 'cell missing', 'aria-hidden': 'true' }), t('col.missing')),
        h('li', null, h('span', { class: 'cell future', 'aria-hidden': 'true' }), '—')),
      h('table', { class: 'grid' },
        h('tbody', null, [...years.entries()].map(([y, ms]) => h('tr', null,
          h('th', { scope: 'row' }, y),
          ms.map(({ m, state }) => h('td', { class: `cell ${state}`, title: `${m}: ${label(state)}`, 'data-month': m, 'data-state': state },
            h('span', { class: 'visually-hidden' }, `${m}: ${label(state)}`),
            h('span', { 'aria-hidden': 'true' }, m.slice(5))))))))));
  }
  return sec;
}

// In-browser verification -------------------------------------------------------------------------

let serverKeyPromise = null;
function serverKey() {
  if (!serverKeyPromise) {
    serverKeyPromise = api.log().then((l) => l.log_key).catch((e) => {
      serverKeyPromise = null;
      throw e;
    });
  }
  return serverKeyPromise;
}

function storedKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || '';
  } catch (e) {
    return '';
  }
}

function verifySection(childId) {
  const status = h('p', { id: 'verify-status', class: 'verify-status', role: 'status', 'aria-live': 'polite', 'data-status': 'idle' });
  const detail = h('p', { id: 'verify-detail', class: 'verify-detail' });
  const results = h('div', { id: 'verify-results' });
  const keyInfo = h('div', { class: 'key-info', id: 'verify-key-info' });
  const button = h('button', { type: 'button', id: 'verify-button', class: 'primary' }, t('verify.button'));
  const keyInput = h('input', { id: 'verify-key-input', type: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'name+1a2b3c4d+AX…', value: storedKey() });
  const keyMsg = h('p', { class: 'hint', id: 'verify-key-msg', 'aria-live': 'polite' });

  async function showKey() {
    clear(keyInfo);
    const own = storedKey();
    let srv = '';
    try {
      srv = await serverKey();
    } catch (e) {
      keyInfo.appendChild(inlineError(e));
    }
    const inUse = own || srv;
    if (!inUse) return;
    let fp = '';
    let parsed = null;
    try {
      parsed = await verify.parseVerifierKey(inUse);
      fp = await verify.keyFingerprint(parsed);
    } catch (e) {
      keyInfo.appendChild(inlineError(e));
    }
    keyInfo.appendChild(facts([
      [own ? t('verify.key.own') : t('verify.key.server'), h('code', { class: 'key', 'data-testid': 'key-in-use' }, inUse)],
      fp ? [t('log.fingerprint'), h('code', { class: 'fingerprint', 'data-testid': 'key-fingerprint' }, fp)] : null,
    ]));
    if (own && srv && own.trim() !== srv.trim()) keyInfo.appendChild(h('p', { class: 'warn' }, t('verify.key.differs')));
    return parsed;
  }

  const keyForm = h('form', {
    class: 'key-form',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const v = keyInput.value.trim();
      keyMsg.textContent = '';
      if (!v) return;
      try {
        await verify.parseVerifierKey(v);
      } catch (e) {
        keyMsg.textContent = t('verify.key.invalid', { e: e.message });
        keyMsg.className = 'hint bad';
        return;
      }
      try {
        localStorage.setItem(KEY_STORAGE, v);
      } catch (e) { /* ignore */ }
      keyMsg.className = 'hint';
      await showKey();
    },
  },
  h('label', { for: 'verify-key-input' }, t('verify.key.paste')),
  h('div', { class: 'lookup-row' }, keyInput, h('button', { type: 'submit', id: 'verify-key-save' }, t('verify.key.save')),
    h('button', {
      type: 'button', id: 'verify-key-clear', class: 'secondary',
      onclick: async () => {
        try {
          localStorage.removeItem(KEY_STORAGE);
        } catch (e) { /* ignore */ }
        keyInput.value = '';
        keyMsg.textContent = '';
        await showKey();
      },
    }, t('verify.key.clear'))),
  keyMsg);

  function setStatus(state, text, extra) {
    status.dataset.status = state;
    status.className = `verify-status ${state}`;
    status.textContent = text;
    detail.textContent = extra || '';
  }

  button.addEventListener('click', async () => {
    button.disabled = true;
    clear(results);
    setStatus('running', t('verify.running'));
    try {
      const keyText = storedKey() || (await serverKey());
      const proof = await api.childProof(childId);
      const r = await verify.verifyChildProof(proof, keyText);
      renderVerifyResult(results, r);
      if (r.ok) {
        setStatus('verified', `✓ ${t('verify.ok')}`, r.entries.length
          ? t('verify.ok.detail', { n: r.entries.length, size: groupDigits(r.checkpoint.size) }) : t('verify.ok.empty'));
      } else {
        setStatus('failed', `✗ ${t('verify.failed')}`, t('verify.failed.detail', { e: r.error }));
      }
    } catch (e) {
      setStatus('failed', `✗ ${t('verify.failed')}`, t('verify.failed.detail', { e: e.message || String(e) }));
    } finally {
      button.disabled = false;
    }
  });

  const sec = h('section', { class: 'card verify', id: 'verify', 'aria-labelledby': 'verify-title' },
    h('h2', { id: 'verify-title' }, t('verify.title')),
    h('p', null, t('verify.intro')),
    h('p', { class: 'warn', 'data-testid': 'self-consistency' }, t('verify.selfconsistency')),
    keyInfo,
    h('details', { class: 'key-details', open: storedKey() ? true : null }, h('summary', null, t('verify.key.paste')), keyForm),
    h('div', { class: 'verify-actions' }, button,
      h('a', { href: api.childProofUrl(childId), download: `${childId}-proof.json`, class: 'download' }, t('verify.download'))),
    status, detail, results,
    h('p', { class: 'hint' }, t('verify.offline'), ' ', h('code', null, t('verify.offline.cmd'))));
  showKey();
  return sec;
}

function renderVerifyResult(container, r) {
  const cp = r.checkpoint;
  container.appendChild(facts([
    [t('verify.checkpoint'), h('span', { class: cp.ok ? 'ok' : 'bad', 'data-testid': 'verify-checkpoint', 'data-ok': String(cp.ok) },
      cp.ok ? `✓ ${t('verify.entry.ok')}` : `✗ ${t('verify.entry.bad')}: ${cp.error}`)],
    cp.origin ? [t('log.origin'), h('code', null, cp.origin)] : null,
    cp.size ? [t('log.size'), groupDigits(cp.size)] : null,
    cp.rootB64 ? [t('log.root'), h('code', { class: 'hash' }, cp.rootB64)] : null,
  ]));
  if (r.keyMatchesProof === false) container.appendChild(h('p', { class: 'warn' }, t('verify.key.proofdiffers')));
  if (r.entries.length === 0) return;
  container.appendChild(table({
    className: 'verify-entries',
    head: [{ label: t('col.seq'), num: true }, { label: t('col.type') }, { label: t('col.check') }],
    rows: r.entries.map((e) => ({
      attrs: { 'data-seq': e.seq, 'data-ok': String(e.ok), class: e.ok ? 'ok-row' : 'bad-row' },
      cells: [`#${e.seq}`, tCode('type.', e.type),
        h('span', { class: e.ok ? 'ok' : 'bad' }, e.ok ? `✓ ${t('verify.entry.ok')}` : `✗ ${t('verify.entry.bad')}: ${e.error}`)],
    })),
  }));
}

// ---------------------------------------------------------------------------------------------------
// Donor page

async function pageDonor(root, parts) {
  const id = parts[0];
  if (!id) {
    root.appendChild(notFound(t('notfound.page')));
    return;
  }
  const d = await api.donor(id);
  root.appendChild(h('h1', { tabindex: '-1' }, t('donor.title', { name: d.display_name || d.donor })));
  root.appendChild(h('p', { class: 'lead' },
    h('code', null, d.donor), d.kind ? ` · ${tCode('donor.kind.', d.kind)}` : '', '. ', t('donor.intro')));
  root.appendChild(h('div', { class: 'kpis' },
    kpi(t('donor.given'), money(d.given), 'given'),
    kpi(t('donor.used'), money(d.used), 'used'),
    kpi(t('donor.withdrawn'), money(d.withdrawn || 0), 'withdrawn'),
    kpi(t('donor.unspent'), money(d.unspent), 'unspent')));
  const donations = d.donations || [];
  const sec = section(t('donor.donations'));
  root.appendChild(sec);
  if (donations.length === 0) {
    sec.appendChild(h('p', null, t('donor.none')));
    return;
  }
  sec.appendChild(table({
    className: 'donations',
    head: [{ label: t('col.seq'), num: true }, { label: t('col.date'), nowrap: true }, { label: t('col.fund'), nowrap: true }, { label: t('col.for') },
      { label: t('col.kind') }, { label: t('col.amount'), num: true }, { label: t('col.used'), num: true },
      { label: t('col.withdrawn'), num: true }, { label: t('col.unspent'), num: true }],
    rows: donations.map((x) => ({
      attrs: { class: x.reversed_by ? 'reversed' : null, 'data-seq': x.seq },
      cells: [`#${x.seq}`, x.date, x.fund, subaccountLabel(x.subaccount || 'u'),
        x.kind === 'in_kind' ? tCode('kind.', 'in_kind') : [tCode('channel.', x.channel), x.bank_ref ? ' ' : '', x.bank_ref ? h('code', null, x.bank_ref) : ''],
        x.kind === 'in_kind' ? `${groupDigits(x.quantity)} × ${x.item}${x.amount ? ` (${money(x.amount)})` : ''}` : money(x.amount),
        money(x.used), money(x.withdrawn || 0), money(x.unspent)],
    })),
  }));
  for (const x of donations) {
    const uses = x.uses || [];
    if (x.kind === 'in_kind' && uses.length === 0) continue;
    sec.appendChild(h('details', { class: 'uses', 'data-seq': x.seq },
      h('summary', null, `#${x.seq} · ${x.date} · ${x.kind === 'in_kind' ? x.item : money(x.amount)} — `,
        uses.length ? t('donor.uses', { n: uses.length }) : t('donor.nouses')),
      uses.length ? table({
        head: [{ label: t('col.seq'), num: true }, { label: t('col.date'), nowrap: true }, { label: t('col.type') }, { label: t('col.kind') },
          { label: t('col.child') }, { label: t('col.programme') }, { label: t('col.amount'), num: true }, { label: t('col.status') }],
        rows: uses.map((u) => ({
          attrs: { class: u.reversed_by ? 'reversed' : null },
          cells: [`#${u.seq}`, u.date, tCode('type.', u.type), tCode('kind.', u.kind),
            u.child ? h('a', { href: links.child(u.child) }, u.child) : '',
            u.programme ? h('a', { href: links.programme(u.programme) }, u.programme) : '', money(u.amount),
            u.reversed_by ? t('child.reversed', { seq: u.reversed_by }) : ''],
        })),
      }) : null));
  }
}

// ---------------------------------------------------------------------------------------------------
// Programme pages

async function pageProgramme(root, parts) {
  const id = parts[0];
  if (!id) {
    const list = await api.programmes();
    root.appendChild(h('h1', { tabindex: '-1' }, t('prog.list.title')));
    root.appendChild(programmesSection(list.programmes || [], t('prog.list.title')));
    return;
  }
  const p = await api.programme(id);
  root.appendChild(h('h1', { tabindex: '-1' }, t('prog.title', { name: p.name || p.programme })));
  root.appendChild(h('p', { class: 'lead' }, h('code', null, p.programme), ` · ${t('col.fund')} ${p.fund} · `,
    p.closed ? t('status.closed') : t('status.open')));
  root.appendChild(h('div', { class: 'kpis' },
    kpi(t('dash.received'), money(p.received), 'received'),
    kpi(t('dash.disbursed'), money(p.disbursed), 'disbursed'),
    kpi(t('dash.expensed'), money(p.expensed), 'expensed'),
    kpi(t('dash.share'), share(p.share_to_children_permille), 'share', t('dash.share.help')),
    kpi(t('prog.reached'), groupDigits(p.children_reached), 'children'),
    kpi(t('prog.disbursements'), groupDigits(p.disbursements), 'disbursements')));
  root.appendChild(facts([
    [t('prog.allocated'), `${money(p.allocated_in)} / ${money(p.allocated_out)}`],
    [t('prog.inkind'), money(p.in_kind_value || 0)],
  ]));

  const months = p.months || [];
  const sec = section(t('prog.months'));
  root.appendChild(sec);
  if (months.length === 0) {
    sec.appendChild(h('p', null, t('prog.nomonths')));
  } else {
    const byMonth = new Map();
    for (const m of months) byMonth.set(m.month, (byMonth.get(m.month) || 0) + (m.kind.startsWith('expense') ? 0 : m.amount));
    const axis = fillMonths([...byMonth.entries()].sort().map(([month, amount]) => ({ month, amount })), ['amount']);
    sec.appendChild(h('figure', { class: 'chart-figure' }, barChart({
      months: axis.map((m) => m.month),
      series: [{ label: t('chart.disbursed'), cls: 'disbursed', values: axis.map((m) => m.amount) }],
      title: `${t('prog.months')}: ${p.name || p.programme}`,
      lang: getLang(),
    })));
    sec.appendChild(table({
      className: 'programme-months',
      head: [{ label: t('col.month'), nowrap: true }, { label: t('col.kind') }, { label: t('col.count'), num: true }, { label: t('col.amount'), num: true }],
      rows: months.map((m) => [m.month, tCode('kind.', m.kind), groupDigits(m.count), money(m.amount)]),
    }));
  }
  const items = p.items || [];
  if (items.length) {
    root.appendChild(section(t('prog.items'), table({
      head: [{ label: t('col.goods') }, { label: t('col.quantity'), num: true }, { label: t('col.value'), num: true }],
      rows: items.map((i) => [i.item, groupDigits(i.quantity), money(i.value)]),
    })));
  }
}

// ---------------------------------------------------------------------------------------------------
// Start

function start() {
  document.getElementById('lang-switch').addEventListener('click', () => {
    setLang(getLang() === 'en' ? 'vi' : 'en');
    render();
  });
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    main().focus();
  });
  window.addEventListener('hashchange', () => {
    // Move focus to the new page's heading, so screen readers announce it and Tab starts from there.
    render().then(() => {
      const h1 = main().querySelector('h1');
      window.scrollTo(0, 0);
      (h1 || main()).focus({ preventScroll: true });
    });
  });
  setLang(getLang());
  render();
}

start();
