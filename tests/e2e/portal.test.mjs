// Headless-browser end-to-end tests of the transparency portal served by `minhbach serve`.
//
//   BASE_URL=http://127.0.0.1:PORT node --test tests/e2e/portal.test.mjs
//
// tests/e2e/run.sh starts a server on a fresh demo ledger and runs this. Uses playwright-core with the
// system Chromium (CHROMIUM, default /usr/bin/chromium); never downloads a browser. Full-page screenshots
// of every step go to E2E_ARTIFACTS (default ./e2e-artifacts).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE_URL = (process.env.BASE_URL || '').replace(/\/$/, '');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(process.cwd(), 'e2e-artifacts');
const CHILD = 'C-CV-01';
const REF = 'FT22005123456';
const TIMEOUT = 20000;

const skip = !BASE_URL ? 'set BASE_URL (tests/e2e/run.sh does)' : !fs.existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : false;

/** Text with non-breaking spaces made plain, for comparisons. */
const plain = (s) => (s || '').replace(/[\u00a0\u202f]/g, ' ').replace(/\s+/g, ' ').trim();
const vnd = (n) => `${String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.')} ₫`;

let browser;
let shot = 0;

async function newPage(t, { lang } = {}) {
  // A fresh context per test: its own localStorage (language, pasted key) and cookies.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  if (lang) {
    await context.addInitScript((l) => localStorage.setItem('minhbach.lang', l), lang);
  }
  t.after(async () => {
    await context.close();
  });
  page.problems = problems;
  return page;
}

