/**
 * The crash-safe journal of finished cells, `results.jsonl` beside results.json: one JSON record per line,
 * appended and fsynced as each cell finishes, so a `kill -9` (or a power cut) loses at most the cell in
 * flight. `--resume` reads it back and skips every cell it holds; a torn last line (killed mid-write) is
 * dropped and rewritten away before appending resumes.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { QattnError } from '../core/errors.ts';
import type { BenchRecord, CellIdentity } from './results.ts';

/** Object keys sorted recursively, so that equal options always serialize identically. */
export function canonical(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canonical);
  if (typeof x !== 'object' || x === null) return x;
  const o = x as Record<string, unknown>;
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, canonical(o[k])]));
}

/** The identity of a cell as a string: equal cells (from any run) give equal keys. */
export function cellKey(c: CellIdentity): string {
  return JSON.stringify(canonical([c.workload, c.workloadOptions, c.mode, c.causal, c.n, c.m, c.d, c.dv, c.method, c.variant, c.budget, c.options, c.seed]));
}

function isRecordLike(x: unknown): x is BenchRecord {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return typeof r['method'] === 'string' && typeof r['workload'] === 'string' && typeof r['n'] === 'number'
    && (r['status'] === 'ok' || r['status'] === 'skipped' || r['status'] === 'error');
}

/** Parses journal text; returns the records and how many lines were unreadable (a torn tail). */
export function parseJournal(text: string): { records: BenchRecord[]; dropped: number } {
  const records: BenchRecord[] = [];
  let dropped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r: unknown = JSON.parse(line);
      if (isRecordLike(r)) records.push(r);
      else dropped++;
    } catch {
      dropped++;
    }
  }
  return { records, dropped };
}

export class Journal {
  readonly path: string;
  readonly #byKey = new Map<string, BenchRecord>();
  #fd: number;
  /** Records read back from an earlier run. */
  readonly resumed: number;
  /** Unreadable lines dropped on resume. */
  readonly dropped: number;

  /** Opens (resume) or creates the journal; without `resume` an existing journal is an error. */
  constructor(path: string, resume: boolean) {
    this.path = path;
    let dropped = 0;
    if (existsSync(path)) {
      if (!resume) throw new QattnError(`${path} already holds a run: pass --resume to continue it, or choose another --out`);
      const parsed = parseJournal(readFileSync(path, 'utf8'));
      for (const r of parsed.records) this.#byKey.set(cellKey(r), r);
      dropped = parsed.dropped;
      // Rewrite without the torn tail so the next append starts on a fresh line.
      const text = [...this.#byKey.values()].map((r) => `${JSON.stringify(r)}\n`).join('');
      writeFileAtomic(path, text, { fsync: true });
    }
    this.resumed = this.#byKey.size;
    this.dropped = dropped;
    this.#fd = openSync(path, 'a');
  }

  get(key: string): BenchRecord | undefined {
    return this.#byKey.get(key);
  }

  /** Appends one finished cell and fsyncs it before returning. */
  append(record: BenchRecord): void {
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    let off = 0;
    while (off < line.length) off += writeSync(this.#fd, line, off, line.length - off);
    fsyncSync(this.#fd);
    this.#byKey.set(cellKey(record), record);
  }

  close(): void {
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}
