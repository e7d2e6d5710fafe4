//! Batched UDP I/O for the media workers: many datagrams per system call in both directions.
//!
//! - [`RecvBatch`] reads up to [`RECV_SLOTS`] waiting datagrams with one `recvmmsg` into buffers
//!   allocated once; [`PollSet`] waits for the first (or an ICE-TCP connection) with a timeout (`ppoll`).
//! - [`SendQueue`] copies outgoing datagrams into a fixed pool of [`SEND_SLOTS`] slots and sends
//!   them with `sendmmsg` when it is full or flushed; the worker flushes it after every step
//!   (receive batch, timeouts, command), so nothing waits past the current loop turn.
//!
//! Why `libc` directly and not `quinn-udp` or `nix`: quinn-udp batches receives with
//! `recvmmsg`, but its send side takes one destination per call (its batching is GSO: segments
//! of one buffer to one peer), while an SFU's sends fan out to many peers, which is what
//! `sendmmsg` is for. nix would be one more dependency for two calls; libc is already in the
//! tree (std, tokio and socket2 use it), and the unsafe code stays in this one small module.
//!
//! Linux only for the batched calls; elsewhere the same types fall back to one `recv_from` /
//! `send_to` per datagram (that fallback is also tested on Linux).

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::time::Duration;

use tracing::debug;

/// Size of a buffer slot, receive or send: WebRTC keeps its datagrams under the MTU.
pub const SLOT: usize = 2048;
/// Datagrams read per `recvmmsg`.
pub const RECV_SLOTS: usize = 32;
/// Datagrams queued before a flush is forced (and sent per `sendmmsg`).
pub const SEND_SLOTS: usize = 64;

/// [`PollSet::wait`] for the socket alone.
#[cfg(any(test, not(target_os = "linux")))]
pub fn wait_readable(socket: &UdpSocket, timeout: Duration) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut set = PollSet::default();
    set.set(std::iter::once(socket.as_raw_fd()));
    set.wait(timeout)
}

/// The descriptors a worker waits on (its UDP socket first, then its ICE-TCP ones), kept
/// between waits so the loop does not allocate.
#[derive(Default)]
pub struct PollSet {
    fds: Vec<libc::pollfd>,
}

impl PollSet {
    /// Replaces the descriptors to wait on.
    pub fn set(&mut self, fds: impl Iterator<Item = std::os::fd::RawFd>) {
        self.fds.clear();
        self.fds.extend(fds.map(|fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }));
    }

    /// Whether a descriptor from `index` on had something to read at the last wait.
    pub fn ready_from(&self, index: usize) -> bool {
        self.fds.iter().skip(index).any(|p| p.revents != 0)
    }

    /// Waits until one of the descriptors has something to read or `timeout` has passed:
    /// whether one has. An interrupted wait (a signal) counts as nothing to read.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        for p in &mut self.fds {
            p.revents = 0;
        }
        let (fds, count) = (self.fds.as_mut_ptr(), self.fds.len() as libc::nfds_t);
        #[cfg(target_os = "linux")]
        let n = {
            let ts = libc::timespec {
                tv_sec: timeout.as_secs().min(i32::MAX as u64) as libc::time_t,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            // SAFETY: `count` valid pollfds, a valid timespec, no signal mask.
            unsafe { libc::ppoll(fds, count, &ts, std::ptr::null()) }
        };
        #[cfg(not(target_os = "linux"))]
        let n = {
            // poll counts milliseconds: round up, so a short wait does not become a busy loop.
            let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
            // SAFETY: `count` valid pollfds.
            unsafe { libc::poll(fds, count, ms) }
        };
        match n {
            n if n > 0 => Ok(true),
            0 => Ok(false),
            _ => match io::Error::last_os_error() {
                e if e.kind() == ErrorKind::Interrupted => Ok(false),
                e => Err(e),
            },
        }
    }
}

