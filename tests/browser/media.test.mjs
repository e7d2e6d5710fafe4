// Two unmodified livekit-client browsers exchange media and data through `vroom serve`.
//
// For each client version (2.9.5, pinned by FlipFlop's web SDK, and the newest 2.x, which
// tries `/rtc/v1` first and must fall back to `/rtc`), the test:
//   1. starts vroom (`serve --dev`, loopback HTTP port, `--node-ip 127.0.0.1`, a free UDP port),
//   2. logs two members in through the server API (devkey:devsecret), lets the first create a
//      video room and both fetch media credentials from the member API,
//   3. opens two pages in Debian's headless Chromium (fake camera and microphone) that load
//      livekit-client's ESM bundle from a static server of this test,
//   4. lets "alice" publish camera + microphone and "bob" join, then asserts on bob's page:
//      TrackSubscribed for audio and video from alice, inbound-rtp video `framesDecoded` and
//      audio `packetsReceived` growing over two seconds, and a reliable data packet arriving
//      with its payload, topic and alice's identity; with the newest client, that the
//      `/rtc/v1` WebSocket was tried and `/rtc` was used.
//
// Run it inside a loopback-only network namespace (scripts/test.sh does):
//   unshare -n sh -c 'ip link set lo up && node --test tests/browser/media.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const OUT_DIR = path.join(HERE, 'out');
const VROOM_BIN = path.resolve(REPO_ROOT, process.env.VROOM_BIN ?? 'target/debug/vroom');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', // without it no ICE candidates exist in a lo-only namespace
  '--autoplay-policy=no-user-gesture-required',
];
const VERSIONS = [
  { version: '2.9.5', pkg: 'livekit-client-2.9.5', triesV1: false },
  { version: '2.23.0', pkg: 'livekit-client-2.23.0', triesV1: true },
];
const HARD_TIMEOUT_MS = 240_000;
const STEP_TIMEOUT_MS = 30_000;

let vroom = null;
let staticServer = null;
let context = null;
let base = null;
let pageBase = null;
const tempDirs = [];

