//! Data packets (`_reliable` / `_lossy` channels): decode what a participant sent, stamp it
//! with the sender, decide the recipients, encode once for all of them.

use livekit_protocol::{DataPacket, data_packet};
use prost::Message;

/// The largest data message accepted (LiveKit clients refuse to send more than 64 000 bytes).
pub const MAX_DATA_MESSAGE: usize = 65_536;

/// Which channel a packet came on; it decides the channel it leaves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Reliable,
    Lossy,
}

impl DataKind {
    pub fn from_label(label: &str) -> Option<Self> {
        match label {
            "_reliable" => Some(Self::Reliable),
            "_lossy" => Some(Self::Lossy),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Reliable => "_reliable",
            Self::Lossy => "_lossy",
        }
    }
}

/// Who sent a packet, as the server knows it.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    pub sid: &'a str,
    pub identity: &'a str,
    pub hidden: bool,
    pub can_publish_data: bool,
}

/// A packet ready to forward.
#[derive(Debug, PartialEq)]
pub struct Routed {
    pub bytes: Vec<u8>,
    /// Identities to deliver to; empty = everyone but the sender.
    pub destinations: Vec<String>,
    pub sequence: u32,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    #[error("data message too large")]
    TooLarge,
    #[error("not a DataPacket")]
    Malformed,
    #[error("sender may not publish data")]
    NotAllowed,
    #[error("duplicate or out-of-order reliable packet")]
    Duplicate,
    #[error("packet type not forwarded")]
    NotForwarded,
}

/// Decodes and stamps one packet. `last_sequence` is the highest reliable sequence seen from
/// this sender; it is advanced when the packet carries a newer one.
// LiveKit marks `kind` and the UserPacket copies of identity/destinations deprecated, but
// 2.9.x clients still read and write them, so they are kept in sync.
#[allow(deprecated)]
pub fn route(raw: &[u8], kind: DataKind, sender: Sender<'_>, last_sequence: &mut u32) -> Result<Routed, DataError> {
    if raw.len() > MAX_DATA_MESSAGE {
        return Err(DataError::TooLarge);
    }
    if !sender.can_publish_data {
        return Err(DataError::NotAllowed);
    }
    let mut packet = DataPacket::decode(raw).map_err(|_| DataError::Malformed)?;
    if matches!(packet.value, Some(data_packet::Value::Metrics(_))) {
        return Err(DataError::NotForwarded);
    }
    if kind == DataKind::Reliable && packet.sequence > 0 {
        if packet.sequence <= *last_sequence {
            return Err(DataError::Duplicate);
        }
        *last_sequence = packet.sequence;
    }
    packet.kind = match kind {
        DataKind::Reliable => data_packet::Kind::Reliable,
        DataKind::Lossy => data_packet::Kind::Lossy,
    } as i32;
    let (sid, identity) = if sender.hidden { ("", "") } else { (sender.sid, sender.identity) };
    packet.participant_sid = sid.to_owned();
    packet.participant_identity = identity.to_owned();
    let mut destinations = std::mem::take(&mut packet.destination_identities);
    if let Some(data_packet::Value::User(user)) = &mut packet.value {
        user.participant_sid = sid.to_owned();
        user.participant_identity = identity.to_owned();
        for d in &user.destination_identities {
            if !destinations.contains(d) {
                destinations.push(d.clone());
            }
        }
        user.destination_identities = destinations.clone();
    }
    packet.destination_identities = destinations.clone();
    Ok(Routed { bytes: packet.encode_to_vec(), destinations, sequence: packet.sequence })
}

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use super::*;
    use livekit_protocol::UserPacket;

    fn sender() -> Sender<'static> {
        Sender { sid: "PA_a", identity: "alice", hidden: false, can_publish_data: true }
    }

    fn user_packet(dest: Vec<String>, seq: u32) -> Vec<u8> {
        DataPacket {
            value: Some(data_packet::Value::User(UserPacket {
                payload: b"hello".to_vec(),
                topic: Some("chat".into()),
                destination_identities: dest,
                ..Default::default()
            })),
            participant_identity: "mallory".into(),
            sequence: seq,
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn stamps_sender_and_kind_and_keeps_payload() {
        let mut last = 0;
        let routed = route(&user_packet(vec![], 0), DataKind::Lossy, sender(), &mut last).unwrap();
        let p = DataPacket::decode(routed.bytes.as_slice()).unwrap();
        assert_eq!(p.participant_identity, "alice");
        assert_eq!(p.participant_sid, "PA_a");
        assert_eq!(p.kind, data_packet::Kind::Lossy as i32);
        let Some(data_packet::Value::User(u)) = p.value else { panic!("user packet") };
        assert_eq!((u.payload.as_slice(), u.topic.as_deref()), (&b"hello"[..], Some("chat")));
        assert_eq!(u.participant_identity, "alice");
        assert!(routed.destinations.is_empty());
    }

    #[test]
    fn destinations_are_merged_into_both_fields() {
        let mut last = 0;
        let routed = route(&user_packet(vec!["bob".into()], 0), DataKind::Reliable, sender(), &mut last).unwrap();
        assert_eq!(routed.destinations, vec!["bob".to_owned()]);
        let p = DataPacket::decode(routed.bytes.as_slice()).unwrap();
        assert_eq!(p.destination_identities, vec!["bob".to_owned()]);
    }

    #[test]
    fn reliable_duplicates_are_dropped_and_hidden_senders_are_anonymous() {
        let mut last = 0;
        assert_eq!(route(&user_packet(vec![], 5), DataKind::Reliable, sender(), &mut last).unwrap().sequence, 5);
        assert_eq!(route(&user_packet(vec![], 5), DataKind::Reliable, sender(), &mut last), Err(DataError::Duplicate));
        let hidden = Sender { hidden: true, ..sender() };
        let routed = route(&user_packet(vec![], 6), DataKind::Reliable, hidden, &mut last).unwrap();
        assert_eq!(DataPacket::decode(routed.bytes.as_slice()).unwrap().participant_identity, "");
    }

    #[test]
    fn bad_input_is_refused_without_panicking() {
        let mut last = 0;
        assert_eq!(route(&[0xff, 0xff, 0xff], DataKind::Reliable, sender(), &mut last), Err(DataError::Malformed));
        assert_eq!(
            route(&vec![0u8; MAX_DATA_MESSAGE + 1], DataKind::Reliable, sender(), &mut last),
            Err(DataError::TooLarge)
        );
        let muted = Sender { can_publish_data: false, ..sender() };
        assert_eq!(route(&user_packet(vec![], 0), DataKind::Reliable, muted, &mut last), Err(DataError::NotAllowed));
    }
}
