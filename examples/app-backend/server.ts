// A customer's app backend for vroom, the part of "build your own video UI" that must run on
// a server (the seed: login hands out member tokens, an optional proxy applies business
// rules, webhooks report what happens in rooms). Node's http module only, no framework.
//
//   POST /api/login          {userId, userName}  → {accessToken, refreshToken, member}
//   POST /api/token/refresh  {refreshToken}      → {accessToken, refreshToken}
//   POST /api/rooms          {title?} + Bearer member token → 201 VideoRoom | 403 NOT_A_HOST
//   POST /webhooks/vroom     vroom's signed events → 200 | 401
//   GET  /api/events         the events received so far (demo only: no auth)
//   GET  /api/config         {vroomUrl}: where the front end's SDK talks to vroom
//   GET  /, /app.js, …       the front end (public/), /sdk/vroom-sdk.bundle.mjs the web SDK
//
// Configuration is read from the environment (see README.md).

import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Vroom, VroomError, type ApiError } from './vroom.ts';
import { checkBasic, isWebhookEvent, verifySignature, type WebhookEvent } from './webhook.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC_DIR = path.join(HERE, 'public');

const env = process.env;
const config = {
  vroomUrl: trimSlash(env.VROOM_URL ?? 'http://127.0.0.1:7880'),
  // Where browsers reach vroom, when that differs from where this backend does.
  vroomPublicUrl: trimSlash(env.VROOM_PUBLIC_URL ?? env.VROOM_URL ?? 'http://127.0.0.1:7880'),
  apiKey: env.VROOM_API_KEY ?? 'devkey',
  apiSecret: env.VROOM_API_SECRET ?? 'devsecret',
  host: env.HOST ?? '127.0.0.1',
  port: Number(env.PORT ?? 3000),
  // Where vroom reaches this backend (for the webhook URL); default: the address we listen on.
  publicUrl: env.PUBLIC_URL ? trimSlash(env.PUBLIC_URL) : null,
  // The business rule of POST /api/rooms: who may create rooms.
  hosts: new Set((env.HOSTS ?? 'alice').split(',').map((s) => s.trim()).filter(Boolean)),
  registerWebhook: env.REGISTER_WEBHOOK === '1',
  // vroom's signing secret (`whsec_…`, returned when the callback is registered). Taken from
  // vroom's answer when REGISTER_WEBHOOK=1; needed here otherwise.
  webhookSecret: env.WEBHOOK_SECRET ?? null,
  // Optional Basic credentials vroom sends with each event (FlipFlop Cloud's accessId/accessPassword).
  webhookAccessId: env.WEBHOOK_ACCESS_ID ?? null,
  webhookAccessPassword: env.WEBHOOK_ACCESS_PASSWORD ?? null,
  sdkBundle: env.VROOM_SDK_BUNDLE ?? findSdkBundle(),
};

const vroom = new Vroom(config.vroomUrl, config.apiKey, config.apiSecret);
let webhookSecret = config.webhookSecret;

/** Events received through the webhook, oldest first, deduplicated on the event id
 *  (vroom delivers at least once). A real backend would store them; memory is enough here. */
const events: Array<WebhookEvent & { receivedAt: string }> = [];
const MAX_EVENTS = 500;
const MAX_BODY = 1 << 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- the routes

async function login(req: http.IncomingMessage): Promise<[number, unknown]> {
  const body = await readJson(req);
  const userId = body.userId;
  const userName = body.userName;
  if (typeof userId !== 'string' || userId === '') throw new HttpError(400, 'EMPTY_USER_ID', 'userId is required');
  if (userName !== undefined && userName !== null && typeof userName !== 'string') {
    throw new HttpError(400, 'INVALID_HTTP_MESSAGE_BODY', 'userName must be a string');
  }
  // A toy login: any userId is accepted, no password. Your real login checks the user's
  // credentials first, then does exactly this: upsert the user as a vroom member and get
  // its tokens. The member's appUserId is your user id.
  const { accessToken, refreshToken, member } = await vroom.loginMember(userId, userName || null);
  console.log(`login ${member.appUserId} (member ${member.id})`);
  return [200, { accessToken, refreshToken, member }];
}

