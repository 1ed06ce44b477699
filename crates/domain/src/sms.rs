//! Text messages that fit (issue 21, "text that fits"): which alphabet a text goes out in, how
//! many segments it takes, where it is cut, and the bytes a modem or SMSC gets.
//!
//! A text that only uses the GSM 03.38 default alphabet (3GPP TS 23.038 §6.2.1, with its
//! extension table) goes out in 7-bit septets: 160 in one message, 153 per segment of a longer
//! one (the rest of each segment is the 6-byte concatenation header). Anything else — a
//! character outside that alphabet anywhere in the text — makes the whole message UCS-2: 70
//! UTF-16 units in one message, 67 per segment. Swedish and Norwegian letters (å ä ö æ ø, and
//! é ü) are in the default alphabet; ê, õ or an emoji are not. A segment never ends inside an
//! escape pair (€ [ ] { } ~ ^ \ | and form feed take two septets) nor inside a surrogate pair.
//!
//! Written here rather than taken from a crate: the GSM 7-bit crates on crates.io are small
//! one-person packages without the segment rules; the table is the standard's 138 characters.

/// How a message is coded on the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// GSM 03.38 default alphabet, 7 bits a character (SMPP `data_coding` 0, TP-DCS 0x00).
    Gsm7,
    /// UCS-2 / UTF-16 big endian (SMPP `data_coding` 8, TP-DCS 0x08).
    Ucs2,
}

/// Septets (GSM 7-bit) or UTF-16 units in one message on its own, and per segment of a
/// concatenated one.
const GSM7_SINGLE: usize = 160;
const GSM7_PART: usize = 153;
const UCS2_SINGLE: usize = 70;
const UCS2_PART: usize = 67;
/// Segments a concatenated message may have at most (the reference header counts to 255).
pub const MAX_SEGMENTS: usize = 255;

/// The default alphabet, by code: index = septet value; 0x1B is the escape to the extension
/// table (never a character on its own).
const BASIC: [char; 128] = [
    '@', '£', '$', '¥', 'è', 'é', 'ù', 'ì', 'ò', 'Ç', '\n', 'Ø', 'ø', '\r', 'Å', 'å', //
    'Δ', '_', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ', '\u{1B}', 'Æ', 'æ', 'ß', 'É', //
    ' ', '!', '"', '#', '¤', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', //
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ':', ';', '<', '=', '>', '?', //
    '¡', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', //
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'Ä', 'Ö', 'Ñ', 'Ü', '§', //
    '¿', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', //
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'ä', 'ö', 'ñ', 'ü', 'à', //
];

/// The extension table: the character and the septet that follows the escape.
const EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

const ESCAPE: u8 = 0x1B;

/// The septets of one character in the default alphabet: one, or the escape and one.
fn septets_of(c: char) -> Option<Vec<u8>> {
    if c != '\u{1B}'
        && let Some(i) = BASIC.iter().position(|b| *b == c)
    {
        return u8::try_from(i).ok().map(|s| vec![s]);
    }
    EXTENSION.iter().find(|(e, _)| *e == c).map(|(_, s)| vec![ESCAPE, *s])
}

/// The coding a text needs: GSM 7-bit when every character is in the default alphabet.
pub fn coding(text: &str) -> Coding {
    if text.chars().all(|c| septets_of(c).is_some()) { Coding::Gsm7 } else { Coding::Ucs2 }
}

/// How a text fits: what the typing hint shows ("2 messages, 40 characters left").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    pub coding: Coding,
    /// Septets (GSM 7-bit) or UTF-16 units.
    pub units: usize,
    pub segments: usize,
    /// Units still free in the last segment.
    pub left: usize,
}

/// The text cut into the parts each segment carries (one part when it fits in one message).
pub fn split(text: &str) -> (Coding, Vec<String>) {
    let coding = coding(text);
    let size = |c: char| match coding {
        Coding::Gsm7 => septets_of(c).map_or(0, |s| s.len()),
        Coding::Ucs2 => c.len_utf16(),
    };
    let total: usize = text.chars().map(size).sum();
    let (single, part) = match coding {
        Coding::Gsm7 => (GSM7_SINGLE, GSM7_PART),
        Coding::Ucs2 => (UCS2_SINGLE, UCS2_PART),
    };
    if total <= single {
        return (coding, vec![text.to_owned()]);
    }
    let mut parts = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        // A character never straddles two segments: an escape or surrogate pair moves whole.
        if used + size(c) > part {
            parts.push(String::new());
            used = 0;
        }
        if let Some(p) = parts.last_mut() {
            p.push(c);
        }
        used += size(c);
    }
    (coding, parts)
}

