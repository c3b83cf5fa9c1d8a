/**
 * Client permissions from roles.
 *
 * Roles, from the subprotocol reference ("Permissions",
 * https://learn.microsoft.com/azure/azure-web-pubsub/reference-json-webpubsub-subprotocol#permissions):
 *   webpubsub.joinLeaveGroup          join/leave any group
 *   webpubsub.sendToGroup             publish to any group
 *   webpubsub.joinLeaveGroup.<group>  join/leave <group>
 *   webpubsub.sendToGroup.<group>     publish to <group>
 * plus the wildcard forms `webpubsub.joinLeaveGroups.<pattern>` /
 * `webpubsub.sendToGroups.<pattern>` (concept-wildcard-group-roles): `?` one char but not
 * `.`, `*` any run without `.`, `**` any run including `.`, `\` escapes.
 * REST grant/revoke/check (`/permissions/{permission}/connections/{id}?targetName=`) edit
 * the same role set, so both paths agree.
 */

export type Permission = 'joinLeaveGroup' | 'sendToGroup';

export function isPermission(value: string): value is Permission {
  return value === 'joinLeaveGroup' || value === 'sendToGroup';
}

function role(permission: Permission, group?: string): string {
  return group === undefined ? `webpubsub.${permission}` : `webpubsub.${permission}.${group}`;
}

/** Translate a wildcard group pattern into an anchored RegExp. */
function patternToRegExp(pattern: string): RegExp | null {
  let source = '';
  let stars = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return null;
      source += next.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    } else if (ch === '*') {
      if (pattern[i + 1] === '*') {
        source += '.*';
        stars += 2;
        i++;
      } else {
        source += '[^.]*';
        stars += 1;
      }
    } else if (ch === '?') {
      source += '[^.]';
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  // The docs cap a pattern at five `*`; larger patterns are not valid roles.
  if (stars > 5) return null;
  return new RegExp(`^${source}$`, 's');
}

/**
 * Whether `roles` allow `permission` on `group`. Without a group, only the unscoped role
 * counts (that is what REST checkPermission without targetName asks).
 */
export function hasPermission(roles: Iterable<string>, permission: Permission, group?: string): boolean {
  const global = role(permission);
  const scoped = group === undefined ? undefined : role(permission, group);
  const patternPrefix = `webpubsub.${permission}s.`;
  for (const r of roles) {
    if (r === global || r === scoped) return true;
    if (group !== undefined && r.startsWith(patternPrefix)) {
      const regex = patternToRegExp(r.slice(patternPrefix.length));
      if (regex?.test(group)) return true;
    }
  }
  return false;
}

/** REST grantPermission: add the global or group-scoped role. */
export function grant(roles: Set<string>, permission: Permission, group?: string): void {
  roles.add(role(permission, group));
}

/**
 * REST revokePermission. With a target, the scoped role is removed (an unscoped role, if
 * held, still covers the group — the emulator has no "all but" rule). Without a target,
 * every role of that permission (unscoped, scoped and wildcard) is removed.
 */
export function revoke(roles: Set<string>, permission: Permission, group?: string): void {
  if (group !== undefined) {
    roles.delete(role(permission, group));
    return;
  }
  for (const r of [...roles]) {
    if (r === role(permission) || r.startsWith(`webpubsub.${permission}.`) || r.startsWith(`webpubsub.${permission}s.`)) {
      roles.delete(r);
    }
  }
}
