/**
 * What qattn may write to, decided before it writes.
 *
 * - An output FILE is either new or an existing regular file, which it replaces atomically. Anything else at
 *   that path — a symbolic link, a device such as /dev/full, a FIFO, a socket, a directory — is refused: the
 *   atomic rename would silently turn it into a regular file (as root it replaced the /dev/full node itself).
 *   A symlink is refused rather than followed so that a write never lands somewhere the path does not name.
 * - An output DIRECTORY is created one level at a time from its nearest existing ancestor. Node's
 *   `mkdirSync(…, { recursive: true })` is not used because it loops forever at 100 % CPU under /proc (every
 *   mkdir there fails with ENOENT although the parent exists, which the recursive walk reads as "create the
 *   parent first") and reports ENOENT instead of EROFS on a read-only file system.
 */
import { lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { QattnError } from './errors.ts';

/** "no such file or directory" style text for a Node fs error, without Node's `ENOENT: …, open 'x'` noise. */
export function fsErrorText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const known: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent of the path is not a directory',
    ENOSPC: 'no space left on device',
    EROFS: 'read-only file system',
    EEXIST: 'already exists',
    EDQUOT: 'disk quota exceeded',
    EIO: 'input/output error',
  };
  if (e && typeof e.code === 'string') return known[e.code] ?? `${e.code} (${e.message})`;
  return e instanceof Error ? e.message : String(err);
}

/** What a non-regular file is, in words. */
export function kindOf(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Throws unless `path` is absent or an existing regular file (see the module comment). Call it before any
 * expensive work, so a bad `--out` costs nothing; writeFileAtomic calls it again right before writing.
 */
export function checkOutputFile(path: string): void {
  let st: Stats | undefined;
  try {
    st = lstatSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new QattnError(`cannot write ${path}: ${fsErrorText(err)}`);
  }
  if (st === undefined || st.isFile()) return;
  const hint = st.isSymbolicLink() ? ' (qattn does not follow links when writing; give the real path)' : '';
  throw new QattnError(`cannot write ${path}: it is ${kindOf(st)}, and qattn only writes new or regular files${hint}`);
}

/** Throws unless the directory that will hold `path` exists. */
export function checkParentDir(path: string): void {
  const dir = dirname(path);
  const st = statSync(resolve(dir), { throwIfNoEntry: false });
  if (!st) throw new QattnError(`cannot write ${path}: directory ${dir} does not exist`);
  if (!st.isDirectory()) throw new QattnError(`cannot write ${path}: ${dir} is not a directory`);
}

/**
 * Creates `dir` and any missing parents (see the module comment for why not recursive mkdir). Throws a
 * QattnError naming `what` (e.g. "output directory") and the real reason: read-only file system, permission
 * denied, a parent that is a file, or a virtual file system that allows no new directories.
 */
export function ensureDir(dir: string, what = 'output directory'): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  let at = abs;
  for (;;) {
    let st: Stats | undefined;
    try {
      st = statSync(at, { throwIfNoEntry: false });
    } catch (err) {
      throw new QattnError(`cannot create ${what} ${dir}: ${fsErrorText(err)} (at ${at})`);
    }
    if (st) {
      if (!st.isDirectory()) throw new QattnError(`cannot create ${what} ${dir}: ${at} is not a directory`);
      break;
    }
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) continue; // made concurrently
      // ENOENT with an existing parent: a virtual file system (/proc, /sys) that refuses new entries.
      const reason = code === 'ENOENT' ? `${dirname(p)} does not allow creating directories in it` : fsErrorText(err);
      throw new QattnError(`cannot create ${what} ${dir}: ${reason}`);
    }
  }
}
