// A participant changes its own name, metadata and attributes (livekit-client's `setName`,
// `setMetadata`, `setAttributes`: the signalling `UpdateParticipantMetadata`), and the room
// sees it; vroom's member fields in the metadata cannot be changed that way.
//
// For each client version, alice and bob join one room with tokens from the member API
// (which grant `canUpdateOwnMetadata`). Then:
//   1. alice renames herself, sets an attribute and adds a field to her metadata: each call
//      resolves, and bob sees all three on his remote alice (name, attributes, metadata);
//   2. alice tries metadata without her `memberId`: the call is refused (the promise
//      rejects with vroom's reason) and bob still sees the metadata of step 1.
// Any uncaught page error, console error or SDK reconnect fails the test (harness.mjs).
//
// Run it inside a loopback-only network namespace (scripts/test.sh does):
//   unshare -n sh -c 'ip link set lo up && node --test tests/browser/metadata.test.mjs'
// Env: VROOM_BIN  path of the vroom binary (default target/debug/vroom, from the repo root).
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENTS, Harness, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 180_000;

const h = new Harness('metadata');
h.armWatchdog(HARD_TIMEOUT_MS);

/** What `page` sees of the participant `identity` (remote, or itself). */
function seen(page, identity) {
  return page.evaluate((identity) => {
    const { room } = window.t;
    const p =
      room.localParticipant.identity === identity
        ? room.localParticipant
        : [...room.remoteParticipants.values()].find((r) => r.identity === identity);
    return p ? { name: p.name, metadata: p.metadata, attributes: { ...p.attributes } } : null;
  }, identity);
}

describe('participants updating their own metadata through vroom', () => {
  before(() => h.start());
  after(() => h.stopAll());
  afterEach(() => h.assertClean());

  for (const pkg of [CLIENTS.old, CLIENTS.newest]) {
    const version = pkg.replace('livekit-client-', '');
    const ids = { alice: `meta-alice-${version}`, bob: `meta-bob-${version}` };

    it(`${pkg}: name, attributes and metadata reach the room; member fields stay`, { timeout: 90_000 }, async () => {
      const pages = {};
      try {
        await h.joinRoom(pkg, ids, `meta ${version}`, pages);
        await until('bob sees alice', async () => (await seen(pages.bob, ids.alice)) !== null);
        const before = await seen(pages.alice, ids.alice);
        const member = JSON.parse(before.metadata);
        assert.ok(member.memberId, `vroom's member JSON in alice's metadata: ${before.metadata}`);

        // 1. Name, an attribute and an extra metadata field.
        const extended = JSON.stringify({ ...member, hand: 'up' });
        const done = await pages.alice.evaluate(async (extended) => {
          const lp = window.t.room.localParticipant;
          await lp.setName('Alice Renamed');
          await lp.setAttributes({ seat: 'A7' });
          await lp.setMetadata(extended);
          return { name: lp.name, metadata: lp.metadata, seat: lp.attributes.seat };
        }, extended);
        assert.deepEqual(done, { name: 'Alice Renamed', metadata: extended, seat: 'A7' });
        await until('bob sees alice renamed, seated and with her hand up', async () => {
          const s = await seen(pages.bob, ids.alice);
          return s.name === 'Alice Renamed' && s.attributes.seat === 'A7' && s.metadata === extended;
        });

        // 2. Metadata without the member fields is refused; nothing changes.
        const refused = await pages.alice.evaluate(async () => {
          try {
            await window.t.room.localParticipant.setMetadata(JSON.stringify({ hand: 'down' }));
            return null;
          } catch (e) {
            return String(e?.message ?? e);
          }
        });
        assert.ok(refused && /memberId|fields/.test(refused), `setMetadata without memberId must be refused: ${refused}`);
        await new Promise((r) => setTimeout(r, 500));
        assert.equal((await seen(pages.bob, ids.alice)).metadata, extended, 'bob still sees the accepted metadata');
        assert.equal((await seen(pages.alice, ids.alice)).metadata, extended, 'alice keeps it too');
      } finally {
        for (const page of Object.values(pages)) {
          await page.evaluate(() => window.t.room.disconnect()).catch(() => {});
          await page.close().catch(() => {});
        }
      }
    });
  }
});
