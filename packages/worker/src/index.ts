export { startWorker, type RelayWorker, type WorkerOptions } from './worker.js';
export { loadWorkerConfig, workerConfigSpec, type WorkerConfig } from './config.js';
export { createGuardedAgent, guardedLookup, ForbiddenAddressError, type LookupFunction } from './http/connect-guard.js';
