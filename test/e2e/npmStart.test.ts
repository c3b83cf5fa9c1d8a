import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort, PROJECT_DIR } from '../../dev/stack.js';
import { fixtureBytes } from '../support/fixtures.js';
import { postWebhook } from '../support/stack.js';

// CONTRACT.md §8: what `npm start` runs (its compiled entry, after the build `npm start` does first).
const stateDir = mkdtempSync(path.join(tmpdir(), 'fq-start-'));
let env: NodeJS.ProcessEnv;
let ports: number[];

beforeAll(async () => {
  execFileSync(process.execPath, [path.join(PROJECT_DIR, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: PROJECT_DIR });
  ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const [host, azurite, webPubSub, keyVault, serviceNow] = ports.map(String);
  // Environment variables override local.settings.json: every port is moved off its default.
  env = { ...process.env, PORT: host, AZURITE_TABLE_PORT: azurite, WEBPUBSUB_EMULATOR_PORT: webPubSub, KEY_VAULT_EMULATOR_PORT: keyVault, DEV_SERVICENOW_PORT: serviceNow, FLOWQUEST_STATE_DIR: stateDir };
}, 120_000);

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function start(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [path.join(PROJECT_DIR, 'dist/dev/start.js')], { cwd: PROJECT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line:\n${output.slice(-2000)}`)), 60_000);
    const check = setInterval(() => {
      if (/FlowQuest Bridge is ready/.test(output)) {
        clearTimeout(timer);
        clearInterval(check);
        resolve({ child, output: () => output });
      }
    }, 50);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output.slice(-2000)}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('starts every part, says when it is ready, stops them all on Ctrl-C, and keeps its state', async () => {
  const first = await start();
  const url = `http://127.0.0.1:${ports[0]}`;
  expect(first.output()).toContain(`Functions host   ${url}/api`);
  expect(first.output()).toContain(`ServiceNow (dev) http://127.0.0.1:${ports[4]}`);
  const secret = readFileSync(path.join(stateDir, 'demo-webhook-secret'), 'utf8').trim();
  const stack = { url } as Parameters<typeof postWebhook>[0];
  const event = await postWebhook(stack, 'demo', secret, fixtureBytes('incident-p1-inserted-assigned.json'));
  expect(event.body).toEqual({ status: 'accepted', id: event.id, notifications: 3 });

  expect(await stop(first.child)).toBe(0);
  for (const port of ports) expect(await listening(port), `port ${port} still open`).toBe(false);

  // State survives the restart: the same event is still a duplicate, with the same demo secret.
  const second = await start();
  try {
    const again = await postWebhook(stack, 'demo', secret, fixtureBytes('incident-p1-inserted-assigned.json'), { id: event.id });
    expect(again.body).toEqual({ status: 'duplicate', id: event.id });
  } finally {
    await stop(second.child);
  }
}, 150_000);
