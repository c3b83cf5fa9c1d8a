import { z } from 'zod';
import { isLoopbackHost } from './core/loopback.js';

const flag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((v) => v === 'true' || v === '1');
const seconds = (fallback: number) => z.coerce.number().int().min(0).max(86_400).default(fallback);
const millis = (fallback: number) => z.coerce.number().int().min(1).max(600_000).default(fallback);

/**
 * Every setting the app reads, checked once at start-up (a bad setting fails the first request with a
 * clear log line, not the thousandth). Locally they come from local.settings.json and the environment;
 * in Azure from the Function App's app settings. README.md lists them all.
 */
export const settingsSchema = z
  .object({
    /** Azurite or a storage account by connection string (local), or … */
    TABLES_CONNECTION_STRING: z.string().min(1).optional(),
    /** … a table endpoint used with the managed identity (Azure): https://<account>.table.core.windows.net */
    TABLES_ENDPOINT: z.url().optional(),
    TABLE_PREFIX: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,19}$/).default('fq'),
    KEY_VAULT_URL: z.url(),
    /** The local emulator (access key), or … */
    WEBPUBSUB_CONNECTION_STRING: z.string().min(1).optional(),
    /** … the service endpoint used with the managed identity (Azure). */
    WEBPUBSUB_ENDPOINT: z.url().optional(),
    WEBPUBSUB_HUB: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,127}$/).default('flowquest'),
    /** Client id of the user-assigned managed identity (Azure); unset locally. */
    AZURE_CLIENT_ID: z.string().optional(),
    ALLOW_INSECURE_LOOPBACK: flag,
    INSTANCE_CACHE_TTL_SECONDS: seconds(30),
    SECRET_CACHE_TTL_SECONDS: seconds(300),
    PREFERENCES_CACHE_TTL_SECONDS: seconds(30),
    SEND_TIMEOUT_MS: millis(2_000),
    CONNECTION_TEST_TIMEOUT_MS: millis(5_000),
    /** Key Vault secret holding the session key material (created on first use when missing). */
    SESSION_KEY_SECRET_NAME: z.string().regex(/^[0-9A-Za-z-]{1,127}$/).default('session-signing-key'),
    /** Sign-ins accepted per instance per minute on one Function instance. */
    SIGNIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
    /** Token requests accepted per session per minute on one Function instance. */
    TOKEN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
    /** Timeout of each call to ServiceNow (token grants, revocation, Table API). */
    UPSTREAM_TIMEOUT_MS: millis(10_000),
    /** How long a user's ServiceNow groups are cached for negotiate. */
    GROUPS_CACHE_TTL_SECONDS: seconds(900),
  })
  .refine((s) => Boolean(s.TABLES_CONNECTION_STRING) !== Boolean(s.TABLES_ENDPOINT), {
    message: 'set exactly one of TABLES_CONNECTION_STRING and TABLES_ENDPOINT',
    path: ['TABLES_CONNECTION_STRING'],
  })
  .refine((s) => Boolean(s.WEBPUBSUB_CONNECTION_STRING) !== Boolean(s.WEBPUBSUB_ENDPOINT), {
    message: 'set exactly one of WEBPUBSUB_CONNECTION_STRING and WEBPUBSUB_ENDPOINT',
    path: ['WEBPUBSUB_CONNECTION_STRING'],
  });

export type Settings = z.output<typeof settingsSchema>;

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const result = settingsSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid settings:\n  ${lines.join('\n  ')}`);
  }
  return result.data;
}

/** http:// to a loopback address: the local emulators. */
export function isLoopbackHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && isLoopbackHost(u.hostname);
}
