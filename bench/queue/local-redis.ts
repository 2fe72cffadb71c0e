/**
 * A private redis-server (Debian's binary) for the queue tests and `npm run bench:queue`: on a free port, with
 * its data in a temporary directory and an append-only file fsynced on every write, so a test can stop and
 * restart it and find the queue as it was.
 * Tests that do not restart Redis use the server .ci/run starts (QATTN_TEST_REDIS) when there is one.
 * Tests call `redisAvailable()` first: without the redis-server binary they are skipped — except under
 * QATTN_REQUIRE_REDIS=1 (.ci/run sets it, after installing Debian's redis-server), where that is a failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function redisAvailable(): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return null;
  const why = 'redis-server is not installed (apt-get install redis-server)';
  if (process.env['QATTN_REQUIRE_REDIS'] === '1') throw new Error(`QATTN_REQUIRE_REDIS=1 but ${why}`);
  return why;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class LocalRedis {
  readonly dir = mkdtempSync(join(tmpdir(), 'qattn-redis-'));
  port = 0;
  #proc: ChildProcess | null = null;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    const proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      let log = '', ready = false;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`redis-server did not start within 10 s: ${log}`));
      }, 10_000);
      proc.stdout!.on('data', (b: Buffer) => {
        if (ready) return; // its later log lines are not kept
        log = (log + b.toString()).slice(-4096);
        if (log.includes('Ready to accept connections')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${log}`));
      });
    });
  }

  /** Stops the server (SIGTERM: it flushes its append-only file) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.#proc;
    this.#proc = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  /** Deletes the stopped server's data (its append-only files): the next start is a Redis that lost the queue. */
  wipe(): void {
    if (this.#proc) throw new Error('LocalRedis.wipe: stop the server first');
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The shared server of QATTN_TEST_REDIS (left running), or a private one (disposed). */
export async function anyRedis(): Promise<{ url: string; dispose(): Promise<void> }> {
  const shared = process.env['QATTN_TEST_REDIS'];
  if (shared) return { url: shared, dispose: async () => undefined };
  const own = new LocalRedis();
  try {
    await own.start();
  } catch (e) {
    await own.dispose();
    throw e;
  }
  return { url: own.url, dispose: () => own.dispose() };
}

/** A run name no earlier test run used (a shared server keeps its queues). */
export const uniqueRun = (what: string): string => `${what}-${process.pid}-${Date.now().toString(36)}`;
