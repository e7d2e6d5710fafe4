//! Joining, publishing, subscribing and leaving in any order leaves no trace: after a random
//! sequence of those (with replacements, mutes, manual unsubscriptions, lost signalling,
//! removals and room closes among them) everyone leaves, and every map the SFU keeps, by
//! participant, address, ufrag, publication or subscription, is empty.

use proptest::prelude::*;

use super::*;

/// Identities the sequences draw from: few, so the same one joins, leaves and comes back.
const PEOPLE: usize = 3;

#[derive(Debug, Clone)]
enum Step {
    /// Joins `who`; if present, a new connection replaces the old one (same identity).
    Join {
        who: usize,
        twcc: bool,
    },
    Publish {
        who: usize,
        video: bool,
    },
    /// Removes `who`'s latest track the way browsers do (the section turns inactive).
    Unpublish {
        who: usize,
    },
    Mute {
        who: usize,
        muted: bool,
    },
    /// `who` stops receiving `whose` tracks (manual subscription).
    Unsubscribe {
        who: usize,
        whose: usize,
    },
    Leave {
        who: usize,
    },
    /// The signalling connection drops; the grace period may pass in a later `Wait`.
    Disconnect {
        who: usize,
    },
    Remove {
        who: usize,
    },
    CloseRoom,
    Wait {
        ms: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0..PEOPLE;
    prop_oneof![
        3 => (who.clone(), any::<bool>()).prop_map(|(who, twcc)| Step::Join { who, twcc }),
        3 => (who.clone(), any::<bool>()).prop_map(|(who, video)| Step::Publish { who, video }),
        1 => who.clone().prop_map(|who| Step::Unpublish { who }),
        1 => (who.clone(), any::<bool>()).prop_map(|(who, muted)| Step::Mute { who, muted }),
        1 => (who.clone(), who.clone()).prop_map(|(who, whose)| Step::Unsubscribe { who, whose }),
        1 => who.clone().prop_map(|who| Step::Leave { who }),
        1 => who.clone().prop_map(|who| Step::Disconnect { who }),
        1 => who.clone().prop_map(|who| Step::Remove { who }),
        1 => Just(Step::CloseRoom),
        1 => (0u64..3_000).prop_map(|ms| Step::Wait { ms }),
    ]
}

/// One identity in the room as the test knows it: its key, its client in the net and the
/// publisher mids of its tracks, with their sids.
type Here = (ParticipantKey, usize, Vec<(Mid, TrackSid)>);

/// Who is in the room, by identity.
#[derive(Default)]
struct Cast {
    present: [Option<Here>; PEOPLE],
    next_key: u64,
}

impl Cast {
    fn key(&mut self) -> ParticipantKey {
        self.next_key += 1;
        ParticipantKey(100 + self.next_key)
    }

