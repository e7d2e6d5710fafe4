// The sample customer integration (examples/app-backend) end to end, against `vroom serve`:
//   1. its backend, started as a child process pointed at this test's vroom with
//      REGISTER_WEBHOOK=1 (it prints `listening on http://127.0.0.1:PORT` once its webhook
//      is registered), logs users in through the server API and hands out vroom tokens, and
//      renews them with the (single-use) refresh token;
//   2. its room proxy applies its business rule: only HOSTS (alice) may create rooms, a
//      non-host gets 403 NOT_A_HOST, no token 401;
//   3. two Chromium pages open its own front end (built on the vroom web SDK bundle the
//      backend serves), log in as alice and bob through the form; alice creates a room with
//      the button, bob joins it by id; each page's tile of the other renders growing video
//      frames (requestVideoFrameCallback); bob leaves and his tile goes from alice's page;
//   4. vroom's signed VIDEO_ROOM_PARTICIPANT_JOINED (and LEFT) webhooks reached the backend
//      (its /api/events), while forged POSTs to /webhooks/vroom (no signature, wrong secret,
//      tampered body, stale timestamp) get 401 and a correctly signed one 200.
// Any uncaught page error or console error fails the test (harness.mjs).
//
// Needs `cd examples/app-backend && npm ci` and the SDK built (`cd sdk/js && npm ci && npm run build`)
// beforehand; this file installs nothing. Run it inside a loopback-only network namespace:
//   unshare -n sh -c 'ip link set lo up && node --test --test-concurrency=1 tests/browser/example-app.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root);
//      VROOM_SDK_BUNDLE  another build of the SDK's browser bundle for the backend to serve.
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASIC, HERE, Harness, OUT_DIR, STEP_TIMEOUT_MS, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 150_000;
const APP_DIR = path.resolve(HERE, '..', '..', 'examples', 'app-backend');
// Video frames a tile must render in FRAME_WINDOW_MS (the fake camera sends 20 fps: a
// healthy path renders ~60; a stalled one none).
const FRAME_WINDOW_MS = 3000;
const MIN_FRAMES = 15;
// The web SDK bundle the backend serves: the installed vroom-sdk's, or VROOM_SDK_BUNDLE
// (passed on to the backend) to try another build.
const SDK_BUNDLE = process.env.VROOM_SDK_BUNDLE ?? path.join(APP_DIR, 'node_modules', 'vroom-sdk', 'dist', 'vroom-sdk.bundle.mjs');

const h = new Harness('example-app');
let backend = null; // { child, url }

h.armWatchdog(HARD_TIMEOUT_MS);
process.on('exit', () => {
  if (backend?.child.exitCode === null) backend.child.kill('SIGKILL');
});

/**
 * Starts the example backend on a port of its own choosing (PORT=0) and resolves with the
 * URL it prints once ready; its output goes to out/example-app-backend.log.
 */
