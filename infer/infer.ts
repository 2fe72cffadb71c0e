/**
 * `qattn infer` as a library call: load a model, run it unmodified and with every attention block swapped for
 * a registered mechanism on the same feeds, and report the difference.
 */
import { resolveOptions } from '../attention/options.ts';
import { getMechanism } from '../attention/registry.ts';
import type { OptionValue } from '../attention/types.ts';
import { captureFolder, captureHook } from './capture.ts';
import { runReference, runSwapped, type TensorMap } from './execute.ts';
import { loadInferModel, type InferModel } from './model.ts';
import { buildReport, type InferReport } from './report.ts';

export interface InferRequest {
  readonly model: string | InferModel;
  readonly feeds: TensorMap;
  readonly method: string;
  readonly options?: Readonly<Record<string, OptionValue>>;
  readonly seed?: number;
  /** Folder for --capture (see capture.ts); none when undefined. */
  readonly capture?: string;
}

export interface InferResult {
  readonly report: InferReport;
  /** Every tensor of the swapped run (model outputs included). */
  readonly swapped: TensorMap;
  /** Outputs (and block outputs) of the unmodified model. */
  readonly reference: TensorMap;
}

export async function infer(req: InferRequest): Promise<InferResult> {
  const given = req.options ?? {};
  const options = resolveOptions(getMechanism(req.method), given); // unknown method/option fails before any work
  const im = typeof req.model === 'string' ? await loadInferModel(req.model) : req.model;
  const outputNames = (im.model.graph?.output ?? []).map((o) => o.name ?? '');
  const reference = await runReference(im, req.feeds);
  const index = new Map(im.blocks.map((b, i) => [b, i]));
  const { tensors, blocks } = await runSwapped(im, req.feeds, {
    method: req.method, options: given, seed: req.seed ?? 0,
    ...(req.capture ? { onBlock: (b, p) => captureHook(req.capture!, captureFolder(index.get(b) ?? 0, b), p) } : {}),
  });
  const report = buildReport(im.path, req.method, options, outputNames, blocks, tensors, reference);
  return { report, swapped: tensors, reference };
}
