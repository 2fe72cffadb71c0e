/**
 * `--capture DIR`: each block's Q, K, V as the heads the mechanism saw, one folder per block holding q.npy
 * [H, m, d], k.npy [H, n, d], v.npy [H, n, dv] (H = batch × heads) — the layout of the benchmark's `npy`
 * workload (bench/workloads/npy.ts), so real attention patterns can be benchmarked. A block's mask is saved as
 * mask.npy [H, m, n] when it has one, for `qattn attend --mask`.
 */
import { ensureDir } from '../core/fs-safe.ts';
import { join } from 'node:path';
import { writeNpy } from '../io/npy.ts';
import type { AttentionBlock } from './block.ts';
import type { HeadHook, HeadsProblem } from './heads.ts';

/** Folder name of block i: ordered, and safe on every file system. */
export function captureFolder(i: number, b: AttentionBlock): string {
  return `block${String(i).padStart(2, '0')}_${b.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}`;
}

/** A head hook that collects the heads and writes the block's files after its last head. */
export function captureHook(dir: string, folder: string, p: HeadsProblem): HeadHook {
  const { heads: H, m, n, d, dv } = p;
  const q = new Float32Array(H * m * d), k = new Float32Array(H * n * d), v = new Float32Array(H * n * dv);
  let mask: Float32Array | null = null;
  return (h, input) => {
    q.set(input.q, h * m * d);
    k.set(input.k, h * n * d);
    v.set(input.v, h * n * dv);
    if (input.mask) (mask ??= new Float32Array(H * m * n)).set(input.mask, h * m * n);
    if (h !== H - 1) return;
    const out = join(dir, folder);
    ensureDir(out, 'capture directory');
    writeNpy(join(out, 'q.npy'), { dtype: 'float32', shape: [H, m, d], data: q });
    writeNpy(join(out, 'k.npy'), { dtype: 'float32', shape: [H, n, d], data: k });
    writeNpy(join(out, 'v.npy'), { dtype: 'float32', shape: [H, n, dv], data: v });
    if (mask) writeNpy(join(out, 'mask.npy'), { dtype: 'float32', shape: [H, m, n], data: mask });
  };
}
