/**
 * Memory and time of a benchmark run: the limit cells are checked against, a monitor thread that sees the peak
 * RSS of one cell (process.resourceUsage().maxRSS is a high-water mark of the whole process, so after one big
 * cell it says nothing about the next) and is the watchdog of the time budget, and a full garbage collection
 * between cells so that a (workload, n) input and the prepared states of the cells before are gone before the
 * next allocates (at n = 2^24 one K is 4 GiB).
 */
import { freemem, totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

export const GIB = 2 ** 30;

/** Bytes as "1.23 GiB" / "456 MiB". */
export function formatBytes(b: number): string {
  return b >= GIB ? `${(b / GIB).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(0)} MiB`;
}

let gcFn: (() => void) | null | undefined;

/**
 * A full, synchronous garbage collection. V8 frees a large ArrayBuffer only when its object is collected, and
 * its heuristics do not know that the next (workload, n) will allocate gigabytes; collecting between cells keeps
 * RSS the sum of what is alive. `--expose-gc` is set at run time (the documented V8 flag; the `gc` function is
 * read from a fresh context, where V8 installs it once the flag is on), so the CLI needs no node flag.
 */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const fn: unknown = runInNewContext('gc');
      gcFn = typeof fn === 'function' ? (fn as () => void) : null;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}

export function rssBytes(): number {
  return process.memoryUsage.rss();
}

/** process.resourceUsage().maxRSS in bytes (it is in kilobytes on Linux and macOS, getrusage ru_maxrss). */
export function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * The memory this process may grow to: what is available now (MemAvailable, which counts reclaimable page
 * cache) plus what it already holds, capped by a cgroup limit where there is one — 90 % of it, leaving room for
 * what sampling at 10 ms does not see and for the rest of the machine.
 */
export function autoMemoryLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const cap = constrained > 0 && constrained < totalmem() ? constrained : totalmem();
  return Math.floor(0.9 * Math.min(cap, freemem() + rssBytes()));
}

// The monitor runs in its own thread, so it samples RSS and watches the clock while the main thread is inside a
// long synchronous call (a prepare, an attend). `ctl` (Int32): [0] the main thread's cell counter, [1] the
// counter the sampled peak belongs to, [2] 1 while a phase is armed, [3] the byte length of the fallback line.
// `num` (Float64): [0] the peak, [1] the armed phase's deadline (Date.now() ms). Plain CommonJS: eval workers
// take no TypeScript and no ESM imports.
const MONITOR = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const ctl = new Int32Array(workerData.ctl), num = new Float64Array(workerData.num), line = new Uint8Array(workerData.line);
let mine = -1, max = 0;
setInterval(() => {
  const g = Atomics.load(ctl, 0), r = process.memoryUsage.rss();
  if (g !== mine) { mine = g; max = 0; }
  if (r > max) max = r;
  num[0] = max;
  Atomics.store(ctl, 1, mine);
  if (workerData.journal && Atomics.load(ctl, 2) === 1 && Date.now() > num[1]) {
    // The phase ran past its hard limit: journal the cell as skipped, then stop the process (the main thread
    // cannot be interrupted inside a synchronous or native call). --resume continues after it.
    const bytes = line.slice(0, Atomics.load(ctl, 3));
    const fd = fs.openSync(workerData.journal, 'a');
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.writeSync(2, '\\nqattn: ' + workerData.message + '\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 10);
`;

const LINE_BYTES = 1 << 20;

/**
 * A thread beside the run: it samples RSS every 10 ms (the highest RSS during one cell), and — given the
 * journal — is the watchdog of the time budget. A phase that runs past its hard limit (a multiple of the budget)
 * cannot be interrupted from JavaScript while it is inside one synchronous or native call, so the watchdog
 * journals that cell as skipped (the line the main thread armed it with) and kills the process: the run stops
 * with the cell recorded, and `--resume` continues after it, predicting larger n from it.
 */
export class CellMonitor {
  readonly #ctl = new Int32Array(new SharedArrayBuffer(16));
  readonly #num = new Float64Array(new SharedArrayBuffer(16));
  readonly #line = new Uint8Array(new SharedArrayBuffer(LINE_BYTES));
  readonly #worker: Worker | null;
  #failed = false;
  readonly watching: boolean;

  /** `journal`: where the watchdog writes a stopped cell's record; null: sampling only, never a kill. */
  constructor(journal: string | null = null) {
    let w: Worker | null = null;
    const message = 'a phase ran past its hard time limit (see the last line of the journal); the run was stopped there, ' +
      'the cell recorded as skipped: continue with --resume (the same flags; --budget-s may change)';
    try {
      // execArgv []: the monitor is plain CommonJS and needs none of the parent's flags (--import tsx, --input-type).
      w = new Worker(MONITOR, { eval: true, execArgv: [], workerData: { ctl: this.#ctl.buffer, num: this.#num.buffer, line: this.#line.buffer, journal, message } });
      w.unref(); // it must never keep the process alive
      w.on('error', () => { this.#failed = true; }); // a failed monitor costs the per-cell peak (null) and the watchdog
    } catch {
      w = null;
    }
    this.#worker = w;
    this.watching = w !== null && journal !== null;
  }

  /** Starts a new cell: later peaks are measured from now. */
  start(): void {
    Atomics.add(this.#ctl, 0, 1);
  }

  /** The peak since `start()` (at least the RSS now), or null when there is no monitor thread. */
  peak(): number | null {
    if (!this.#worker || this.#failed) return null;
    const now = rssBytes();
    return Atomics.load(this.#ctl, 1) === Atomics.load(this.#ctl, 0) ? Math.max(now, this.#num[0]!) : now;
  }

  /** Arms the watchdog for a phase: past `limitMs` from now, `line` (one journal line) is journaled and the process stopped. */
  arm(limitMs: number, line: string): void {
    if (!this.watching) return;
    const bytes = Buffer.from(line.endsWith('\n') ? line : `${line}\n`);
    if (bytes.length > LINE_BYTES) return; // a record this large is a bug elsewhere; never watch a truncated line
    Atomics.store(this.#ctl, 2, 0);
    this.#line.set(bytes);
    Atomics.store(this.#ctl, 3, bytes.length);
    this.#num[1] = Date.now() + limitMs;
    Atomics.store(this.#ctl, 2, 1);
  }

  disarm(): void {
    Atomics.store(this.#ctl, 2, 0);
  }

  async close(): Promise<void> {
    this.disarm();
    await this.#worker?.terminate();
  }
}
