import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellKey } from '../bench/journal.ts';
import { validateResults, type BenchRecord, type ResultsDoc } from '../bench/results.ts';
import { BIN } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'qattn-bench-resume-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// Small cells, many of them: the run lasts seconds, so the kill lands mid-run.
const ARGS = ['bench', '--quick', '--workloads', 'gaussian,needle,zipf,clustered', '--lengths', '2^6..2^9', '--queries', '4', '--no-charts'];

const lines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')) : []);

function runUntilJournaled(out: string, atLeast: number): Promise<NodeJS.Signals | number | null> {
  const child = spawn(process.execPath, [BIN, ...ARGS, '--out', out], { stdio: 'ignore' });
  const journal = join(out, 'results.jsonl');
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (lines(journal).length >= atLeast) child.kill('SIGKILL');
    }, 5);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      resolve(signal ?? code);
    });
  });
}

function runToEnd(out: string): Promise<number | null> {
  const child = spawn(process.execPath, [BIN, ...ARGS, '--out', out, '--resume'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (b: Buffer) => void (err += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`resume exited ${code}: ${err.slice(-500)}`))));
  });
}

test('kill -9 mid-run, then --resume: every cell exactly once, journaled cells kept as they were', async () => {
  const out = join(dir, 'run');
  const signal = await runUntilJournaled(out, 3);
  assert.equal(signal, 'SIGKILL', 'the run must really have been killed mid-way');
  const before = lines(join(out, 'results.jsonl'));
  assert.ok(before.length >= 3);
  // results.json is rewritten atomically after every cell, so even now it is a complete, valid document.
  const partial = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsDoc;
  assert.deepEqual(validateResults(partial), []);
  assert.ok(partial.records.length >= before.length - 1 && partial.meta.finishedAt === null);
  // A write torn by the kill: a partial last line without its newline.
  appendFileSync(join(out, 'results.jsonl'), '{"method":"exa');

  await runToEnd(out);
  const doc = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as ResultsDoc;
  assert.deepEqual(validateResults(doc), []);
  const cfg = doc.meta.config;
  const planned = cfg.methods.length * cfg.workloads.length * cfg.lengths.length;
  const keys = doc.records.map(cellKey);
  assert.equal(doc.records.length, planned);
  assert.equal(new Set(keys).size, planned, 'no duplicate cells');
  assert.equal(doc.meta.resumedCells, before.length);
  const after = lines(join(out, 'results.jsonl'));
  assert.equal(after.length, planned, 'journal: one line per cell, torn line dropped');
  assert.equal(new Set(after.map((l) => cellKey(JSON.parse(l) as BenchRecord))).size, planned);
  for (const l of before) {
    const r = JSON.parse(l) as BenchRecord;
    assert.deepEqual(doc.records.find((x) => cellKey(x) === cellKey(r)), r, 'resumed cells are not re-run');
  }
});
