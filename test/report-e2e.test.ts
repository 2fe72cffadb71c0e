/**
 * End to end: `qattn bench --quick` renders its charts and index.html; `qattn report` on a results file with
 * hostile names writes an escaped report; headless Chromium (Debian's `chromium`, installed by .ci/run) opens
 * it from disk and every chart renders with no console error, no dialog and no request besides the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { benchCommand } from '../cli/bench.ts';
import { tryOpen } from '../cli/report.ts';
import { CHARTS } from '../bench/charts/index.ts';
import { validateResults, type BenchRecord, type ResultsDoc } from '../bench/results.ts';
import { runCli } from './helpers/cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const HOSTILE_METHOD = `<img src=x onerror=alert(1)>"'&`;
const HOSTILE_WORKLOAD = `needle"><script>alert(2)</script>.npy`;

const dir = mkdtempSync(join(tmpdir(), 'qattn-report-e2e-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const run = runCli;

/** The quick run's results plus records whose method, workload and reason are markup. */
function hostile(doc: ResultsDoc): ResultsDoc {
  const ok = doc.records.find((r) => r.status === 'ok')!;
  const failed: BenchRecord = { ...ok, status: 'error', reason: '<b onmouseover=alert(3)>boom</b>', path: null, timing: null, cost: null, fidelity: null, modeledQpuSeconds: null };
  const extra: BenchRecord[] = [ok, { ...ok, n: ok.n * 2 }, failed].map((r) => ({ ...r, method: HOSTILE_METHOD, variant: HOSTILE_METHOD, workload: HOSTILE_WORKLOAD }));
  return { ...doc, records: [...doc.records, ...extra] };
}

async function fixture(): Promise<{ benchDir: string; index: string }> {
  const benchDir = join(dir, 'bench');
  // --json: the summary goes to the (discarded) io, and progress lines stay off a non-TTY stderr. A budget sweep
  // and a task workload, so every chart applies.
  assert.equal(await benchCommand(['--quick', '--workloads', 'gaussian,single-key', '--budget', '8,32', '--out', benchDir, '--json'], { out: () => undefined, err: () => undefined }), 0);
  const doc = hostile(JSON.parse(readFileSync(join(benchDir, 'results.json'), 'utf8')) as ResultsDoc);
  assert.deepEqual(validateResults(doc), [], 'the hostile fixture is a valid results file');
  mkdirSync(join(dir, 'hostile'));
  writeFileSync(join(dir, 'hostile', 'results.json'), JSON.stringify(doc));
  const r = await run('report', '--in', join(dir, 'hostile', 'results.json'), '--out', join(dir, 'report'));
  assert.equal(r.code, 0, r.err.join('\n'));
  assert.deepEqual(r.err, [], 'no renderer warnings, even with facets for hostile workloads');
  return { benchDir, index: join(dir, 'report', 'index.html') };
}
const made = fixture();

test('qattn bench renders every chart and index.html at the end of a run', async () => {
  const files = readdirSync((await made).benchDir);
  for (const c of CHARTS) for (const ext of ['vl.json', 'svg', 'png']) assert.ok(files.includes(`${c.id}.${ext}`), `${c.id}.${ext}`);
  assert.ok(files.includes('index.html'));
});