/// Buffers for one batch of received datagrams, allocated once.
pub struct RecvBatch {
    bufs: Box<[u8]>,
    lens: [usize; RECV_SLOTS],
    /// `None` for an address of a family other than IPv4/IPv6 (never seen on a UDP socket).
    sources: [Option<SocketAddr>; RECV_SLOTS],
    count: usize,
}

impl Default for RecvBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl RecvBatch {
    pub fn new() -> Self {
        RecvBatch {
            bufs: vec![0; RECV_SLOTS * SLOT].into_boxed_slice(),
            lens: [0; RECV_SLOTS],
            sources: [None; RECV_SLOTS],
            count: 0,
        }
    }

    /// Reads the datagrams waiting on the socket, up to [`RECV_SLOTS`], without blocking: how
    /// many were read (`WouldBlock` when none was waiting). A datagram longer than [`SLOT`] is
    /// cut to its first `SLOT` bytes, as `recv_from` does. The previous batch is forgotten.
    pub fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        self.count = 0;
        #[cfg(target_os = "linux")]
        let n = mmsg::recv(socket, self)?;
        #[cfg(not(target_os = "linux"))]
        let n = portable::recv(socket, self)?;
        self.count = n;
        Ok(n)
    }

    /// The datagrams of the last [`Self::recv`], in arrival order, with their sources.
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        (0..self.count).filter_map(|i| Some((self.sources[i]?, &self.bufs[i * SLOT..][..self.lens[i]])))
    }
}

/// Outgoing datagrams waiting for one `sendmmsg`: a fixed pool of slots, copied into, so queuing
/// allocates nothing.
pub struct SendQueue {
    data: Box<[u8]>,
    lens: [usize; SEND_SLOTS],
    dests: [SocketAddr; SEND_SLOTS],
    len: usize,
}

impl Default for SendQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl SendQueue {
    pub fn new() -> Self {
        SendQueue {
            data: vec![0; SEND_SLOTS * SLOT].into_boxed_slice(),
            lens: [0; SEND_SLOTS],
            dests: [SocketAddr::from(([0, 0, 0, 0], 0)); SEND_SLOTS],
            len: 0,
        }
    }

    /// Datagrams queued and not yet sent.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a datagram for `to`, flushing the queue first when it is full. A datagram larger
    /// than a slot (WebRTC stays under the MTU, so this is a corner case) is sent at once,
    /// after what is queued, so datagrams leave in the order given. `on_sent` is called with
    /// every datagram the kernel accepts; the result is how many were dropped.
    pub fn send(&mut self, socket: &UdpSocket, to: SocketAddr, data: &[u8], mut on_sent: impl FnMut(&[u8])) -> usize {
        let mut dropped = 0;
        if self.len == SEND_SLOTS || data.len() > SLOT {
            dropped += self.flush(socket, &mut on_sent);
        }
        if data.len() > SLOT {
            match socket.send_to(data, to) {
                Ok(_) => on_sent(data),
                Err(e) => {
                    debug!(%to, error = %e, "UDP send failed");
                    dropped += 1;
                }
            }
            return dropped;
        }
        let i = self.len;
        self.data[i * SLOT..][..data.len()].copy_from_slice(data);
        self.lens[i] = data.len();
        self.dests[i] = to;
        self.len += 1;
        dropped
    }

    /// Sends everything queued (`sendmmsg`, [`SEND_SLOTS`] per call) and empties the queue.
    /// `on_sent` is called, in order, with each datagram the kernel accepted; the result is how
    /// many were dropped: a datagram the kernel refused (its error is logged and the rest go
    /// on), or the rest of the queue when the kernel has no room (`EAGAIN`, `ENOBUFS`).
    pub fn flush(&mut self, socket: &UdpSocket, on_sent: impl FnMut(&[u8])) -> usize {
        #[cfg(target_os = "linux")]
        let send = |queue: &Self, range: Range<usize>| mmsg::send(socket, queue, range);
        #[cfg(not(target_os = "linux"))]
        let send = |queue: &Self, range: Range<usize>| portable::send(socket, queue, range);
        self.drain(send, on_sent)
    }

