// Shared pieces of the browser tests that drive livekit-client through `vroom serve`:
// start vroom on loopback ports, serve livekit-client's ESM bundles and a blank page,
// launch Debian's Chromium with fake devices, join rooms in pages, read stats, wait.
//
// Every process is started here and killed by PID (`stopAll`); tests run inside a
// loopback-only network namespace (see media.test.mjs).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
export const OUT_DIR = path.join(HERE, 'out');
const VROOM_BIN = path.resolve(REPO_ROOT, process.env.VROOM_BIN ?? 'target/debug/vroom');
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
export const STEP_TIMEOUT_MS = 30_000;
export const BASIC = 'devkey:devsecret';

/** livekit-client versions under test: the one FlipFlop's web SDK pins, and the newest. */
export const CLIENTS = { old: 'livekit-client-2.9.5', newest: 'livekit-client-2.23.0' };

export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function until(what, fn, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Everything one test file starts: vroom, a static server, a browser. */
export class Harness {
  constructor(name) {
    this.name = name;
    this.vroom = null;
    this.staticServer = null;
    this.context = null;
    this.tempDirs = [];
    this.base = null;
    this.pageBase = null;
  }

  /**
   * Starts vroom, the page server and Chromium. `server`: where vroom runs, by default on
   * 127.0.0.1 in this namespace; `{ ip, netnsPid }` runs it in the network namespace of
   * process `netnsPid` (see `Link`), listening and announcing media on `ip`.
   */
  async start({ server } = {}) {
    mkdirSync(OUT_DIR, { recursive: true });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `vroom-${this.name}-data-`));
    const userDir = await mkdtemp(path.join(os.tmpdir(), `vroom-${this.name}-chromium-`));
    this.tempDirs.push(dataDir, userDir);
    const httpPort = await freeTcpPort();
    const ip = server?.ip ?? '127.0.0.1';
    this.base = `http://${ip}:${httpPort}`;
    const log = createWriteStream(path.join(OUT_DIR, `vroom-${this.name}.log`));
    const args = ['serve', '--dev', '--data-dir', dataDir, '--bind', `${ip}:${httpPort}`, '--node-ip', ip,
      // Port 0: each media worker binds a free port and announces it.
      '--udp-port', '0', '--log', 'info,vroom_media=debug,vroom_signal=debug'];
    this.vroom = server?.netnsPid
      ? spawn('nsenter', ['-t', String(server.netnsPid), '-n', '--', VROOM_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(VROOM_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.vroom.stdout.pipe(log);
    this.vroom.stderr.pipe(log);
    await this.waitForHealth();
    this.staticServer = await startStaticServer();
    this.pageBase = `http://127.0.0.1:${this.staticServer.address().port}`;
    this.context = await chromium.launchPersistentContext(userDir, {
      executablePath: '/usr/bin/chromium',
      headless: false,
      args: CHROMIUM_ARGS,
      timeout: STEP_TIMEOUT_MS,
    });
  }

  async waitForHealth() {
    await until('vroom healthy', async () => {
      if (this.vroom.exitCode !== null) throw new Error(`vroom exited with ${this.vroom.exitCode}`);
      try {
        return (await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    });
  }

  /** Kills what `start` started (by PID) and removes its temporary directories. */
  async stopAll() {
    await this.context?.close().catch(() => {});
    this.staticServer?.close();
    if (this.vroom?.exitCode === null) {
      this.vroom.kill('SIGTERM');
      await Promise.race([new Promise((r) => this.vroom.once('exit', r)), sleep(5000)]);
      if (this.vroom.exitCode === null) this.vroom.kill('SIGKILL');
    }
    for (const dir of this.tempDirs) await rm(dir, { recursive: true, force: true });
  }

  /** Kills vroom at once (for the watchdog and `process.on('exit')`). */
  killNow() {
    if (this.vroom?.exitCode === null) this.vroom.kill('SIGKILL');
  }

  /**
   * Ends the test file after `ms` whatever happens (killing vroom first), and kills vroom
   * when the process exits.
   */
  armWatchdog(ms) {
    const watchdog = setTimeout(() => {
      console.error(`${this.name}.test: hard timeout after ${ms} ms, killing what it started`);
      this.killNow();
      process.exit(1);
    }, ms);
    watchdog.unref();
    process.on('exit', () => this.killNow());
  }

  /** An HTTP call to vroom; returns `{status, body}` (body parsed when JSON). */
  async call(method, urlPath, { basic, bearer, body } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (basic) headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    const res = await fetch(`${this.base}${urlPath}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
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

  /** Like `call`, asserting a 2xx answer; returns the body. */
  async api(method, urlPath, opts = {}) {
    const { status, body } = await this.call(method, urlPath, opts);
    assert.ok(status >= 200 && status < 300, `${method} ${urlPath} → ${status} ${JSON.stringify(body)}`);
    return body;
  }

  /** Logs a member in through the server API (`extra`: more login fields); returns the login response. */
  login(appUserId, appUserName, extra = {}) {
    return this.api('POST', '/v2/apps/me/members/login', { basic: BASIC, body: { appUserId, appUserName, ...extra } });
  }

  /**
   * A fresh page with livekit-client loaded and connected as `t` (see `joinInPage`).
   * `sockets`: an array that receives the path of every WebSocket the page opens.
   */
  async joinPage(pkg, creds, label, { sockets } = {}) {
    const page = await this.context.newPage();
    page.on('pageerror', (e) => console.error(`[${label}] ${e.message}`));
    if (sockets) page.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
    await page.goto(`${this.pageBase}/page.html`);
    await joinInPage(page, { lkUrl: `${this.pageBase}/lk/${pkg}/livekit-client.esm.mjs`, url: creds.webRtcServerUrl, token: creds.webRtcToken });
    return page;
  }
}

// Serves a blank page and livekit-client's ESM bundles from node_modules.
function startStaticServer() {
  const page = '<!doctype html><html><head><meta charset="utf-8"><title>vroom test</title></head><body></body></html>';
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

// In the page: connect, and keep what happens on `window.t` (subscriptions, participants
// connecting and leaving, data received, the disconnect reason, permission changes).
// Times are Date.now(): every page of the browser shares that clock.
async function joinInPage(page, { lkUrl, url, token }) {
  await page.evaluate(
    async ({ lkUrl, url, token }) => {
      const LK = await import(lkUrl);
      const room = new LK.Room();
      const t = { room, LK, subscribed: [], connected: [], left: [], received: [], disconnected: null, permissionChanges: 0 };
      window.t = t;
      room.on(LK.RoomEvent.TrackSubscribed, (track, _pub, participant) => {
        t.subscribed.push({ kind: track.kind, from: participant.identity, track });
        const el = track.attach();
        el.muted = true;
        document.body.appendChild(el);
      });
      room.on(LK.RoomEvent.ParticipantConnected, (p) => t.connected.push(p.identity));
      room.on(LK.RoomEvent.ParticipantDisconnected, (p) => t.left.push({ identity: p.identity, at: Date.now() }));
      room.on(LK.RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
        t.received.push({ text: new TextDecoder().decode(payload), from: participant?.identity, topic });
      });
      room.on(LK.RoomEvent.Disconnected, (reason) => {
        t.disconnected = { reason: reason ?? null };
      });
      room.on(LK.RoomEvent.ParticipantPermissionsChanged, (_prev, participant) => {
        if (participant === room.localParticipant) t.permissionChanges += 1;
      });
      await room.connect(url, token);
    },
    { lkUrl, url, token },
  );
}

/** Sum of inbound-rtp counters over the page's subscribed tracks, and the video codecs received. */
export function inboundStats(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, audioPackets: 0, videoCodecs: [] };
    for (const { track } of window.t.subscribed) {
      // An unsubscribed track has no receiver any more.
      if (!track.receiver) continue;
      const stats = await track.receiver.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          out.framesDecoded += s.framesDecoded ?? 0;
          const codec = stats.get(s.codecId)?.mimeType;
          if (codec && !out.videoCodecs.includes(codec)) out.videoCodecs.push(codec);
        }
        if (s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      });
    }
    return out;
  });
}

/** A loopback HTTP server that records webhook deliveries (raw body and headers). */
export function startReceiver() {
  const deliveries = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      deliveries.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(200);
      res.end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, deliveries, url: `http://127.0.0.1:${server.address().port}/hooks` })),
  );
}