async function refreshToken(req: http.IncomingMessage): Promise<[number, unknown]> {
  const body = await readJson(req);
  if (typeof body.refreshToken !== 'string' || body.refreshToken === '') {
    throw new HttpError(400, 'EMPTY_REFRESH_TOKEN', 'refreshToken is required');
  }
  // Refresh tokens are single use: the answer carries the next one.
  return [200, await vroom.refresh(body.refreshToken)];
}

async function createRoom(req: http.IncomingMessage): Promise<[number, unknown]> {
  // Who is asking? The front end sends its vroom access token; vroom tells us whose it is.
  // (A real service would use its own session instead.)
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
  if (!token) throw new HttpError(401, 'EMPTY_ACCESS_TOKEN', 'Authorization: Bearer <accessToken> is required');
  const body = await readJson(req);
  const me = await vroom.me(token);
  // The business rule this proxy exists for.
  if (!config.hosts.has(me.appUserId)) {
    throw new HttpError(403, 'NOT_A_HOST', `${me.appUserId} may not create rooms (HOSTS=${[...config.hosts].join(',')})`);
  }
  const title = typeof body.title === 'string' && body.title.trim() ? body.title.trim() : `${me.appUserName ?? me.appUserId}'s room`;
  const room = await vroom.createRoom(me.appUserId, { title });
  console.log(`room ${room.id} created for ${me.appUserId}`);
  return [201, room];
}

async function webhook(req: http.IncomingMessage): Promise<[number, unknown]> {
  const raw = await readBody(req);
  if (!webhookSecret) throw new HttpError(401, 'NO_SIGNING_SECRET', 'this backend has no signing secret (set WEBHOOK_SECRET)');
  if (config.webhookAccessId && config.webhookAccessPassword &&
      !checkBasic(req.headers.authorization, config.webhookAccessId, config.webhookAccessPassword)) {
    throw new HttpError(401, 'INVALID_CREDENTIALS', 'wrong Basic credentials');
  }
  const verdict = verifySignature(webhookSecret, header(req, 'x-vroom-signature'), raw);
  if (!verdict.ok) {
    console.warn(`webhook rejected: ${verdict.why}`);
    throw new HttpError(401, 'INVALID_SIGNATURE', verdict.why);
  }
  // Only now is the body trusted.
  let event: unknown;
  try {
    event = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_HTTP_MESSAGE_BODY', 'not JSON');
  }
  if (!isWebhookEvent(event)) throw new HttpError(400, 'INVALID_HTTP_MESSAGE_BODY', 'not a vroom event');
  if (!events.some((e) => e.id === event.id)) {
    events.push({ ...event, receivedAt: new Date().toISOString() });
    if (events.length > MAX_EVENTS) events.shift();
    console.log(`webhook ${describe(event)}`);
  }
  // Any 2xx is a delivery; anything else makes vroom retry (5xx) or give up (4xx).
  return [200, { received: event.id }];
}

function describe(e: WebhookEvent): string {
  const d = e.data as { videoRoom?: { id?: number }; appUser?: { appUserId?: string }; member?: { appUserId?: string } };
  const who = d.appUser?.appUserId ?? d.member?.appUserId;
  const room = d.videoRoom?.id;
  return [e.type, who && `user ${who}`, room !== undefined && `room ${room}`, e.seq != null && `seq ${e.seq}`].filter(Boolean).join(' ');
}

// ---------------------------------------------------------------- plumbing

