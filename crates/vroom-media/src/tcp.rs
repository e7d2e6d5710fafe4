//! ICE over TCP for one media worker (RFC 6544, passive side): a non-blocking listener on the
//! worker's port and its accepted connections, each carrying STUN, DTLS, SRTP and SRTCP as
//! RFC 4571 frames (a 16-bit big-endian length, then the packet).
//!
//! I/O only: frames go to the worker's `Sfu` exactly as datagrams do, with the connection's
//! remote address as their source, and whatever the `Sfu` transmits over TCP to an address is
//! framed onto the connection from it. It owns no WebRTC state. Limits keep a client (or a
//! scanner) from holding resources: a connection whose first frame no peer connection takes is
//! closed, as are idle ones and ones that stop reading what is sent to them.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use tracing::debug;

/// Most connections one worker keeps open at once.
const MAX_CONNECTIONS: usize = 1024;
/// A connection with nothing received for this long is closed (ICE keeps a live one busy).
const IDLE: Duration = Duration::from_secs(30);
/// Most bytes queued for one connection; past that its client is not reading: closed.
const MAX_QUEUED: usize = 4 << 20;

struct Connection {
    stream: TcpStream,
    /// Received bytes not yet a whole frame.
    input: Vec<u8>,
    /// Framed bytes not yet written.
    output: Vec<u8>,
    last_input: Instant,
    /// A peer connection took one of its frames (it belongs to a participant).
    matched: bool,
}

pub struct TcpMux {
    listener: TcpListener,
    connections: HashMap<SocketAddr, Connection>,
    scratch: Vec<u8>,
}

impl TcpMux {
    pub fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Self { listener, connections: HashMap::new(), scratch: vec![0; 64 * 1024] })
    }

    #[cfg(test)]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The descriptors to wait on: the listener and every connection.
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        std::iter::once(self.listener.as_raw_fd()).chain(self.connections.values().map(|c| c.stream.as_raw_fd()))
    }

    /// Accepts what is waiting, reads what arrived and hands each whole frame to `frame`
    /// (remote address, packet), which says whether a peer connection took it. Connections that closed, failed, sent an oversized or unwanted first frame are
    /// dropped.
    pub fn receive(&mut self, now: Instant, mut frame: impl FnMut(SocketAddr, &[u8]) -> bool) {
        self.accept(now);
        let mut gone = Vec::new();
        for (&remote, c) in &mut self.connections {
            loop {
                match c.stream.read(&mut self.scratch) {
                    Ok(0) => {
                        gone.push(remote);
                        break;
                    }
                    Ok(n) => {
                        c.input.extend_from_slice(&self.scratch[..n]);
                        c.last_input = now;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        gone.push(remote);
                        break;
                    }
                }
            }
            let mut at = 0;
            while c.input.len() >= at + 2 {
                let len = usize::from(u16::from_be_bytes([c.input[at], c.input[at + 1]]));
                if c.input.len() < at + 2 + len {
                    break;
                }
                let took = frame(remote, &c.input[at + 2..at + 2 + len]);
                c.matched |= took;
                at += 2 + len;
                if !c.matched {
                    // Its first frame was not an ICE check of one of ours: not a client.
                    gone.push(remote);
                    break;
                }
            }
            c.input.drain(..at);
        }
        for remote in gone {
            self.close(remote, "closed or unwanted");
        }
    }

    fn accept(&mut self, now: Instant) {
        loop {
            match self.listener.accept() {
                Ok((stream, remote)) => {
                    if self.connections.len() >= MAX_CONNECTIONS || stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let c =
                        Connection { stream, input: Vec::new(), output: Vec::new(), last_input: now, matched: false };
                    self.connections.insert(remote, c);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    /// Frames `packet` onto the connection from `to`; false if there is none (or it is
    /// not reading and was closed).
    pub fn send(&mut self, to: SocketAddr, packet: &[u8]) -> bool {
        let Ok(len) = u16::try_from(packet.len()) else { return false };
        let Some(c) = self.connections.get_mut(&to) else { return false };
        c.output.extend_from_slice(&len.to_be_bytes());
        c.output.extend_from_slice(packet);
        if c.output.len() > MAX_QUEUED {
            self.close(to, "not reading");
            return false;
        }
        true
    }

    /// Writes what is queued, as far as the kernel takes it; closes idle connections.
    pub fn flush(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (&remote, c) in &mut self.connections {
            if now.duration_since(c.last_input) > IDLE {
                gone.push(remote);
                continue;
            }
            while !c.output.is_empty() {
                match c.stream.write(&c.output) {
                    Ok(0) => {
                        gone.push(remote);
                        break;
                    }
                    Ok(n) => {
                        c.output.drain(..n);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        gone.push(remote);
                        break;
                    }
                }
            }
        }
        for remote in gone {
            self.close(remote, "idle or failed");
        }
    }

    fn close(&mut self, remote: SocketAddr, why: &str) {
        if self.connections.remove(&remote).is_some() {
            debug!(%remote, why, "ICE-TCP connection closed");
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.connections.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(packet: &[u8]) -> Vec<u8> {
        let mut out = (packet.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(packet);
        out
    }

    fn pump(mux: &mut TcpMux, take: bool) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut got = Vec::new();
        for _ in 0..50 {
            mux.receive(Instant::now(), |remote, p| {
                got.push((remote, p.to_vec()));
                take
            });
            std::thread::sleep(Duration::from_millis(5));
        }
        got
    }

    /// Frames split across writes and several in one write come out whole and in order;
    /// what is sent back is framed; a connection whose first frame nobody takes is closed.
    #[test]
    fn frames_in_and_out_and_strangers_are_closed() {
        let mut mux = TcpMux::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = mux.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).unwrap();
        let mut bytes = frame(b"first");
        bytes.extend(frame(&[7; 300]));
        client.write_all(&bytes[..3]).unwrap();
        pump(&mut mux, true);
        client.write_all(&bytes[3..]).unwrap();
        let got = pump(&mut mux, true);
        assert_eq!(got.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(), [5, 300]);
        let remote = got[0].0;
        assert_eq!(remote, client.local_addr().unwrap());
        assert!(mux.send(remote, b"answer"));
        mux.flush(Instant::now());
        let mut back = [0; 8];
        client.read_exact(&mut back).unwrap();
        assert_eq!(&back, b"\x00\x06answer");

        let mut stranger = TcpStream::connect(addr).unwrap();
        stranger.write_all(&frame(b"GET / HTTP/1.1")).unwrap();
        pump(&mut mux, false);
        assert_eq!(mux.len(), 1, "only the client is left");
        stranger.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(stranger.read(&mut back).unwrap_or(0), 0, "the stranger's connection is closed");
    }
}
