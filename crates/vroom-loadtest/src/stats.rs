//! Subscriber-side measurements, cheap enough to run per packet: counts, loss from
//! sequence numbers (duplicates and retransmissions counted once), RFC 3550 interarrival
//! jitter, and one-way latency in a fixed log-linear histogram (no allocation per sample).

use serde::Serialize;

use crate::synth;

/// Sequence numbers remembered for de-duplication; older arrivals count as late.
const WINDOW: u64 = 1024;

/// Latency buckets: 50 µs wide up to 10 ms, 500 µs up to 100 ms, 10 ms up to 2 s.
const FINE: u64 = 200; // 0..10 ms
const MEDIUM: u64 = 180; // 10..100 ms
const COARSE: u64 = 190; // 100 ms..2 s
const BUCKETS: usize = (FINE + MEDIUM + COARSE + 1) as usize;

/// A histogram of microsecond values with bounded relative error.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Box<[u32; BUCKETS]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: Box::new([0; BUCKETS]), total: 0, max: 0 }
    }
}

impl Histogram {
    fn bucket(us: u64) -> usize {
        (match us {
            0..10_000 => us / 50,
            10_000..100_000 => FINE + (us - 10_000) / 500,
            100_000..2_000_000 => FINE + MEDIUM + (us - 100_000) / 10_000,
            _ => FINE + MEDIUM + COARSE,
        }) as usize
    }

    /// The upper bound of a bucket, in microseconds.
    fn upper(bucket: usize) -> u64 {
        let b = bucket as u64;
        if b < FINE {
            (b + 1) * 50
        } else if b < FINE + MEDIUM {
            10_000 + (b - FINE + 1) * 500
        } else {
            100_000 + (b - FINE - MEDIUM + 1) * 10_000
        }
    }

    pub fn record(&mut self, us: u64) {
        self.counts[Self::bucket(us)] += 1;
        self.total += 1;
        self.max = self.max.max(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (0..=1) in milliseconds, as a bucket's upper bound (capped at the
    /// largest sample), or `None` without samples.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let us = if i == BUCKETS - 1 { self.max } else { Self::upper(i).min(self.max) };
                return Some(us as f64 / 1000.0);
            }
        }
        Some(self.max as f64 / 1000.0)
    }
}

/// One received RTP stream.
#[derive(Debug, Clone)]
pub struct TrackStats {
    pub video: bool,
    pub packets: u64,
    pub bytes: u64,
    /// Distinct sequence numbers received (a retransmitted packet counts once).
    unique: u64,
    first_seq: Option<u64>,
    highest_seq: u64,
    seen: [u64; (WINDOW / 64) as usize],
    clock_rate: f64,
    /// RFC 3550 jitter, in RTP time units.
    jitter: f64,
    last_transit: Option<f64>,
    pub latency: Histogram,
}

impl TrackStats {
    pub fn new(video: bool) -> Self {
        Self {
            video,
            packets: 0,
            bytes: 0,
            unique: 0,
            first_seq: None,
            highest_seq: 0,
            seen: [0; (WINDOW / 64) as usize],
            clock_rate: if video { 90_000.0 } else { 48_000.0 },
            jitter: 0.0,
            last_transit: None,
            latency: Histogram::default(),
        }
    }

    /// Accounts one packet: `seq` is the extended sequence number, `rtp_time` the extended
    /// RTP timestamp, `arrival_us` microseconds since [`synth::epoch`], `marker` the RTP
    /// marker bit (the end of a frame, where the send-time trailer is).
    pub fn on_packet(&mut self, seq: u64, rtp_time: u64, arrival_us: u64, marker: bool, payload: &[u8]) {
        self.packets += 1;
        self.bytes += payload.len() as u64;
        let first = *self.first_seq.get_or_insert(seq);
        if seq < first {
            // Older than the first packet seen: only possible in a reordered start; ignore.
            return;
        }
        if seq > self.highest_seq || self.unique == 0 {
            // Forget the bits that slide out of the window.
            let advance = if self.unique == 0 { WINDOW } else { seq - self.highest_seq };
            if advance >= WINDOW {
                self.seen = [0; (WINDOW / 64) as usize];
            } else {
                for s in self.highest_seq + 1..=seq {
                    self.clear(s);
                }
            }
            self.highest_seq = seq;
        } else if self.highest_seq - seq >= WINDOW {
            return; // too late to tell whether it was a duplicate
        }
        if self.test_and_set(seq) {
            return; // a duplicate (retransmission of something we had)
        }
        self.unique += 1;
        // RFC 3550 §6.4.1 jitter on first copies only.
        let transit = arrival_us as f64 * self.clock_rate / 1e6 - rtp_time as f64;
        if let Some(last) = self.last_transit {
            self.jitter += ((transit - last).abs() - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
        if (marker || !self.video)
            && let Some(sent) = synth::read_trailer(payload)
        {
            self.latency.record(arrival_us.saturating_sub(sent));
        }
    }

    fn clear(&mut self, seq: u64) {
        let bit = seq % WINDOW;
        self.seen[(bit / 64) as usize] &= !(1 << (bit % 64));
    }

    fn test_and_set(&mut self, seq: u64) -> bool {
        let bit = seq % WINDOW;
        let word = &mut self.seen[(bit / 64) as usize];
        let mask = 1 << (bit % 64);
        let was = *word & mask != 0;
        *word |= mask;
        was
    }

    /// Packets the sender numbered from the first to the highest seen.
    pub fn expected(&self) -> u64 {
        self.first_seq.map_or(0, |f| self.highest_seq - f + 1)
    }

    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.unique)
    }

