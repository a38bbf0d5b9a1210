// Browser tests for lagesbild: Debian's Chromium (through puppeteer-core, no browser
// download) walks the respondent's questionnaire and every kind of admin page, and on each
// page state
//   - runs axe-core with the WCAG 2.1 A and AA tags at 1280 and 390 px wide,
//   - checks reflow at 320 px (document.documentElement.scrollWidth <= 320),
//   - saves a full-page screenshot per width to tests/browser/screenshots/<kind>-<width>.png;
// and walks the respondent's form and the admin new-round form with the keyboard alone:
// after a failed submit focus must be on the error summary, and each summary link followed
// with Enter must put focus on an input of the question it names.
//
//   node tests/browser/run.mjs [--only SUBSTRING]... [--keep]
//
// Environment: LAGESBILD_BIN (default ../../target/debug/lagesbild from this file),
// CHROMIUM_PATH (default /usr/bin/chromium). TEMPLATES_DIR and SURVEYS_DIR pass through to
// the server. Exit code 0 only when every check passed; 1 when a check failed; 2 when the
// run could not start (no binary, no browser, the server did not answer).

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const AXE_VERSION = require('axe-core/package.json').version;

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BIN = process.env.LAGESBILD_BIN || join(ROOT, 'target/debug/lagesbild');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = join(HERE, 'screenshots');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const AXE_WIDTHS = [1280, 390];
const REFLOW_WIDTH = 320;
const HEIGHT = 800;
const PASSWORD = 'grön cykel vid sjön Mälaren';
const COORDINATOR = 'samordnare@example.se';
const ANALYST = 'analytiker@example.se';

// ---------------------------------------------------------------- arguments

const args = process.argv.slice(2);
const only = [];
let keep = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--only' && args[i + 1]) only.push(args[++i]);
  else if (args[i].startsWith('--only=')) only.push(args[i].slice(7));
  else if (args[i] === '--keep') keep = true;
  else if (args[i] === '--help' || args[i] === '-h') {
    console.log('node tests/browser/run.mjs [--only KIND-SUBSTRING]... [--keep]');
    process.exit(0);
  } else {
    console.error(`unknown argument ${args[i]} (try --help)`);
    process.exit(2);
  }
}
const wanted = (kind) => only.length === 0 || only.some((s) => kind.includes(s));

// ---------------------------------------------------------------- small helpers

const started = Date.now();
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const log = (...a) => console.log(...a);

/** The run cannot start or go on (no binary, no browser, no server): exit code 2. */
class Fatal extends Error {}
function fatal(message) {
  throw new Fatal(message);
}

/** Today in Swedish time (the server's "today"), as YYYY-MM-DD, and days added to it. */
function swedishToday() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Stockholm', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}
function addDays(ymd, n) {
  const d = new Date(`${ymd}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** A minimal CSV reader (quotes, doubled quotes, commas and newlines inside quotes). */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [head, ...rest] = rows.filter((r) => r.some((f) => f !== ''));
  return rest.map((r) => Object.fromEntries(head.map((h, i) => [h.replace(/^\uFEFF/, ''), r[i] ?? ''])));
}

// ---------------------------------------------------------------- the server

let tmp = null;
let server = null;
let browser = null;
let serverExited = false;
let baseUrl = '';

async function cleanup() {
  if (browser) { await browser.close().catch(() => {}); browser = null; }
  if (keep) return;
  if (server && !serverExited) {
    server.kill('SIGTERM');
    const deadline = Date.now() + 5000;
    while (!serverExited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!serverExited) server.kill('SIGKILL');
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { log(`\n${sig}: stopping`); keep = false; cleanup().finally(() => process.exit(130)); });
}
process.on('exit', () => { if (server && !serverExited && !keep) server.kill('SIGKILL'); });

function serverLogTail(lines = 30) {
  try { return readFileSync(join(tmp, 'server.log'), 'utf8').trim().split('\n').slice(-lines).join('\n'); } catch { return '(no log)'; }
}

// ---------------------------------------------------------------- results

/** Per page state: { kind, url, status, axe: {width: violations[]}, reflow, error } */
const states = [];
/** Keyboard walk results: { kind, checks: [{ what, ok, detail }], error } */
const keyboard = [];

function printViolations(violations) {
  for (const v of violations) {
    log(`    - ${v.id} [${v.impact}] ${v.nodes.length} node(s): ${v.help}`);
    for (const n of v.nodes.slice(0, 3)) {
      log(`        ${n.target.join(' ')}`);
    }
    const summary = (v.nodes[0]?.failureSummary || '').split('\n').slice(1).join(' ').trim();
    if (summary) log(`        e.g. ${summary.length > 200 ? summary.slice(0, 200) + '…' : summary}`);
  }
}

// ---------------------------------------------------------------- page checks

/** Wait until the layout has settled: fonts loaded and two animation frames painted. */
async function settle(page) {
  await page.evaluate(async () => {
    await document.fonts.ready;
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  });
}

async function runAxe(page) {
  const has = await page.evaluate(() => typeof window.axe === 'object');
  // Through the DevTools protocol, so the pages' Content-Security-Policy (no scripts at all)
  // does not stop it and the page is not changed for the check.
  if (!has) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (tags) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return {
      violations: r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
        nodes: v.nodes.map((n) => ({ target: n.target.map(String), html: n.html, failureSummary: n.failureSummary })),
      })),
      incomplete: r.incomplete.map((v) => ({ id: v.id, nodes: v.nodes.length })),
    };
  }, AXE_TAGS);
}

/** How wide the document is at the current viewport, and which elements stick out. */
async function measureReflow(page) {
  return page.evaluate(() => {
    const doc = document.documentElement;
    const vw = doc.clientWidth;
    const path = (el) => {
      const parts = [];
      for (let e = el; e && e !== document.documentElement && parts.length < 5; e = e.parentElement) {
        let p = e.tagName.toLowerCase();
        if (e.id) { parts.unshift(`${p}#${e.id}`); break; }
        const cls = [...e.classList].slice(0, 2);
        if (cls.length) p += '.' + cls.join('.');
        const same = e.parentElement ? [...e.parentElement.children].filter((s) => s.tagName === e.tagName) : [];
        if (same.length > 1) p += `:nth-of-type(${same.indexOf(e) + 1})`;
        parts.unshift(p);
      }
      return parts.join(' > ');
    };
    // Content inside a scrolling (or clipping) box does not widen the page.
    const clipped = (el) => {
      for (let p = el.parentElement; p && p !== document.body && p !== doc; p = p.parentElement) {
        if (getComputedStyle(p).overflowX !== 'visible') return true;
      }
      return false;
    };
    const over = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      const right = r.right + window.scrollX;
      if (right > vw + 0.5 && !clipped(el)) over.push({ el, right, width: r.width });
    }
    // The innermost offenders: those that contain no other offender reaching as far.
    const inner = over.filter((o) => !over.some((p) => p !== o && o.el.contains(p.el) && p.right >= o.right - 0.5));
    inner.sort((a, b) => b.right - a.right);
    return {
      scrollWidth: doc.scrollWidth,
      clientWidth: vw,
      widest: inner.slice(0, 3).map((o) => ({ selector: path(o.el), right: Math.round(o.right), width: Math.round(o.width), text: (o.el.textContent || '').trim().slice(0, 60) })),
    };
  });
}