/// How `text` fits (see [`Fit`]).
pub fn fit(text: &str) -> Fit {
    let (coding, parts) = split(text);
    let size = |s: &str| match coding {
        Coding::Gsm7 => s.chars().map(|c| septets_of(c).map_or(0, |v| v.len())).sum(),
        Coding::Ucs2 => s.encode_utf16().count(),
    };
    let units = parts.iter().map(|p| size(p)).sum();
    let per = match (coding, parts.len()) {
        (Coding::Gsm7, 1) => GSM7_SINGLE,
        (Coding::Gsm7, _) => GSM7_PART,
        (Coding::Ucs2, 1) => UCS2_SINGLE,
        (Coding::Ucs2, _) => UCS2_PART,
    };
    let last = parts.last().map_or(0, |p| size(p));
    Fit { coding, units, segments: parts.len(), left: per.saturating_sub(last) }
}

/// `text` with typographic characters that are not in the GSM alphabet replaced by their plain
/// look-alikes (dashes, curly quotes, the ellipsis, non-breaking and narrow spaces), as SMS
/// gateways do: one "–" pasted from a word processor would otherwise make the whole message
/// UCS-2 and more than double its segments. Letters are never changed.
pub fn plain_punctuation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' | '´' | '`' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '«' | '»' => out.push('"'),
            '\u{2026}' => out.push_str("..."),
            '\u{A0}' | '\u{2002}'..='\u{200A}' | '\u{202F}' => out.push(' '),
            '\u{200B}' | '\u{FEFF}' => {}
            '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max_segments` segments, ending in an ellipsis when cut (at a word
/// boundary when one is near): "..." in a 7-bit text, since "…" is not in the GSM alphabet and
/// would turn the whole message into UCS-2.
pub fn truncate(text: &str, max_segments: usize) -> String {
    truncate_before(text, "", max_segments)
}

/// `head` followed by `tail` in at most `max_segments` segments: the head is cut as in
/// [`truncate`] so that the tail (a link, say) always survives whole. A tail too long on its
/// own is cut itself.
pub fn truncate_before(head: &str, tail: &str, max_segments: usize) -> String {
    let max_segments = max_segments.clamp(1, MAX_SEGMENTS);
    let whole = format!("{head}{tail}");
    if fit(&whole).segments <= max_segments {
        return whole;
    }
    let ellipsis = if coding(&whole) == Coding::Gsm7 { "..." } else { "…" };
    let chars: Vec<char> = head.chars().collect();
    let with = |n: usize| format!("{}{ellipsis}{tail}", chars[..n].iter().collect::<String>());
    if fit(&with(0)).segments > max_segments {
        return truncate(tail.trim_start(), max_segments);
    }
    // The longest head that fits: binary search on the character count.
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fit(&with(mid)).segments <= max_segments { lo = mid } else { hi = mid - 1 }
    }
    let cut: String = chars[..lo].iter().collect();
    let word = cut.rfind(char::is_whitespace).filter(|i| *i * 5 >= cut.len() * 4).map_or(cut.as_str(), |i| &cut[..i]);
    format!("{}{ellipsis}{tail}", word.trim_end())
}

/// A phone number in E.164 form (`+46701234567`), from what people type: spaces, dashes,
/// dots and parentheses are dropped and a leading `00` is read as `+`. `None` unless it is a
/// `+`, a country code not starting with 0, and 8 to 15 digits in all.
pub fn e164(input: &str) -> Option<String> {
    let kept: String = input.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}')).collect();
    let digits = kept.strip_prefix('+').or_else(|| kept.strip_prefix("00"))?;
    let ok = (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
    ok.then(|| format!("+{digits}"))
}

/// The septets of a text in the default alphabet, one per byte (as SMPP carries them with
/// `data_coding` 0); `None` when a character is not in it.
pub fn gsm7_septets(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        out.extend(septets_of(c)?);
    }
    Some(out)
}

