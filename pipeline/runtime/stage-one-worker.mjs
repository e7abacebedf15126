// Entry of a stage-1 worker thread. Node 20 does not give worker threads the main thread's module
// hooks, so the thread registers tsx itself before loading the TypeScript (as pipeline/cli/costline.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./stage-one-worker.ts');
