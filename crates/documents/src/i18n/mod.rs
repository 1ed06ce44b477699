//! The UI's languages: Swedish (the default), Norwegian bokmål and English. Every string lives
//! in one catalog per language (`sv.toml`, `nb.toml`, `en.toml`), never in a template; dates,
//! times and numbers are formatted as each language writes them, in the users' time zone.

mod parse;

pub use parse::{parse_count, parse_date, parse_money};

use std::collections::HashMap;
use std::sync::LazyLock;
use time::{Date, OffsetDateTime};

/// The preferred-language cookie.
pub const COOKIE: &str = "beredd_lang";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Sv,
    Nb,
    En,
}

const SOURCES: [(Lang, &str); 3] =
    [(Lang::Sv, include_str!("sv.toml")), (Lang::Nb, include_str!("nb.toml")), (Lang::En, include_str!("en.toml"))];

/// Each language's strings, by dotted key (`nav.catalog`).
static CATALOGS: LazyLock<HashMap<&'static str, HashMap<String, String>>> =
    LazyLock::new(|| SOURCES.iter().map(|(lang, src)| (lang.code(), flatten(src).unwrap_or_default())).collect());

/// The catalog's keys and strings, with nested tables joined by dots.
pub fn flatten(src: &str) -> Result<HashMap<String, String>, toml::de::Error> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut HashMap<String, String>) {
        for (k, v) in t {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                toml::Value::Table(t) => walk(&key, t, out),
                toml::Value::String(s) => {
                    out.insert(key, s.clone());
                }
                other => {
                    out.insert(key, other.to_string());
                }
            }
        }
    }
    let table: toml::Table = toml::from_str(src)?;
    let mut out = HashMap::new();
    walk("", &table, &mut out);
    Ok(out)
}

