export { buildApp, type BuildAppOptions } from './app.js';
export { backendConfigSpec, loadBackendConfig, type BackendConfig } from './config.js';
