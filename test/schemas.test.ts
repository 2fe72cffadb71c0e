// The JSON schemas qattn writes are generated from its TypeScript types (scripts/schemas.ts): a committed schema
// that differs from what the types give fails here (run `npm run schemas`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { generateSchema, SCHEMAS } from '../scripts/schemas.ts';

for (const t of SCHEMAS) {
  test(`${t.out} is what ${t.source} ${t.type} generates`, () => {
    assert.equal(readFileSync(new URL(`../${t.out}`, import.meta.url), 'utf8'), generateSchema(t), `${t.out} is stale: run npm run schemas`);
  });
}
