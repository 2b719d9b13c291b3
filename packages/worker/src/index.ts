export { startWorker, type RelayWorker, type WorkerOptions } from './worker.js';
export { loadWorkerConfig, workerConfigSpec, type WorkerConfig } from './config.js';
