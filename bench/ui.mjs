// The meeting UI's benchmark (run by bench/ui.sh inside a loopback-only network namespace):
//
//   1. join latency: one member is in a room with its camera on; N times, a new member opens
//      its embed URL in a fresh page, clicks "join" as soon as the pre-join screen allows, and
//      the page records when the first frame of the host's video is presented
//      (requestVideoFrameCallback). Reported from page open (navigation start) and from the
//      click, p50/p99 over N joins.
//   2. a meeting of P pages, each in a Chromium of its own (so each page is a visible window,
//      as on P people's screens), every page publishing its camera: Chromium's CPU time per
//      page over a window once every page plays every other page's video, with adaptive
//      stream (the UI's default: each video received at the size of its tile) and with
//      `adaptiveStream=false` (every track at full size), one after the other in one run.
//
// Prints one JSON object on stdout (the shell script turns it into BENCHMARKS.md's section).
// Everything is bounded: a watchdog ends the process, and browsers and vroom are killed.

import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASIC, Harness, smallCamera, until } from '../tests/browser/harness.mjs';

const require = createRequire(new URL('../tests/browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const JOINS = Number(args.joins ?? 20);
const PAGES = Number(args.pages ?? 9);
const WINDOW_S = Number(args.window ?? 15);
const WATCHDOG_MS = Number(args['timeout-s'] ?? 900) * 1000;

const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
];

const h = new Harness('bench-ui');
h.armWatchdog(WATCHDOG_MS);
const log = (...a) => console.error(`[bench-ui ${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Records in the page when "join" is clicked and when a remote video presents its first frame. */
function firstFrameProbe() {
  window.__bench = { joinAt: null, firstFrameAt: null };
  document.addEventListener(
    'click',
    (e) => {
      if (window.__bench.joinAt === null && e.target instanceof Element && e.target.closest('[data-testid="join"]')) {
        window.__bench.joinAt = performance.now();
      }
    },
    true,
  );
  const hooked = new WeakSet();
  const scan = () => {
    for (const v of document.querySelectorAll('[data-testid="tile"][data-local="false"] video')) {
      if (hooked.has(v)) continue;
      hooked.add(v);
      v.requestVideoFrameCallback(() => {
        if (window.__bench.firstFrameAt === null) window.__bench.firstFrameAt = performance.now();
      });
    }
    if (window.__bench.firstFrameAt === null) setTimeout(scan, 5);
  };
  scan();
}

async function embedUrl(roomId, appUserId, extra = '') {
  await h.api('POST', '/v2/apps/me/members', { basic: BASIC, body: { appUserId, appUserName: appUserId } });
  const { videoRoomEmbedUrl } = await h.api('POST', `/v2/apps/me/video-rooms/${roomId}/members/${appUserId}/embed-url`, { basic: BASIC, body: {} });
  return `${videoRoomEmbedUrl}${extra}`;
}

async function joinFrom(page, url) {
  await page.goto(url);
  await page.getByTestId('join').click({ timeout: 20_000 });
  await page.locator('[data-screen="room"]').waitFor({ timeout: 20_000 });
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), min: s[0], max: s[s.length - 1] };
};

async function joinLatency() {
  const room = await h.api('POST', '/v2/apps/me/video-rooms', { basic: BASIC, body: { title: 'bench join' } });
  const host = await h.context.newPage();
  await host.addInitScript(smallCamera);
  await joinFrom(host, await embedUrl(room.id, 'bench-host'));
  const fromOpen = [];
  const fromClick = [];
  for (let i = 1; i <= JOINS; i++) {
    const page = await h.context.newPage();
    await page.addInitScript(smallCamera);
    await page.addInitScript(firstFrameProbe);
    const url = await embedUrl(room.id, `bench-join-${i}`);
    await joinFrom(page, url);
    const probe = await until(`join ${i}: first remote frame`, () =>
      page.evaluate(() => (window.__bench.firstFrameAt === null ? null : window.__bench)),
    );
    fromOpen.push(Math.round(probe.firstFrameAt));
    fromClick.push(Math.round(probe.firstFrameAt - probe.joinAt));
    log(`join ${i}: first remote frame ${Math.round(probe.firstFrameAt)} ms after page open, ${Math.round(probe.firstFrameAt - probe.joinAt)} ms after join`);
    await page.close();
    await sleep(300);
  }
  await host.close();
  return { fromOpenMs: summary(fromOpen), fromJoinClickMs: summary(fromClick) };
}

/** utime + stime (clock ticks → s) of every process whose name starts with `prefix`. */
function cpuSeconds(prefix) {
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    if (!comm.startsWith(prefix)) continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / hz;
}

function vroomCpuSeconds() {
  const fields = readFileSync(`/proc/${h.vroom.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What a page's remote tiles show: how many play, their decoded width, frames presented per second. */
function remoteVideo(page, ms) {
  return page.evaluate(async (ms) => {
    const videos = Array.from(document.querySelectorAll('[data-testid="tile"][data-local="false"] video')).filter((v) => v.srcObject);
    const q0 = videos.map((v) => v.getVideoPlaybackQuality().totalVideoFrames);
    await new Promise((r) => setTimeout(r, ms));
    return videos.map((v, i) => ({ width: v.videoWidth, tileWidth: Math.round(v.getBoundingClientRect().width), fps: ((v.getVideoPlaybackQuality().totalVideoFrames - q0[i]) * 1000) / ms }));
  }, ms);
}

async function meeting(adaptive) {
  const room = await h.api('POST', '/v2/apps/me/video-rooms', { basic: BASIC, body: { title: `bench meeting ${adaptive ? 'adaptive' : 'full'}` } });
  const browsers = [];
  const pages = [];
  const dirs = [];
  try {
    for (let i = 1; i <= PAGES; i++) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'vroom-bench-ui-'));
      dirs.push(dir);
      const context = await chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', headless: false, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 720 } });
      browsers.push(context);
      const page = context.pages()[0] ?? (await context.newPage());
      await page.addInitScript(smallCamera);
      await joinFrom(page, await embedUrl(room.id, `bench-${adaptive ? 'a' : 'f'}-${i}`, adaptive ? '' : '&adaptiveStream=false'));
      pages.push(page);
    }
    await until(
      `every page of ${PAGES} shows ${PAGES - 1} remote videos`,
      async () => {
        for (const page of pages) {
          const n = await page.evaluate(() =>
            Array.from(document.querySelectorAll('[data-testid="tile"][data-local="false"] video')).filter((v) => v.srcObject && v.videoWidth > 0).length,
          );
          if (n < PAGES - 1) return false;
        }
        return true;
      },
      120_000,
    );
    await sleep(5000); // layers settle (adaptive stream asks for the tile's size)
    const c0 = cpuSeconds('chrom');
    const v0 = vroomCpuSeconds();
    const t0 = Date.now();
    await sleep(WINDOW_S * 1000);
    const seconds = (Date.now() - t0) / 1000;
    const browserCpu = cpuSeconds('chrom') - c0;
    const vroomCpu = vroomCpuSeconds() - v0;
    const shown = (await Promise.all(pages.map((p) => remoteVideo(p, 2000)))).flat();
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    return {
      adaptive,
      pages: PAGES,
      windowS: Math.round(seconds * 10) / 10,
      browserCpuPerPagePct: Math.round(((browserCpu / seconds / PAGES) * 100) * 10) / 10,
      vroomCpuPct: Math.round((vroomCpu / seconds) * 1000) / 10,
      remoteVideos: shown.length,
      meanDecodedWidth: Math.round(mean(shown.map((s) => s.width))),
      meanTileWidth: Math.round(mean(shown.map((s) => s.tileWidth))),
      meanFps: Math.round(mean(shown.map((s) => s.fps)) * 10) / 10,
    };
  } finally {
    for (const b of browsers) await b.close().catch(() => {});
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  }
}

try {
  await h.start();
  log(`vroom at ${h.base}; ${JOINS} joins`);
  const join = await joinLatency();
  await h.context.close(); // the meeting's browsers are the only Chromium processes counted
  h.context = null;
  log(`meeting of ${PAGES} pages, adaptive stream`);
  const adaptive = await meeting(true);
  log(JSON.stringify(adaptive));
  log(`meeting of ${PAGES} pages, every track at full size`);
  const full = await meeting(false);
  log(JSON.stringify(full));
  console.log(JSON.stringify({ join, meeting: { adaptive, full }, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model }));
} finally {
  await h.stopAll();
}
process.exit(0);
