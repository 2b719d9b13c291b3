import { CallbackStatus, type CallbackMessage, type Logger } from '@relay/common';
import { storeOf, type CallbackDeps } from '../deps.js';
import { deliverCallback } from './deliver-callback.js';

/** Handles a callback message taken from the queue (deliveries 2 and later). */
export async function processCallback(deps: CallbackDeps, message: CallbackMessage, log: Logger): Promise<void> {
  const state = await storeOf(deps, message).getCallback(message.jobId);
  if (state && (state.status === CallbackStatus.delivered || state.status === CallbackStatus.failed)) {
    log.debug({ delivery: message.delivery }, 'callback already settled; duplicate dropped');
    return;
  }
  await deliverCallback(deps, message, log);
}
