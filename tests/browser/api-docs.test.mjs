// The API docs served by `vroom serve` render in a real browser, offline: Swagger UI and the
// API reference (Redoc) in English and Korean, at desktop and phone width.
//
// The spec (02-platform-api.md, "Documentation endpoints") requires the API docs to be served by
// vroom itself with no CDN, so this test starts a real vroom server, opens its Swagger UI pages in
// Debian's Chromium and refuses every request that would leave 127.0.0.1. If the page still shows
// the API title and its operations, every asset it needed came from vroom.
//
// Run: node --test tests/browser/api-docs.test.mjs
// Env:  VROOM_BIN  path of the vroom binary, relative paths taken from the repo root
//                  (default: target/debug/vroom)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Harness, OUT_DIR } from './harness.mjs';

// The pages to check: the generic one and a FlipFlop-style alias.
const PAGES = [
  { path: '/open-api/swagger-ui/', screenshot: 'swagger-ui.png' },
  { path: '/open-api/en/swagger-ui/vicollo-app-server', screenshot: 'swagger-ui-vicollo-app-server.png' },
];
const EXPECTED_PATH = '/v2/apps/me/members';

const HARD_TIMEOUT_MS = 180_000; // the whole file, whatever hangs
const RENDER_TIMEOUT_MS = 20_000;

const h = new Harness('swagger');

// A test that hangs (browser stuck, server never answering) must still end: after the hard
// timeout, kill what we started and exit non-zero. unref() so the timer alone never keeps
// the process alive once the tests are done.
const watchdog = setTimeout(() => {
  console.error(`api-docs.test: hard timeout of ${HARD_TIMEOUT_MS / 1000} s reached, aborting`);
  h.killNow();
  process.exit(1);
}, HARD_TIMEOUT_MS);
watchdog.unref();
process.on('exit', () => h.killNow());

// Only the loopback server may be contacted. data:, blob: and about: URLs never touch the
// network, so they are not "requests to another host".
function isAllowedUrl(rawUrl) {
  const url = new URL(rawUrl);
  if (url.protocol === 'data:' || url.protocol === 'blob:' || url.protocol === 'about:') return true;
  return url.hostname === '127.0.0.1';
}

before(async () => {
  await h.start();
});

after(async () => {
  await h.stopAll();
  clearTimeout(watchdog);
});

/** A page that records (and refuses) every request to a host other than loopback. */
async function guardedPage(viewport) {
  const page = await h.context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const blocked = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (isAllowedUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  page.on('websocket', (ws) => {
    if (!isAllowedUrl(ws.url())) blocked.push(ws.url());
  });
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  return { page, blocked, pageErrors };
}

// The reference: each operation's summary in the page's language, and the error codes.
const REFERENCES = [
  { lang: 'en', name: 'ffc-app-server', expect: 'Upserts the member and issues its access and refresh tokens.' },
  { lang: 'ko', name: 'vicollo-app-server', expect: '멤버를 생성 또는 수정하고 액세스 토큰과 리프레시 토큰을 발급합니다.' },
];
const PHONE = { width: 390, height: 844 };

describe('API reference served by vroom', () => {
  for (const ref of REFERENCES) {
    for (const [label, viewport] of [['desktop', null], ['phone', PHONE]]) {
      it(`renders /open-api/${ref.lang}/docs/${ref.name} offline (${label})`, { timeout: 60_000 }, async () => {
        const { page, blocked, pageErrors } = await guardedPage(viewport);
        try {
          const url = `${h.base}/open-api/${ref.lang}/docs/${ref.name}`;
          const response = await page.goto(url, { waitUntil: 'domcontentloaded' });
          assert.equal(response.status(), 200);
          // The browser itself refuses any other host (Redoc would fetch its logo from a CDN).
          assert.match(response.headers()['content-security-policy'] ?? '', /default-src 'self'/);
          assert.equal(await page.getAttribute('html', 'lang'), ref.lang);
          try {
            // Each operation is a section headed by its summary, in the page's language.
            await page.getByRole('heading', { name: ref.expect }).first().waitFor({ timeout: RENDER_TIMEOUT_MS });
          } catch (err) {
            const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 1_000);
            throw new Error(`reference did not render: ${err.message}\nerrors: ${JSON.stringify(pageErrors)}\n${body}`);
          }
          // Error codes are part of the reference: each status lists its codes.
          assert.match(await page.locator('body').innerText(), /401\s*EMPTY_APP_CREDENTIALS, INVALID_APP_CREDENTIALS/);
          assert.deepEqual(blocked, [], 'the page tried to reach hosts other than 127.0.0.1');
          // Keyboard: Tab reaches a link or button (the navigation is usable without a mouse).
          await page.keyboard.press('Tab');
          const focused = await page.evaluate(() => document.activeElement?.tagName ?? '');
          assert.ok(['A', 'BUTTON', 'INPUT', 'LI', 'LABEL'].includes(focused), `Tab focused ${focused}`);
          if (viewport) {
            const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
            assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone`);
          }
          const shot = path.join(OUT_DIR, `api-reference-${ref.lang}-${label}.png`);
          await page.screenshot({ path: shot });
          const { size } = await stat(shot);
          assert.ok(size > 10_000, `screenshot ${shot} is only ${size} bytes`);
        } finally {
          await page.close().catch(() => {});
        }
      });
    }
  }
});

describe('Swagger UI served by vroom', () => {
  for (const target of PAGES) {
    it(`renders ${target.path} offline`, { timeout: 45_000 }, async () => {
      const { page, blocked, pageErrors } = await guardedPage(null);
      try {
        const response = await page.goto(h.base + target.path, { waitUntil: 'domcontentloaded' });
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
