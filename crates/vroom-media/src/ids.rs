//! Identifiers: the typed names of rooms, participants and tracks, and LiveKit-style sids
//! (a prefix `RM_`, `PA_`, `TR_` and 12 random characters of the base57 alphabet; only the
//! prefixes are load-bearing for clients: `TR` marks a track).
//!
//! Each is a string on the wire; a type of its own here, so a track sid cannot be passed
//! where a participant sid or a room name is meant.

use std::borrow::Borrow;
use std::fmt;

use rand::Rng;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        // Read as a string anywhere (it is one on the wire); only built from one explicitly.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<&$name> for $name {
            fn eq(&self, other: &&$name) -> bool {
                self == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A room's name (the LiveKit room name; vroom's platform uses the room uuid).
    RoomName
);
string_id!(
    /// A participant's sid (`PA_…`), new for every join.
    ParticipantSid
);
string_id!(
    /// A published track's sid (`TR_…`).
    TrackSid
);

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A new identifier `prefix` + 12 base57 characters.
pub fn new_id<T: From<String>>(prefix: &str) -> T {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    for _ in 0..12 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    T::from(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_length() {
        let id: String = new_id("TR_");
        assert!(id.starts_with("TR_"));
        assert_eq!(id.len(), 15);
        assert_ne!(new_id::<ParticipantSid>("PA_"), new_id::<ParticipantSid>("PA_"));
        assert_eq!(ALPHABET.len(), 57);
    }
}