    /// Forgets whoever the SFU no longer has.
    fn sync(&mut self, sfu: &Sfu) {
        for slot in &mut self.present {
            if slot.as_ref().is_some_and(|(key, ..)| sfu.rooms().participant(*key).is_none()) {
                *slot = None;
            }
        }
    }
}

fn identity(who: usize) -> String {
    format!("p{who}")
}

fn run(steps: &[Step]) {
    let t0 = Instant::now();
    let (mut sfu, mut sink, mut net) = (sfu(t0), Recorder::default(), net(t0));
    sfu.set_reconnect_grace(Duration::from_secs(2));
    let mut cast = Cast::default();
    for step in steps {
        match step.clone() {
            Step::Join { who, twcc } => {
                let key = cast.key();
                let client = net.join_with(&mut sfu, &mut sink, key, req(&identity(who), FULL), twcc);
                cast.present[who] = Some((key, client, Vec::new()));
            }
            Step::Publish { who, video } => {
                if let Some((_, client, tracks)) = cast.present[who].as_mut() {
                    let kind = if video { TrackKind::Video } else { TrackKind::Audio };
                    let cid = format!("{}-{}", identity(who), tracks.len());
                    let (sid, mid) = net.publish(&mut sfu, &mut sink, *client, &cid, kind);
                    tracks.push((mid, sid));
                }
            }
            Step::Unpublish { who } => {
                if let Some((_, client, tracks)) = cast.present[who].as_mut()
                    && let Some((mid, _)) = tracks.pop()
                {
                    net.unpublish(&mut sfu, &mut sink, *client, mid);
                }
            }
            Step::Mute { who, muted } => {
                if let Some((key, _, tracks)) = cast.present[who].as_ref()
                    && let Some((_, sid)) = tracks.last()
                {
                    net.command(&mut sfu, &mut sink, *key, Command::Mute { track_sid: sid.clone(), muted });
                }
            }
            Step::Unsubscribe { who, whose } => {
                if let (Some((key, ..)), Some((_, _, tracks))) =
                    (cast.present[who].as_ref(), cast.present[whose].as_ref())
                {
                    let track_sids = tracks.iter().map(|(_, sid)| sid.clone()).collect();
                    net.command(
                        &mut sfu,
                        &mut sink,
                        *key,
                        Command::UpdateSubscription { track_sids, subscribe: false },
                    );
                }
            }
            Step::Leave { who } => {
                if let Some((key, ..)) = cast.present[who].as_ref() {
                    net.command(&mut sfu, &mut sink, *key, Command::Leave);
                }
            }
            Step::Disconnect { who } => {
                if let Some((key, ..)) = cast.present[who].as_ref() {
                    net.command(&mut sfu, &mut sink, *key, Command::Disconnected);
                }
            }
            Step::Remove { who } => {
                sfu.remove_participant(net.now, "room", &identity(who), RemovedReason::Removed, &mut sink);
            }
            Step::CloseRoom => sfu.close_room(net.now, "room", RemovedReason::RoomClosed, &mut sink),
            Step::Wait { ms } => {
                net.now += Duration::from_millis(ms);
                sfu.handle_timeout(net.now, &mut sink);
            }
        }
        cast.sync(&sfu);
        // Everyone still here takes the offers the step caused, as clients do.
        for (_, client, _) in cast.present.iter().flatten() {
            net.answer(&mut sfu, &mut sink, *client);
        }
        net.pump(&mut sfu, &mut sink);
    }

    // Everyone leaves: half with a goodbye, the others by losing signalling for good.
    for (i, (key, ..)) in cast.present.iter().enumerate().filter_map(|(i, p)| p.as_ref().map(|p| (i, p))) {
        let command = if i % 2 == 0 { Command::Leave } else { Command::Disconnected };
        net.command(&mut sfu, &mut sink, *key, command);
    }
    net.now += Duration::from_secs(3);
    sfu.handle_timeout(net.now, &mut sink);
    net.pump(&mut sfu, &mut sink);

    assert_eq!(sfu.participant_count(), 0);
    let left = sfu.leftovers();
    assert!(left.is_empty(), "after {steps:?}\nleft behind: {left:?}");
    // Every participant that joined was reported joined once and left once.
    let joined = sink.presence.iter().filter(|p| matches!(p, Presence::Joined { .. })).count();
    let gone = sink.presence.iter().filter(|p| matches!(p, Presence::Left { .. })).count();
    assert_eq!(joined, gone, "{:?}", sink.trail());
}

impl Sfu {
    /// Each of the SFU's maps that still holds something, by name.
    fn leftovers(&self) -> Vec<&'static str> {
        let maps = [
            ("rooms", self.rooms.is_empty()),
            ("connections", self.connections.is_empty()),
            ("demux", self.demux.is_empty()),
            ("forwards", self.forwards.is_empty()),
            ("events", self.events.is_empty()),
            ("speakers", self.speakers.is_empty()),
        ];
        maps.into_iter().filter(|(_, empty)| !empty).map(|(name, _)| name).collect()
    }
}

proptest! {
    // Each case negotiates real peer connections (ICE, DTLS, SDP) in memory: a few dozen
    // cases cover the orders that matter without slowing the suite.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_order_of_joins_publications_and_departures_leaves_nothing_behind(steps in proptest::collection::vec(step(), 1..14)) {
        run(&steps);
    }
}

/// The cases most likely to leave something: a subscriber replaced while subscribed, a
/// publisher gone during its grace period, a room closed with media flowing.
#[test]
fn replacements_and_departures_mid_negotiation_leave_nothing_behind() {
    use Step::*;
    run(&[
        Join { who: 0, twcc: true },
        Join { who: 1, twcc: false },
        Publish { who: 0, video: true },
        Publish { who: 1, video: false },
        Join { who: 1, twcc: true },
        Disconnect { who: 0 },
        Wait { ms: 2_500 },
        Join { who: 2, twcc: true },
        Publish { who: 2, video: true },
        Unsubscribe { who: 1, whose: 2 },
        Mute { who: 2, muted: true },
        CloseRoom,
        Join { who: 0, twcc: true },
        Publish { who: 0, video: true },
        Unpublish { who: 0 },
    ]);
}
