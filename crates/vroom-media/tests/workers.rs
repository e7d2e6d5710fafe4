//! Several media workers on loopback (no clients, no media): each room lives on the worker
//! its name maps to and announces that worker's port, commands reach the worker that owns
//! their room or participant, presence comes from every worker, ports are consecutive,
//! and the workers stop when the last handle is dropped.

use std::collections::HashSet;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use vroom_media::{
    JoinRequest, MediaEvent, MediaHandle, MediaPermission, Presence, RemovedReason, WorkerConfig, room_worker,
    start_workers,
};

fn start(bind: SocketAddr, workers: usize) -> std::io::Result<MediaHandle> {
    start_workers(WorkerConfig { bind, node_ip: "127.0.0.1".parse().unwrap(), workers })
}

fn request(room: &str, identity: &str) -> JoinRequest {
    JoinRequest {
        room: room.into(),
        identity: identity.into(),
        name: identity.into(),
        metadata: String::new(),
        permission: MediaPermission { can_publish: true, can_subscribe: true, can_publish_data: true, hidden: false },
        auto_subscribe: true,
        can_update_metadata: true,
        attributes: Default::default(),
    }
}

/// `room-<i>` names, the first one that maps to each worker.
fn one_room_per_worker(workers: usize) -> Vec<String> {
    (0..workers)
        .map(|w| (0..1000).map(|i| format!("room-{i}")).find(|r| room_worker(r, workers) == w).expect("a room"))
        .collect()
}

async fn next_event(events: &mut UnboundedReceiver<MediaEvent>) -> MediaEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event in time").expect("open")
}

