//! `X-Vroom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the
//! receiver recomputes it to check origin, and rejects old `t` to stop replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &str, t: i64, body: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    mac
}

pub fn signature_header(secret: &str, t: i64, body: &str) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body).finalize().into_bytes()))
}

/// Checks a header against the body; `max_age_secs` bounds how old `t` may be at `now`.
pub fn verify_signature(secret: &str, header: &str, body: &str, now: i64, max_age_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else { return false };
    (now - t).abs() <= max_age_secs && mac(secret, t, body).verify_slice(&v1).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let h = signature_header("s3cret", 1_700_000_000, "{\"a\":1}");
        assert!(h.starts_with("t=1700000000,v1="));
        assert!(verify_signature("s3cret", &h, "{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify_signature("s3cret", &h, "{\"a\":2}", 1_700_000_010, 300), "body changed");
        assert!(!verify_signature("other", &h, "{\"a\":1}", 1_700_000_010, 300), "wrong secret");
        assert!(!verify_signature("s3cret", &h, "{\"a\":1}", 1_700_001_000, 300), "too old");
        assert!(!verify_signature("s3cret", "garbage", "{}", 0, 300));
    }
}
