export { buildApp, type BuildAppOptions } from './app.js';
export { validatorCompiler } from './validation.js';
export { backendConfigSpec, loadBackendConfig, type BackendConfig } from './config.js';
