/**
 * The Redis a queued sweep runs through: `redis://[user:password@]HOST[:PORT][/DB]` (or `rediss://` for TLS),
 * parsed and checked before anything is queued, so a wrong or unreachable URL is one line within seconds instead
 * of a client retrying forever. Once a run is under way the connections retry without limit (a Redis restarted
 * mid-run is waited for, and BullMQ's blocking commands need `maxRetriesPerRequest: null`).
 */
import type { RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { QattnError } from '../../core/errors.ts';

export interface QueueUrl {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL without its password, for messages and records. */
  readonly display: string;
}

/** Parses a --queue URL; anything else is a QattnError naming what is wrong. */
export function parseQueueUrl(raw: string): QueueUrl {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new QattnError(`--queue ${raw}: not a URL (expected redis://HOST:PORT[/DB])`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QattnError(`--queue ${raw}: the scheme must be redis:// or rediss://, got ${u.protocol}//`);
  if (!u.hostname) throw new QattnError(`--queue ${raw}: no host (expected redis://HOST:PORT[/DB])`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > 15 || !/^\d*$/.test(path)) throw new QattnError(`--queue ${raw}: the database must be a number 0…15, got '${path}'`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const display = `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}/${db}`;
  return {
    host, port, db, tls: u.protocol === 'rediss:', display,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** ioredis options for a run's long-lived connections: reconnect forever, every command waits for the server. */
export function redisOptions(url: QueueUrl): RedisOptions {
  return {
    host: url.host, port: url.port, db: url.db,
    ...(url.username ? { username: url.username } : {}), ...(url.password ? { password: url.password } : {}), ...(url.tls ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // A restarted Redis is back within seconds; retry quickly, at most every 2 s.
    retryStrategy: (times: number) => Math.min(2000, 100 * times),
    lazyConnect: false,
  };
}

/**
 * Connects once with a deadline and pings: the server's version if it answers, else a QattnError saying why
 * (refused, unknown host, timeout, authentication) — within `timeoutMs`, never a hang.
 */
export async function checkReachable(url: QueueUrl, timeoutMs = 4000): Promise<string> {
  const client = new Redis({
    host: url.host, port: url.port, db: url.db, ...(url.username ? { username: url.username } : {}), ...(url.password ? { password: url.password } : {}),
    ...(url.tls ? { tls: {} } : {}), lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false,
  });
  let lastError = '';
  client.on('error', (e: Error) => {
    lastError = e.message;
  });
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs).unref());
  try {
    await Promise.race([client.connect(), timer]);
    await Promise.race([client.ping(), timer]);
    const info = await Promise.race([client.info('server'), timer]);
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch (e) {
    const why = lastError || (e instanceof Error ? e.message : String(e));
    throw new QattnError(`cannot reach Redis at ${url.display}: ${why.split('\n')[0]}`);
  } finally {
    client.disconnect();
  }
}
