/**
 * The workers' entry point (README, "The search runtime"): the scheduler (worker.ts) that
 * claims trials and runs one attempt at a time each (run-trial.ts).
 */
export { runWorker, type WorkerOptions, type WorkerReport } from './worker.ts';
export type { WorkerActivity } from './worker-activity.ts';
export { trialSeed } from './trial-job.ts';
