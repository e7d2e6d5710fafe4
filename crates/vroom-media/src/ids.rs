//! LiveKit-style identifiers: a prefix (`RM_`, `PA_`, `TR_`) and 12 random characters of the
//! base57 alphabet. Only the prefixes are load-bearing for clients (`TR` marks a track).

use rand::Rng;

const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A new identifier `prefix` + 12 base57 characters.
pub fn new_id(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    for _ in 0..12 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_length() {
        let id = new_id("TR_");
        assert!(id.starts_with("TR_"));
        assert_eq!(id.len(), 15);
        assert_ne!(new_id("PA_"), new_id("PA_"));
        assert_eq!(ALPHABET.len(), 57);
    }
}