/// The text of septets (one per byte); `None` for a value outside the alphabet.
pub fn gsm7_text(septets: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut it = septets.iter();
    while let Some(&s) = it.next() {
        if s == ESCAPE {
            let &n = it.next()?;
            out.push(EXTENSION.iter().find(|(_, e)| *e == n)?.0);
        } else {
            out.push(*BASIC.get(usize::from(s))?);
        }
    }
    Some(out)
}

/// Septets packed 8 into 7 bytes, as in a PDU's user data (3GPP TS 23.038 §6.1.2.1.1). `fill`
/// bits come first (0–6), so that the septets after a user data header start on a septet
/// boundary.
pub fn pack_septets(septets: &[u8], fill: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity((septets.len() * 7 + usize::from(fill)).div_ceil(8));
    let (mut acc, mut bits) = (0u32, u32::from(fill.min(6)));
    for &s in septets {
        acc |= u32::from(s & 0x7F) << bits;
        bits += 7;
        while bits >= 8 {
            out.push((acc & 0xFF) as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 {
        out.push((acc & 0xFF) as u8);
    }
    out
}

/// The septets packed by [`pack_septets`] (`count` of them, after `fill` bits).
pub fn unpack_septets(bytes: &[u8], count: usize, fill: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(count);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut skip = u32::from(fill.min(6));
    for &b in bytes {
        acc |= u32::from(b) << bits;
        bits += 8;
        if skip > 0 {
            acc >>= skip;
            bits -= skip;
            skip = 0;
        }
        while bits >= 7 && out.len() < count {
            out.push((acc & 0x7F) as u8);
            acc >>= 7;
            bits -= 7;
        }
    }
    out
}

/// The user data header of segment `seq` (1-based) of `total`, reference `reference`: the
/// 8-bit concatenation element (IEI 0x00), 6 bytes with its length byte.
pub fn concat_header(reference: u8, total: u8, seq: u8) -> [u8; 6] {
    [0x05, 0x00, 0x03, reference, total, seq]
}

/// Why a PDU cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("the number is not +<country code><number> with 6 to 15 digits")]
    BadNumber,
    #[error("the text needs {0} segments, more than {MAX_SEGMENTS}")]
    TooLong(usize),
    #[error("not an SMS-DELIVER PDU, or cut short")]
    NotDeliver,
}

/// A text received by a modem, read from its SMS-DELIVER PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The sender: E.164 for an international number, else the digits or name as given.
    pub from: String,
    pub text: String,
}

/// Reads an SMS-DELIVER PDU as a modem lists it in PDU mode (`AT+CMGL`; 3GPP TS 23.040
/// §9.2.2.1): the service centre address first, then the sender, the coding and the text. A
/// concatenation header is skipped (each part is read on its own). Every length is checked
/// against the bytes there are.
pub fn read_deliver(pdu: &[u8]) -> Result<Delivered, PduError> {
    let bad = PduError::NotDeliver;
    let at = |i: usize| pdu.get(i).copied().ok_or(PduError::NotDeliver);
    let mut i = 1 + usize::from(at(0)?);
    let first = at(i)?;
    if first & 0x03 != 0x00 {
        return Err(bad);
    }
    let digits = usize::from(at(i + 1)?);
    let kind = at(i + 2)?;
    let addr = pdu.get(i + 3..i + 3 + digits.div_ceil(2)).ok_or(PduError::NotDeliver)?;
    let from = if kind & 0x70 == 0x50 {
        // Alphanumeric sender: GSM 7-bit packed, `digits` counts semi-octets.
        gsm7_text(&unpack_septets(addr, digits * 4 / 7, 0)).unwrap_or_default()
    } else {
        let d: String = addr
            .iter()
            .flat_map(|b| [b & 0x0F, b >> 4])
            .take(digits)
            .map(|n| char::from_digit(u32::from(n), 10).unwrap_or('?'))
            .collect();
        if kind & 0x70 == 0x10 { format!("+{d}") } else { d }
    };
    i += 3 + digits.div_ceil(2);
    let dcs = at(i + 1)?;
    i += 2 + 7; // PID, DCS, the centre's time stamp
    let udl = usize::from(at(i)?);
    let ud = pdu.get(i + 1..).ok_or(PduError::NotDeliver)?;
    let header = if first & 0x40 != 0 { 1 + usize::from(*ud.first().ok_or(PduError::NotDeliver)?) } else { 0 };
    let text = match dcs & 0x0C {
        0x00 => {
            let header_septets = (header * 8).div_ceil(7);
            let fill = u8::try_from(header_septets * 7 - header * 8).unwrap_or(0);
            let count = udl.checked_sub(header_septets).ok_or(PduError::NotDeliver)?;
            let body = ud.get(header..).ok_or(PduError::NotDeliver)?;
            if body.len() * 8 < count * 7 + usize::from(fill) {
                return Err(bad);
            }
            gsm7_text(&unpack_septets(body, count, fill)).ok_or(PduError::NotDeliver)?
        }
        0x08 => {
            let body = ud.get(header..udl).ok_or(PduError::NotDeliver)?;
            let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => return Err(bad),
    };
    Ok(Delivered { from, text })
}

/// The number as a PDU address: length in digits, type (0x91: international), semi-octets.
fn address(e164: &str) -> Result<Vec<u8>, PduError> {
    let digits = e164.strip_prefix('+').ok_or(PduError::BadNumber)?;
    if !(6..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return Err(PduError::BadNumber);
    }
    let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    let mut out = vec![u8::try_from(d.len()).map_err(|_| PduError::BadNumber)?, 0x91];
    for pair in d.chunks(2) {
        out.push(pair[0] | (pair.get(1).copied().unwrap_or(0x0F) << 4));
    }
    Ok(out)
}

/// The SMS-SUBMIT PDUs (3GPP TS 23.040 §9.2.2.2) that send `text` to `to` (E.164), one per
/// segment, as a modem takes them in PDU mode (`AT+CMGS=<length>` then the hex): no service
/// centre address (the SIM's is used), validity 4 days, a status report asked for, the
/// concatenation header with `reference` on each segment of a longer text.
pub fn submit_pdus(to: &str, text: &str, reference: u8) -> Result<Vec<Vec<u8>>, PduError> {
    let da = address(to)?;
    let (coding, parts) = split(text);
    if parts.len() > MAX_SEGMENTS {
        return Err(PduError::TooLong(parts.len()));
    }
    let total = u8::try_from(parts.len()).map_err(|_| PduError::TooLong(parts.len()))?;
    let mut out = Vec::with_capacity(parts.len());
    for (i, part) in parts.iter().enumerate() {
        let header = (total > 1).then(|| concat_header(reference, total, u8::try_from(i + 1).unwrap_or(u8::MAX)));
        // TP-MTI submit, TP-VPF relative, TP-SRR; TP-UDHI when a header leads the user data.
        let first = 0x01 | 0x10 | 0x20 | if header.is_some() { 0x40 } else { 0 };
        let mut pdu = vec![0x00, first, 0x00];
        pdu.extend(&da);
        let udh = header.map(|h| h.to_vec()).unwrap_or_default();
        match coding {
            Coding::Gsm7 => {
                let septets = gsm7_septets(part).unwrap_or_default();
                // The header is counted in septets, padded to a septet boundary.
                let header_septets = (udh.len() * 8).div_ceil(7);
                let fill = u8::try_from(header_septets * 7 - udh.len() * 8).unwrap_or(0);
                pdu.extend([0x00, 0x00, 0xAA]);
                pdu.push(u8::try_from(header_septets + septets.len()).unwrap_or(u8::MAX));
                pdu.extend(&udh);
                pdu.extend(pack_septets(&septets, fill));
            }
            Coding::Ucs2 => {
                let bytes: Vec<u8> = part.encode_utf16().flat_map(u16::to_be_bytes).collect();
                pdu.extend([0x00, 0x08, 0xAA]);
                pdu.push(u8::try_from(udh.len() + bytes.len()).unwrap_or(u8::MAX));
                pdu.extend(&udh);
                pdu.extend(bytes);
            }
        }
        out.push(pdu);
    }
    Ok(out)
}

/// The `short_message` of each SMPP `submit_sm` for `text`: GSM 7-bit unpacked, one septet a
/// byte (`data_coding` 0, the SMSC's default alphabet), or UCS-2 big endian (`data_coding` 8);
/// each segment of a longer text led by the concatenation header with `reference` (then the
/// submit sets UDHI, 0x40, in `esm_class`).
pub fn smpp_parts(text: &str, reference: u8) -> Result<(Coding, Vec<Vec<u8>>), PduError> {
    let (coding, parts) = split(text);
    let total = u8::try_from(parts.len()).map_err(|_| PduError::TooLong(parts.len()))?;
    let out = parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let mut bytes = if total > 1 {
                concat_header(reference, total, u8::try_from(i + 1).unwrap_or(u8::MAX)).to_vec()
            } else {
                Vec::new()
            };
            match coding {
                Coding::Gsm7 => bytes.extend(gsm7_septets(part).unwrap_or_default()),
                Coding::Ucs2 => bytes.extend(part.encode_utf16().flat_map(u16::to_be_bytes)),
            }
            bytes
        })
        .collect();
    Ok((coding, out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn swedish_and_norwegian_letters_stay_in_seven_bits_and_others_make_the_message_ucs2() {
        for t in ["Hej! Strömmen är tillbaka på Östra sjukhuset.", "Æ Ø Å æ ø å é Ü ü", "Ring 010-123 45 67 §3"]
        {
            assert_eq!(coding(t), Coding::Gsm7, "{t}");
        }
        for t in ["Forêt", "Status 👍", "Øvelse ê"] {
            assert_eq!(coding(t), Coding::Ucs2, "{t}");
        }
        let f = fit("Hej på dig");
        assert_eq!((f.coding, f.units, f.segments, f.left), (Coding::Gsm7, 10, 1, 150));
        // The extension table takes two septets each.
        assert_eq!(fit("Pris 20 €").units, 10);
        assert_eq!(gsm7_text(&gsm7_septets("[del 1 av 5] {~^|\\} €").unwrap()).unwrap(), "[del 1 av 5] {~^|\\} €");
        assert!(gsm7_septets("ê").is_none());
    }

    #[test]
    fn long_texts_are_cut_into_segments_without_splitting_a_character() {
        let a160 = "a".repeat(160);
        assert_eq!((fit(&a160).segments, fit(&a160).left), (1, 0));
        let f = fit(&format!("{a160}a"));
        assert_eq!((f.segments, f.units, f.left), (2, 161, 153 - 8));
        // An escape pair at the end of a segment moves to the next one whole.
        let t = format!("{}€{}", "a".repeat(152), "b".repeat(10));
        let (c, parts) = split(&t);
        assert_eq!((c, parts.len()), (Coding::Gsm7, 2));
        assert_eq!((parts[0].chars().count(), parts[1].chars().next()), (152, Some('€')));
        // UCS-2: 70 units, then 67 a segment; a surrogate pair (the emoji) is never cut.
        let u70 = "ê".repeat(70);
        assert_eq!((fit(&u70).coding, fit(&u70).segments), (Coding::Ucs2, 1));
        assert_eq!(fit(&format!("{u70}ê")).segments, 2);
        let (_, parts) = split(&format!("{}👍{}", "ê".repeat(66), "x".repeat(5)));
        assert_eq!((parts[0].encode_utf16().count(), parts[1].starts_with('👍')), (66, true));
        assert_eq!(split(&"a".repeat(153 * 3)).1.len(), 3);
        assert_eq!(split(&"a".repeat(153 * 3 + 1)).1.len(), 4);
    }

    #[test]
    fn septets_pack_as_the_standard_says_and_unpack_again() {
        // 3GPP TS 23.038's classic example: "hellohello" → E8 32 9B FD 46 97 D9 EC 37.
        let packed = pack_septets(&gsm7_septets("hellohello").unwrap(), 0);
        assert_eq!(packed, [0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37]);
        assert_eq!(gsm7_text(&unpack_septets(&packed, 10, 0)).unwrap(), "hellohello");
        // After a 6-byte header (48 bits), one fill bit puts the text on a septet boundary.
        let s = gsm7_septets("Övning: del 2 av 5").unwrap();
        let with_fill = pack_septets(&s, 1);
        assert_eq!(gsm7_text(&unpack_septets(&with_fill, s.len(), 1)).unwrap(), "Övning: del 2 av 5");
        assert_eq!(concat_header(0x2A, 3, 1), [0x05, 0x00, 0x03, 0x2A, 3, 1]);
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }

    #[test]
    fn a_text_becomes_the_submit_pdus_a_modem_sends() {
        // The classic example (+46708251358, "hellohello"), here with a status report asked for.
        let pdus = submit_pdus("+46708251358", "hellohello", 0).unwrap();
        assert_eq!(hex(&pdus[0]), "0031000B916407281553F80000AA0AE8329BFD4697D9EC37");
        // UCS-2: two bytes a unit, the length in bytes.
        let u = submit_pdus("+4712345678", "Forêt", 0).unwrap();
        assert_eq!(hex(&u[0]), "0031000A9174214365870008AA0A0046006F007200EA0074");
        // Three segments, each with the header; the text after it reads back whole.
        let long = format!("Övning: {}", "planerat underhåll pågår. ".repeat(15));
        let parts = submit_pdus("+46708251358", &long, 7).unwrap();
        assert_eq!(parts.len(), 3);
        let mut back = String::new();
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p[1] & 0x40, 0x40, "UDHI on segment {i}");
            let ud = &p[15..];
            assert_eq!(&ud[..6], &concat_header(7, 3, u8::try_from(i + 1).unwrap()));
            let septets = usize::from(p[14]) - 7;
            back += &gsm7_text(&unpack_septets(&ud[6..], septets, 1)).unwrap();
        }
        assert_eq!(back, long);
        assert_eq!(submit_pdus("0708251358", "x", 0), Err(PduError::BadNumber));
        assert_eq!(submit_pdus("+46 70", "x", 0), Err(PduError::BadNumber));
    }

    #[test]
    fn a_long_text_is_cut_to_the_cap_at_a_word_and_phone_numbers_are_read_as_e164() {
        let long = "Strömavbrott på Östra sjukhuset. ".repeat(20);
        let cut = truncate(&long, 2);
        assert!(cut.ends_with("...") && !cut.contains("  "), "{cut}");
        assert_eq!((fit(&cut).coding, fit(&cut).segments), (Coding::Gsm7, 2));
        let kept = cut.trim_end_matches("...");
        assert!(long.starts_with(kept) && long[kept.len()..].starts_with(' '), "cut inside a word: {cut}");
        let emoji = "Läget 👍 ".repeat(40);
        let cut = truncate(&emoji, 1);
        assert!(cut.ends_with('…') && fit(&cut).segments == 1, "{cut}");
        assert_eq!(truncate("kort", 1), "kort");
        let typed = plain_punctuation("Läget – “stabilt” … nästa 14\u{202F}30 ’ok’");
        assert_eq!(typed, "Läget - \"stabilt\" ... nästa 14 30 'ok'");
        assert_eq!(coding(&typed), Coding::Gsm7);
        let link = " https://beredd.example/status";
        let kept = truncate_before(&long, link, 1);
        assert!(kept.ends_with(&format!("...{link}")) && fit(&kept).segments == 1, "{kept}");

        assert_eq!(e164("+46 70-123 45 67").as_deref(), Some("+46701234567"));
        assert_eq!(e164("0047 (22) 12.34.56").as_deref(), Some("+4722123456"));
        for bad in ["070-123 45 67", "+46", "+0046701234567", "+46 70 123 45 67 89 01 23", "+46abc12345", ""] {
            assert_eq!(e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_received_pdu_is_read_back_and_a_short_one_is_refused() {
        // 3GPP's classic SMS-DELIVER: from +27838890001 via centre +27831000015, "hellohello".
        let pdu = "07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37";
        let got = read_deliver(&unhex(pdu)).unwrap();
        assert_eq!(got, Delivered { from: "27838890001".into(), text: "hellohello".into() });
        // An international sender, UCS-2: "Stopp 👍".
        let mut ucs2 = vec![0x00, 0x04, 0x0B, 0x91, 0x64, 0x07, 0x21, 0x43, 0x65, 0xF7, 0x00, 0x08];
        ucs2.extend([0u8; 7]);
        let body: Vec<u8> = "Stopp 👍".encode_utf16().flat_map(u16::to_be_bytes).collect();
        ucs2.push(u8::try_from(body.len()).unwrap());
        ucs2.extend(&body);
        assert_eq!(read_deliver(&ucs2).unwrap(), Delivered { from: "+46701234567".into(), text: "Stopp 👍".into() });
        for cut in [1, 5, 12, 20, ucs2.len() - 1] {
            assert!(read_deliver(&ucs2[..cut]).is_err(), "{cut}");
        }
        assert_eq!(read_deliver(&[]), Err(PduError::NotDeliver));
        assert_eq!(read_deliver(&submit_pdus("+46701234567", "x", 0).unwrap()[0]), Err(PduError::NotDeliver));
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
