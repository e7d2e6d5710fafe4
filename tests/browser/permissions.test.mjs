// A publisher decides who may subscribe to its tracks (livekit-client's
// `setTrackSubscriptionPermissions`), and vroom enforces it.
//
// For each client version, alice publishes her camera; bob and carol subscribe automatically
// and decode frames smoothly (no freeze, ≥ MIN_FPS over a settled window: harness
// `assertSmoothVideo`).
// Then:
//   1. alice allows only carol: bob is told his permission was withdrawn
//      (TrackSubscriptionPermissionChanged, not allowed) and loses the track
//      (TrackUnsubscribed), while carol keeps decoding frames;
//   2. alice allows everyone again: bob is told, gets the track back (TrackSubscribed) and
//      decodes frames from it at the same rate.
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Run it inside a loopback-only network namespace (scripts/test.sh does):
//   unshare -n sh -c 'ip link set lo up && node --test tests/browser/permissions.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENTS, Harness, assertSmoothVideo, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 240_000;

const h = new Harness('permissions');
h.armWatchdog(HARD_TIMEOUT_MS);

// In the page: record permission changes and unsubscriptions of remote tracks on `window.t`.
function instrument(page) {
  return page.evaluate(() => {
    const { room, LK } = window.t;
    Object.assign(window.t, { permissions: [], unsubscribed: [] });
    room.on(LK.RoomEvent.TrackSubscriptionPermissionChanged, (publication, status, participant) => {
      window.t.permissions.push({ track: publication.trackSid, status, from: participant.identity });
    });
    room.on(LK.RoomEvent.TrackUnsubscribed, (track, publication, participant) => {
      window.t.unsubscribed.push({ track: publication.trackSid, kind: track.kind, from: participant.identity });
    });
  });
}

/** Asserts that `page` decodes alice's camera smoothly (harness `assertSmoothVideo`; `alicePage` publishes it). */
const framesGrow = (page, who, alice, alicePage) => assertSmoothVideo(page, who, { from: alice, publisher: alicePage });

describe('subscription permissions through vroom', () => {
  before(() => h.start());
  after(() => h.stopAll());
  // Uncaught page errors, console errors and SDK reconnects fail the test (see harness.mjs).
  afterEach(() => h.assertClean());

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    const version = pkg.replace('livekit-client-', '');
    const ids = { alice: `perm-alice-${version}`, bob: `perm-bob-${version}`, carol: `perm-carol-${version}` };

    it(`${pkg}: only allowed participants receive a track`, { timeout: 120_000 }, async () => {
      const pages = {};
      try {
        await h.joinRoom(pkg, ids, `perm ${version}`, pages, (_, page) => instrument(page));
        const cam = await pages.alice.evaluate(async () => {
          const pub = await window.t.room.localParticipant.setCameraEnabled(true);
          return pub.trackSid;
        });
        for (const who of ['bob', 'carol']) {
          await until(`${who} subscribes to alice's camera`, () => pages[who].evaluate(() => window.t.subscribed.length > 0));
        }
        await Promise.all(['bob', 'carol'].map((who) => framesGrow(pages[who], `[${version}] ${who}`, ids.alice, pages.alice)));

        // 1. Only carol may subscribe.
        await pages.alice.evaluate((carol) => {
          window.t.room.localParticipant.setTrackSubscriptionPermissions(false, [{ participantIdentity: carol, allowAll: true }]);
        }, ids.carol);
        await until('bob loses the camera', () => pages.bob.evaluate(() => window.t.unsubscribed.length > 0));
        assert.deepEqual(await pages.bob.evaluate(() => window.t.unsubscribed), [{ track: cam, kind: 'video', from: ids.alice }]);
        await until('bob is told he may not subscribe', () => pages.bob.evaluate(() => window.t.permissions.length > 0));
        assert.deepEqual(await pages.bob.evaluate(() => window.t.permissions), [{ track: cam, status: 'not_allowed', from: ids.alice }]);
        await framesGrow(pages.carol, `[${version}] carol (still allowed)`, ids.alice, pages.alice);
        assert.deepEqual(await pages.carol.evaluate(() => window.t.unsubscribed), [], 'carol keeps the camera');

        // 2. Everyone may subscribe again.
        await pages.alice.evaluate(() => window.t.room.localParticipant.setTrackSubscriptionPermissions(true));
        await until('bob is told he may subscribe', () => pages.bob.evaluate(() => window.t.permissions.length > 1));
        assert.deepEqual((await pages.bob.evaluate(() => window.t.permissions))[1], { track: cam, status: 'allowed', from: ids.alice });
        await until('bob subscribes again', () => pages.bob.evaluate(() => window.t.subscribed.length > 1));
        await framesGrow(pages.bob, `[${version}] bob (allowed again)`, ids.alice, pages.alice);
      } finally {
        for (const page of Object.values(pages)) {
          await page.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await page.close().catch(() => {});
        }
      }
    });
  }
});
