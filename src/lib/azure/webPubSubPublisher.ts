import type { WebPubSubServiceClient } from '@azure/web-pubsub';
import type { Publisher } from '../delivery/types.js';

/** Sends notifications as JSON with `sendToUser` / a group's `sendToAll` (Web PubSub data-plane REST). */
export function createWebPubSubPublisher(client: WebPubSubServiceClient): Publisher {
  return {
    async send({ target, message }, abortSignal) {
      const json = message as unknown as Record<string, unknown>;
      if (target.type === 'user') await client.sendToUser(target.id, json, { abortSignal });
      else await client.group(target.id).sendToAll(json, { abortSignal });
    },
  };
}