/// The catalog source of a language (for the completeness test).
pub fn source(lang: Lang) -> &'static str {
    SOURCES.iter().find(|(l, _)| *l == lang).map(|(_, s)| *s).unwrap_or_default()
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Sv, Lang::Nb, Lang::En];

    /// The BCP 47 code, as in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::Nb => "nb",
            Self::En => "en",
        }
    }

    /// The language's own name, for the language switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Self::Sv => "Svenska",
            Self::Nb => "Norsk (bokmål)",
            Self::En => "English",
        }
    }

    /// `sv`, `nb` (also `no` and `nn`, which read bokmål well) or `en`, with or without a region.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "sv" => Some(Self::Sv),
            "nb" | "no" | "nn" => Some(Self::Nb),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The best of our languages in an `Accept-Language` header, by its q-values.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut tags: Vec<(f32, usize, Lang)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let lang = Lang::parse(it.next()?)?;
                let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
                (q > 0.0).then_some((q, i, lang))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        tags.first().map(|t| t.2)
    }

    /// The string for `key`; the key itself if missing (a test keeps the catalogs complete).
    pub fn t(self, key: &str) -> &'static str {
        match CATALOGS.get(self.code()).and_then(|c| c.get_key_value(key)) {
            Some((_, v)) => v.as_str(),
            None => CATALOGS.get("sv").and_then(|c| c.get(key)).map_or("", String::as_str),
        }
    }

    /// Whether the catalog has `key` (for optional texts such as flash messages).
    pub fn has(self, key: &str) -> bool {
        CATALOGS.get(self.code()).is_some_and(|c| c.contains_key(key))
    }

    /// The string for `key` with each `{name}` replaced.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut s = self.t(key).to_owned();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    fn zone(self) -> jiff::tz::TimeZone {
        let name = if self == Self::Nb { "Europe/Oslo" } else { "Europe/Stockholm" };
        jiff::tz::TimeZone::get(name).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    /// A calendar date: 2026-11-23 (sv), 23.11.2026 (nb), 23 Nov 2026 (en).
    pub fn date(self, d: Date) -> String {
        let (y, m, day) = (d.year(), u8::from(d.month()), d.day());
        match self {
            Self::Sv => format!("{y:04}-{m:02}-{day:02}"),
            Self::Nb => format!("{day:02}.{m:02}.{y:04}"),
            Self::En => {
                const MONTHS: [&str; 12] =
                    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
                format!("{day} {} {y:04}", MONTHS[usize::from(m.saturating_sub(1)) % 12])
            }
        }
    }

    /// A moment as local date and time in the language's zone: 2026-11-23 14:05.
    pub fn datetime(self, t: OffsetDateTime) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else { return String::new() };
        let z = ts.to_zoned_datetime(self.zone());
        let date = Date::from_calendar_date(
            i32::from(z.year()),
            time::Month::try_from(u8::try_from(z.month()).unwrap_or(1)).unwrap_or(time::Month::January),
            u8::try_from(z.day()).unwrap_or(1),
        );
        let clock = format!("{:02}:{:02}", z.hour(), z.minute());
        match date {
            Ok(d) => format!("{} {clock}", self.date(d)),
            Err(_) => clock,
        }
    }

    /// A form's local date and time (`2026-12-02T14:30`, as `datetime-local` inputs send it)
    /// in the language's zone, as a moment.
    pub fn parse_local(self, s: &str) -> Option<OffsetDateTime> {
        let civil: jiff::civil::DateTime = s.trim().parse().ok()?;
        let ts = civil.to_zoned_datetime(self.zone()).ok()?.timestamp();
        OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
    }

    /// A date and a local time of day in the language's zone, as a moment (a time that does
    /// not exist on that day, in the spring's gap, moves on as the zone says).
    pub fn local_at(self, d: Date, hour: u8, minute: u8) -> Option<OffsetDateTime> {
        let civil = jiff::civil::date(
            i16::try_from(d.year()).ok()?,
            i8::try_from(u8::from(d.month())).ok()?,
            i8::try_from(d.day()).ok()?,
        )
        .at(i8::try_from(hour).ok()?, i8::try_from(minute).ok()?, 0, 0);
        let ts = civil.to_zoned_datetime(self.zone()).ok()?.timestamp();
        OffsetDateTime::from_unix_timestamp(ts.as_second()).ok()
    }

    /// The same moment as a `datetime-local` input's value.
    pub fn local_input(self, t: OffsetDateTime) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else { return String::new() };
        ts.to_zoned_datetime(self.zone()).strftime("%Y-%m-%dT%H:%M").to_string()
    }

    /// Local time of day only: 14:05.
    pub fn clock(self, t: OffsetDateTime) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(t.unix_timestamp()) else { return String::new() };
        let z = ts.to_zoned_datetime(self.zone());
        format!("{:02}:{:02}:{:02}", z.hour(), z.minute(), z.second())
    }

    /// A whole number with the language's digit grouping: 12 345 (sv, nb), 12,345 (en).
    pub fn int(self, n: i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let sep = if self == Self::En { "," } else { "\u{a0}" };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(sep);
            }
            out.push(c);
        }
        if n < 0 { format!("−{out}") } else { out }
    }

    /// An amount in hundredths: 1 234,50 (sv, nb), 1,234.50 (en).
    pub fn money(self, cents: i64) -> String {
        let point = if self == Self::En { '.' } else { ',' };
        let sign = if cents < 0 { "−" } else { "" };
        let c = cents.unsigned_abs();
        format!("{sign}{}{point}{:02}", self.int(i64::try_from(c / 100).unwrap_or(i64::MAX)), c % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn every_catalog_has_the_same_keys_and_no_empty_string() {
        let sv = flatten(source(Lang::Sv)).unwrap();
        assert!(sv.len() > 100, "{}", sv.len());
        for lang in [Lang::Nb, Lang::En] {
            let other = flatten(source(lang)).unwrap();
            let mut missing: Vec<_> = sv.keys().filter(|k| !other.contains_key(*k)).collect();
            let mut extra: Vec<_> = other.keys().filter(|k| !sv.contains_key(*k)).collect();
            missing.sort();
            extra.sort();
            assert!(missing.is_empty() && extra.is_empty(), "{lang:?}: missing {missing:?}, extra {extra:?}");
            assert!(other.values().all(|v| !v.trim().is_empty()), "{lang:?} has an empty string");
        }
    }

    #[test]
    fn accept_language_picks_the_best_supported_tag() {
        assert_eq!(Lang::from_accept_language("de-DE,nb;q=0.8,en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::from_accept_language("nn-NO, sv;q=0.5"), Some(Lang::Nb));
        assert_eq!(Lang::from_accept_language("sv-SE"), Some(Lang::Sv));
        assert_eq!(Lang::from_accept_language("fr, de;q=0.4"), None);
        assert_eq!(Lang::from_accept_language("en;q=0, sv;q=0.1"), Some(Lang::Sv));
    }

    #[test]
    fn dates_times_and_numbers_follow_the_language() {
        let d = date!(2026 - 03 - 07);
        assert_eq!(Lang::Sv.date(d), "2026-03-07");
        assert_eq!(Lang::Nb.date(d), "07.03.2026");
        assert_eq!(Lang::En.date(d), "7 Mar 2026");
        // 12:30 UTC is 13:30 in Stockholm in winter and 14:30 in summer.
        assert_eq!(Lang::Sv.datetime(datetime!(2026-01-15 12:30 UTC)), "2026-01-15 13:30");
        assert_eq!(Lang::Nb.datetime(datetime!(2026-07-15 12:30 UTC)), "15.07.2026 14:30");
        assert_eq!(Lang::Sv.int(1234567), "1\u{a0}234\u{a0}567");
        assert_eq!(Lang::En.int(1234567), "1,234,567");
        assert_eq!(Lang::Sv.money(123450), "1\u{a0}234,50");
        assert_eq!(Lang::En.money(5), "0.05");
        assert_eq!(Lang::Nb.money(-99), "−0,99");
    }
}