    fn datagram(&self, i: usize) -> &[u8] {
        &self.data[i * SLOT..][..self.lens[i]]
    }

    /// [`Self::flush`] with the system call given: `send(queue, range)` sends datagrams of
    /// `range`, from its start, and says how many the kernel took, or the error of the first.
    fn drain(
        &mut self,
        mut send: impl FnMut(&Self, Range<usize>) -> io::Result<usize>,
        mut on_sent: impl FnMut(&[u8]),
    ) -> usize {
        let (mut next, mut dropped, mut interrupted) = (0, 0, 0);
        while next < self.len {
            match send(self, next..self.len) {
                Ok(0) => {
                    // Nothing taken and no error should not happen; dropping one keeps this finite.
                    debug!(to = %self.dests[next], "UDP send accepted nothing");
                    dropped += 1;
                    next += 1;
                }
                Ok(n) => {
                    let n = n.min(self.len - next);
                    (next..next + n).for_each(|i| on_sent(self.datagram(i)));
                    next += n;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted && interrupted < 3 => interrupted += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) => {
                    debug!(dropped = self.len - next, error = %e, "UDP send buffer full, datagrams dropped");
                    dropped += self.len - next;
                    break;
                }
                Err(e) => {
                    debug!(to = %self.dests[next], error = %e, "UDP send failed");
                    dropped += 1;
                    next += 1;
                }
            }
        }
        self.len = 0;
        dropped
    }
}

/// `recvmmsg` / `sendmmsg`.
#[cfg(target_os = "linux")]
mod mmsg {
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
    use std::ops::Range;
    use std::os::fd::AsRawFd;

    use super::{RECV_SLOTS, RecvBatch, SEND_SLOTS, SLOT, SendQueue};

    /// Room for an IPv4 or IPv6 socket address, as the kernel reads and writes them.
    #[derive(Clone, Copy)]
    #[repr(C)]
    union RawAddr {
        v4: libc::sockaddr_in,
        v6: libc::sockaddr_in6,
    }

