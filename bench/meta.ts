/**
 * Run metadata for results.json: enough to cite a number and to know what produced it — the code (git commit,
 * dirty flag, qattn version), the machine (CPU, cores, memory, Node) and the invocation (seed, argv, config).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, arch, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchConfigRecord, BenchMeta } from './results.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
  } catch {
    return null; // not a checkout, or git missing
  }
}

function qattnVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const v = (pkg as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Metadata at the start of a run (finishedAt, durationMs and peakRssBytes are filled in by `finishMeta`). */
export function startMeta(argv: readonly string[], seed: number, config: BenchConfigRecord, resumedCells: number, memoryLimitBytes: number): BenchMeta {
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit === null ? null : git(['status', '--porcelain', '--untracked-files=no']);
  return {
    createdAt: new Date().toISOString(),
    finishedAt: null,
    gitCommit: commit !== null && /^[0-9a-f]{40,64}$/.test(commit) ? commit : null,
    gitDirty: status === null ? null : status.length > 0,
    qattnVersion: qattnVersion(),
    node: process.version,
    platform: `${platform()}-${arch()} ${release()}`,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    totalMemoryBytes: totalmem(),
    seed,
    argv: [...argv],
    config,
    resumedCells,
    durationMs: null,
    peakRssBytes: null,
    memoryLimitBytes,
  };
}

export function finishMeta(meta: BenchMeta, startedAtMs: number): BenchMeta {
  return {
    ...meta,
    finishedAt: new Date().toISOString(),
    durationMs: performance.now() - startedAtMs,
    // resourceUsage().maxRSS is in kilobytes (getrusage ru_maxrss) on Linux and macOS.
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
