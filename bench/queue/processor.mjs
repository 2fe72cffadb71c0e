// BullMQ's sandbox imports this file in a worker thread and calls its default export per job. Worker threads do
// not inherit the parent's module loader hooks, so tsx's loader is registered here before the TypeScript
// processor is imported (as core/worker-boot.mjs does for qattn's other workers).
import { register } from 'tsx/esm/api';

register();
const { processCell } = await import('./processor.ts');
export default processCell;
