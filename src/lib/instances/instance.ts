import { z } from 'zod';
import { isLoopbackHost } from '../core/loopback.js';
import { rulesSchema, type Rule } from '../rules/ruleSchema.js';

export const INSTANCE_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** A ServiceNow instance as stored (secret names and versions only, never values). */
export interface Instance {
  id: string;
  name: string;
  baseUrl: string;
  clientId: string;
  /** The instance's own rules, or null for the defaults. */
  rules: Rule[] | null;
  /** Webhooks accepted per minute on one Function instance; null for no limit (the default). */
  webhookRateLimitPerMinute: number | null;
  clientSecret: { name: string; version: string } | null;
  webhookSecret: {
    name: string;
    version: string;
    previousVersion: string | null;
    /** Epoch ms until which the previous version still verifies. */
    previousValidUntil: number | null;
    rotatedAt: number | null;
  };
  createdAt: number;
  updatedAt: number;
}

/** Whether a base URL is acceptable: https, or plain http to a loopback host when `allowInsecureLoopback`. */
export function baseUrlProblem(value: string, allowInsecureLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.search || value.includes('?')) return 'must not contain a query';
  if (url.hash || value.includes('#')) return 'must not contain a fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname) && allowInsecureLoopback) return undefined;
  return allowInsecureLoopback ? 'must use https:// (or http:// to a loopback address)' : 'must use https://';
}

/** `https://acme.service-now.com/` → `https://acme.service-now.com` (no trailing slash, so paths join cleanly). */
export function normaliseBaseUrl(value: string): string {
  return value.replace(/\/+$/, '');
}

export function instanceBodySchema(allowInsecureLoopback: boolean) {
  return z
    .object({
      name: z.string().trim().min(1).max(100),
      baseUrl: z
        .string()
        .max(2048)
        .superRefine((v, ctx) => {
          const problem = baseUrlProblem(v, allowInsecureLoopback);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      clientId: z.string().trim().min(1).max(200),
      clientSecret: z.string().min(1).max(1000).nullable().optional(),
      rules: rulesSchema.nullable().optional(),
      webhookRateLimitPerMinute: z.number().int().min(1).max(1_000_000).nullable().optional(),
    })
    .strict();
}

export type InstanceBody = z.output<ReturnType<typeof instanceBodySchema>>;

/** What operators see: configuration and secret metadata, never a secret value. */
export function instanceView(instance: Instance) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  return {
    id: instance.id,
    name: instance.name,
    baseUrl: instance.baseUrl,
    clientId: instance.clientId,
    hasClientSecret: instance.clientSecret !== null,
    rules: instance.rules,
    webhookRateLimitPerMinute: instance.webhookRateLimitPerMinute,
    webhookSecret: {
      rotatedAt: iso(instance.webhookSecret.rotatedAt),
      previousValidUntil:
        instance.webhookSecret.previousVersion === null ? null : iso(instance.webhookSecret.previousValidUntil),
    },
    createdAt: iso(instance.createdAt),
    updatedAt: iso(instance.updatedAt),
  };
}

/** The public entry of `GET /api/instances`, for the app's switcher and PKCE start. */
export function publicInstanceView(instance: Instance) {
  return {
    id: instance.id,
    name: instance.name,
    baseUrl: instance.baseUrl,
    clientId: instance.clientId,
    authorizeUrl: `${instance.baseUrl}/oauth_auth.do`,
    tokenUrl: `${instance.baseUrl}/oauth_token.do`,
  };
}
