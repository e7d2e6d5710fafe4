// Swagger UI served by `vroom serve` renders in a real browser, offline.
//
// The spec (02-platform-api.md, "Documentation endpoints") requires the API docs to be served by
// vroom itself with no CDN, so this test starts a real vroom server, opens its Swagger UI pages in
// Debian's Chromium and refuses every request that would leave 127.0.0.1. If the page still shows
// the API title and its operations, every asset it needed came from vroom.
//
// Run: node tests/browser/swagger-ui.test.mjs   (or: node --test tests/browser/swagger-ui.test.mjs)
// Env:  VROOM_BIN  path of the vroom binary, relative paths taken from the repo root
//                  (default: target/debug/vroom)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
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

// Debian's Chromium: Playwright's own browser builds cannot be downloaded on these machines.
const CHROMIUM = '/usr/bin/chromium';
// Launch recipe and flags from spec/05-testing.md, checked on these machines: Playwright is
// told headless: false and Chromium gets --headless=new from us, so the mode does not depend
// on what Playwright's `headless: true` maps to for a browser it did not download.
// The user-data dir must not appear here: Playwright refuses it in `args`.
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox', // we run as root, where the sandbox cannot start
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
];

// The pages to check: the generic one and a FlipFlop-style alias.
const PAGES = [
  { path: '/open-api/swagger-ui/', screenshot: 'swagger-ui.png' },
  { path: '/open-api/en/swagger-ui/vicollo-app-server', screenshot: 'swagger-ui-vicollo-app-server.png' },
];
const EXPECTED_PATH = '/v2/apps/me/members';

const HARD_TIMEOUT_MS = 90_000; // the whole file, whatever hangs
const HEALTH_TIMEOUT_MS = 30_000;
const RENDER_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------------------------
// State shared by the hooks and the tests, and the cleanup that must run on every path out.

let server = null; // ChildProcess of vroom
let serverExited = null; // resolves with {code, signal} once vroom has exited
let spawnError = null; // set if vroom could not be started at all
let serverOutputTail = ''; // last few kB of vroom's output, quoted when start-up fails
let context = null; // Playwright BrowserContext (persistent: it *is* the browser)
let baseUrl = null;
const tempDirs = [];

function serverRunning() {
  return Boolean(server?.pid) && server.exitCode === null && server.signalCode === null;
}

// Synchronous last resort, usable from 'exit' handlers and the watchdog where nothing async
// can be awaited: make sure the server we started does not outlive us.
function killServerNow() {
  if (serverRunning()) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', killServerNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killServerNow();
    process.exit(128 + os.constants.signals[signal]);
  });
}

// A test that hangs (browser stuck, server never answering) must still end: after the hard
// timeout, kill what we started and exit non-zero. unref() so the timer alone never keeps
// the process alive once the tests are done.
const watchdog = setTimeout(() => {
  console.error(`swagger-ui.test: hard timeout of ${HARD_TIMEOUT_MS / 1000} s reached, aborting`);
  killServerNow();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  // Playwright kills the browser it launched from its own process 'exit' handler.
  process.exit(1);
}, HARD_TIMEOUT_MS);
watchdog.unref();

// ---------------------------------------------------------------------------------------------
// Helpers

// Ask the kernel for a free loopback port. Another process could take it before vroom binds
// it, but that race is rare on a test machine and fails loudly rather than silently.
function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function makeTempDir(prefix) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

