// A subscriber behind a slow link gets the simulcast layer its link carries, chosen from the
// server's bandwidth estimate (transport-wide congestion control on its connection), and
// climbs to the best layer when the link opens up.
//
// vroom runs in a network namespace of its own, joined to the test's by a veth pair; the
// server side of the pair is shaped with `tc tbf`, which limits everything vroom sends (what
// the publisher sends it is not limited). For each client version, alice publishes the fake
// camera at 1280×720 with simulcast (180p, 360p, 720p) and bob subscribes:
//   1. with the link at SLOW_KBIT, bob must settle below the 720p layer and keep decoding;
//   2. with the link unshaped, bob must reach the 720p layer;
//   3. shaped again, bob must fall below 720p and keep decoding.
//
// Run it as root inside a network namespace of its own (scripts/test.sh does): it creates the
// server's namespace (held by a `sleep` it kills at the end) and the veth pair inside it.
// Everything started here is killed by PID; a watchdog ends the file after HARD_TIMEOUT_MS.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENTS, Harness, until } from './harness.mjs';

const HARD_TIMEOUT_MS = 360_000;
/** The slow link: between what the 360p and the 720p layers of the fake camera need. */
const SLOW_KBIT = 600;
/** Samples (one a second) at the end of the slow phase that must all be below 720p. */
const SETTLED_SAMPLES = 8;
const HOST_IP = '10.77.0.1';
const SERVER_IP = '10.77.0.2';

/** A veth pair between this namespace and a new one for the server, shaped on the server side. */
class Link {
  async create() {
    this.holder = spawn('unshare', ['-n', 'sleep', '3600'], { stdio: 'ignore' });
    const pid = this.holder.pid;
    const own = readlinkSync('/proc/self/ns/net');
    await until('the server namespace', () => {
      try {
        return readlinkSync(`/proc/${pid}/ns/net`) !== own;
      } catch {
        return false;
      }
    });
    this.pid = pid;
    this.dev = `vbw${process.pid % 100000}`;
    this.peerDev = `${this.dev}s`;
    run('ip', 'link', 'add', this.dev, 'type', 'veth', 'peer', 'name', this.peerDev);
    run('ip', 'link', 'set', this.peerDev, 'netns', String(pid));
    run('ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', this.dev);
    run('ip', 'link', 'set', this.dev, 'up');
    this.inServer('ip', 'link', 'set', 'lo', 'up');
    this.inServer('ip', 'addr', 'add', `${SERVER_IP}/24`, 'dev', this.peerDev);
    this.inServer('ip', 'link', 'set', this.peerDev, 'up');
  }

  inServer(...cmd) {
    run('nsenter', '-t', String(this.pid), '-n', '--', ...cmd);
  }

  /** Limits what the server sends to `kbit` kbit/s, queueing at most 100 ms. */
  shape(kbit) {
    this.inServer('tc', 'qdisc', 'replace', 'dev', this.peerDev, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '16kb', 'latency', '100ms');
  }

  unshape() {
    // Back to the default qdisc; `replace` works whether or not the link is shaped.
    this.inServer('tc', 'qdisc', 'replace', 'dev', this.peerDev, 'root', 'pfifo_fast');
  }

  /** The namespace goes with its last process, and the veth pair with it. */
  close() {
    if (this.holder?.exitCode === null) this.holder.kill('SIGKILL');
  }
}

function run(cmd, ...args) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const link = new Link();
const h = new Harness('bandwidth');

h.armWatchdog(HARD_TIMEOUT_MS);
process.on('exit', () => link.close());

/** Bob's received video: frames decoded, the current frame width, packets lost. */
function video(page) {
  return page.evaluate(async () => {
    const out = { frames: 0, width: 0, lost: 0 };
    for (const { kind, track } of window.t.subscribed) {
      if (kind !== 'video' || !track.receiver) continue;
      (await track.receiver.getStats()).forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        out.frames += s.framesDecoded ?? 0;
        out.width = Math.max(out.width, s.frameWidth ?? 0);
        out.lost += s.packetsLost ?? 0;
      });
    }
    return out;
  });
}

/** Samples bob's video once a second for `seconds`; returns the samples. */
async function watch(page, seconds, label) {
  const samples = [];
  for (let i = 0; i < seconds; i += 1) {
    await sleep(1000);
    samples.push(await video(page));
  }
  console.log(`${label}: widths ${samples.map((s) => s.width).join(' ')}; frames ${samples[0].frames}→${samples.at(-1).frames}; lost ${samples.at(-1).lost}`);
  return samples;
}

describe('simulcast layers follow the bandwidth estimate over a shaped link', () => {
  before(async () => {
    await link.create();
    await h.start({ server: { ip: SERVER_IP, netnsPid: link.pid } });
  });

  after(async () => {
    await h.stopAll();
    link.close();
  });

  for (const pkg of [CLIENTS.old, CLIENTS.newest].filter((p) => !process.env.BW_ONLY || p.includes(process.env.BW_ONLY))) {
    it(`${pkg}: slow link → below 720p, open link → 720p, slow again → below 720p`, { timeout: 160_000 }, async () => {
      const tag = pkg.replace(/[^0-9]/g, '');
      const alice = await h.login(`bw-alice-${tag}`, 'Alice');
      const bob = await h.login(`bw-bob-${tag}`, 'Bob');
      const room = await h.api('POST', '/v2/members/me/video-rooms', { bearer: alice.accessToken, body: { title: 'bandwidth' } });
      const creds = (who) => h.api('POST', `/v2/members/me/video-rooms/${room.id}/web-rtc-tokens`, { bearer: who.accessToken });
      link.shape(SLOW_KBIT);
      const pageA = await h.joinPage(pkg, await creds(alice), 'alice');
      await pageA.evaluate(async () => {
        await window.t.room.localParticipant.setCameraEnabled(true, { resolution: { width: 1280, height: 720, frameRate: 30 } });
      });
      const pageB = await h.joinPage(pkg, await creds(bob), 'bob');
      try {
        await until('bob decodes alice', async () => (await video(pageB)).frames > 0);

        // 1. Slow link. While alice's encoder ramps up, even her 720p layer is cheap enough
        // for the link; once it is not, bob must be below 720p, stay there and keep decoding.
        const slow = (await watch(pageB, 20, `${pkg} slow`)).slice(-SETTLED_SAMPLES);
        assert.ok(slow.every((s) => s.width > 0 && s.width < 1280), `720p kept over a ${SLOW_KBIT} kbit/s link: ${slow.map((s) => s.width)}`);
        assert.ok(slow.at(-1).frames > slow[0].frames, 'video decodes over the slow link');

        // 2. Open link: 720p.
        link.unshape();
        await until('bob reaches 720p on the open link', async () => (await video(pageB)).width === 1280, 60_000);
        await watch(pageB, 3, `${pkg} open`);

        // 3. Slow again: back below 720p, still decoding.
        link.shape(SLOW_KBIT);
        await until('bob falls below 720p on the slow link', async () => (await video(pageB)).width < 1280, 45_000);
        const again = await watch(pageB, 5, `${pkg} slow again`);
        assert.ok(again.at(-1).frames > again[0].frames, 'video decodes after falling back');
      } finally {
        link.unshape();
        await pageA.close();
        await pageB.close();
      }
    });
  }
});