const watchdog = setTimeout(() => {
  console.error(`media.test: hard timeout after ${HARD_TIMEOUT_MS} ms, killing what it started`);
  if (vroom?.exitCode === null) vroom.kill('SIGKILL');
  process.exit(1);
}, HARD_TIMEOUT_MS);
watchdog.unref();
process.on('exit', () => {
  if (vroom?.exitCode === null) vroom.kill('SIGKILL');
});

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function api(method, urlPath, { basic, bearer, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${urlPath} → ${res.status} ${text}`);
  return JSON.parse(text);
}

async function waitForHealth() {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (vroom.exitCode !== null) throw new Error(`vroom exited with ${vroom.exitCode}; see out/vroom-media.log`);
    try {
      const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error('vroom did not become healthy');
}

// Serves the test page and livekit-client's ESM bundles from node_modules.
function startStaticServer() {
  const page = '<!doctype html><html><head><meta charset="utf-8"><title>vroom media test</title></head><body></body></html>';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/page.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    const match = url.pathname.match(/^\/lk\/(livekit-client-[0-9.]+)\/livekit-client\.esm\.mjs$/);
    if (match) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      createReadStream(path.join(HERE, 'node_modules', match[1], 'dist', 'livekit-client.esm.mjs')).pipe(res);
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// In the page: connect, keep events and stats helpers on `window.t`.
async function joinInPage(page, { lkUrl, url, token }) {
  await page.evaluate(
    async ({ lkUrl, url, token }) => {
      const LK = await import(lkUrl);
      const room = new LK.Room();
      const t = { room, LK, subscribed: [], received: [], errors: [] };
      window.t = t;
      room.on(LK.RoomEvent.TrackSubscribed, (track, _pub, participant) => {
        t.subscribed.push({ kind: track.kind, from: participant.identity, track });
        const el = track.attach();
        el.muted = true;
        document.body.appendChild(el);
      });
      room.on(LK.RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
        t.received.push({ text: new TextDecoder().decode(payload), from: participant?.identity, topic });
      });
      await room.connect(url, token);
    },
    { lkUrl, url, token },
  );
}

// inbound-rtp counters of the page's subscribed tracks.
function inboundStats(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, audioPackets: 0 };
    for (const { track } of window.t.subscribed) {
      const stats = await track.receiver.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') out.framesDecoded += s.framesDecoded ?? 0;
        if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      });
    }
    return out;
  });
}

async function until(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('media between two livekit-client browsers', () => {
  before(async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'vroom-media-data-'));
    const userDir = await mkdtemp(path.join(os.tmpdir(), 'vroom-media-chromium-'));
    tempDirs.push(dataDir, userDir);
    const [httpPort, udpPort] = [await freeTcpPort(), await freeUdpPort()];
    base = `http://127.0.0.1:${httpPort}`;
    const log = createWriteStream(path.join(OUT_DIR, 'vroom-media.log'));
    vroom = spawn(
      VROOM_BIN,
      ['serve', '--dev', '--data-dir', dataDir, '--bind', `127.0.0.1:${httpPort}`, '--node-ip', '127.0.0.1',
        '--udp-port', String(udpPort), '--log', 'info,vroom_media=debug,vroom_signal=debug'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    vroom.stdout.pipe(log);
    vroom.stderr.pipe(log);
    await waitForHealth();
    staticServer = await startStaticServer();
    pageBase = `http://127.0.0.1:${staticServer.address().port}`;
    context = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: false,
      args: CHROMIUM_ARGS,
      timeout: STEP_TIMEOUT_MS,
    });
  });

  after(async () => {
    await context?.close().catch(() => {});
    staticServer?.close();
    if (vroom?.exitCode === null) {
      vroom.kill('SIGTERM');
      await Promise.race([new Promise((r) => vroom.once('exit', r)), sleep(5000)]);
      if (vroom.exitCode === null) vroom.kill('SIGKILL');
    }
    for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
  });

  for (const { version, pkg, triesV1 } of VERSIONS) {
    it(`livekit-client ${version}: video frames, audio packets and data arrive`, { timeout: 90_000 }, async () => {
      const basic = 'devkey:devsecret';
      const alice = await api('POST', '/v2/apps/me/members/login', { basic, body: { appUserId: `alice-${version}`, appUserName: 'Alice' } });
      const bob = await api('POST', '/v2/apps/me/members/login', { basic, body: { appUserId: `bob-${version}`, appUserName: 'Bob' } });
      const room = await api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: `media ${version}` } });
      const credsA = await api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: alice.accessToken, body: {} });
      const credsB = await api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: bob.accessToken, body: {} });
      assert.equal(credsA.webRtcServerUrl, base.replace('http://', 'ws://'));

      const lkUrl = `${pageBase}/lk/${pkg}/livekit-client.esm.mjs`;
      const pageA = await context.newPage();
      const pageB = await context.newPage();
      const sockets = [];
      for (const p of [pageA, pageB]) {
        p.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
        p.on('pageerror', (e) => console.error(`[page ${version}] ${e.message}`));
      }
      try {
        await pageA.goto(`${pageBase}/page.html`);
        await pageB.goto(`${pageBase}/page.html`);

        await joinInPage(pageA, { lkUrl, url: credsA.webRtcServerUrl, token: credsA.webRtcToken });
        await pageA.evaluate(async () => {
          await window.t.room.localParticipant.setCameraEnabled(true);
          await window.t.room.localParticipant.setMicrophoneEnabled(true);
        });
        await joinInPage(pageB, { lkUrl, url: credsB.webRtcServerUrl, token: credsB.webRtcToken });

        const kinds = await until('bob subscribing to alice audio and video', () =>
          pageB.evaluate(() => {
            const k = window.t.subscribed.map((s) => `${s.kind}:${s.from}`).sort();
            return k.length >= 2 ? k : null;
          }),
        );
        assert.deepEqual(kinds, [`audio:alice-${version}`, `video:alice-${version}`]);

        await until('first decoded video frame', async () => (await inboundStats(pageB)).framesDecoded > 0);
        const first = await inboundStats(pageB);
        await sleep(2000);
        const second = await inboundStats(pageB);
        assert.ok(second.framesDecoded > first.framesDecoded, `framesDecoded grows: ${JSON.stringify([first, second])}`);
        assert.ok(second.framesDecoded - first.framesDecoded >= 10, `≥ 5 fps decoded: ${JSON.stringify([first, second])}`);
        assert.ok(second.audioPackets > first.audioPackets, `audio packetsReceived grows: ${JSON.stringify([first, second])}`);

        // A reliable data packet from alice arrives at bob with her identity.
        const message = `hello from alice ${version}`;
        const received = await until('the data packet', async () => {
          await pageA.evaluate(
            (text) => window.t.room.localParticipant.publishData(new TextEncoder().encode(text), { reliable: true, topic: 'greeting' }),
            message,
          );
          await sleep(500);
          return pageB.evaluate(() => window.t.received[0] ?? null);
        });
        assert.deepEqual(received, { text: message, from: `alice-${version}`, topic: 'greeting' });

        assert.ok(sockets.includes('/rtc'), `signalling used /rtc: ${sockets}`);
        if (triesV1) assert.ok(sockets.includes('/rtc/v1'), `the newest client tries /rtc/v1 first: ${sockets}`);

        await pageB.evaluate(() => window.t.room.disconnect());
        await pageA.evaluate(() => window.t.room.disconnect());
      } finally {
        await pageA.screenshot({ path: path.join(OUT_DIR, `media-${version}-alice.png`) }).catch(() => {});
        await pageB.screenshot({ path: path.join(OUT_DIR, `media-${version}-bob.png`) }).catch(() => {});
        await pageA.close().catch(() => {});
        await pageB.close().catch(() => {});
      }
    });
  }
});