const STATIC: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://backend');
  const key = `${req.method} ${url.pathname}`;
  const handlers: Record<string, (req: http.IncomingMessage) => Promise<[number, unknown]>> = {
    'POST /api/login': login,
    'POST /api/token/refresh': refreshToken,
    'POST /api/rooms': createRoom,
    'POST /webhooks/vroom': webhook,
    'GET /api/events': async () => [200, { events }],
    'GET /api/config': async () => [200, { vroomUrl: config.vroomPublicUrl }],
  };
  const handler = handlers[key];
  if (handler) {
    try {
      const [status, body] = await handler(req);
      sendJson(res, status, body);
    } catch (err) {
      sendError(res, err);
    }
    return;
  }
  if (req.method === 'GET' && url.pathname === '/sdk/vroom-sdk.bundle.mjs') {
    if (!config.sdkBundle || !existsSync(config.sdkBundle)) {
      sendJson(res, 503, error('SDK_NOT_BUILT', 'the vroom web SDK bundle is missing: cd sdk/js && npm ci && npm run build'));
      return;
    }
    sendFile(res, config.sdkBundle, 'text/javascript; charset=utf-8');
    return;
  }
  const file = req.method === 'GET' ? STATIC[url.pathname] : undefined;
  if (file) {
    sendFile(res, path.join(PUBLIC_DIR, file[0]), file[1]);
    return;
  }
  if (req.method === 'GET' && url.pathname === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  sendJson(res, 404, error('NOT_FOUND', `no route ${key}`));
}

function sendError(res: http.ServerResponse, err: unknown): void {
  if (err instanceof HttpError) {
    sendJson(res, err.status, error(err.code, err.message));
  } else if (err instanceof VroomError && err.status < 500) {
    // vroom refused (bad user id, expired token, …): pass its answer on.
    sendJson(res, err.status, err.body);
  } else {
    console.error('request failed:', err);
    sendJson(res, 502, error('VROOM_UNAVAILABLE', err instanceof Error ? err.message : String(err)));
  }
}

function error(errorCode: string, errorMessage: string): ApiError {
  return { errorCode, errorMessage };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(text);
}

function sendFile(res: http.ServerResponse, file: string, type: string): void {
  res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size, 'cache-control': 'no-cache' });
  createReadStream(file).pipe(res);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', 'body over 1 MiB'));
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req)).toString('utf8');
  if (!raw.trim()) return {};
  try {
    const v: unknown = JSON.parse(raw);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'INVALID_HTTP_MESSAGE_BODY', 'the body must be a JSON object');
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The web SDK's self-contained browser bundle, from the installed `vroom-sdk` package. */
function findSdkBundle(): string | null {
  try {
    return fileURLToPath(import.meta.resolve('vroom-sdk/bundle'));
  } catch {
    const fallback = path.join(HERE, 'node_modules', 'vroom-sdk', 'dist', 'vroom-sdk.bundle.mjs');
    return existsSync(fallback) ? fallback : null;
  }
}

// ---------------------------------------------------------------- start

const server = http.createServer((req, res) => {
  route(req, res).catch((err: unknown) => {
    console.error('unhandled:', err);
    if (!res.headersSent) sendJson(res, 500, error('INTERNAL_SERVER_ERROR', 'unexpected error'));
    else res.destroy();
  });
});

server.listen(config.port, config.host, async () => {
  const { port } = server.address() as AddressInfo;
  const self = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (config.registerWebhook) {
    // Listening already, so vroom can deliver as soon as it knows the URL.
    const url = `${config.publicUrl ?? self}/webhooks/vroom`;
    try {
      const cb = await vroom.putCallbackApi(url, config.webhookAccessId ?? undefined, config.webhookAccessPassword ?? undefined);
      // vroom keeps one secret per registration and hands it back on every PUT.
      webhookSecret = config.webhookSecret ?? cb.signingSecret ?? null;
      console.log(`webhook registered at vroom: ${cb.url}`);
    } catch (err) {
      console.error(`could not register the webhook with vroom at ${config.vroomUrl}:`, err instanceof Error ? err.message : err);
      process.exit(1);
    }
  } else if (!webhookSecret) {
    console.warn('no WEBHOOK_SECRET and REGISTER_WEBHOOK is not 1: every webhook will be refused');
  }
  if (!config.sdkBundle || !existsSync(config.sdkBundle)) {
    console.warn('the vroom web SDK bundle was not found (cd sdk/js && npm ci && npm run build): the front end will not load');
  }
  console.log(`vroom at ${config.vroomUrl}; room hosts: ${[...config.hosts].join(', ')}`);
  // Printed last: once this line is out, the backend is ready (the test waits for it).
  console.log(`listening on ${self}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