async function screenshot(page, name) {
  shot += 1;
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Navigates to a hash route and waits until the page has rendered. */
async function open(page, hash) {
  await page.goto(`${BASE_URL}/${hash}`);
  await page.waitForSelector('main[aria-busy="false"]');
}

async function getJSON(p) {
  const res = await fetch(`${BASE_URL}${p}`);
  return { status: res.status, body: await res.json() };
}

function flipB64(s, byteIndex, bit) {
  const buf = Buffer.from(s, 'base64');
  buf[byteIndex % buf.length] ^= 1 << bit;
  return buf.toString('base64');
}

/** Serves the real child proof with `mutate` applied to it. */
async function tamperProof(page, mutate) {
  await page.route(`**/api/v1/children/${CHILD}/proof`, async (route) => {
    const response = await route.fetch();
    const proof = await response.json();
    mutate(proof);
    await route.fulfill({ response, body: JSON.stringify(proof), headers: { ...response.headers(), 'content-type': 'application/json' } });
  });
}

async function pressVerify(page) {
  await page.click('#verify-button');
  await page.waitForSelector('#verify-status[data-status="verified"], #verify-status[data-status="failed"]');
  return page.getAttribute('#verify-status', 'data-status');
}

describe('transparency portal', { skip }, () => {
  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // playwright's launch() starts Chromium with a fresh temporary --user-data-dir of its own (it refuses
    // the flag in args) and removes it on close; the flags below keep Chromium from trying background
    // connections, which a closed network refuses.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    if (browser) await browser.close();
  });

  test('dashboard: fund balance, sub-accounts, chart, programmes, checkpoint', async (t) => {
    const page = await newPage(t);
    await open(page, '#/');
    assert.equal(await page.getAttribute('html', 'lang'), 'vi');
    assert.match(plain(await page.textContent('h1')), /Tổng quan quỹ/);

    const { body: funds } = await getJSON('/api/v1/funds');
    assert.ok(funds.funds.length >= 1);
    const fund = funds.funds[0];
    const { body: dash } = await getJSON(`/api/v1/funds/${encodeURIComponent(fund)}/dashboard`);
    const balance = dash.balances.reduce((a, r) => a + r.balance, 0);
    const card = page.locator(`section.fund[data-fund="${fund}"]`);
    assert.equal(plain(await card.locator('[data-testid="fund-balance"]').textContent()), vnd(balance));
    assert.equal(await card.locator('table.balances tbody tr').count(), dash.balances.length);
    // The chart is an inline SVG drawn by the page, with one bar per month and series.
    const svg = card.locator('svg.chart');
    assert.equal(await svg.count(), 1);
    const groups = await svg.locator('g.month').count();
    assert.ok(groups >= dash.months.length, `${groups} month groups for ${dash.months.length} months`);
    assert.equal(await svg.locator('g.month rect.bar').count(), groups * 2);
    assert.ok((await svg.getAttribute('aria-label')).includes(fund));
    const share = plain(await card.locator('[data-kpi="share"] .kpi-value').textContent());
    assert.match(share, dash.share_to_children_permille < 0 ? /chưa chi/ : /^\d+(,\d)? %$/);

    const { body: progs } = await getJSON('/api/v1/programmes');
    assert.equal(await page.locator('table.programmes tbody tr').count(), progs.programmes.length);
    assert.ok(await page.locator(`a[href="#/programme/${progs.programmes[0].programme}"]`).count() >= 1);

    const { body: log } = await getJSON('/api/v1/log');
    const cp = page.locator('[data-testid="checkpoint"]');
    assert.equal(plain(await cp.locator('[data-testid="checkpoint-size"]').textContent()), vnd(log.checkpoint_size).replace(' ₫', ''));
    assert.ok(plain(await cp.textContent()).includes(log.origin));
    assert.match(plain(await cp.textContent()), /✓ hợp lệ/);
    if (process.env.E2E_EXPECT_WITNESS) assert.ok(log.witnesses.length >= 1, 'run.sh added a witness cosignature');
    for (const w of log.witnesses) {
      assert.equal(await cp.locator(`li[data-witness="${w.name}+${w.key_id}"]`).count(), 1, `witness ${w.name}`);
    }
    await screenshot(page, 'dashboard');
    assert.deepEqual(page.problems, []);
  });

  test('statement search by bank reference finds the 300.000.000 ₫ credit', async (t) => {
    const page = await newPage(t);
    await open(page, '#/search');
    await page.fill('#search-q', REF);
    await page.click('#search-button');
    await page.waitForURL(/#\/search\?q=FT22005123456/);
    const row = page.locator('table.statement tbody tr', { hasText: REF });
    await row.first().waitFor();
    const text = plain(await row.first().textContent());
    assert.ok(text.includes('300.000.000 ₫'), text);
    assert.ok(text.includes('Minh Phát'), text);
    await screenshot(page, 'search-reference');
    assert.deepEqual(page.problems, []);
  });

  test('statement search by amount, written with dots, finds the same credit', async (t) => {
    const page = await newPage(t);
    await open(page, '#/search?q=300.000.000');
    const row = page.locator('table.statement tbody tr', { hasText: REF });
    await row.first().waitFor();
    assert.ok(plain(await row.first().textContent()).includes('300.000.000 ₫'));
    await screenshot(page, 'search-amount');
  });

  test('statement search by donor name', async (t) => {
    const page = await newPage(t);
    await open(page, `#/search?q=${encodeURIComponent('Minh Phát')}`);
    const row = page.locator('table.statement tbody tr', { hasText: REF });
    await row.first().waitFor();
    await screenshot(page, 'search-name');
  });

  test('child page: history, totals, sponsorship months, verify in the browser → verified', async (t) => {
    const page = await newPage(t);
    await open(page, `#/child/${CHILD}`);
    assert.match(plain(await page.textContent('h1')), new RegExp(CHILD));
    const { body: child } = await getJSON(`/api/v1/children/${CHILD}`);
    assert.equal(await page.locator('table.history tbody tr').count(), child.history.length);
    assert.ok(plain(await page.locator('table.totals').first().textContent()).includes(vnd(child.totals.total)));
    const sp = child.sponsorships.rows[0];
    if (sp) {
      assert.equal(await page.locator(`figure.months-grid td[data-state="missing"]`).count(), sp.missing.length);
      assert.ok(await page.locator(`figure.months-grid td[data-state="paid"]`).count() >= sp.months_paid);
    }
    // The fingerprint of the key in use is shown, with the self-consistency warning.
    assert.match(plain(await page.textContent('[data-testid="key-fingerprint"]')), /^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
    assert.ok(plain(await page.textContent('[data-testid="self-consistency"]')).length > 20);

    assert.equal(await pressVerify(page), 'verified');
    assert.match(plain(await page.textContent('#verify-status')), /Đã xác minh/);
    const { body: proof } = await getJSON(`/api/v1/children/${CHILD}/proof`);
    assert.equal(await page.locator('table.verify-entries tr[data-ok="true"]').count(), proof.entries.length);
    assert.equal(await page.locator('table.verify-entries tr[data-ok="false"]').count(), 0);
    await screenshot(page, 'child-verified');
    assert.deepEqual(page.problems, []);
  });

  test('tampered inclusion hash → failed', async (t) => {
    const page = await newPage(t);
    let seq = -1;
    await tamperProof(page, (proof) => {
      const e = proof.entries[1];
      seq = e.seq;
      e.inclusion[0] = flipB64(e.inclusion[0], 7, 3);
    });
    await open(page, `#/child/${CHILD}`);
    assert.equal(await pressVerify(page), 'failed');
    assert.match(plain(await page.textContent('#verify-status')), /Không hợp lệ/);
    assert.equal(await page.getAttribute(`table.verify-entries tr[data-seq="${seq}"]`, 'data-ok'), 'false');
    assert.equal(await page.locator('table.verify-entries tr[data-ok="false"]').count(), 1);
    assert.equal(await page.getAttribute('[data-testid="verify-checkpoint"]', 'data-ok'), 'true');
    await screenshot(page, 'child-tampered-inclusion');
  });

  test('tampered entry byte → failed', async (t) => {
    const page = await newPage(t);
    await tamperProof(page, (proof) => {
      proof.entries[0].entry = flipB64(proof.entries[0].entry, 50, 0);
    });
    await open(page, `#/child/${CHILD}`);
    assert.equal(await pressVerify(page), 'failed');
    assert.match(plain(await page.textContent('table.verify-entries tr[data-ok="false"]')), /leaf hash/);
    await screenshot(page, 'child-tampered-entry');
  });

  test('tampered checkpoint signature → failed', async (t) => {
    const page = await newPage(t);
    await tamperProof(page, (proof) => {
      proof.checkpoint = proof.checkpoint.split('\n').map((line) => {
        if (!line.startsWith('\u2014 ')) return line;
        const parts = line.split(' ');
        parts[2] = flipB64(parts[2], 40, 5);
        return parts.join(' ');
      }).join('\n');
    });
    await open(page, `#/child/${CHILD}`);
    assert.equal(await pressVerify(page), 'failed');
    assert.equal(await page.getAttribute('[data-testid="verify-checkpoint"]', 'data-ok'), 'false');
    await screenshot(page, 'child-tampered-signature');
  });

  test('a pasted verifier key is used: the right key verifies, another key fails', async (t) => {
    const page = await newPage(t);
    const { body: log } = await getJSON('/api/v1/log');
    await open(page, `#/child/${CHILD}`);
    await page.click('details.key-details > summary');
    const other = 'example.org/test-key+c3cde7f3+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4';
    await page.fill('#verify-key-input', other);
    await page.click('#verify-key-save');
    await page.waitForFunction((k) => document.querySelector('[data-testid="key-in-use"]')?.textContent === k, other);
    assert.equal(await pressVerify(page), 'failed');
    assert.match(plain(await page.textContent('#verify-detail')), /no signature by example\.org\/test-key/);
    await screenshot(page, 'child-other-key');

    // An invalid key is refused and not stored.
    await page.fill('#verify-key-input', 'not a key');
    await page.click('#verify-key-save');
    assert.match(plain(await page.textContent('#verify-key-msg')), /Khóa không hợp lệ/);

    await page.fill('#verify-key-input', log.log_key);
    await page.click('#verify-key-save');
    await page.waitForFunction((k) => document.querySelector('[data-testid="key-in-use"]')?.textContent === k, log.log_key);
    // The pasted key survives a reload (localStorage).
    await page.reload();
    await page.waitForSelector('main[aria-busy="false"]');
    await page.waitForFunction((k) => document.querySelector('[data-testid="key-in-use"]')?.textContent === k, log.log_key);
    assert.equal(await pressVerify(page), 'verified');
    await screenshot(page, 'child-pasted-key');
  });

  test('English switch: labels change, the choice is remembered, verification says "verified"', async (t) => {
    const page = await newPage(t);
    await open(page, '#/');
    await page.click('#lang-switch');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await page.waitForSelector('main[aria-busy="false"]');
    assert.match(plain(await page.textContent('h1')), /Fund dashboard/);
    assert.match(plain(await page.textContent('#site-nav')), /Statement search/);
    assert.match(plain(await page.textContent('[data-testid="checkpoint"] h2')), /Latest signed checkpoint/);
    await screenshot(page, 'dashboard-en');
    // The choice is kept in localStorage across reloads.
    await page.reload();
    await page.waitForSelector('main[aria-busy="false"]');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match(plain(await page.textContent('h1')), /Fund dashboard/);

    await open(page, `#/child/${CHILD}`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match(plain(await page.textContent('#verify-button')), /Verify in my browser/);
    assert.equal(await pressVerify(page), 'verified');
    assert.match(plain(await page.textContent('#verify-status')), /verified/);
    await screenshot(page, 'child-verified-en');

    await page.click('#lang-switch');
    await page.waitForFunction(() => document.documentElement.lang === 'vi');
    await page.waitForSelector('main[aria-busy="false"]');
    assert.match(plain(await page.textContent('#verify-button')), /Xác minh trong trình duyệt/);
  });

  test('English tampered proof says "failed"', async (t) => {
    const page = await newPage(t, { lang: 'en' });
    await tamperProof(page, (proof) => {
      proof.entries[0].leaf_hash = flipB64(proof.entries[0].leaf_hash, 0, 0);
    });
    await open(page, `#/child/${CHILD}`);
    assert.equal(await pressVerify(page), 'failed');
    assert.match(plain(await page.textContent('#verify-status')), /failed/);
    await screenshot(page, 'child-failed-en');
  });

  test('an unknown child id shows "not found"', async (t) => {
    const page = await newPage(t);
    const { status, body } = await getJSON('/api/v1/children/C-NO-SUCH-CHILD');
    assert.equal(status, 404);
    assert.equal(body.error.status, 404);
    await open(page, '#/child/C-NO-SUCH-CHILD');
    await page.waitForSelector('[data-testid="not-found"]');
    assert.match(plain(await page.textContent('[data-testid="not-found"] h1')), /Không tìm thấy/);
    await screenshot(page, 'child-not-found');
  });

  test('donor page: donations and what they funded', async (t) => {
    const page = await newPage(t);
    const { body: donor } = await getJSON('/api/v1/donors/D-MINHPHAT');
    await open(page, '#/donor/D-MINHPHAT');
    assert.ok(plain(await page.textContent('h1')).includes(donor.display_name));
    assert.equal(plain(await page.textContent('[data-kpi="given"] .kpi-value')), vnd(donor.given));
    assert.equal(plain(await page.textContent('[data-kpi="used"] .kpi-value')), vnd(donor.used));
    assert.equal(await page.locator('table.donations tbody tr').count(), donor.donations.length);
    const first = donor.donations.find((d) => (d.uses || []).length > 0);
    if (first) {
      await page.click(`details.uses[data-seq="${first.seq}"] > summary`);
      assert.equal(await page.locator(`details.uses[data-seq="${first.seq}"] tbody tr`).count(), first.uses.length);
    }
    await screenshot(page, 'donor');
    assert.deepEqual(page.problems, []);
  });

  test('programme page: the programme report', async (t) => {
    const page = await newPage(t);
    const { body: prog } = await getJSON('/api/v1/programmes/P-COVID');
    await open(page, '#/programme/P-COVID');
    assert.ok(plain(await page.textContent('h1')).includes(prog.name));
    assert.equal(plain(await page.textContent('[data-kpi="received"] .kpi-value')), vnd(prog.received));
    assert.equal(await page.locator('table.programme-months tbody tr').count(), prog.months.length);
    assert.equal(await page.locator('svg.chart').count(), prog.months.length ? 1 : 0);
    await screenshot(page, 'programme');
    await open(page, '#/programme/P-NO-SUCH');
    await page.waitForSelector('[data-testid="not-found"]');
    assert.deepEqual(page.problems, []);
  });

  test('small screen and print layout render', async (t) => {
    const page = await newPage(t);
    await page.setViewportSize({ width: 390, height: 844 });
    await open(page, `#/child/${CHILD}`);
    // Nothing wider than the viewport except inside scrollable table wrappers.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows by ${overflow}px`);
    await screenshot(page, 'child-mobile');
    await page.setViewportSize({ width: 794, height: 1123 }); // A4 at 96 dpi
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#verify-button').isVisible(), false);
    await screenshot(page, 'child-print');
  });

  test('no data is inserted as HTML', async (t) => {
    const page = await newPage(t);
    await open(page, `#/search?q=${encodeURIComponent('<img src=x onerror=window.__pwned=1>')}`);
    await page.waitForSelector('[data-testid="search-results"] p, [data-testid="search-results"] table');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await page.locator('main img').count(), 0);
    await open(page, `#/child/${encodeURIComponent('<b>x</b>')}`);
    assert.equal(await page.locator('main b').count(), 0);
  });
});
