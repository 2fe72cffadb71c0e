/**
 * The READMEs' commands exist: every `npm run X` (and `npm test` / `npm start`) in README.md and bench/README.md
 * is a script in package.json, and every `qattn <command>` (or top-level `qattn --flag`) they name is one the
 * dispatcher in cli/main.ts answers. Commands are read from code only (inline `code` and fenced blocks), since
 * prose uses "qattn" as the project's name ("qattn records …").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BUILTINS, commands } from '../cli/main.ts';
import { runCli } from './helpers/cli.ts';

const ROOT = new URL('../', import.meta.url);
const READMES = ['README.md', 'bench/README.md'];

/** The code of a markdown text: the bodies of fenced blocks and of inline code spans. */
function codeOf(markdown: string): string[] {
  const out: string[] = [];
  const rest = markdown.replace(/^(```|~~~)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm, (_m, _fence, body: string) => {
    out.push(body);
    return '';
  });
  for (const m of rest.matchAll(/(`+)([\s\S]+?)\1/g)) out.push(m[2]!);
  return out;
}

interface NamedCommands {
  /** Scripts from `npm run X`, `npm run-script X`, `npm test`, `npm start`. */
  readonly npmScripts: string[];
  /** Subcommands from `qattn X` / `npx qattn X`. */
  readonly qattnCommands: string[];
  /** Top-level flags from `qattn --flag` / `qattn -F`. */
  readonly qattnFlags: string[];
}

function namedCommands(markdown: string): NamedCommands {
  const npmScripts = new Set<string>();
  const qattnCommands = new Set<string>();
  const qattnFlags = new Set<string>();
  for (const code of codeOf(markdown)) {
    for (const m of code.matchAll(/(?:^|[^\w-])npm\s+(?:run|run-script)\s+([\w:.-]+)/g)) npmScripts.add(m[1]!);
    for (const m of code.matchAll(/(?:^|[^\w-])npm\s+(test|start|stop|restart)\b/g)) npmScripts.add(m[1]!);
    // `qattn bench`, `npx qattn bench`, `node bin/qattn.mjs bench`; not `qattn: …` (the error prefix) nor `qattn <command>`.
    for (const m of code.matchAll(/(?:^|[^\w/.-])(?:bin\/)?qattn(?:\.mjs)?[ \t]+([a-z][\w-]*|--?[A-Za-z][\w-]*)/g)) {
      (m[1]!.startsWith('-') ? qattnFlags : qattnCommands).add(m[1]!);
    }
  }
  return { npmScripts: [...npmScripts].sort(), qattnCommands: [...qattnCommands].sort(), qattnFlags: [...qattnFlags].sort() };
}

const scripts = Object.keys((JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { scripts: Record<string, string> }).scripts);
const registered = new Set<string>([...Object.keys(commands), ...BUILTINS]);

function missing(named: NamedCommands): string[] {
  return [
    ...named.npmScripts.filter((s) => !scripts.includes(s)).map((s) => `npm run ${s}: no such script in package.json`),
    ...named.qattnCommands.filter((c) => !registered.has(c)).map((c) => `qattn ${c}: not a command in cli/main.ts`),
  ];
}

test('self-check: the scanner finds commands in code only, and reports the ones that do not exist', () => {
  const synthetic = [
    'qattn records a denial in prose; `qattn: …` is the error prefix; `qattn <command> --help` is a placeholder.',
    '| `npm run bench:exact` | `npx qattn bench --quick` | `qattn bogus-cmd --x` |',
    'Run `npm run bench:nope` or `npm test`, then `qattn --version`.',
    '```sh',
    'npm ci',
    'node bin/qattn.mjs grover --n 16 --marked 1',
    'npm run-script bench:gone',
    '```',
  ].join('\n');
  const named = namedCommands(synthetic);
  assert.deepEqual(named.npmScripts, ['bench:exact', 'bench:gone', 'bench:nope', 'test']);
  assert.deepEqual(named.qattnCommands, ['bench', 'bogus-cmd', 'grover']);
  assert.deepEqual(named.qattnFlags, ['--version']);
  assert.deepEqual(missing(named), [
    'npm run bench:gone: no such script in package.json',
    'npm run bench:nope: no such script in package.json',
    'qattn bogus-cmd: not a command in cli/main.ts',
  ]);
});

for (const readme of READMES) {
  test(`${readme}: every npm script and qattn command it names exists`, async (t) => {
    const named = namedCommands(readFileSync(new URL(readme, ROOT), 'utf8'));
    t.diagnostic(`npm scripts: ${named.npmScripts.join(', ')}; qattn commands: ${named.qattnCommands.join(', ')}; flags: ${named.qattnFlags.join(', ')}`);
    assert.ok(named.npmScripts.length + named.qattnCommands.length > 0, `${readme} names no commands: is the scanner broken?`);
    assert.deepEqual(missing(named), []);
    // Top-level flags (--help, --version, …) must be answered by main with exit 0.
    for (const flag of named.qattnFlags) assert.equal((await runCli(flag)).code, 0, `qattn ${flag}`);
  });
}

test('README.md names every npm bench script and every qattn command it documents in the CLI table', () => {
  const named = namedCommands(readFileSync(new URL('README.md', ROOT), 'utf8'));
  for (const s of ['bench:exact', 'bench:gpu', 'bench:mechanisms', 'bench:quantum']) assert.ok(named.npmScripts.includes(s), s);
  for (const c of Object.keys(commands)) assert.ok(named.qattnCommands.includes(c), `README.md does not document qattn ${c}`);
});
