/**
 * onnxruntime-node, loaded lazily, and a cache of inference sessions keyed by graph signature.
 *
 * The native binding is loaded on first use (synchronously, through require) rather than at import time, so
 * importing the mechanism registry stays cheap and a platform without the binding still runs `exact` on its
 * streaming path. Sessions are cached per signature (graphs.ts) — building one costs a model parse and graph
 * optimisation, far more than a small attention call — with a small LRU bound so a sweep over many scales
 * cannot pile up native sessions.
 */
import { createRequire } from 'node:module';
import type * as Ort from 'onnxruntime-node';
import { buildAttentionModel, signatureKey, type OrtSignature } from './graphs.ts';

export type OrtModule = typeof Ort;

let loaded: OrtModule | Error | undefined;

/** The onnxruntime-node module, or the Error that loading it raised (cached either way). */
export function loadOrt(): OrtModule | Error {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
    } catch (e) {
      loaded = e instanceof Error ? e : new Error(String(e));
    }
  }
  return loaded;
}

/** Why ORT cannot run here (one line), or null if it can. */
export function ortUnavailableReason(): string | null {
  const ort = loadOrt();
  return ort instanceof Error ? `onnxruntime-node is not available (${ort.message.split('\n')[0]})` : null;
}

/** Most sessions kept cached; the least recently used one is dropped beyond this. */
export const MAX_CACHED_SESSIONS = 16;

const cache = new Map<string, Promise<Ort.InferenceSession>>();

let defaultThreads = 0;

/**
 * Intra-op threads of every session that does not ask for a count (0: onnxruntime's default, one per core). A
 * process that runs several worker threads, each with its own sessions (`qattn eval --jobs`), sets 1 in each,
 * so the workers do not oversubscribe the cores.
 */
export function setDefaultOrtThreads(threads: number): void {
  defaultThreads = threads;
}

/** The intra-op thread count a session gets when its caller leaves it to the default. */
export const defaultOrtThreads = (): number => defaultThreads;

/** Options of every cached session (exported so benchmarks can build an identical raw session). */
export function sessionOptions(threads = defaultThreads): Ort.InferenceSession.SessionOptions {
  // Fatal only: ORT's warnings are noise on a CLI's stderr, and its coloured error line would precede
  // qattn's own one-line `qattn:` message, which already carries ORT's text.
  const base: Ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', logSeverityLevel: 4 };
  // threads = 0 leaves ORT's default (one intra-op thread per core); inter-op parallelism is never needed
  // for a single attention node.
  return threads > 0 ? { ...base, intraOpNumThreads: threads, interOpNumThreads: 1 } : base;
}

/**
 * The cached session for a model, keyed by `key` (which must identify the graph) and the thread count (0: the
 * process default, setDefaultOrtThreads); `build`
 * makes the model bytes on first use. Concurrent callers share one build. Every ORT session of qattn's own
 * kernels goes through here, so one LRU bound and `releaseSessions` cover them all.
 */
export function cachedSession(key: string, build: () => Uint8Array, asked = 0): Promise<Ort.InferenceSession> {
  const threads = asked || defaultThreads;
  const full = `${key}|threads=${threads}`;
  const hit = cache.get(full);
  if (hit) {
    cache.delete(full); // re-insert: Map order is the LRU order
    cache.set(full, hit);
    return hit;
  }
  const ort = loadOrt();
  if (ort instanceof Error) return Promise.reject(ort);
  const created = ort.InferenceSession.create(build(), sessionOptions(threads));
  created.catch(() => cache.delete(full)); // a failed build is not cached
  cache.set(full, created);
  // Evicted sessions are only dropped, not released: a call may still be running on one, and the binding
  // frees a session's native memory when its JS object is collected.
  while (cache.size > MAX_CACHED_SESSIONS) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
  }
  return created;
}

/** The cached attention session for a signature (graphs.ts). */
export function getSession(sig: OrtSignature, threads = 0): Promise<Ort.InferenceSession> {
  return cachedSession(`attention|${signatureKey(sig)}`, () => buildAttentionModel(sig), threads);
}

/** Number of sessions currently cached (for tests of the cache). */
export function cachedSessionCount(): number {
  return cache.size;
}

/** Releases every cached session (tests; long-lived processes that are done with attention). */
export async function releaseSessions(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map((p) => p.then((s) => s.release()).catch(() => undefined)));
}
