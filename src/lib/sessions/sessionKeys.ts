import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretStore } from '../azure/secretStore.js';

export interface SessionKey {
  /** The Key Vault secret version: the `kid` of session tokens and the key id of encrypted access tokens. */
  kid: string;
  key: Buffer;
}

/**
 * The key material of sessions, kept in Key Vault as one secret (32 random bytes, base64): its
 * versions sign session tokens (HS256, `kid` = version) and, through HKDF, encrypt the access tokens
 * kept in the sessions table. Created on first use when missing (locally on the first start; in Azure
 * the app's identity is a Key Vault Secrets Officer). A new version rotates signing; old versions
 * still verify as long as they exist.
 */
export class SessionKeys {
  private latest?: Promise<SessionKey>;
  private readonly keys = new Map<string, Promise<Buffer | undefined>>();
  private known?: { kids: Promise<Set<string>>; at: number };

  constructor(
    private readonly secrets: SecretStore,
    private readonly name: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The versions the vault has, listed at most once a minute: a token with a made-up `kid` costs no
   * Key Vault call beyond that, so anonymous callers cannot flood the vault or this instance's memory.
   */
  private async knownKids(kid: string): Promise<Set<string>> {
    const stale = !this.known || (this.now() - this.known.at >= 60_000 && !(await this.known.kids).has(kid));
    if (stale) {
      const kids = this.secrets.listVersions(this.name).then((v) => new Set(v));
      this.known = { kids, at: this.now() };
      kids.catch(() => (this.known = undefined));
    }
    return this.known!.kids;
  }

  current(): Promise<SessionKey> {
    this.latest ??= this.loadOrCreate().catch((error: unknown) => {
      this.latest = undefined;
      throw error;
    });
    return this.latest;
  }

  private async loadOrCreate(): Promise<SessionKey> {
    const existing = await this.secrets.get(this.name);
    if (existing) return { kid: existing.version, key: Buffer.from(existing.value, 'base64') };
    const value = randomBytes(32).toString('base64');
    const { version } = await this.secrets.set(this.name, value, { contentType: 'session-key', tags: { purpose: 'session-signing' } });
    return { kid: version, key: Buffer.from(value, 'base64') };
  }

  /** The key of a given version, or undefined when the vault has no such version. */
  async byKid(kid: string): Promise<Buffer | undefined> {
    const current = await this.current();
    if (current.kid === kid) return current.key;
    if (!/^[A-Za-z0-9]{1,64}$/.test(kid) || !(await this.knownKids(kid)).has(kid)) return undefined;
    let found = this.keys.get(kid);
    if (!found) {
      found = this.secrets.get(this.name, kid).then((s) => (s ? Buffer.from(s.value, 'base64') : undefined));
      this.keys.set(kid, found);
      found.catch(() => this.keys.delete(kid));
    }
    return found;
  }
}

function encryptionKey(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'flowquest access token v1', 32));
}

/** AES-256-GCM: `v1.{kid}.{iv}.{ciphertext+tag}` (base64url), so access tokens are never stored in clear. */
export function sealAccessToken(token: string, key: SessionKey): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(key.key), iv);
  const sealed = Buffer.concat([cipher.update(token, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `v1.${key.kid}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

export async function openAccessToken(sealed: string, keys: SessionKeys): Promise<string | undefined> {
  const [version, kid, iv, body] = sealed.split('.');
  if (version !== 'v1' || !kid || !iv || !body) return undefined;
  const key = await keys.byKid(kid);
  if (!key) return undefined;
  try {
    const data = Buffer.from(body, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', encryptionKey(key), Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