    fn to_raw(addr: &SocketAddr) -> (RawAddr, libc::socklen_t) {
        match addr {
            SocketAddr::V4(a) => {
                // SAFETY: all-zero is a valid sockaddr_in.
                let mut sin: libc::sockaddr_in = unsafe { zeroed() };
                sin.sin_family = libc::AF_INET as libc::sa_family_t;
                sin.sin_port = a.port().to_be();
                sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
                (RawAddr { v4: sin }, size_of::<libc::sockaddr_in>() as libc::socklen_t)
            }
            SocketAddr::V6(a) => {
                // SAFETY: all-zero is a valid sockaddr_in6.
                let mut sin6: libc::sockaddr_in6 = unsafe { zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = a.port().to_be();
                sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
                sin6.sin6_flowinfo = a.flowinfo();
                sin6.sin6_scope_id = a.scope_id();
                (RawAddr { v6: sin6 }, size_of::<libc::sockaddr_in6>() as libc::socklen_t)
            }
        }
    }

    fn from_raw(raw: &RawAddr, len: libc::socklen_t) -> Option<SocketAddr> {
        let len = len as usize;
        // SAFETY: every field of both variants is plain data, and the family field sits at the
        // same offset in both; a variant is read only when the kernel wrote that much of it.
        unsafe {
            match i32::from(raw.v4.sin_family) {
                libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                    let sin = raw.v4;
                    let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                    Some(SocketAddrV4::new(ip, u16::from_be(sin.sin_port)).into())
                }
                libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                    let sin6 = raw.v6;
                    let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                    Some(
                        SocketAddrV6::new(ip, u16::from_be(sin6.sin6_port), sin6.sin6_flowinfo, sin6.sin6_scope_id)
                            .into(),
                    )
                }
                _ => None,
            }
        }
    }

    pub(super) fn recv(socket: &UdpSocket, batch: &mut RecvBatch) -> io::Result<usize> {
        // SAFETY: all-zero is valid for these plain C structs (null pointers, zero lengths).
        let mut addrs: [RawAddr; RECV_SLOTS] = unsafe { zeroed() };
        let mut iovs: [libc::iovec; RECV_SLOTS] = unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; RECV_SLOTS] = unsafe { zeroed() };
        for (i, buf) in batch.bufs.chunks_exact_mut(SLOT).enumerate() {
            iovs[i] = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: SLOT };
            let hdr = &mut hdrs[i].msg_hdr;
            hdr.msg_name = (&raw mut addrs[i]).cast();
            hdr.msg_namelen = size_of::<RawAddr>() as libc::socklen_t;
            hdr.msg_iov = &raw mut iovs[i];
            hdr.msg_iovlen = 1;
        }
        // SAFETY: RECV_SLOTS headers, each pointing at its own address room and its own SLOT
        // bytes of `batch.bufs`, all alive and unaliased for the call.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                RECV_SLOTS as _,
                libc::MSG_DONTWAIT as _,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, hdr) in hdrs[..n].iter().enumerate() {
            batch.lens[i] = (hdr.msg_len as usize).min(SLOT);
            batch.sources[i] = from_raw(&addrs[i], hdr.msg_hdr.msg_namelen);
        }
        Ok(n)
    }

    pub(super) fn send(socket: &UdpSocket, queue: &SendQueue, range: Range<usize>) -> io::Result<usize> {
        let count = range.len().min(SEND_SLOTS);
        // SAFETY: all-zero is valid for these plain C structs (null pointers, zero lengths).
        let mut addrs: [RawAddr; SEND_SLOTS] = unsafe { zeroed() };
        let mut iovs: [libc::iovec; SEND_SLOTS] = unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; SEND_SLOTS] = unsafe { zeroed() };
        for (k, i) in range.take(count).enumerate() {
            let data = queue.datagram(i);
            let (addr, len) = to_raw(&queue.dests[i]);
            addrs[k] = addr;
            // The kernel only reads the buffers of a send.
            iovs[k] = libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() };
            let hdr = &mut hdrs[k].msg_hdr;
            hdr.msg_name = (&raw mut addrs[k]).cast();
            hdr.msg_namelen = len;
            hdr.msg_iov = &raw mut iovs[k];
            hdr.msg_iovlen = 1;
        }
        // SAFETY: `count` headers, each pointing at a valid address and at one queued datagram,
        // all alive for the call. No MSG_DONTWAIT: a full send buffer waits, as `send_to` on
        // this blocking socket did before batching.
        let n = unsafe { libc::sendmmsg(socket.as_raw_fd(), hdrs.as_mut_ptr(), count as _, 0) };
        if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
    }
}

/// One `recv_from` / `send_to` per datagram, where `recvmmsg` and `sendmmsg` are missing.
#[cfg(any(not(target_os = "linux"), test))]
mod portable {
    use std::io::{self, ErrorKind};
    use std::net::UdpSocket;
    use std::ops::Range;
    use std::time::Duration;

    use super::{RecvBatch, SendQueue, wait_readable};

    pub(super) fn recv(socket: &UdpSocket, batch: &mut RecvBatch) -> io::Result<usize> {
        let mut n = 0;
        for buf in batch.bufs.chunks_exact_mut(super::SLOT) {
            // A zero-timeout poll before each read keeps the blocking socket from blocking.
            if !wait_readable(socket, Duration::ZERO)? {
                break;
            }
            let (len, source) = socket.recv_from(buf)?;
            batch.lens[n] = len;
            batch.sources[n] = Some(source);
            n += 1;
        }
        if n == 0 { Err(ErrorKind::WouldBlock.into()) } else { Ok(n) }
    }

