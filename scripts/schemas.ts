/**
 * `npm run schemas`: writes the JSON schemas qattn derives from its TypeScript types (ts-json-schema-generator,
 * as vega-lite generates its schema from its own types), so the types stay the one source and the schema file
 * is never a second, hand-kept copy. `--check` writes nothing and exits 1 if a committed schema differs from
 * what the types give (test/schemas.test.ts runs the same comparison).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';

export interface SchemaTarget {
  /** The TypeScript file declaring the type, relative to the repository root. */
  readonly source: string;
  readonly type: string;
  /** The schema file written, relative to the repository root. */
  readonly out: string;
  readonly id: string;
  readonly title: string;
}

export const SCHEMAS: readonly SchemaTarget[] = [
  { source: 'infer/eval-doc.ts', type: 'EvalDoc', out: 'infer/eval.schema.json', id: 'urn:qattn:eval:v1', title: 'qattn eval results (eval.json)' },
  { source: 'bench/results.ts', type: 'ResultsDoc', out: 'bench/results.schema.json', id: 'urn:qattn:bench-results:v3', title: 'qattn bench results' },
];

const root = fileURLToPath(new URL('..', import.meta.url));

/** The schema text the types give for one target (stable key order, two-space indent, trailing newline). */
export function generateSchema(t: SchemaTarget): string {
  const schema = createGenerator({
    path: `${root}${t.source}`, tsconfig: `${root}tsconfig.json`, type: t.type, skipTypeCheck: true,
    additionalProperties: false, expose: 'export', topRef: true, jsDoc: 'extended', sortProps: true,
  }).createSchema(t.type);
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', $id: t.id, title: t.title, ...schema, }, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const t of SCHEMAS) {
    const text = generateSchema(t);
    let have = '';
    try {
      have = readFileSync(`${root}${t.out}`, 'utf8');
    } catch {
      // missing: written below, or stale under --check
    }
    if (have === text) console.log(`${t.out}: up to date`);
    else if (check) {
      stale++;
      console.log(`${t.out}: differs from ${t.source} ${t.type} (run npm run schemas)`);
    } else {
      writeFileSync(`${root}${t.out}`, text);
      console.log(`${t.out}: written from ${t.source} ${t.type}`);
    }
  }
  process.exitCode = stale ? 1 : 0;
}