/**
 * Checks the page state the page shows now: axe at each width, a screenshot at each width,
 * reflow at 320 px. The page is not reloaded between widths: the pages have no script, so
 * a resize only lays the same document out again (and a state reached by a post stays).
 */
async function checkState(page, kind, response, expect = {}) {
  if (!wanted(kind)) return;
  const t0 = Date.now();
  const state = { kind, url: new URL(page.url()).pathname, status: response?.status() ?? null, axe: {}, incomplete: {}, reflow: null, error: null };
  states.push(state);
  try {
    if (expect.status && state.status !== expect.status) {
      throw new Error(`expected HTTP ${expect.status} at ${state.url}, got ${state.status}: the walk did not reach this state`);
    }
    if (expect.selector && !(await page.$(expect.selector))) {
      throw new Error(`expected ${expect.selector} on ${state.url}: the walk did not reach this state`);
    }
    for (const width of [...AXE_WIDTHS, REFLOW_WIDTH]) {
      await page.setViewport({ width, height: HEIGHT, deviceScaleFactor: 1 });
      await settle(page);
      if (width === REFLOW_WIDTH) {
        state.reflow = await measureReflow(page);
        const r = state.reflow;
        if (r.scrollWidth <= REFLOW_WIDTH) log(`${kind} @${width}: reflow ok (scrollWidth ${r.scrollWidth})`);
        else {
          log(`${kind} @${width}: REFLOW FAIL: scrollWidth ${r.scrollWidth} > ${REFLOW_WIDTH}`);
          for (const w of r.widest) log(`    - ${w.selector} (right edge ${w.right} px, ${w.width} px wide) "${w.text}"`);
        }
      } else {
        const { violations, incomplete } = await runAxe(page);
        state.axe[width] = violations;
        state.incomplete[width] = incomplete;
        log(`${kind} @${width}: ${violations.length} violations${violations.length ? ' (' + violations.map((v) => v.id).join(', ') + ')' : ''}`);
        printViolations(violations);
      }
      await page.screenshot({ path: join(SHOTS, `${kind}-${width}.png`), fullPage: true });
    }
  } catch (e) {
    state.error = e.message.split('\n')[0];
    log(`${kind}: ERROR ${state.error}`);
    await page.screenshot({ path: join(SHOTS, `${kind}-error.png`), fullPage: true }).catch(() => {});
  } finally {
    await page.setViewport({ width: AXE_WIDTHS[0], height: HEIGHT, deviceScaleFactor: 1 }).catch(() => {});
  }
  log(`  (${kind}: ${secs(Date.now() - t0)})`);
}

// ---------------------------------------------------------------- navigation helpers

async function go(page, url) {
  return page.goto(url, { waitUntil: 'load' });
}

/** Clicks (through the DOM, independent of layout) and waits for the page it leads to. */
async function submitBy(page, selector) {
  const el = await page.$(selector);
  if (!el) throw new Error(`no ${selector} on ${page.url()}`);
  // A form the browser's own validation stops would never navigate: say why instead.
  const invalid = await el.evaluate((b) => {
    const form = b.form;
    if (!form || form.noValidate || b.formNoValidate || b.type !== 'submit') return null;
    const bad = [...form.elements].find((e) => e.willValidate && !e.checkValidity());
    return bad ? `${bad.name || bad.id}: ${bad.validationMessage}` : null;
  });
  if (invalid) throw new Error(`the browser would not send the form of ${selector} (${invalid})`);
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load', timeout: 15_000 }), el.evaluate((b) => b.click())]);
  return response;
}

