/**
 * Atomic file writes: a reader (or a crashed/failed run) never sees a half-written result file. Data goes to a
 * temp file beside the target — same directory, so the final rename stays on one filesystem, where POSIX
 * rename(2) replaces the target atomically — and is renamed over the target only once it is complete. On any
 * failure the temp file is removed and the target is left as it was. Only a new path or an existing regular file
 * is written: a device, FIFO, socket, directory or symlink at the target is refused (core/fs-safe.ts).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { QattnError } from './errors.ts';
import { checkOutputFile, fsErrorText } from './fs-safe.ts';

export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename and the directory after it, so the new content survives a power loss.
   * Off by default: benchmark outputs are reproducible, and fsync costs milliseconds per file.
   */
  readonly fsync?: boolean;
}

/** A temp name beside `path`: hidden, unique per process and call, ending in .tmp (git-ignored). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

function fsyncDir(dir: string): void {
  // Best effort: some filesystems (and all of Windows) refuse to open or fsync a directory.
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* durability of the rename is not guaranteed there; the write itself succeeded */ }
}

/**
 * Writes `data` to `path` atomically (temp file + rename). Throws QattnError naming `path` when the directory
 * is missing or unwritable, the target is a directory, the disk is full, etc.; the temp file never survives.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: AtomicWriteOptions = {}): void {
  checkOutputFile(path);
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = tempPathFor(path);
  let fd: number | null = null;
  try {
    // 'wx': fail rather than follow or clobber something that already has our temp name.
    fd = openSync(tmp, 'wx', 0o666);
    writeAll(fd, bytes);
    if (opts.fsync) fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) {
      try { closeSync(fd); } catch { /* already failing; the original error matters */ }
    }
    try { unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    throw new QattnError(`cannot write ${path}: ${fsErrorText(err)}`);
  }
  if (opts.fsync) fsyncDir(dirname(path));
}
