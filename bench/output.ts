/**
 * Where a run's files go and how they are written: `results.json` (validated, atomic), `results.csv`
 * (atomic) and the journal `results.jsonl`, all in one directory (default `results/<timestamp>/`).
 */
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { QattnError } from '../core/errors.ts';
import { toCsv } from './csv.ts';
import { computeFits } from './fits.ts';
import { SCHEMA_VERSION, validateResults, type BenchMeta, type BenchRecord, type ResultsDoc } from './results.ts';

export interface OutputPaths {
  readonly dir: string;
  readonly json: string;
  readonly csv: string;
  readonly journal: string;
}

export function outputPaths(dir: string): OutputPaths {
  const abs = resolve(dir);
  return { dir: abs, json: join(abs, 'results.json'), csv: join(abs, 'results.csv'), journal: join(abs, 'results.jsonl') };
}

/** `results/2025-01-31T12-00-00Z` style: sortable, and no ':' (invalid in Windows file names). */
export function timestampDir(root: string, now = new Date()): string {
  return join(root, now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-'));
}

export function buildDoc(meta: BenchMeta, records: readonly BenchRecord[], fitMinN: number): ResultsDoc {
  return { schemaVersion: SCHEMA_VERSION, meta, records, fits: computeFits(records, fitMinN) };
}

/** Writes results.json and results.csv atomically. `validate`: check the schema first (an internal error if not). */
export function writeResults(paths: OutputPaths, doc: ResultsDoc, validate: boolean): void {
  if (validate) {
    const errors = validateResults(doc);
    if (errors.length) throw new Error(`internal: results.json does not match its schema: ${errors.slice(0, 5).join('; ')}`);
  }
  writeFileAtomic(paths.json, `${JSON.stringify(doc, null, 1)}\n`);
  writeFileAtomic(paths.csv, toCsv(doc.records));
}
