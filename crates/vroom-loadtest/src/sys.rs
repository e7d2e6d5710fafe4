//! What the load test reads from `/proc` (Linux; elsewhere these return `None`): CPU time
//! of this process and, with `--server-pid`, of the server; the server's resident memory;
//! and the kernel's UDP counters of the network namespace both run in.

use serde::Serialize;

/// utime + stime of a process, in microseconds.
pub fn cpu_micros(pid: Option<u32>) -> Option<u64> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name (field 2) may contain spaces and parentheses; fields after it are
    // fixed: utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / clock_ticks())
}

fn clock_ticks() -> u64 {
    // sysconf(_SC_CLK_TCK) is 100 on every Linux architecture in practice; reading it needs
    // libc, which this crate does not otherwise use.
    100
}

/// Resident set size of a process, in kB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The kernel's UDP counters (`/proc/net/snmp`, `Udp:` lines) for this network namespace.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct UdpCounters {
    pub in_datagrams: u64,
    pub out_datagrams: u64,
    /// Datagrams dropped on receive: socket buffer full, checksum or other errors.
    pub in_errors: u64,
    pub rcvbuf_errors: u64,
    pub sndbuf_errors: u64,
}

impl UdpCounters {
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/net/snmp").ok()?)
    }

    fn parse(snmp: &str) -> Option<Self> {
        let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
        let names: Vec<&str> = lines.next()?.split_whitespace().collect();
        let values: Vec<&str> = lines.next()?.split_whitespace().collect();
        let get = |name: &str| -> u64 {
            names.iter().position(|n| *n == name).and_then(|i| values.get(i)?.parse().ok()).unwrap_or(0)
        };
        Some(Self {
            in_datagrams: get("InDatagrams"),
            out_datagrams: get("OutDatagrams"),
            in_errors: get("InErrors"),
            rcvbuf_errors: get("RcvbufErrors"),
            sndbuf_errors: get("SndbufErrors"),
        })
    }

    /// Counts between `earlier` and `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            in_datagrams: self.in_datagrams.saturating_sub(earlier.in_datagrams),
            out_datagrams: self.out_datagrams.saturating_sub(earlier.out_datagrams),
            in_errors: self.in_errors.saturating_sub(earlier.in_errors),
            rcvbuf_errors: self.rcvbuf_errors.saturating_sub(earlier.rcvbuf_errors),
            sndbuf_errors: self.sndbuf_errors.saturating_sub(earlier.sndbuf_errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snmp_udp_lines() {
        let text = "Ip: Forwarding\nIp: 1\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\nUdp: 100 2 7 90 5 1 0 0 0\nUdpLite: InDatagrams\nUdpLite: 0\n";
        let c = UdpCounters::parse(text).unwrap();
        assert_eq!(
            c,
            UdpCounters { in_datagrams: 100, out_datagrams: 90, in_errors: 7, rcvbuf_errors: 5, sndbuf_errors: 1 }
        );
    }

    #[test]
    fn reads_own_cpu_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_micros(None).is_some());
            assert!(rss_kb(std::process::id()).is_some_and(|kb| kb > 0));
        }
    }
}