async function setValues(page, values) {
  await page.evaluate((values) => {
    for (const [sel, v] of Object.entries(values)) {
      const el = document.querySelector(sel);
      if (!el) throw new Error(`no ${sel}`);
      if (el.type === 'radio' || el.type === 'checkbox') el.checked = Boolean(v);
      else el.value = v;
    }
  }, values);
}

/**
 * Answers the questions on the respondent form's current page that have no answer yet:
 * `prefs` maps a question id to the codes to tick (or a value to type); otherwise the first
 * option, the first column of each grid row, and 2 for numbers. Free text stays empty.
 */
async function fillStep(page, prefs = {}) {
  await page.evaluate((prefs) => {
    const groups = new Map();
    for (const el of document.querySelectorAll('form[method="post"] [name^="q."]')) {
      if (!groups.has(el.name)) groups.set(el.name, []);
      groups.get(el.name).push(el);
    }
    for (const [name, els] of groups) {
      const id = name.slice(2);
      const pref = prefs[id] ?? prefs[id.split('.')[0]];
      const first = els[0];
      if (first.type === 'radio' || first.type === 'checkbox') {
        if (els.some((e) => e.checked)) continue;
        const want = pref === undefined ? [first.value] : [].concat(pref);
        for (const e of els) if (want.includes(e.value)) e.checked = true;
      } else if (!first.value) {
        if (pref !== undefined) first.value = String(pref);
        else if (first.inputMode === 'numeric') first.value = '2';
      }
    }
  }, prefs);
}

const NEXT = 'form[method="post"] button[name="action"][value="next"]';

/** Answers page after page until the form is done (no "next" button any more). */
async function answerAll(page, prefs) {
  for (let i = 0; i < 20; i++) {
    if (!(await page.$(NEXT))) return;
    await fillStep(page, prefs);
    await submitBy(page, NEXT);
  }
  throw new Error(`the form did not end after 20 pages (${page.url()})`);
}

async function login(page, email, password) {
  await go(page, '/admin/logga-in');
  await setValues(page, { '#email': email, '#password': password });
  return submitBy(page, 'form[action="/admin/logga-in"] button[type="submit"]');
}

async function choosePassword(page, link) {
  await go(page, link);
  await setValues(page, { '#password': PASSWORD, '#again': PASSWORD });
  return submitBy(page, 'form button[type="submit"]');
}

// ---------------------------------------------------------------- keyboard walk

async function activeInfo(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return { tag: 'BODY', desc: 'body (nothing focused)' };
    return {
      tag: a.tagName, type: a.type || '', id: a.id, cls: a.className || '',
      desc: `${a.tagName.toLowerCase()}${a.id ? '#' + a.id : ''}${a.className ? '.' + String(a.className).split(' ').join('.') : ''}${a.type ? '[type=' + a.type + ']' : ''}`,
    };
  });
}

/** Presses Tab until `selector` has focus; the number of presses, or -1. */
async function tabTo(page, selector, max = 200) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
  }
  return -1;
}

/**
 * The keyboard part of a failed submit, on the page as it is now: Tab to the submit button,
 * Enter, then focus must be on the error summary, and each summary link, reached with Tab
 * from the summary and followed with Enter, must focus an input of the question it names.
 */
