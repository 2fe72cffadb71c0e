// BullMQ's sandbox imports this file in a child process it forks for the worker and calls its default export per
// job. The child does not inherit the worker's module loader hooks (qattn registers tsx through its API, not a
// flag), so tsx's loader is registered here before the TypeScript processor is imported, as
// core/worker-boot.mjs does for qattn's worker threads.
import { register } from 'tsx/esm/api';

// A worker killed mid-cell (kill -9) leaves its child computing a cell nobody will collect: it ends too, at
// once (SIGKILL, not process.exit: an exit runs handlers that write to the dead worker's pipes, and BullMQ's
// child then spun on the write errors). Its output pipes may break first: their errors are not fatal.
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
register();
const { processCell } = await import('./processor.ts');
export default processCell;
