import { createSecretKey } from 'node:crypto';
import type { AzureKeyCredential, WebPubSubServiceClient } from '@azure/web-pubsub';
import type { TokenCredential } from '@azure/identity';

/** `Endpoint=…;AccessKey=…;Version=1.0;` → its parts (the Web PubSub connection string format). */
export function parseWebPubSubConnectionString(connectionString: string): { endpoint: string; accessKey: string } {
  const parts = new Map(
    connectionString
      .split(';')
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')).trim().toLowerCase(), p.slice(p.indexOf('=') + 1).trim()] as const),
  );
  const endpoint = parts.get('endpoint');
  const accessKey = parts.get('accesskey');
  if (!endpoint || !accessKey) throw new Error('WEBPUBSUB_CONNECTION_STRING needs Endpoint= and AccessKey=.');
  const port = parts.get('port');
  return { endpoint: port ? `${endpoint.replace(/\/$/, '')}:${port}` : endpoint.replace(/\/$/, ''), accessKey };
}

/**
 * With an access key the SDK signs a JWT for every request with `jsonwebtoken`, which first tries to
 * read a string secret as a PEM private key and only falls back to a secret key after that throws
 * (jsonwebtoken/sign.js). That exception on every send was a quarter of the local pipeline's CPU.
 * Handing it the key as a KeyObject skips the probe; the tokens are byte-for-byte the same. This is
 * the access-key path only (the local emulator); in Azure the bridge uses Entra ID.
 */
function keyObjectCredential(accessKey: string): AzureKeyCredential {
  return { key: createSecretKey(Buffer.from(accessKey)) } as unknown as AzureKeyCredential;
}

export interface WebPubSubClientSettings {
  connectionString?: string;
  endpoint?: string;
  hub: string;
  credential?: () => Promise<TokenCredential>;
}

export async function createWebPubSubServiceClient(settings: WebPubSubClientSettings): Promise<WebPubSubServiceClient> {
  const { WebPubSubServiceClient } = await import('@azure/web-pubsub');
  // Fail fast: the outbox retries what could not be sent; a slow send only delays the webhook answer.
  const options = { retryOptions: { maxRetries: 1, retryDelayInMs: 50, maxRetryDelayInMs: 200 } };
  if (settings.connectionString) {
    const { endpoint, accessKey } = parseWebPubSubConnectionString(settings.connectionString);
    return new WebPubSubServiceClient(endpoint, keyObjectCredential(accessKey), settings.hub, {
      ...options,
      allowInsecureConnection: endpoint.startsWith('http:'),
    });
  }
  if (!settings.endpoint || !settings.credential) throw new Error('WEBPUBSUB_ENDPOINT needs a credential.');
  return new WebPubSubServiceClient(settings.endpoint, await settings.credential(), settings.hub, options);
}