    pub fn jitter_ms(&self) -> f64 {
        self.jitter / self.clock_rate * 1000.0
    }
}

/// Totals over many tracks of one kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindTotals {
    pub tracks: u64,
    pub packets: u64,
    pub bytes: u64,
    pub expected: u64,
    pub lost: u64,
    pub loss_percent: f64,
    /// Mean over tracks of the RFC 3550 jitter at the end of the run.
    pub jitter_ms: f64,
    pub latency_samples: u64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p99_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    #[serde(skip)]
    latency: Histogram,
    #[serde(skip)]
    jitter_sum: f64,
}

impl KindTotals {
    pub fn add(&mut self, t: &TrackStats) {
        self.tracks += 1;
        self.packets += t.packets;
        self.bytes += t.bytes;
        self.expected += t.expected();
        self.lost += t.lost();
        self.jitter_sum += t.jitter_ms();
        self.latency.merge(&t.latency);
    }

    pub fn merge(&mut self, o: &KindTotals) {
        self.tracks += o.tracks;
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.expected += o.expected;
        self.lost += o.lost;
        self.jitter_sum += o.jitter_sum;
        self.latency.merge(&o.latency);
    }

    /// Computes the derived fields.
    pub fn finish(&mut self) {
        self.loss_percent = if self.expected > 0 { self.lost as f64 * 100.0 / self.expected as f64 } else { 0.0 };
        self.jitter_ms = if self.tracks > 0 { self.jitter_sum / self.tracks as f64 } else { 0.0 };
        self.latency_samples = self.latency.count();
        self.latency_p50_ms = self.latency.quantile_ms(0.5);
        self.latency_p99_ms = self.latency.quantile_ms(0.99);
        self.latency_max_ms = (self.latency.count() > 0).then(|| self.latency.max as f64 / 1000.0);
    }

    pub fn latency(&self) -> &Histogram {
        &self.latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_counts_gaps_not_duplicates() {
        let mut t = TrackStats::new(false);
        for seq in [10, 11, 13, 13, 14, 12, 17] {
            t.on_packet(seq, seq * 960, seq * 20_000, false, &[0; 20]);
        }
        assert_eq!(t.packets, 7);
        assert_eq!(t.expected(), 8);
        assert_eq!(t.lost(), 2, "15 and 16");
        // A jump beyond the window resets it without inventing duplicates.
        t.on_packet(5000, 0, 0, false, &[]);
        t.on_packet(17, 0, 0, false, &[]);
        assert_eq!(t.expected(), 4991);
    }

    #[test]
    fn steady_arrivals_have_no_jitter_and_latency_comes_from_trailers() {
        let mut t = TrackStats::new(true);
        let mut frame = vec![0u8; 30];
        for i in 0..100u64 {
            let sent = synth::epoch() + std::time::Duration::from_micros(i * 33_333);
            synth::Trailer::write(&mut frame, sent);
            t.on_packet(i, i * 3000, i * 33_333 + 1500, true, &frame);
        }
        assert!(t.jitter_ms() < 0.05, "{}", t.jitter_ms());
        let p50 = t.latency.quantile_ms(0.5).unwrap();
        assert!((1.45..=1.55).contains(&p50), "{p50}");
    }

    #[test]
    fn histogram_quantiles() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile_ms(0.5), None);
        for us in 1..=1000u64 {
            h.record(us * 100); // 0.1 .. 100 ms
        }
        let p50 = h.quantile_ms(0.5).unwrap();
        let p99 = h.quantile_ms(0.99).unwrap();
        assert!((49.0..=51.0).contains(&p50), "{p50}");
        assert!((98.0..=100.0).contains(&p99), "{p99}");
        h.record(5_000_000);
        assert_eq!(h.quantile_ms(1.0), Some(5000.0));
    }
}