    pub(super) fn send(socket: &UdpSocket, queue: &SendQueue, range: Range<usize>) -> io::Result<usize> {
        socket.send_to(queue.datagram(range.start), queue.dests[range.start]).map(|_| 1)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, ErrorKind};
    use std::net::{SocketAddr, UdpSocket};
    use std::time::{Duration, Instant};

    use super::*;

    fn socket() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        // Room for every datagram a test sends before reading (the kernel caps this at rmem_max).
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(4 << 20);
        socket
    }

    /// Datagram `i` of a test: a length from 1 to 1400 bytes and bytes derived from `i`, so a
    /// swapped, cut or corrupted datagram is noticed.
    fn datagram(i: usize) -> Vec<u8> {
        let len = 1 + (i * 397) % 1400;
        (0..len).map(|k| (i * 31 + k * 7) as u8).collect()
    }

    /// Everything waiting on `socket`, as (source, bytes), reading until 200 ms of silence.
    fn drain(socket: &UdpSocket) -> Vec<(SocketAddr, Vec<u8>)> {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            got.push((from, buf[..n].to_vec()));
        }
        got
    }

    fn nothing_waiting(socket: &UdpSocket) -> bool {
        !wait_readable(socket, Duration::from_millis(50)).unwrap()
    }

    #[test]
    fn queued_datagrams_reach_each_destination_intact_and_in_order() {
        let sender = socket();
        let receivers = [socket(), socket(), socket()];
        let addrs: Vec<SocketAddr> = receivers.iter().map(|r| r.local_addr().unwrap()).collect();
        let mut queue = SendQueue::new();
        let (mut sent, mut bytes, mut dropped) = (0, 0, 0);
        for i in 0..200 {
            dropped += queue.send(&sender, addrs[i % 3], &datagram(i), |d| {
                sent += 1;
                bytes += d.len();
            });
        }
        // 200 = 3 × 64 + 8: three forced flushes, the last 8 still queued.
        assert_eq!((sent, queue.len()), (192, 8));
        dropped += queue.flush(&sender, |d| {
            sent += 1;
            bytes += d.len();
        });
        assert_eq!((sent, dropped, queue.len()), (200, 0, 0));
        assert_eq!(bytes, (0..200).map(|i| datagram(i).len()).sum::<usize>());
        let from = sender.local_addr().unwrap();
        for (r, receiver) in receivers.iter().enumerate() {
            let expected: Vec<_> = (r..200).step_by(3).map(|i| (from, datagram(i))).collect();
            assert_eq!(drain(receiver), expected, "receiver {r}");
        }
    }

    #[test]
    fn a_full_queue_is_flushed_before_the_next_datagram() {
        let (sender, receiver) = (socket(), socket());
        let to = receiver.local_addr().unwrap();
        let mut queue = SendQueue::new();
        let mut sent = 0;
        for i in 0..SEND_SLOTS {
            queue.send(&sender, to, &datagram(i), |_| sent += 1);
        }
        // Full, and nothing has left yet.
        assert_eq!((queue.len(), sent), (SEND_SLOTS, 0));
        assert!(nothing_waiting(&receiver));
        queue.send(&sender, to, &datagram(SEND_SLOTS), |_| sent += 1);
        assert_eq!((queue.len(), sent), (1, SEND_SLOTS));
        let got: Vec<_> = drain(&receiver).into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, (0..SEND_SLOTS).map(datagram).collect::<Vec<_>>());
        queue.flush(&sender, |_| sent += 1);
        assert_eq!(sent, SEND_SLOTS + 1);
        assert_eq!(drain(&receiver), [(sender.local_addr().unwrap(), datagram(SEND_SLOTS))]);
    }

    #[test]
    fn an_oversized_datagram_is_sent_after_the_queued_ones() {
        let (sender, receiver) = (socket(), socket());
        let to = receiver.local_addr().unwrap();
        let mut queue = SendQueue::new();
        let big: Vec<u8> = (0..SLOT + 500).map(|k| k as u8).collect();
        let mut lens = Vec::new();
        for data in [datagram(1), datagram(2), big.clone(), datagram(3)] {
            queue.send(&sender, to, &data, |d| lens.push(d.len()));
        }
        queue.flush(&sender, |d| lens.push(d.len()));
        assert_eq!(lens, [datagram(1).len(), datagram(2).len(), big.len(), datagram(3).len()]);
        let got: Vec<_> = drain(&receiver).into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, [datagram(1), datagram(2), big, datagram(3)]);
    }

    #[test]
    fn a_refused_datagram_is_skipped_and_the_rest_sent() {
        let (sender, receiver) = (socket(), socket());
        let to = receiver.local_addr().unwrap();
        // Port 0 is not a destination: the kernel refuses that one message (EINVAL), so the
        // batch stops there and the flush goes on after it.
        let bad: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut queue = SendQueue::new();
        let mut sent = Vec::new();
        for i in 0..10 {
            queue.send(&sender, if i == 4 { bad } else { to }, &datagram(i), |_| unreachable!());
        }
        let dropped = queue.flush(&sender, |d| sent.push(d.to_vec()));
        let expected: Vec<_> = (0..10).filter(|&i| i != 4).map(datagram).collect();
        assert_eq!((dropped, &sent), (1, &expected));
        let got: Vec<_> = drain(&receiver).into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn partial_sends_continue_with_the_rest_and_a_full_buffer_drops_what_is_left() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let fill = |queue: &mut SendQueue, n: usize| {
            for i in 0..n {
                let len = datagram(i).len();
                queue.data[i * SLOT..][..len].copy_from_slice(&datagram(i));
                queue.lens[i] = len;
                queue.dests[i] = to;
            }
            queue.len = n;
        };
        let mut queue = SendQueue::new();
        // The kernel takes 5 at a time; one message in the middle is refused.
        fill(&mut queue, 20);
        let mut calls = Vec::new();
        let mut sent = Vec::new();
        let dropped = queue.drain(
            |_, range| {
                calls.push(range.clone());
                if range.start == 10 { Err(io::Error::from_raw_os_error(libc::EINVAL)) } else { Ok(range.len().min(5)) }
            },
            |d| sent.push(d.to_vec()),
        );
        assert_eq!(calls, [0..20, 5..20, 10..20, 11..20, 16..20]);
        assert_eq!(dropped, 1);
        assert_eq!(sent, (0..20).filter(|&i| i != 10).map(datagram).collect::<Vec<_>>());
        assert!(queue.is_empty());

        // No room (EAGAIN, then ENOBUFS): the rest of the queue is dropped at once, no retry loop.
        for error in [io::Error::from(ErrorKind::WouldBlock), io::Error::from_raw_os_error(libc::ENOBUFS)] {
            fill(&mut queue, 20);
            let mut error = Some(error);
            let (mut calls, mut sent) = (0, 0);
            let dropped = queue.drain(
                |_, range| {
                    calls += 1;
                    if range.start < 7 { Ok(7 - range.start) } else { Err(error.take().unwrap()) }
                },
                |_| sent += 1,
            );
            assert_eq!((calls, sent, dropped, queue.len()), (2, 7, 13, 0));
        }

        // A kernel that accepts nothing without saying why cannot make the flush loop forever.
        fill(&mut queue, 3);
        let mut calls = 0;
        let mut sent = 0;
        let dropped = queue.drain(
            |_, _| {
                calls += 1;
                Ok(0)
            },
            |_| sent += 1,
        );
        assert_eq!((calls, sent, dropped, queue.len()), (3, 0, 3, 0));
    }

    /// Receives with `recv` until `expected` datagrams have arrived (or a second has passed),
    /// checking that no call returned more than a batch holds.
    fn receive_all(
        receiver: &UdpSocket,
        expected: usize,
        recv: impl Fn(&UdpSocket, &mut RecvBatch) -> io::Result<usize>,
    ) -> (Vec<(SocketAddr, Vec<u8>)>, Vec<usize>) {
        let mut batch = RecvBatch::new();
        let (mut got, mut sizes) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(1);
        while got.len() < expected && Instant::now() < deadline {
            if !wait_readable(receiver, Duration::from_millis(100)).unwrap() {
                continue;
            }
            match recv(receiver, &mut batch) {
                Ok(n) => {
                    batch.count = n;
                    sizes.push(n);
                    got.extend(batch.datagrams().map(|(from, d)| (from, d.to_vec())));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        (got, sizes)
    }

    fn check_batched_receive(recv: impl Fn(&UdpSocket, &mut RecvBatch) -> io::Result<usize>) {
        let receiver = socket();
        let senders = [socket(), socket()];
        let to = receiver.local_addr().unwrap();
        let mut expected = Vec::new();
        for i in 0..100 {
            let sender = &senders[i % 2];
            sender.send_to(&datagram(i), to).unwrap();
            expected.push((sender.local_addr().unwrap(), datagram(i)));
        }
        // Loopback delivers at once, but let every datagram land before the first read.
        std::thread::sleep(Duration::from_millis(50));
        let (got, sizes) = receive_all(&receiver, 100, recv);
        assert_eq!(got, expected);
        // All 100 were waiting: full batches, then the rest.
        assert_eq!(sizes, [RECV_SLOTS, RECV_SLOTS, RECV_SLOTS, 100 - 3 * RECV_SLOTS]);
        // Nothing left: a read says so instead of blocking.
        let mut batch = RecvBatch::new();
        assert_eq!(batch.recv(&receiver).unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(batch.datagrams().count(), 0);
    }

    #[test]
    fn waiting_datagrams_are_read_a_batch_at_a_time() {
        check_batched_receive(|socket, batch| batch.recv(socket));
    }

    #[test]
    fn the_portable_fallback_reads_the_same_batches() {
        check_batched_receive(super::portable::recv);
    }

    #[test]
    fn the_portable_fallback_sends_the_same_datagrams() {
        let (sender, receiver) = (socket(), socket());
        let to = receiver.local_addr().unwrap();
        let mut queue = SendQueue::new();
        for i in 0..10 {
            queue.send(&sender, to, &datagram(i), |_| unreachable!());
        }
        let mut sent = 0;
        let dropped = queue.drain(|queue, range| super::portable::send(&sender, queue, range), |_| sent += 1);
        assert_eq!((sent, dropped), (10, 0));
        let got: Vec<_> = drain(&receiver).into_iter().map(|(_, d)| d).collect();
        assert_eq!(got, (0..10).map(datagram).collect::<Vec<_>>());
    }

    #[test]
    fn a_long_datagram_is_cut_to_a_slot() {
        let (sender, receiver) = (socket(), socket());
        let long: Vec<u8> = (0..SLOT + 100).map(|k| (k % 251) as u8).collect();
        sender.send_to(&long, receiver.local_addr().unwrap()).unwrap();
        let (got, _) = receive_all(&receiver, 1, |socket, batch| batch.recv(socket));
        assert_eq!(got, [(sender.local_addr().unwrap(), long[..SLOT].to_vec())]);
    }

    #[test]
    fn waiting_for_a_datagram_times_out_or_returns_when_one_arrives() {
        let (sender, receiver) = (socket(), socket());
        let start = Instant::now();
        assert!(!wait_readable(&receiver, Duration::from_millis(30)).unwrap());
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(30) && waited < Duration::from_millis(500), "{waited:?}");
        sender.send_to(b"x", receiver.local_addr().unwrap()).unwrap();
        let start = Instant::now();
        assert!(wait_readable(&receiver, Duration::from_secs(5)).unwrap());
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