async function keyboardErrorWalk(page, label, submitSelector, result) {
  const check = (what, ok, detail = '') => {
    result.checks.push({ what: `${label}: ${what}`, ok, detail });
    log(`  ${ok ? 'ok  ' : 'FAIL'} ${label}: ${what}${detail ? ' — ' + detail : ''}`);
  };
  await page.bringToFront();
  // The page was just loaded: Tab starts from the top of the document.
  const start = await activeInfo(page);
  if (start.tag !== 'BODY') throw new Error(`${label}: expected a freshly loaded page with nothing focused, found ${start.desc}`);
  const presses = await tabTo(page, submitSelector);
  check('submit button reachable with Tab', presses > 0, presses > 0 ? `${presses} Tab presses` : `not reached in 200 presses`);
  if (presses < 0) return;
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')]);
  await settle(page);
  const status = response?.status();
  const summary = await page.$('.error-summary');
  check('the failed submit shows an error summary', Boolean(summary), `HTTP ${status}`);
  if (!summary) return;
  const focused = await activeInfo(page);
  const onSummary = await page.evaluate(() => document.activeElement?.classList.contains('error-summary') ?? false);
  check('focus is on the error summary after the page loads', onSummary, `focused: ${focused.desc}`);

  const links = await page.$$eval('.error-summary a[href]', (as) => as.map((a) => ({ href: a.getAttribute('href'), text: a.textContent.trim() })));
  check('the error summary has links', links.length > 0, `${links.length} link(s)`);
  for (let i = 0; i < links.length; i++) {
    const link = links[i];
    // Back to the summary as the page left it, then Tab forward to link i.
    await page.evaluate(() => document.querySelector('.error-summary')?.focus());
    let reached = false;
    for (let k = 0; k <= i; k++) await page.keyboard.press('Tab');
    reached = await page.evaluate((i) => document.activeElement === document.querySelectorAll('.error-summary a[href]')[i], i);
    if (!reached) {
      const f = await activeInfo(page);
      check(`link ${i + 1} "${link.text.slice(0, 50)}" reached with Tab`, false, `focused: ${f.desc}`);
      continue;
    }
    await page.keyboard.press('Enter');
    // A link within the page: no load, the fragment changes; then two frames for the focus.
    await page.waitForFunction((h) => location.hash === h, { timeout: 5000 }, link.href).catch(() => {});
    await settle(page);
    const verdict = await page.evaluate((link) => {
      const norm = (s) => (s || '').replace(/\s+/g, ' ').trim().toLowerCase();
      const a = document.activeElement;
      const id = decodeURIComponent(link.href.replace(/^#/, ''));
      const target = document.getElementById(id);
      const desc = a && a !== document.body
        ? `${a.tagName.toLowerCase()}${a.id ? '#' + a.id : ''}${a.type ? '[type=' + a.type + ']' : ''}`
        : 'body (nothing focused)';
      const isInput = Boolean(a) && ['INPUT', 'SELECT', 'TEXTAREA'].includes(a.tagName) && a.type !== 'hidden';
      if (!isInput) return { ok: false, detail: `focused: ${desc} (hash ${location.hash}, target ${target ? 'exists' : 'missing'})` };
      // The question the focused input belongs to: its outermost .question, else its fieldset.
      let q = a.closest('.question');
      for (let p = q?.parentElement?.closest('.question'); p; p = p.parentElement?.closest('.question')) q = p;
      q = q || a.closest('fieldset') || a.parentElement;
      const legend = q.querySelector('legend, label');
      const questionText = norm(legend?.textContent).replace(/\(frivillig\w*\)/, '').replace(/[?:.…\s]+$/, '');
      const linkText = norm(link.text);
      // The link must name its question (its legend or label), not only repeat the error.
      const names = Boolean(questionText) && linkText.includes(questionText.slice(0, 60));
      const atTarget = Boolean(target) && (a === target || target.contains(a) || q.contains(target));
      if (!names) return { ok: false, detail: `focused ${desc}, in a question ("${questionText.slice(0, 50)}") the link does not name` };
      if (!atTarget) return { ok: false, detail: `focused ${desc}, not the link's target #${id}` };
      return { ok: true, detail: `focused ${desc}` };
    }, link);
    check(`link ${i + 1} "${link.text.slice(0, 50)}" + Enter focuses its question's input`, verdict.ok, verdict.detail);
  }
}

async function keyboardWalk(kind, fn) {
  if (!wanted(kind)) return;
  const t0 = Date.now();
  const result = { kind, checks: [], error: null };
  keyboard.push(result);
  log(`${kind}:`);
  try {
    await fn(result);
  } catch (e) {
    result.error = e.message.split('\n')[0];
    log(`  ERROR ${result.error}`);
  }
  log(`  (${kind}: ${secs(Date.now() - t0)})`);
}

// ---------------------------------------------------------------- self-test

/**
 * The checks must be able to fail: axe must find the faults of a known-bad page, and the
 * reflow measure must find its too-wide element. Otherwise the run stops (exit code 2).
 */
async function selfTest(browser) {
  const page = await browser.newPage();
  try {
    await page.setContent('<!doctype html><html><head><title>t</title></head><body><main><img src="data:,"><div id="wide" style="width:600px">x</div></main></body></html>');
    await page.setViewport({ width: REFLOW_WIDTH, height: HEIGHT, deviceScaleFactor: 1 });
    await settle(page);
    const { violations } = await runAxe(page);
    const reflow = await measureReflow(page);
    if (!violations.some((v) => v.id === 'image-alt')) fatal(`self-test: axe found no image-alt violation on a page with one (found: ${violations.map((v) => v.id).join(', ') || 'none'})`);
    if (reflow.scrollWidth <= REFLOW_WIDTH || !reflow.widest[0]?.selector.includes('div#wide')) fatal(`self-test: the reflow measure missed a 600 px element (${JSON.stringify(reflow)})`);
  } finally {
    await page.close();
  }
}

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(BIN)) fatal(`no binary at ${BIN}: run \`cargo build\` first, or set LAGESBILD_BIN`);
  if (!existsSync(CHROMIUM)) fatal(`no browser at ${CHROMIUM}: \`apt-get install chromium\` (Debian's), or set CHROMIUM_PATH`);
  mkdirSync(SHOTS, { recursive: true });
  if (only.length === 0) {
    for (const f of readdirSync(SHOTS)) if (f.endsWith('.png') || f === 'results.json') rmSync(join(SHOTS, f));
  }

  // --- a fresh server in a temporary folder
  tmp = mkdtempSync(join(tmpdir(), 'lagesbild-browser-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  baseUrl = base;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${tmp}/l.db`,
    BIND: `127.0.0.1:${port}`,
    BASE_URL: base,
    MAIL_OUTBOX_DIR: join(tmp, 'outbox'),
    DRAFT_KEY_FILE: join(tmp, 'draft.key'),
  };
  for (const v of ['SMTP_URL', 'METRICS_BIND', 'SESSION_IDLE_MINUTES']) delete env[v];
  const cli = (...a) => {
    try {
      return execFileSync(BIN, a, { env, cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`lagesbild ${a.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
    }
  };
  log(`binary: ${BIN}`);
  log(`browser: ${execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()}; axe-core ${AXE_VERSION}; tags ${AXE_TAGS.join(',')}`);
  log(`data: ${tmp}`);

  const t0 = Date.now();
  const today = swedishToday();
  const year = Number(today.slice(0, 4));
  let setup;
  try {
    cli('round', 'create', '--survey', 'lagesbild', '--year', String(year), '--opens', addDays(today, -1), '--closes', addDays(today, 14), '--key', 'oppen');
    cli('round', 'create', '--survey', 'lagesbild', '--year', String(year - 1), '--opens', addDays(today, -1), '--closes', addDays(today, 14), '--key', 'stangd');
    cli('round', 'create', '--survey', 'lagesbild', '--year', String(year + 1), '--opens', addDays(today, 30), '--closes', addDays(today, 60), '--key', 'kommande');
    const roster = (prefix, n) => {
      const kinds = [['intern', 'forskola', 'Förskolan'], ['intern', 'fritid', 'Fritidsgården'], ['extern', 'forening', 'Föreningen']];
      const rows = ['email,name,organisation,group,category'];
      for (let i = 1; i <= n; i++) {
        const [group, category, org] = kinds[(i - 1) % kinds.length];
        rows.push(`${prefix}${i}@example.se,Person ${i},${org} ${prefix.toUpperCase()}${i},${group},${category}`);
      }
      return rows.join('\n') + '\n';
    };
    for (const [round, n] of [['oppen', 9], ['stangd', 9], ['kommande', 2]]) {
      writeFileSync(join(tmp, `${round}.csv`), roster(round, n));
      cli('roster', 'import', '--round', round, join(tmp, `${round}.csv`));
      cli('links', '--round', round, '--out', join(tmp, `${round}-links.csv`));
    }
    const links = (round) => parseCsv(readFileSync(join(tmp, `${round}-links.csv`), 'utf8')).map((r) => r.link);
    const passwordLink = (out) => {
      const m = out.match(/https?:\/\/\S+\/admin\/losenord\/\S+/);
      if (!m) throw new Error(`no password link in: ${out}`);
      return m[0];
    };
    setup = {
      oppen: links('oppen'), stangd: links('stangd'), kommande: links('kommande'),
      coordinatorLink: passwordLink(cli('user', 'add', '--role', 'coordinator', COORDINATOR)),
      analystLink: passwordLink(cli('user', 'add', '--role', 'analyst', ANALYST)),
    };
    // Files for the upload pages: a good roster with new recipients, and one with bad rows.
    writeFileSync(join(tmp, 'nya.csv'), 'email,name,organisation,group,category\nny1@example.se,Ny Ett,Förskolan Ny,intern,forskola\nny2@example.se,,Föreningen Ny,extern,forening\nny3@example.se,Ny Tre,Fritidsgården Ny,intern,fritid\n');
    writeFileSync(join(tmp, 'fel.csv'), 'email,name,organisation,group,category\ninte-en-adress,Anna,Skolan,intern,forskola\nb@example.se,Bo,Skolan,okand_grupp,forskola\nc@example.se,Cia,Skolan,intern,\n');
  } catch (e) {
    fatal(e.message);
  }

  const logFd = openSync(join(tmp, 'server.log'), 'a');
  server = spawn(BIN, ['serve'], { env, cwd: tmp, stdio: ['ignore', logFd, logFd], detached: keep });
  server.on('exit', (code, sig) => { serverExited = true; if (!keep) log(`(server exited: ${sig || code})`); });
  if (keep) server.unref();
  {
    const deadline = Date.now() + 60_000;
    let up = false;
    while (Date.now() < deadline && !serverExited) {
      try {
        const r = await fetch(`${base}/healthz`);
        if (r.ok) { up = true; break; }
      } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!up) fatal(`the server did not answer ${base}/healthz:\n${serverLogTail()}`);
  }
  log(`server: ${base} (pid ${server.pid}), set up in ${secs(Date.now() - t0)}`);

  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    // headless: true is Chromium's new headless mode (--headless=new); puppeteer adds
    // --hide-scrollbars with it, so the layout viewport is the full width, as on a phone.
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--lang=sv-SE'],
    defaultViewport: { width: AXE_WIDTHS[0], height: HEIGHT, deviceScaleFactor: 1 },
  }).catch((e) => fatal(`Chromium did not start: ${e.message}`));
  await selfTest(browser);
  const newPage = async (context) => {
    const page = await context.newPage();
    await page.setViewport({ width: AXE_WIDTHS[0], height: HEIGHT, deviceScaleFactor: 1 });
    const origGoto = page.goto.bind(page);
    page.goto = (url, opts) => origGoto(url.startsWith('/') ? base + url : url, opts);
    return page;
  };
  const respondents = await browser.createBrowserContext();
  const coordinatorCtx = await browser.createBrowserContext();
  const analystCtx = await browser.createBrowserContext();

  // Each step of a flow runs even when its page is not checked (--only), so that later
  // states are reached the same way; a step that throws stops only its own flow.
  const flow = async (name, fn) => {
    const t = Date.now();
    log(`\n== ${name}`);
    try {
      await fn();
    } catch (e) {
      const message = e.message.split('\n')[0];
      log(`ERROR in ${name}: ${message}`);
      states.push({ kind: `${name} (flow)`, url: '', status: null, axe: {}, reflow: null, error: message });
    }
    log(`== ${name}: ${secs(Date.now() - t)}`);
  };

  // ------------------------------------------------------------ respondent pages
  const r = await newPage(respondents);
  await flow('respondent', async () => {
    await checkState(r, 'home', await go(r, '/'), { status: 200 });
    const unknown = randomBytes(32).toString('base64url');
    await checkState(r, 'resp-unknown-link', await go(r, `/s/${unknown}`), { status: 404 });
    await checkState(r, 'accessibility-statement', await go(r, '/tillganglighet'), { status: 200 });
    await checkState(r, 'printable-questionnaire', await go(r, '/enkat/oppen/utskrift'), { status: 200 });
    await checkState(r, 'resp-not-open', await go(r, setup.kommande[0]), { status: 200 });

    // One respondent (intern) through the whole form, with "ja" so the grid and the
    // follow-up questions show, and a failed submit on the first and on the fourth page.
    let res = await go(r, setup.oppen[0]);
    const prefs = { observerat: 'ja', anhoriga: 'ja', beskrivning: 'Klistermärken vid busshållplatsen.' };
    for (let page = 1; page <= 20; page++) {
      if (!(await r.$(NEXT))) break;
      await checkState(r, `resp-step${page}`, res, { status: 200 });
      if (page === 1 || page === 4) {
        res = await submitBy(r, NEXT);
        await checkState(r, `resp-step${page}-error`, res, { status: 422, selector: '.error-summary' });
      }
      await fillStep(r, prefs);
      res = await submitBy(r, NEXT);
    }
    await checkState(r, 'resp-answered', res, { status: 200 });
    await checkState(r, 'resp-already-answered', await go(r, setup.oppen[0]), { status: 200 });

    // Saved for later.
    await go(r, setup.oppen[1]);
    await fillStep(r, { observerat: 'nej' });
    res = await submitBy(r, 'form[method="post"] button[name="action"][value="save"]');
    await checkState(r, 'resp-saved', res, { status: 200 });

    // The same page sent from two tabs: the second one is told the answers changed.
    const r2 = await newPage(respondents);
    await go(r, setup.oppen[2]);
    await go(r2, setup.oppen[2]);
    await fillStep(r2, { observerat: 'nej' });
    await submitBy(r2, NEXT);
    await r2.close();
    await fillStep(r, { observerat: 'ja' });
    res = await submitBy(r, NEXT);
    await checkState(r, 'resp-changed-elsewhere', res, { status: 409 });

    // Six answers in the round that is closed later, for its results page.
    for (let i = 0; i < 6; i++) {
      await go(r, setup.stangd[i]);
      await answerAll(r, { observerat: i % 2 ? 'nej' : 'ja', anhoriga: i % 3 ? 'nej' : 'ja' });
      if (await r.$(NEXT)) throw new Error(`respondent ${i + 1} of stangd did not finish`);
    }
  });

  // ------------------------------------------------------------ coordinator pages
  const c = await newPage(coordinatorCtx);
  await flow('coordinator', async () => {
    await checkState(c, 'admin-password', await go(c, setup.coordinatorLink), { status: 200 });
    await setValues(c, { '#password': 'kort', '#again': 'kort' });
    await checkState(c, 'admin-password-error', await submitBy(c, 'form button[type="submit"]'), { status: 422 });
    await setValues(c, { '#password': PASSWORD, '#again': PASSWORD });
    await checkState(c, 'admin-password-saved', await submitBy(c, 'form button[type="submit"]'), { status: 200 });

    await checkState(c, 'admin-login', await go(c, '/admin/logga-in'), { status: 200 });
    await checkState(c, 'admin-login-error', await login(c, COORDINATOR, 'fel lösenord helt enkelt'), { status: 401 });
    let res = await login(c, COORDINATOR, PASSWORD);
    if (!new URL(c.url()).pathname.startsWith('/admin/omgangar')) throw new Error(`login as ${COORDINATOR} failed (at ${c.url()}, HTTP ${res?.status()})`);
    await checkState(c, 'admin-rounds', res, { status: 200 });

    await checkState(c, 'admin-round-new', await go(c, '/admin/omgangar/ny'), { status: 200 });
    await setValues(c, { '#year': '', '#opens': '', '#closes': '', '#threshold': '1' });
    await checkState(c, 'admin-round-new-errors', await submitBy(c, 'form[action="/admin/omgangar/ny"] button[type="submit"]'), { status: 422, selector: '.error-summary' });

    await checkState(c, 'admin-dashboard', await go(c, '/admin/omgangar/oppen'), { status: 200 });
    await checkState(c, 'admin-svarstid', await go(c, '/admin/omgangar/oppen/svarstid'), { status: 200 });
    await checkState(c, 'admin-recipients', await go(c, '/admin/omgangar/oppen/mottagare'), { status: 200 });
    await checkState(c, 'admin-recipient-remove', await submitBy(c, 'form[action$="/mottagare/ta-bort"] button[type="submit"]'), { status: 200 });
    await checkState(c, 'admin-roster-upload', await go(c, '/admin/omgangar/oppen/mottagare/importera'), { status: 200 });
    await (await c.$('input[type="file"]')).uploadFile(join(tmp, 'nya.csv'));
    await checkState(c, 'admin-roster-preview', await submitBy(c, 'form[enctype="multipart/form-data"] button[type="submit"]'), { status: 200 });
    await go(c, '/admin/omgangar/oppen/mottagare/importera');
    await (await c.$('input[type="file"]')).uploadFile(join(tmp, 'fel.csv'));
    await checkState(c, 'admin-roster-problems', await submitBy(c, 'form[enctype="multipart/form-data"] button[type="submit"]'), { status: 422 });

    await checkState(c, 'admin-preview', await go(c, '/admin/omgangar/oppen/forhandsvisning'), { status: 200 });
    await checkState(c, 'admin-preview-error', await submitBy(c, NEXT), { status: 422, selector: '.error-summary' });

    await checkState(c, 'admin-mailing', await go(c, '/admin/omgangar/oppen/utskick'), { status: 200 });
    await checkState(c, 'admin-mailing-confirm', await go(c, '/admin/omgangar/oppen/utskick/inbjudningar'), { status: 200 });

    await checkState(c, 'admin-accounts', await go(c, '/admin/konton'), { status: 200 });
    // An address that already has an account (the browser's own check stops a malformed one).
    await setValues(c, { 'form[action="/admin/konton"] #email': ANALYST });
    await checkState(c, 'admin-accounts-error', await submitBy(c, 'form[action="/admin/konton"] button[type="submit"]'), { status: 422 });
    await setValues(c, { 'form[action="/admin/konton"] #email': 'ny.analytiker@example.se' });
    await checkState(c, 'admin-accounts-new-link', await submitBy(c, 'form[action="/admin/konton"] button[type="submit"]'), { status: 200 });
    await checkState(c, 'admin-audit-log', await go(c, '/admin/logg'), { status: 200 });
    await checkState(c, 'admin-accessibility', await go(c, '/admin/tillganglighet'), { status: 200 });
    await setValues(c, { '#organisation': '' });
    await checkState(c, 'admin-accessibility-error', await submitBy(c, 'form[action="/admin/tillganglighet"] button[type="submit"]'), { status: 422, selector: '.error-summary' });

    // Reporting links, the incident report form a member of staff fills in, the list, the sources.
    await checkState(c, 'admin-report-links', await go(c, '/admin/rapportlankar'), { status: 200 });
    await checkState(c, 'admin-report-links-error', await submitBy(c, 'form[action="/admin/rapportlankar"] button[type="submit"]'), { status: 422, selector: '.error-summary' });
    await setValues(c, { '#label': 'Intranätet, förvaltningen' });
    await checkState(c, 'admin-report-links-new', await submitBy(c, 'form[action="/admin/rapportlankar"] button[type="submit"]'), { status: 200, selector: '.panel code' });
    const reportLink = await c.$eval('.panel code', (e) => e.textContent.trim());
    const s = await newPage(coordinatorCtx);
    await checkState(s, 'report-form', await go(s, reportLink), { status: 200 });
    await checkState(s, 'report-form-error', await submitBy(s, 'form[method="post"] button[type="submit"]'), { status: 422, selector: '.error-summary' });
    await fillStep(s, { ar: String(new Date().getFullYear()), beskrivning: 'Klistermärke med symbol på en lyktstolpe.' });
    await checkState(s, 'report-receipt', await submitBy(s, 'form[method="post"] button[type="submit"]'), { status: 200 });
    await s.close();
    await checkState(c, 'admin-incidents', await go(c, '/admin/incidenter'), { status: 200, selector: '.report' });
    const year = new Date().getFullYear();
    await checkState(c, 'admin-sources', await go(c, `/admin/lagesbild/${year}`), { status: 200 });
    await checkState(c, 'admin-sources-error', await submitBy(c, `form[action="/admin/lagesbild/${year}/kallor"] button[type="submit"]`), { status: 422, selector: '.error-summary' });

    // Close the second round on its "Svarstid" page.
    await go(c, '/admin/omgangar/stangd/svarstid');
    res = await submitBy(c, 'form[action$="/datum"] button[name="action"][value="close"]');
    await checkState(c, 'admin-svarstid-closed', res, { status: 200 });
    await checkState(c, 'admin-dashboard-closed', await go(c, '/admin/omgangar/stangd'), { status: 200 });
    await checkState(c, 'admin-analysis-coordinator', await go(c, '/admin/omgangar/stangd/analys'), { status: 200 });
    await checkState(c, 'admin-404', await go(c, '/admin/finns-inte'), { status: 404 });
  });

  await flow('respondent, closed round', async () => {
    await checkState(r, 'resp-closed', await go(r, setup.stangd[7]), { status: 200 });
  });

  // ------------------------------------------------------------ analyst pages
  const a = await newPage(analystCtx);
  await flow('analyst', async () => {
    await choosePassword(a, setup.analystLink);
    const res = await login(a, ANALYST, PASSWORD);
    if (!new URL(a.url()).pathname.startsWith('/admin/omgangar')) throw new Error(`login as ${ANALYST} failed (at ${a.url()}, HTTP ${res?.status()})`);
    await checkState(a, 'admin-rounds-analyst', res, { status: 200 });
    await checkState(a, 'admin-analysis-analyst', await go(a, '/admin/omgangar/stangd/analys'), { status: 200 });
    await checkState(a, 'admin-forbidden-analyst', await go(a, '/admin/omgangar/oppen/mottagare'), { status: 403 });
  });

  // ------------------------------------------------------------ keyboard walks
  log('\n== keyboard');
  await keyboardWalk('keyboard-respondent', async (result) => {
    const k = await newPage(respondents);
    await go(k, setup.oppen[3]);
    await keyboardErrorWalk(k, 'page 1 (a single choice)', NEXT, result);
    await fillStep(k, { observerat: 'ja' });
    await submitBy(k, NEXT);
    await keyboardErrorWalk(k, 'page 2 (a grid)', NEXT, result);
    await fillStep(k, {});
    await submitBy(k, NEXT);
    await fillStep(k, { anhoriga: 'ja' });
    await submitBy(k, NEXT);
    await keyboardErrorWalk(k, 'page 4 (number, multiple, single)', NEXT, result);
    await k.close();
  });
  await keyboardWalk('keyboard-round-new', async (result) => {
    const k = await newPage(coordinatorCtx);
    await go(k, '/admin/omgangar/ny');
    await setValues(k, { '#year': 'tjugo', '#opens': '', '#closes': '', '#threshold': '' });
    await keyboardErrorWalk(k, 'new round', 'form[action="/admin/omgangar/ny"] button[type="submit"]', result);
    await k.close();
  });
}

// ---------------------------------------------------------------- summary

function summary() {
  const cell = (vs) => (vs === undefined ? '-' : vs.length === 0 ? 'ok' : `${vs.length}: ${vs.map((v) => `${v.id}(${v.nodes.length})`).join(' ')}`);
  let passed = 0, failed = 0;
  const rows = [['page kind', 'HTTP', '@1280', '@390', 'reflow@320']];
  for (const s of states) {
    if (s.error) {
      failed++;
      rows.push([s.kind, String(s.status ?? '-'), `ERROR: ${s.error}`]);
      continue;
    }
    for (const w of AXE_WIDTHS) (s.axe[w]?.length === 0 ? passed++ : failed++);
    const ok = s.reflow && s.reflow.scrollWidth <= REFLOW_WIDTH;
    ok ? passed++ : failed++;
    const rf = !s.reflow ? '-' : ok ? 'ok' : `FAIL ${s.reflow.scrollWidth}px ${s.reflow.widest[0]?.selector ?? ''}`;
    rows.push([s.kind, String(s.status ?? '-'), cell(s.axe[1280]), cell(s.axe[390]), rf]);
  }
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.filter((r) => r.length > 3 || c < 2).map((r) => r[c].length)));
  log('\n== summary: axe (WCAG 2.1 A/AA) violations per width (rule(nodes)), reflow at 320 px');
  for (const r of rows) log(r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('  '));
  if (keyboard.length) {
    log('\n== summary: keyboard');
    for (const k of keyboard) {
      for (const c of k.checks) {
        c.ok ? passed++ : failed++;
        log(`${c.ok ? 'ok  ' : 'FAIL'} ${k.kind}: ${c.what}${c.ok ? '' : ' — ' + c.detail}`);
      }
      if (k.error) { failed++; log(`ERROR ${k.kind}: ${k.error}`); }
    }
  }
  // Distinct rules over all states, for a quick overview.
  const rules = new Map();
  for (const s of states) for (const w of AXE_WIDTHS) for (const v of s.axe[w] || []) {
    const e = rules.get(v.id) || { impact: v.impact, help: v.help, states: new Set(), nodes: 0 };
    e.states.add(`${s.kind}@${w}`); e.nodes += v.nodes.length; rules.set(v.id, e);
  }
  if (rules.size) {
    log('\n== summary: axe rules violated');
    for (const [id, e] of rules) log(`${id} [${e.impact}]: ${e.states.size} page states, ${e.nodes} nodes: ${e.help}`);
  }
  const reflowFails = states.filter((s) => s.reflow && s.reflow.scrollWidth > REFLOW_WIDTH).length;
  log(`\nstates: ${states.length}, with axe violations: ${states.filter((s) => AXE_WIDTHS.some((w) => s.axe[w]?.length)).length}, reflow failures: ${reflowFails}, errors: ${states.filter((s) => s.error).length}; keyboard failures: ${keyboard.reduce((n, k) => n + k.checks.filter((c) => !c.ok).length + (k.error ? 1 : 0), 0)}`);
  log(`screenshots: ${SHOTS}`);
  log(`time: ${secs(Date.now() - started)}`);
  writeFileSync(join(SHOTS, 'results.json'), JSON.stringify({ axeVersion: AXE_VERSION, tags: AXE_TAGS, states, keyboard }, null, 2));
  log(`browser: ${passed} passed, ${failed} failed`);
  return failed;
}

let failed = 1;
try {
  await main();
  failed = summary();
} catch (e) {
  if (e instanceof Fatal) {
    console.error(`browser tests could not run: ${e.message}`);
    keep = false;
    await cleanup();
    process.exit(2);
  }
  console.error(`browser tests stopped: ${e.stack || e.message}`);
  if (tmp) console.error(`server log:\n${serverLogTail()}`);
  failed = 1;
}
if (keep && server) {
  log(`\n--keep: the server still runs at ${baseUrl} (pid ${server.pid}); data in ${tmp}`);
  log(`  log in as ${COORDINATOR} or ${ANALYST} with "${PASSWORD}"; links in ${tmp}/*-links.csv`);
  log(`  stop it with: kill ${server.pid}`);
}
await cleanup();
process.exit(failed ? 1 : 0);

