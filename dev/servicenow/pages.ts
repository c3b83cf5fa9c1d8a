/**
 * The HTML pages: the sign-in page of `oauth_auth.do`, its error page, and the index.
 * Every reflected value is escaped; pages carry no script (see the CSP in http.ts).
 *
 * Stable hooks for browser tests: each user is a `<button id="user-beth-anglin"
 * data-user="beth.anglin" data-sys-id="…">Beth Anglin</button>` in its own form
 * (`id="form-beth-anglin"`); a password field, when that user has one, is `id="password-beth-anglin"`;
 * the cancel button is `id="deny"`; a message is `id="message"`.
 */
import type { AuthorizeRequest } from './authorizeRequest.js';
import { escapeHtml } from './http.js';
import type { DevUser } from './instance.js';
import { type Config, slug } from './options.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1d2733}
h1{font-size:1.4rem}form{margin:.5rem 0}button{font-size:1rem;padding:.6rem 1rem;min-width:16rem;text-align:left;cursor:pointer}
.muted{color:#5a6573;font-size:.9rem}.error{color:#a4161a}code{background:#eef1f4;padding:0 .2rem}input[type=password]{padding:.5rem}`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

function hiddenFields(request: AuthorizeRequest): string {
  return request.carried.map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`).join('');
}

function userForm(request: AuthorizeRequest, user: DevUser): string {
  const id = slug(user.userName);
  const password =
    user.password !== undefined
      ? `<input type="password" name="password" id="password-${id}" autocomplete="current-password" aria-label="Password for ${escapeHtml(user.name)}" required> `
      : '';
  return `<form method="post" action="/oauth_auth.do" id="form-${id}">${hiddenFields(request)}<input type="hidden" name="user" value="${user.sysId}">${password}<button type="submit" id="user-${id}" data-user="${escapeHtml(user.userName)}" data-sys-id="${user.sysId}">${escapeHtml(user.name)}</button> <span class="muted">${escapeHtml(user.userName)}</span></form>`;
}

export function signInPage(request: AuthorizeRequest, users: readonly DevUser[], message?: string): string {
  const target = new URL(request.redirectUri);
  const where = target.protocol === 'http:' || target.protocol === 'https:' ? target.host : target.protocol.slice(0, -1);
  return layout(
    'Sign in to the FlowQuest development instance',
    `<h1>Sign in to the FlowQuest development instance</h1>
<p class="muted">A local stand-in for ServiceNow, for development only. <code>${escapeHtml(request.client.clientId)}</code> asks to use your account; you will be sent back to <code>${escapeHtml(where)}</code>.</p>
${message ? `<p class="error" id="message" role="alert">${escapeHtml(message)}</p>` : ''}
<p>Sign in as:</p>
${users.map((user) => userForm(request, user)).join('\n')}
<form method="post" action="/oauth_auth.do" id="form-deny">${hiddenFields(request)}<input type="hidden" name="action" value="deny"><button type="submit" id="deny">Cancel</button></form>`,
  );
}

export function authorizeErrorPage(message: string): string {
  return layout(
    'Sign-in request rejected',
    `<h1>Sign-in request rejected</h1>
<p class="error" id="message" role="alert">${escapeHtml(message)}</p>
<p class="muted">The request was not sent back to the app because its client or redirect URI could not be trusted (RFC 6749 §4.1.2.1).</p>`,
  );
}

export function indexPage(config: Config, baseUrl: string, webhook: string | undefined): string {
  const users = config.users
    .map((u) => `<li>${escapeHtml(u.name)} <code>${escapeHtml(u.userName)}</code> <code>${u.sysId}</code></li>`)
    .join('');
  const clients = [...config.clients.values()]
    .map((c) => `<li><code>${escapeHtml(c.clientId)}</code> ${c.clientSecret !== undefined ? '(confidential)' : '(public, PKCE)'}</li>`)
    .join('');
  return layout(
    'FlowQuest ServiceNow development instance',
    `<h1>FlowQuest ServiceNow development instance</h1>
<p class="muted">A local stand-in for a ServiceNow instance: OAuth 2.0 with PKCE, a read-only Table API, signed sample events. Never deployed.</p>
<ul>
<li><code>GET ${escapeHtml(baseUrl)}/oauth_auth.do?response_type=code&amp;client_id=…&amp;redirect_uri=…&amp;state=…&amp;code_challenge=…&amp;code_challenge_method=S256</code>: sign-in page</li>
<li><code>POST /oauth_token.do</code> (form): authorization_code, refresh_token, client_credentials</li>
<li><code>POST /oauth_revoke_token.do</code> (form <code>token=</code>)</li>
<li><a href="/api/now/table/sys_user?sysparm_limit=1">/api/now/table/sys_user</a>, <code>sys_user_grmember</code>, <code>sys_user_group</code> (Bearer token)</li>
<li><code>POST /dev/emit</code> <code>{"fixture":"incident-p1-inserted-assigned.json"}</code> or <code>{"event":{…}}</code>: signs and sends an event to ${webhook ? `<code>${escapeHtml(webhook)}</code>` : 'the bridge (no webhook target configured yet)'}</li>
</ul>
<h2>Users</h2><ul>${users}</ul>
<h2>OAuth clients</h2><ul>${clients}</ul>`,
  );
}
