//! Numbers and dates as people type them in forms and spreadsheets, in any of the three
//! languages: decimal comma or point, spaces as digit grouping, ISO or Norwegian dates.

/// Parses a decimal amount into hundredths: "12,50", "12.5", "1 200", and with both a comma and
/// a point the last one is the decimal sign ("1,234.50", "1.234,50").
pub fn parse_money(s: &str) -> Option<i64> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    let clean = match (clean.rfind(','), clean.rfind('.')) {
        (Some(c), Some(p)) => {
            let (group, point) = if c > p { ('.', ',') } else { (',', '.') };
            clean.replace(group, "").replace(point, ".")
        }
        _ => clean.replace(',', "."),
    };
    let (whole, frac) = clean.split_once('.').unwrap_or((&clean, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// Parses a whole number, allowing spaces as digit grouping ("1 000").
pub fn parse_count(s: &str) -> Option<u32> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    clean.parse().ok()
}

/// Parses `YYYY-MM-DD` (what `<input type="date">` sends), or `DD.MM.YYYY` as Norwegians write.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let s = s.trim();
    let (y, m, d) = if let Some((d, rest)) = s.split_once('.') {
        let (m, y) = rest.split_once('.')?;
        (y, m, d)
    } else {
        let mut it = s.splitn(3, '-');
        (it.next()?, it.next()?, it.next()?)
    };
    let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
    if y.len() != 4 {
        return None;
    }
    time::Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_parse_as_users_write_them() {
        assert_eq!(parse_money("12,50"), Some(1250));
        assert_eq!(parse_money("1 200.5"), Some(120050));
        assert_eq!(parse_money(",5"), Some(50));
        assert_eq!(parse_money("12,345"), None);
        assert_eq!(parse_money("1,234.50"), Some(123450));
        assert_eq!(parse_money("1.234,5"), Some(123450));
        assert_eq!(parse_money("1.2.3"), None);
        assert_eq!(parse_money("-3"), None);
        assert_eq!(parse_money(""), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(parse_count("1 000"), Some(1000));
        assert_eq!(parse_count("1.5"), None);
        assert_eq!(parse_count("99999999999"), None);
        assert_eq!(parse_date("2026-12-01"), Some(time::macros::date!(2026 - 12 - 01)));
        assert_eq!(parse_date("01.12.2026"), Some(time::macros::date!(2026 - 12 - 01)));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("26-02-01"), None);
    }
}
