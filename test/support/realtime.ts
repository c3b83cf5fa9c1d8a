import { WebPubSubClient } from '@azure/web-pubsub-client';
import { WebPubSubServiceClient } from '@azure/web-pubsub';
import type { Stack } from '../../dev/stack.js';

export interface Received {
  from: 'server' | 'group';
  group?: string;
  data: Record<string, unknown>;
}

export interface TestClient {
  received: Received[];
  /** How many times the client has connected (reconnections included). */
  connections(): number;
  /** Messages with distinct `id`s, as a client that dedupes by id keeps them. */
  unique(): Record<string, unknown>[];
  waitFor(predicate: (r: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): void;
}

/**
 * A real @azure/web-pubsub-client connected to the stack's Web PubSub emulator, as the mobile app
 * connects: a client URL minted by the service client for a user and its groups, no roles.
 */
export async function connectClient(stack: Stack, userId: string, groups: string[] = []): Promise<TestClient> {
  const hub = stack.settings.WEBPUBSUB_HUB ?? 'flowquest';
  const client = new WebPubSubClient(
    {
      getClientAccessUrl: async () => {
        const service = new WebPubSubServiceClient(stack.webPubSub.connectionString, hub, { allowInsecureConnection: true });
        return (await service.getClientAccessToken({ userId, groups })).url;
      },
    },
    { autoReconnect: true, autoRejoinGroups: false, reconnectRetryOptions: { maxRetries: 1000, retryDelayInMs: 100, mode: 'Fixed' } },
  );
  const received: Received[] = [];
  let connections = 0;
  client.on('connected', () => {
    connections++;
  });
  client.on('server-message', (e) => received.push({ from: 'server', data: e.message.data as Record<string, unknown> }));
  client.on('group-message', (e) =>
    received.push({ from: 'group', group: e.message.group, data: e.message.data as Record<string, unknown> }),
  );
  await client.start();
  return {
    received,
    connections: () => connections,
    unique() {
      const byId = new Map<string, Record<string, unknown>>();
      for (const r of received) byId.set(String(r.data.id), r.data);
      return [...byId.values()];
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received.map((r) => r.data.id))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop: () => client.stop(),
  };
}
