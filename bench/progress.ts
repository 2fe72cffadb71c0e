/**
 * Progress reporting on stderr: a live one-line bar on a terminal, plain lines (one per finished cell)
 * otherwise, so logs and CI output stay readable.
 */
import { formatMs, formatN } from './format.ts';
import type { BenchRecord, CellIdentity } from './results.ts';
import type { RunnerHooks } from './runner.ts';

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** A cell in one line: workload, mode, n and variant. */
export const cellLabel = (c: CellIdentity): string => `${c.workload} ${c.mode} n=${formatN(c.n)} ${c.variant}`;

function outcome(r: BenchRecord): string {
  if (r.status !== 'ok') return `${r.status}: ${r.reason}`;
  const sel = r.fidelity.massRecall === null ? '' : ` mass ${r.fidelity.massRecall.toFixed(3)}`;
  const prep = r.prepare ? ` (prepare ${formatMs(r.prepare.timing.medianMs)})` : '';
  return `${formatMs(r.timing.medianMs)}${prep} relL2 ${r.fidelity.relL2.toExponential(1)}${sel}`;
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Runner hooks that report progress on `stream`; call `end()` before printing anything else. */
export function progressReporter(stream: ProgressStream, quiet = false): RunnerHooks & { end(): void } {
  const t0 = performance.now();
  const tty = stream.isTTY === true;
  let done = 0;
  const bar = (total: number, text: string): void => {
    const width = 20;
    const filled = Math.round((done / Math.max(1, total)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${elapsed(performance.now() - t0)} ${text}`;
    stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, (stream.columns || 100) - 1))}`); // columns is 0 on some ptys
  };
  return {
    onCellStart(_i, total, cell) {
      if (tty && !quiet) bar(total, cellLabel(cell));
    },
    onCellDone(_i, total, record, resumed) {
      done++;
      if (quiet) return;
      if (tty) bar(total, cellLabel(record));
      else stream.write(`[${done}/${total}] ${cellLabel(record)}: ${resumed ? 'resumed' : outcome(record)}\n`);
    },
    onNote(text) {
      if (quiet) return;
      stream.write(`${tty ? '\r\x1b[2K' : ''}${text}\n`);
    },
    end() {
      if (tty && !quiet) stream.write('\r\x1b[2K');
    },
  };
}
