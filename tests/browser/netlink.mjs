// A network of the test's own for the media tests that need a bad link: vroom runs in a
// network namespace of its own, joined to the test's namespace by a veth pair
// (HOST_IP ↔ SERVER_IP). What vroom sends can be shaped (`tc tbf`) and packets to or from
// given UDP ports of the browser can be dropped at random (nftables `numgen random`: this
// kernel has no netem), all inside vroom's namespace, so nothing outside the test changes.
//
// Needs root. The namespace is held by a `sleep` that `close` kills (by PID); the veth pair
// and the nftables table live in that namespace and go with it.

import { execFileSync, spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { until } from './harness.mjs';

export const HOST_IP = '10.77.0.1';
export const SERVER_IP = '10.77.0.2';
const NFT = '/usr/sbin/nft';
const TABLE = 'vloss';

function run(cmd, ...args) {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The veth pair, vroom's namespace, and the shaping and loss applied in it. */
export class Link {
  /** `prefix`: the start of the host-side device name (at most 5 characters). */
  constructor(prefix = 'vbw') {
    this.prefix = prefix;
    this.holder = null;
    this.pid = null;
  }

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
    this.dev = `${this.prefix}${process.pid % 100000}`;
    this.peerDev = `${this.dev}s`;
    run('ip', 'link', 'add', this.dev, 'type', 'veth', 'peer', 'name', this.peerDev);
    run('ip', 'link', 'set', this.peerDev, 'netns', String(pid));
    run('ip', 'addr', 'add', `${HOST_IP}/24`, 'dev', this.dev);
    run('ip', 'link', 'set', this.dev, 'up');
    this.inServer('ip', 'link', 'set', 'lo', 'up');
    this.inServer('ip', 'addr', 'add', `${SERVER_IP}/24`, 'dev', this.peerDev);
    this.inServer('ip', 'link', 'set', this.peerDev, 'up');
  }

  /** Where `Harness.start({ server })` should run vroom. */
  get server() {
    return { ip: SERVER_IP, netnsPid: this.pid };
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

  /**
   * Drops `percent` % of the UDP packets, chosen at random, that the server sends to the
   * browser ports `to` and receives from the browser ports `from` (either may be empty).
   * Replaces any loss set before; `percent` 0 removes it.
   */
  loss(percent, { to = [], from = [] } = {}) {
    this.noLoss();
    if (!percent || (to.length === 0 && from.length === 0)) return;
    const set = (ports) => `{ ${ports.join(', ')} }`;
    // `numgen random mod 100` is 0..99: `< 100` is out of its range, so all is a plain drop.
    const pick = percent >= 100 ? '' : `numgen random mod 100 < ${percent} `;
    const lines = [
      `table inet ${TABLE} {`,
      '  chain out { type filter hook output priority 0; policy accept; }',
      '  chain in { type filter hook input priority 0; policy accept; }',
      '}',
    ];
    if (to.length) lines.push(`add rule inet ${TABLE} out ip daddr ${HOST_IP} udp dport ${set(to)} ${pick}counter drop`);
    if (from.length) lines.push(`add rule inet ${TABLE} in ip saddr ${HOST_IP} udp sport ${set(from)} ${pick}counter drop`);
    try {
      execFileSync('nsenter', ['-t', String(this.pid), '-n', '--', NFT, '-f', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    } catch (e) {
      throw new Error(`nft: ${e.stderr?.toString().trim()}`);
    }
  }

  /** Removes the loss table (if any). */
  noLoss() {
    try {
      this.inServer(NFT, 'delete', 'table', 'inet', TABLE);
    } catch {
      // no table: nothing to remove
    }
  }

  /** Packets the loss rules dropped so far: `{ out, in }` (0 without rules). */
  dropped() {
    const out = { out: 0, in: 0 };
    try {
      const text = execFileSync('nsenter', ['-t', String(this.pid), '-n', '--', NFT, 'list', 'table', 'inet', TABLE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      let chain = null;
      for (const line of text.split('\n')) {
        const c = line.match(/chain (out|in) /);
        if (c) chain = c[1];
        const m = line.match(/counter packets (\d+)/);
        if (m && chain) out[chain] += Number(m[1]);
      }
    } catch {
      // no table
    }
    return out;
  }

  /** The namespace goes with its last process, and the veth pair and nftables table with it. */
  close() {
    if (this.holder?.exitCode === null && this.holder.signalCode === null) this.holder.kill('SIGKILL');
  }
}

/**
 * The browser's local UDP port of the connection carrying `sender` or `receiver` (an
 * RTCRtpSender/RTCRtpReceiver expression evaluated in the page, e.g. a subscribed track's
 * `receiver`): from the selected candidate pair in its stats.
 */
export function localPortOf(page, which) {
  return page.evaluate(async (which) => {
    const t = window.t;
    let target;
    if (which === 'subscriber') target = t.subscribed.find((s) => s.kind === 'video' && s.track.receiver)?.track.receiver;
    else {
      for (const pub of t.room.localParticipant.trackPublications.values()) {
        if (pub.track?.sender) target = pub.track.sender;
      }
    }
    if (!target) return null;
    const stats = await target.getStats();
    let pairId = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    if (!pairId) {
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId = s.id;
      });
    }
    const pair = pairId && stats.get(pairId);
    const local = pair && stats.get(pair.localCandidateId);
    return local?.port ?? null;
  }, which);
}
