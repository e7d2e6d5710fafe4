//! Honouring the video codec a publisher asked for.
//!
//! LiveKit clients announce the codec they want to publish with (`AddTrackRequest`'s
//! simulcast codecs, e.g. `h264`) but offer every codec the browser has, in the browser's
//! order; the browser then sends the first codec of the *answer*. So the answer's media
//! section for that track must list the wanted codec (and its retransmission format) first.
//! str0m writes answers in its own order, so the answer text is reordered here. Pure text
//! in, text out; a section that does not carry the codec is left as it is.

/// The `a=msid` track id of each media section of an SDP, by its `a=mid`.
pub fn section_tracks(sdp: &str) -> Vec<(String, String)> {
    sections(sdp)
        .filter_map(|section| {
            let mid = attribute(section, "a=mid:")?;
            let track = attribute(section, "a=msid:")?.split_whitespace().nth(1)?;
            Some((mid.to_owned(), track.to_owned()))
        })
        .collect()
}

/// `answer` with `codec` (an rtpmap encoding name, e.g. `H264`) moved to the front of the
/// payload list of the sections whose mid is in `mids`.
pub fn prefer_codec(answer: &str, mids: &[String], codec: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    for section in sections(answer) {
        let wanted = attribute(section, "a=mid:").is_some_and(|mid| mids.iter().any(|m| m == mid));
        match wanted.then(|| reorder(section, codec)).flatten() {
            Some(reordered) => out.push_str(&reordered),
            None => out.push_str(section),
        }
    }
    out
}

/// The SDP split before each `m=` line (the session part first), line endings kept.
fn sections(sdp: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = sdp.match_indices("\nm=").map(|(i, _)| i + 1).collect();
    if sdp.starts_with("m=") {
        starts.insert(0, 0);
    }
    let mut bounds = vec![0];
    bounds.extend(starts.into_iter().filter(|s| *s > 0));
    bounds.push(sdp.len());
    bounds.dedup();
    (0..bounds.len() - 1).map(move |i| &sdp[bounds[i]..bounds[i + 1]])
}

fn attribute<'a>(section: &'a str, prefix: &str) -> Option<&'a str> {
    section.lines().find_map(|l| l.strip_prefix(prefix)).map(str::trim)
}

fn reorder(section: &str, codec: &str) -> Option<String> {
    let (m_line, rest) = section.split_once('\n')?;
    let m_line = m_line.trim_end_matches('\r');
    let mut fields: Vec<&str> = m_line.split(' ').collect();
    if !fields.first()?.starts_with("m=") || fields.len() < 4 {
        return None;
    }
    let payloads = fields.split_off(3);
    let is_codec = |pt: &str| {
        attribute_lines(rest, "a=rtpmap:").any(|l| {
            l.split_once(' ')
                .is_some_and(|(p, enc)| p == pt && enc.split('/').next().is_some_and(|e| e.eq_ignore_ascii_case(codec)))
        })
    };
    let primary: Vec<&str> = payloads.iter().copied().filter(|pt| is_codec(pt)).collect();
    if primary.is_empty() || payloads.first().is_some_and(|pt| primary.contains(pt)) {
        return None;
    }
    // Retransmission formats of the wanted codec (`a=fmtp:<rtx> apt=<pt>`) go with it.
    let repairs: Vec<&str> = payloads
        .iter()
        .copied()
        .filter(|pt| {
            attribute_lines(rest, "a=fmtp:").any(|l| {
                l.split_once(' ').is_some_and(|(p, params)| {
                    p == *pt
                        && params
                            .split(';')
                            .any(|kv| kv.trim().strip_prefix("apt=").is_some_and(|apt| primary.contains(&apt)))
                })
            })
        })
        .collect();
    let first: Vec<&str> = primary.iter().chain(&repairs).copied().collect();
    fields.extend(&first);
    fields.extend(payloads.iter().copied().filter(|pt| !first.contains(pt)));
    let ending = if section.contains("\r\n") { "\r\n" } else { "\n" };
    Some(format!("{}{ending}{rest}", fields.join(" ")))
}

fn attribute_lines<'a>(section: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> {
    section.lines().filter_map(move |l| l.strip_prefix(prefix)).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\n\
        o=- 1 1 IN IP4 0.0.0.0\r\n\
        s=-\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 104\r\n\
        a=mid:0\r\n\
        a=msid:stream cam-track\r\n\
        a=rtpmap:96 VP8/90000\r\n\
        a=rtpmap:97 rtx/90000\r\n\
        a=fmtp:97 apt=96\r\n\
        a=rtpmap:102 H264/90000\r\n\
        a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
        a=rtpmap:103 rtx/90000\r\n\
        a=fmtp:103 apt=102\r\n\
        a=rtpmap:104 H264/90000\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
        a=mid:1\r\n\
        a=msid:stream mic-track\r\n\
        a=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn the_wanted_codec_and_its_retransmissions_move_first_in_the_chosen_sections() {
        let out = prefer_codec(ANSWER, &["0".to_owned()], "h264");
        assert!(out.contains("m=video 9 UDP/TLS/RTP/SAVPF 102 104 103 96 97\r\n"), "{out}");
        assert_eq!(out.len(), ANSWER.len(), "nothing else changes");
        assert!(out.ends_with("a=rtpmap:111 opus/48000/2\r\n"));
        // Other sections, other codecs, absent codecs: unchanged.
        assert_eq!(prefer_codec(ANSWER, &["1".to_owned()], "h264"), ANSWER);
        assert_eq!(prefer_codec(ANSWER, &["0".to_owned()], "VP8"), ANSWER, "already first");
        assert_eq!(prefer_codec(ANSWER, &["0".to_owned()], "AV1"), ANSWER);
        assert_eq!(prefer_codec("garbage\nm=\n", &["0".to_owned()], "h264"), "garbage\nm=\n");
    }

    #[test]
    fn tracks_are_found_by_mid() {
        assert_eq!(
            section_tracks(ANSWER),
            [("0".to_owned(), "cam-track".to_owned()), ("1".to_owned(), "mic-track".to_owned())]
        );
    }
}