test('index.html escapes every name from the results file and forbids scripts and fetches', async () => {
  const page = readFileSync((await made).index, 'utf8');
  // The what-if panel's two script elements are qattn's own (test/what-if.test.ts checks them); nothing else.
  const html = page.replace(/<script type="application\/json" id="wi-data">[^<]*<\/script>\n<script>[\s\S]*?<\/script>/, '');
  assert.notEqual(html, page, 'the panel is there');
  assert.ok(!/<img|<script|<iframe|<b /i.test(html), 'no markup from the results file');
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;'), 'method name escaped in the tables');
  assert.ok(html.includes('needle&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;.npy'), 'workload name escaped');
  assert.match(html, /content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-[A-Za-z0-9+/=]+';"/, 'CSP: one script, by its hash');
  assert.equal((html.match(/<figure class="chart"/g) ?? []).length, CHARTS.length);
});

test('--open hands index.html to xdg-open, and prints the path when it cannot', async () => {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > "${join(bin, 'opened')}"\n`);
  chmodSync(join(bin, 'xdg-open'), 0o755);
  const { index } = await made;
  assert.equal(await tryOpen(index, join(bin, 'nope')), false);
  const saved = process.env['PATH'];
  try {
    process.env['PATH'] = `${bin}:${saved ?? ''}`;
    const r = await run('report', '--in', join(dir, 'hostile', 'results.json'), '--out', join(dir, 'report'), '--open');
    assert.equal(r.code, 0);
    for (let i = 0; i < 100 && !existsSync(join(bin, 'opened')); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(readFileSync(join(bin, 'opened'), 'utf8'), index);
    process.env['PATH'] = join(dir, 'empty');
    const missing = await run('report', '--in', join(dir, 'hostile', 'results.json'), '--out', join(dir, 'report'), '--open');
    assert.equal(missing.code, 0);
    assert.deepEqual(missing.err, [`qattn: cannot run xdg-open; open ${pathToFileURL(index).href} in a browser`]);
  } finally {
    process.env['PATH'] = saved;
  }
});

/** Runs in the page (a string, so this file needs no DOM types): what each chart figure rendered. */
const INSPECT = `JSON.stringify({
  figures: [...document.querySelectorAll('figure.chart')].map((f) => {
    const svg = f.querySelector('svg');
    const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return { id: f.getAttribute('data-chart'), width: box.width, height: box.height, marks: svg ? svg.querySelectorAll('path, line, rect, text').length : 0 };
  }),
  active: document.querySelectorAll('img, iframe, object, embed').length,
  scripts: [...document.querySelectorAll('script')].map((e) => e.type || 'classic'),
  summary: document.querySelector('#summary')?.textContent ?? '',
})`;

interface Inspection {
  figures: Array<{ id: string; width: number; height: number; marks: number }>;
  active: number;
  scripts: string[];
  summary: string;
}

test('index.html opens in headless Chromium: every chart drawn, no console errors, no network', { timeout: 240_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env['CI'] === 'true') assert.fail(`${CHROMIUM} is not installed: .ci/run installs Debian's chromium (apt-get install chromium)`);
    t.skip(`${CHROMIUM} is not installed (apt-get install chromium); required when CI=true`);
    return;
  }
  const { index } = await made;
  const context = await chromium.launchPersistentContext(mkdtempSync(join(dir, 'profile-')), {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 },
  });
  try {
    const requests: string[] = [];
    const errors: string[] = [];
    const dialogs: string[] = [];
    context.on('request', (r) => void requests.push(r.url()));
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => void errors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const url = pathToFileURL(index).href;
    await page.goto(url, { waitUntil: 'load' });
    const seen = JSON.parse(await page.evaluate<string>(INSPECT)) as Inspection;
    assert.deepEqual(seen.figures.map((f) => f.id), CHARTS.map((c) => c.id));
    for (const f of seen.figures) assert.ok(f.width > 300 && f.height > 200 && f.marks > 20, `${f.id}: ${JSON.stringify(f)}`);
    assert.equal(seen.active, 0, 'no img/iframe/object elements');
    assert.deepEqual(seen.scripts.sort(), ['application/json', 'classic'], 'the what-if panel\'s script and its data, nothing else');
    // The what-if panel (issue 13, item 7): recomputed live when an assumption changes.
    const result = async (): Promise<string> => page.locator('#wi-result').innerText();
    const before = await result();
    assert.match(before, /^break-even n = 2\^[\d.]+ with noiseless hardware/);
    await page.fill('#wi-t2q', String(Number(await page.inputValue('#wi-t2q')) / 1000));
    const faster = await result();
    const evenOf = (text: string): number => Number(/^break-even n = 2\^([\d.]+)/.exec(text)![1]);
    assert.ok(evenOf(faster) < evenOf(before), `1000× faster gates move the break-even earlier: ${before} → ${faster}`);
    await page.selectOption('#wi-profile', 'fault-tolerant');
    assert.equal(await page.isDisabled('#wi-distance'), false, 'the distance applies to the surface-code profile');
    assert.match(await result(), /surface-code distance \d+ at n = 2\^20/);
    await page.selectOption('#wi-qram', 'qroam');
    assert.match(await result(), /^break-even n = never/, 'QROAM: a query costs ∝ N, as the scan does');
    assert.ok(seen.summary.includes(HOSTILE_METHOD), 'the hostile name is shown as text');
    assert.deepEqual(errors, []);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(requests.filter((u) => u !== url), [], 'no request besides the page itself');
    const shot = join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 50_000);
    t.diagnostic(`screenshot: ${shot}`);
    // The tmp dir is removed after the run: QATTN_SCREENSHOT=path keeps a copy to look at.
    if (process.env['QATTN_SCREENSHOT']) copyFileSync(shot, process.env['QATTN_SCREENSHOT']);
  } finally {
    await context.close();
  }
});
