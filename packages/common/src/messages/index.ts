export * from './types.js';
export * from './codec.js';
export * from './factories.js';
export * from './callback-body.js';
export * from './webhook-ids.js';
export * from './message-credentials.js';