function startBackend(vroomBase) {
  const env = { ...process.env, VROOM_URL: vroomBase, VROOM_API_KEY: 'devkey', VROOM_API_SECRET: 'devsecret',
    HOST: '127.0.0.1', PORT: '0', REGISTER_WEBHOOK: '1', HOSTS: 'alice' };
  for (const name of ['PUBLIC_URL', 'VROOM_PUBLIC_URL', 'WEBHOOK_SECRET', 'WEBHOOK_ACCESS_ID', 'WEBHOOK_ACCESS_PASSWORD']) delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'server.ts'], { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(path.join(OUT_DIR, 'example-app-backend.log'));
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`the example backend printed no address within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    const onData = (chunk) => {
      seen += chunk;
      const match = seen.match(/^listening on (http:\/\/\S+)$/m);
      if (match) done(null, match[1]);
    };
    const onExit = (code, signal) => done(new Error(`the example backend exited (${code ?? signal}) before it was ready; see out/example-app-backend.log`));
    function done(err, url) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (err) {
        if (child.exitCode === null) child.kill('SIGKILL');
        reject(err);
      } else {
        resolve({ child, url });
      }
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopBackend() {
  const child = backend?.child;
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** A call to the example backend: `{status, body}`. */
async function app(method, urlPath, { body, bearer, headers = {}, raw } = {}) {
  const res = await fetch(`${backend.url}${urlPath}`, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

/** The header vroom would send (crates/vroom-webhooks/src/sign.rs), computed independently. */
function sign(secret, t, rawBody) {
  return `t=${t},v1=${crypto.createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex')}`;
}

/** Logs in through the example's own login form. */
async function openAndLogIn(label, userId, userName) {
  const page = await h.newPage(label);
  await page.goto(backend.url);
  await page.fill('#user-id', userId);
  await page.fill('#user-name', userName);
  await page.click('#login');
  await page.waitForSelector('#lobby:not([hidden])', { timeout: STEP_TIMEOUT_MS });
  return page;
}

/**
 * Video frames rendered so far in `page`'s tile of `identity`, counted with
 * requestVideoFrameCallback from the first call on (-1: no video element in that tile yet).
 */
function framesShown(page, identity) {
  return page.evaluate((identity) => {
    const video = document.querySelector(`#tiles [data-identity="${CSS.escape(identity)}"] video`);
    if (!video) return -1;
    if (video.framesShown === undefined) {
      video.framesShown = 0;
      const onFrame = () => {
        video.framesShown += 1;
        video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    }
    return video.framesShown;
  }, identity);
}

async function assertVideoFlows(page, identity, who) {
  // A page renders (and the SDK's adaptive stream receives video) only while it is visible:
  // look at it the way its user would.
  await page.bringToFront();
  await until(`${who}: a video tile of ${identity}`, async () => (await framesShown(page, identity)) > 0);
  // A few frames first (the stream resumes once the page is visible), then the window.
  await until(`${who}: ${identity}'s video renders`, async () => (await framesShown(page, identity)) > 5);
  const start = await framesShown(page, identity);
  await sleep(FRAME_WINDOW_MS);
  const frames = (await framesShown(page, identity)) - start;
  console.log(`${who}: ${frames} frames of ${identity} shown in ${FRAME_WINDOW_MS} ms`);
  assert.ok(frames >= MIN_FRAMES, `${who} shows ${identity}'s video: ${frames} frames in ${FRAME_WINDOW_MS} ms (want ≥ ${MIN_FRAMES})`);
}

async function events() {
  const { status, body } = await app('GET', '/api/events');
  assert.equal(status, 200);
  return body.events;
}

describe('the example app backend and front end', () => {
  before(async () => {
    for (const [what, file] of [
      ['npm ci in examples/app-backend', path.join(APP_DIR, 'node_modules', 'tsx')],
      ['the SDK build (cd sdk/js && npm ci && npm run build)', SDK_BUNDLE],
    ]) {
      assert.ok(existsSync(file), `missing ${file}: run ${what} first`);
    }
    await h.start();
    backend = await startBackend(h.base);
    // The backend registered its receiver with vroom before it said it was listening.
    const callback = await h.api('GET', '/v2/apps/me/callback-api', { basic: BASIC });
    assert.equal(callback.url, `${backend.url}/webhooks/vroom`);
  });

  after(async () => {
    await stopBackend();
    await h.stopAll();
  });

  // Uncaught page errors and console errors fail the test (see harness.mjs).
  afterEach(() => h.assertClean());

  it('logs users in with vroom tokens and renews them', async () => {
    const { status, body } = await app('POST', '/api/login', { body: { userId: 'carol', userName: 'Carol' } });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body.accessToken, 'string');
    assert.equal(typeof body.refreshToken, 'string');
    assert.equal(body.member.appUserId, 'carol');
    assert.equal(body.member.appUserName, 'Carol');
    // The access token is a working vroom member token.
    const me = await h.api('GET', '/v2/members/me', { bearer: body.accessToken });
    assert.equal(me.appUserId, 'carol');

    const renewed = await app('POST', '/api/token/refresh', { body: { refreshToken: body.refreshToken } });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.notEqual(renewed.body.refreshToken, body.refreshToken);
    assert.equal((await h.api('GET', '/v2/members/me', { bearer: renewed.body.accessToken })).appUserId, 'carol');
    // Refresh tokens are single use: vroom's refusal is passed on.
    const reused = await app('POST', '/api/token/refresh', { body: { refreshToken: body.refreshToken } });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.errorCode, 'INVALID_REFRESH_TOKEN');

    // vroom's own validation comes through as is.
    const bad = await app('POST', '/api/login', { body: { userId: 'no spaces allowed' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errorCode, 'INVALID_APP_USER_ID_FORMAT');
  });

  it('lets only hosts create rooms', async () => {
    const bob = (await app('POST', '/api/login', { body: { userId: 'bob', userName: 'Bob' } })).body;
    const refused = await app('POST', '/api/rooms', { bearer: bob.accessToken, body: { title: 'nope' } });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.errorCode, 'NOT_A_HOST');
    const anonymous = await app('POST', '/api/rooms', { body: {} });
    assert.equal(anonymous.status, 401);
    const forged = await app('POST', '/api/rooms', { bearer: 'not-a-token', body: {} });
    assert.equal(forged.status, 401);

    const alice = (await app('POST', '/api/login', { body: { userId: 'alice', userName: 'Alice' } })).body;
    const created = await app('POST', '/api/rooms', { bearer: alice.accessToken, body: { title: 'Standup' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.title, 'Standup');
    assert.equal(created.body.member.appUserId, 'alice', 'alice owns the room');
    assert.equal(created.body.creatorType, 'APP', 'created through the server API');
  });

  it('two browsers meet in a room through the custom front end, and vroom reports it by signed webhooks', { timeout: 90_000 }, async () => {
    const alicePage = await openAndLogIn('alice', 'alice', 'Alice');
    const bobPage = await openAndLogIn('bob', 'bob', 'Bob');
    try {
      // Alice, a host, creates a room with the button and is put in it.
      await alicePage.click('#create');
      await alicePage.waitForSelector('#in-room:not([hidden])', { timeout: STEP_TIMEOUT_MS });
      const roomId = Number(await alicePage.inputValue('#room-id'));
      assert.ok(roomId > 0, `a room id (${roomId})`);
      // Bob joins it by id.
      await bobPage.fill('#room-id', String(roomId));
      await bobPage.click('#join');
      await bobPage.waitForSelector('#in-room:not([hidden])', { timeout: STEP_TIMEOUT_MS });

      await assertVideoFlows(alicePage, 'bob', 'alice');
      await assertVideoFlows(bobPage, 'alice', 'bob');
      // Names come from the member info in the participants' metadata.
      assert.equal(await alicePage.textContent('#tiles [data-identity="bob"] figcaption'), 'Bob');

      // vroom told the backend, through signed webhooks it verified.
      const joined = await until('JOINED webhooks of alice and bob at the backend', async () => {
        const mine = (await events()).filter((e) => e.type === 'VIDEO_ROOM_PARTICIPANT_JOINED' && e.data.videoRoom.id === roomId);
        return mine.length >= 2 && mine;
      });
      assert.deepEqual(joined.map((e) => e.data.appUser.appUserId).sort(), ['alice', 'bob']);
      const aliceJoined = joined.find((e) => e.data.appUser.appUserId === 'alice');
      assert.equal(aliceJoined.data.appUser.channelMemberType, 'OPERATOR', 'the owner');
      assert.ok(aliceJoined.data.joinedAt);

      // Bob leaves: his tile goes from alice's page and vroom reports it.
      await bobPage.click('#leave');
      await bobPage.waitForSelector('#lobby:not([hidden])', { timeout: STEP_TIMEOUT_MS });
      await until("bob's tile gone from alice's page", async () => (await alicePage.$('#tiles [data-identity="bob"]')) === null);
      await until('a LEFT webhook of bob at the backend', async () =>
        (await events()).some((e) => e.type === 'VIDEO_ROOM_PARTICIPANT_LEFT' && e.data.appUser.appUserId === 'bob' && e.data.videoRoom.id === roomId),
      );
      await alicePage.click('#leave');
      await alicePage.waitForSelector('#lobby:not([hidden])', { timeout: STEP_TIMEOUT_MS });
    } finally {
      await alicePage.close().catch(() => {});
      await bobPage.close().catch(() => {});
    }
  });

  it('refuses forged webhooks with 401 and accepts one signed as vroom signs', async () => {
    const now = Math.floor(Date.now() / 1000);
    const crafted = {
      id: `crafted-${crypto.randomUUID()}`,
      type: 'VIDEO_ROOM_PARTICIPANT_JOINED',
      app: { id: 1, state: 'ACTIVE', name: 'dev', defaultRtmpOutputMode: 'CMAF' },
      data: { videoRoom: { id: 1 }, appUser: { appUserId: 'mallory' }, joinedAt: new Date().toISOString() },
      createdAt: new Date().toISOString(),
    };
    const raw = JSON.stringify(crafted);
    const post = (headers, body = raw) => app('POST', '/webhooks/vroom', { raw: body, headers });

    assert.equal((await post({})).status, 401, 'no signature');
    assert.equal((await post({ 'x-vroom-signature': 'garbage' })).status, 401, 'a malformed signature');
    assert.equal((await post({ 'x-vroom-signature': sign('whsec_guessed', now, raw) })).status, 401, 'signed with another secret');

    // The real secret: vroom keeps one per registration and returns it on every PUT of it.
    const { signingSecret } = await h.api('PUT', '/v2/apps/me/callback-api', { basic: BASIC, body: { url: `${backend.url}/webhooks/vroom` } });
    const good = sign(signingSecret, now, raw);
    assert.equal((await post({ 'x-vroom-signature': good }, raw.replace('mallory', 'mallorz'))).status, 401, 'a tampered body');
    assert.equal((await post({ 'x-vroom-signature': sign(signingSecret, now - 3600, raw) })).status, 401, 'an hour-old timestamp (replay)');
    assert.ok(!(await events()).some((e) => e.id === crafted.id), 'nothing refused was recorded');

    const accepted = await post({ 'x-vroom-signature': good });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    assert.ok((await events()).some((e) => e.id === crafted.id), 'a correctly signed event is recorded');
  });
});