/// Why the participant was removed, skipping other events (within 5 s in all).
async fn removed(events: &mut UnboundedReceiver<MediaEvent>) -> RemovedReason {
    let removal = async {
        loop {
            if let MediaEvent::Removed(reason) = events.recv().await.expect("open") {
                return reason;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), removal).await.expect("removed in time")
}

/// The port of the host candidate in an SDP.
fn candidate_port(sdp: &str) -> u16 {
    let line = sdp.lines().find(|l| l.starts_with("a=candidate:")).unwrap_or_else(|| panic!("no candidate:\n{sdp}"));
    // foundation component transport priority address port typ host
    line.split_whitespace().nth(5).unwrap().parse().unwrap()
}

async fn identities(media: &MediaHandle, room: &str) -> Vec<String> {
    let mut who: Vec<String> = media.participants(room).await.unwrap().into_iter().map(|p| p.identity).collect();
    who.sort();
    who
}

#[tokio::test]
async fn rooms_live_on_their_own_worker_and_commands_follow_them() {
    let media = start("127.0.0.1:0".parse().unwrap(), 3).unwrap();
    let addrs = media.udp_addrs();
    assert_eq!((media.workers(), media.udp_addr()), (3, addrs[0]));
    assert_eq!(addrs.iter().map(|a| a.port()).collect::<HashSet<_>>().len(), 3, "{addrs:?}");
    let (reports, mut presence) = unbounded_channel();
    media.report_presence(reports).unwrap();

    let rooms = one_room_per_worker(3);
    let mut keys = HashSet::new();
    let mut sessions = Vec::new();
    for (w, room) in rooms.iter().enumerate() {
        assert_eq!(media.worker_for(room), w);
        for identity in ["alice", "bob"] {
            let (tx, mut events) = unbounded_channel();
            let key = media.join(request(room, identity), tx).unwrap();
            assert_eq!(key.0 % 3, w as u64, "the key names the room's worker");
            assert!(keys.insert(key), "keys are unique across workers");
            let MediaEvent::Joined(info) = next_event(&mut events).await else { panic!("Joined first") };
            assert_eq!(info.room.name, *room);
            // The worker announces its own socket as the ICE host candidate.
            let MediaEvent::SubscriberOffer { sdp, .. } = next_event(&mut events).await else { panic!("an offer") };
            assert_eq!(candidate_port(&sdp), addrs[w].port(), "{room} on worker {w}");
            sessions.push((key, events));
        }
    }
    // Room-addressed commands reach the room's worker, and only it knows the room.
    for room in &rooms {
        assert_eq!(identities(&media, room).await, ["alice", "bob"]);
    }
    assert!(media.participants("nowhere").await.unwrap().is_empty());
    let bob = media.update_permission(&rooms[2], "bob", MediaPermission { hidden: true, ..request("", "").permission });
    assert!(bob.await.unwrap().is_some());

    // Away from worker 0 (where a command sent to the wrong worker would also land): a
    // participant command follows its key, room commands follow the room.
    media.send(sessions[2].0, vroom_media::Command::Leave).unwrap();
    media.remove_participant(&rooms[1], "bob", RemovedReason::Removed).unwrap();
    media.close_room(&rooms[2], RemovedReason::RoomClosed).unwrap();
    for (i, expected) in [(3, RemovedReason::Removed), (4, RemovedReason::RoomClosed), (5, RemovedReason::RoomClosed)] {
        assert_eq!(removed(&mut sessions[i].1).await, expected);
    }
    assert_eq!(identities(&media, &rooms[0]).await, ["alice", "bob"]);
    assert!(identities(&media, &rooms[1]).await.is_empty(), "alice left, bob was removed");
    assert!(identities(&media, &rooms[2]).await.is_empty());

    // Presence from all three workers on one channel: six joins and four departures, each
    // room's in order.
    let mut seen: Vec<(String, &str)> = Vec::new();
    while seen.len() < 10 {
        let report = tokio::time::timeout(Duration::from_secs(5), presence.recv()).await.unwrap().unwrap();
        seen.push(match report {
            Presence::Joined { room, .. } => (room.to_string(), "joined"),
            Presence::Left { room, .. } => (room.to_string(), "left"),
        });
    }
    for room in &rooms {
        let of_room: Vec<&str> = seen.iter().filter(|(r, _)| r == room).map(|(_, what)| *what).collect();
        assert_eq!(&of_room[..2], ["joined", "joined"], "{room}: {seen:?}");
    }
    assert_eq!(seen.iter().filter(|(_, what)| *what == "left").count(), 4, "{seen:?}");
}

#[test]
fn worker_i_binds_the_port_after_worker_i_minus_one() {
    // A free base port can be taken again before the workers bind it; try a few.
    for _ in 0..20 {
        let base = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        if base.port() > u16::MAX - 2 {
            continue;
        }
        let Ok(media) = start(base, 3) else { continue };
        let ports: Vec<u16> = media.udp_addrs().iter().map(|a| a.port()).collect();
        assert_eq!(ports, [base.port(), base.port() + 1, base.port() + 2]);
        return;
    }
    panic!("no three consecutive free ports found");
}

#[test]
fn bad_worker_settings_and_taken_ports_fail_the_start() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    assert!(start(any, 0).is_err());
    let err = start("127.0.0.1:65535".parse().unwrap(), 2).err().unwrap();
    assert!(err.to_string().contains("65535..=65536"), "{err}");
    let taken = UdpSocket::bind(any).unwrap();
    let err = start(taken.local_addr().unwrap(), 2).err().unwrap();
    assert!(err.to_string().contains(&taken.local_addr().unwrap().to_string()), "{err}");
}

#[test]
fn workers_stop_when_the_last_handle_is_dropped() {
    let media = start("127.0.0.1:0".parse().unwrap(), 2).unwrap();
    let addrs = media.udp_addrs();
    let clone = media.clone();
    drop(media);
    std::thread::sleep(Duration::from_millis(50));
    assert!(addrs.iter().all(|a| UdpSocket::bind(a).is_err()), "a clone keeps the workers and their sockets");
    drop(clone);
    // Each worker notices within its command latency and closes its socket.
    let deadline = Instant::now() + Duration::from_secs(2);
    for addr in addrs {
        while UdpSocket::bind(addr).is_err() {
            assert!(Instant::now() < deadline, "worker on {addr} still running");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