// Poll /healthz until it answers 200. Fails fast if vroom exits instead of becoming ready,
// so a crash at start-up is reported as such and not as a 30 s timeout.
async function waitForHealthy(url, logPath) {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`cannot start ${VROOM_BIN}: ${spawnError.message}`);
    if (server.exitCode !== null || server.signalCode !== null) {
      throw new Error(
        `vroom exited during start-up (code ${server.exitCode}, signal ${server.signalCode}); ` +
          `full log in ${logPath}; it ends with:\n${serverOutputTail}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer(); // drain so the connection is released
      if (res.status === 200) return;
      lastError = `HTTP ${res.status}`;
    } catch (err) {
      lastError = err.cause?.code ?? err.message;
    }
    await sleep(200);
  }
  throw new Error(`${url} not healthy after ${HEALTH_TIMEOUT_MS / 1000} s (${lastError}); see ${logPath}`);
}

// Only the loopback server may be contacted. data:, blob: and about: URLs never touch the
// network, so they are not "requests to another host".
function isAllowedUrl(rawUrl) {
  const url = new URL(rawUrl);
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
  return url.hostname === '127.0.0.1';
}

// ---------------------------------------------------------------------------------------------
// Tests

describe('Swagger UI served by vroom', () => {
  before(async () => {
    assert.ok(
      existsSync(VROOM_BIN),
      `vroom binary not found at ${VROOM_BIN}: run \`cargo build\` first or set VROOM_BIN`,
    );
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} not found: run scripts/install-test-deps.sh`);

    await mkdir(OUT_DIR, { recursive: true });
    const dataDir = await makeTempDir('vroom-swagger-data-');
    const port = await freeLoopbackPort();
    baseUrl = `http://127.0.0.1:${port}`;

    // vroom's output goes to a file next to the screenshots: quiet on success, there to read
    // when something fails.
    const logPath = path.join(OUT_DIR, 'vroom-server.log');
    const log = createWriteStream(logPath);
    server = spawn(
      VROOM_BIN,
      ['serve', '--dev', '--bind', `127.0.0.1:${port}`, '--data-dir', dataDir],
      { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const onOutput = (chunk) => {
      log.write(chunk);
      serverOutputTail = (serverOutputTail + chunk).slice(-4_000);
    };
    server.stdout.on('data', onOutput);
    server.stderr.on('data', onOutput);
    server.on('close', () => log.end()); // after both pipes are drained
    serverExited = new Promise((resolve) => {
      server.on('exit', (code, signal) => resolve({ code, signal }));
    });
    // spawn reports an unexecutable binary asynchronously, through 'error' and not 'exit'.
    server.on('error', (err) => {
      spawnError = err;
    });

    await waitForHealthy(`${baseUrl}/healthz`, logPath);

    const profileDir = await makeTempDir('vroom-swagger-chromium-');
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: false,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
      timeout: 30_000,
    });
  });

  after(async () => {
    // Browser first (it may hold connections to the server), then the server: SIGTERM for a
    // clean shutdown of its database, SIGKILL if it does not stop within 5 s.
    if (context) {
      await context.close().catch(() => {});
    }
    if (serverRunning()) {
      process.kill(server.pid, 'SIGTERM');
      // ref: false so this grace timer does not hold the process open once vroom is gone.
      const stopped = await Promise.race([serverExited, sleep(5_000, null, { ref: false })]);
      if (!stopped) killServerNow();
    }
    for (const dir of tempDirs) {
      await rm(dir, { recursive: true, force: true });
    }
    clearTimeout(watchdog);
  });

  for (const target of PAGES) {
    it(`renders ${target.path} offline`, { timeout: 45_000 }, async () => {
      const page = await context.newPage();
      try {
        // Record and refuse anything that is not our loopback server. Routing is set on the
        // page before navigation so even the first subresource is covered.
        const blocked = [];
        await page.route('**/*', (route) => {
          const url = route.request().url();
          if (isAllowedUrl(url)) return route.continue();
          blocked.push(url);
          return route.abort('blockedbyclient');
        });
        // WebSocket connections are not routed by page.route; record them all the same.
        page.on('websocket', (ws) => {
          if (!isAllowedUrl(ws.url())) blocked.push(ws.url());
        });
        const pageErrors = [];
        page.on('pageerror', (err) => pageErrors.push(err.message));

        const response = await page.goto(baseUrl + target.path, { waitUntil: 'domcontentloaded' });
        assert.ok(response, `no response for ${target.path}`);
        assert.equal(response.status(), 200, `${target.path} answered HTTP ${response.status()}`);

        // Swagger UI builds the page in JavaScript after fetching the OpenAPI document, so
        // wait for what only a successful render produces: the title and an operation.
        try {
          await page.waitForSelector('.swagger-ui .info .title', { timeout: RENDER_TIMEOUT_MS });
          await page.waitForSelector('.swagger-ui .opblock', { timeout: RENDER_TIMEOUT_MS });
        } catch (err) {
          const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 1_000);
          throw new Error(
            `Swagger UI did not render ${target.path}: ${err.message}\n` +
              `page errors: ${JSON.stringify(pageErrors)}\nblocked: ${JSON.stringify(blocked)}\n` +
              `page text: ${body}`,
          );
        }

        const title = await page.locator('.swagger-ui .info .title').first().innerText();
        assert.match(title, /vroom/i, `API title is ${JSON.stringify(title)}`);

        // Swagger UI puts the raw path in data-path and inserts zero-width spaces into the
        // visible text (to allow line breaks), so read the attribute and clean the text.
        const paths = await page.$$eval('.swagger-ui .opblock .opblock-summary-path', (els) =>
          els.map(
            (el) =>
              el.getAttribute('data-path') ??
              el.querySelector('[data-path]')?.getAttribute('data-path') ??
              el.textContent.replace(/[\u200b\u200c\u200d\ufeff]/g, ''),
          ),
        );
        assert.ok(
          paths.some((p) => p.includes(EXPECTED_PATH)),
          `no operation path contains ${EXPECTED_PATH}; shown: ${JSON.stringify(paths.slice(0, 20))}`,
        );

        // The core claim: nothing outside loopback was needed (or even attempted). A common
        // culprit would be Swagger UI's default validator badge (validatorUrl) or a CDN link.
        assert.deepEqual(blocked, [], 'the page tried to reach hosts other than 127.0.0.1');

        const shot = path.join(OUT_DIR, target.screenshot);
        await page.screenshot({ path: shot });
        // A blank or error page compresses to a few kB; a rendered Swagger UI is far larger.
        const { size } = await stat(shot);
        assert.ok(size > 10_000, `screenshot ${shot} is only ${size} bytes`);
      } finally {
        await page.close().catch(() => {});
      }
    });
  }
});
