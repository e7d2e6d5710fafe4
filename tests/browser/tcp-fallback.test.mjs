// ICE over TCP: when UDP is blocked, browsers reach vroom's media worker over TCP (its
// passive TCP candidate on the worker's port number, RFC 4571 framing) and media flows.
//
// For each client version: every UDP packet in this test's network namespace is dropped
// (nftables, output hook), alice publishes her camera and bob subscribes; bob decodes
// alice's video smoothly (harness `assertSmoothVideo`) and both pages' selected ICE
// candidate pairs are TCP. The rule is removed afterwards (and the namespace, which
// scripts/test.sh creates for the whole suite, takes everything with it at the end).
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Needs root (nftables): `unshare -n sh -c 'ip link set lo up && node --test tests/browser/tcp-fallback.test.mjs'`.
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { CLIENTS, Harness, assertSmoothVideo, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 240_000;
const NFT = '/usr/sbin/nft';
const TABLE = 'vnoudp';

const h = new Harness('tcp-fallback');
h.armWatchdog(HARD_TIMEOUT_MS);

function nft(script) {
  execFileSync(NFT, ['-f', '-'], { input: `${script}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
}

function allowUdp() {
  try {
    nft(`delete table inet ${TABLE}`);
  } catch {
    // Not there: nothing to remove.
  }
}

function blockUdp() {
  allowUdp();
  nft(`table inet ${TABLE} {\n  chain out { type filter hook output priority 0; meta l4proto udp drop; }\n}`);
}

/** The transports of the selected candidate pairs under `page`'s received and sent tracks. */
function selectedProtocols(page) {
  return page.evaluate(async () => {
    const { room } = window.t;
    const rtp = [
      ...window.t.subscribed.map(({ track }) => track.receiver),
      ...[...room.localParticipant.trackPublications.values()].map((p) => p.track?.sender),
    ].filter(Boolean);
    const protocols = [];
    for (const r of rtp) {
      const stats = await r.getStats();
      for (const s of stats.values()) {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) continue;
        const pair = stats.get(s.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        if (local) protocols.push(local.protocol);
      }
    }
    return protocols;
  });
}

describe('ICE over TCP when UDP is blocked', () => {
  before(async () => {
    await h.start();
    blockUdp();
  });
  after(async () => {
    allowUdp();
    await h.stopAll();
  });
  afterEach(() => h.assertClean());

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    const version = pkg.replace('livekit-client-', '');
    const ids = { alice: `tcp-alice-${version}`, bob: `tcp-bob-${version}` };

    it(`${pkg}: media flows over TCP`, { timeout: 120_000 }, async () => {
      const pages = {};
      try {
        await h.joinRoom(pkg, ids, `tcp ${version}`, pages);
        await pages.alice.evaluate(() => window.t.room.localParticipant.setCameraEnabled(true));
        await until("bob subscribes to alice's camera", () => pages.bob.evaluate(() => window.t.subscribed.length > 0), 60_000);
        await assertSmoothVideo(pages.bob, `[${version}] bob over TCP`, { from: ids.alice, publisher: pages.alice });
        for (const who of Object.keys(ids)) {
          const protocols = await selectedProtocols(pages[who]);
          assert.ok(protocols.length > 0 && protocols.every((p) => p === 'tcp'), `${who}'s selected pairs: ${protocols}`);
        }
      } finally {
        for (const page of Object.values(pages)) {
          await page.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await page.close().catch(() => {});
        }
      }
    });
  }
});
