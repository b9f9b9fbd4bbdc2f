//! Time semantics shared by every input: datetimes with offsets are normalised to UTC, a bare date
//! means 00:00:00 UTC that day, and an item's *year* is the UTC year of its `created_at`.

use std::sync::LazyLock;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

/// Parses an ISO 8601 date (`2024-03-01`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Parses a date or an RFC 3339 datetime into an instant in UTC.
///
/// Accepted: `2024-03-01` (midnight UTC), `2024-03-01T12:00:00Z`, `2024-03-01T12:00:00+02:00`,
/// an offset without its colon (`+0200`, as strftime's `%z`, Java and polars write it),
/// fractional seconds, a space instead of `T`, and a datetime without offset (read as UTC).
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    let formats = &*FORMATS;
    for items in &formats[..2] {
        if let Some(dt) = parse_with(text, items).and_then(|p| p.to_datetime().ok()) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    if let Some(date) = parse_date(text) {
        return date.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc());
    }
    for items in &formats[2..] {
        if let Some(dt) =
            parse_with(text, items).and_then(|p| p.to_naive_datetime_with_offset(0).ok())
        {
            return Some(dt.and_utc());
        }
    }
    None
}

/// The strftime formats [`parse_instant`] tries after RFC 3339, compiled once (millions of
/// listing rows go through it): with an offset, then without.
static FORMATS: LazyLock<[Vec<Item<'static>>; 4]> = LazyLock::new(|| {
    [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .map(|f| StrftimeItems::new(f).parse_to_owned().unwrap_or_default())
});

fn parse_with(text: &str, items: &[Item<'static>]) -> Option<Parsed> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter()).ok()?;
    Some(parsed)
}

/// The UTC year of a date or datetime text.
pub fn utc_year(text: &str) -> Option<i32> {
    parse_instant(text).map(|dt| dt.year())
}

/// Parses a month (`2024-03`).
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if text.len() != 7 {
        return None;
    }
    NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").ok()
}

/// A month as a number that counts months, `year * 12 + month - 1`, for ranges and grouping
/// (`2024-03` → 24290).
pub fn month_number(text: &str) -> Option<i32> {
    let d = parse_month(text)?;
    Some(d.year() * 12 + d.month0() as i32)
}

/// `YYYY-MM` for a [`month_number`].
pub fn month_text(n: i32) -> String {
    format!("{:04}-{:02}", n.div_euclid(12), n.rem_euclid(12) + 1)
}

/// Formats an instant the way the outputs show it: a date when it is midnight UTC, else RFC 3339.
pub fn format_instant(dt: &DateTime<Utc>) -> String {
    if dt.time() == chrono::NaiveTime::MIN {
        dt.format("%Y-%m-%d").to_string()
    } else {
        dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

/// Formats an instant for machine-readable tables: always RFC 3339 in UTC with seconds.
pub fn format_utc(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An RFC 3339 UTC text as the pages show it: the date alone when it is midnight.
pub fn display_instant(text: &str) -> String {
    parse_instant(text).map_or_else(|| text.to_owned(), |dt| format_instant(&dt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_offsets_to_utc_years() {
        let cases = [
            ("2020-01-01", Some(2020)),
            ("2020-01-01T00:30:00+01:00", Some(2019)),
            ("2019-12-31T23:30:00-01:00", Some(2020)),
            ("2019-12-31T23:30:00-0100", Some(2020)),
            ("2020-01-01T00:30:00.250+0100", Some(2019)),
            ("2020-01-01 00:30:00+0100", Some(2019)),
            ("2021-06-01T12:00:00Z", Some(2021)),
            ("2021-06-01 12:00:00", Some(2021)),
            ("2021-06-01T12:00:00.123Z", Some(2021)),
            ("2021-02-30", None),
            ("yesterday", None),
            ("", None),
        ];
        for (text, year) in cases {
            assert_eq!(utc_year(text), year, "{text}");
        }
    }

    #[test]
    fn keeps_the_instant_to_the_microsecond_in_every_accepted_form() {
        let cases = [
            ("2020-01-01T00:30:00.250+0100", "2019-12-31T23:30:00.250Z"),
            (
                "2020-01-01 00:30:00.000001-0130",
                "2020-01-01T02:00:00.000001Z",
            ),
            ("2021-06-01T12:00:00.5", "2021-06-01T12:00:00.500Z"),
            ("2021-06-01 12:00:00", "2021-06-01T12:00:00Z"),
            (
                "1969-12-31T23:59:59.999999+0000",
                "1969-12-31T23:59:59.999999Z",
            ),
        ];
        for (text, want) in cases {
            let got = parse_instant(text).map(|dt| format_utc(&dt));
            assert_eq!(got.as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn parses_months_strictly() {
        assert!(parse_month("2024-03").is_some());
        assert!(parse_month("2024-13").is_none());
        assert!(parse_month("2024-3").is_none());
        assert!(parse_month("2024-03-01").is_none());
    }

    #[test]
    fn numbers_months_both_ways() {
        assert_eq!(month_number("2024-03"), Some(2024 * 12 + 2));
        assert_eq!(month_text(2024 * 12 + 2), "2024-03");
        assert_eq!(month_text(2023 * 12 + 11), "2023-12");
        assert_eq!(month_number("2024-13"), None);
    }

    #[test]
    fn formats_midnight_as_a_date() {
        let dt = parse_instant("2023-05-01").expect("valid");
        assert_eq!(format_instant(&dt), "2023-05-01");
        let dt = parse_instant("2023-05-01T10:00:00+02:00").expect("valid");
        assert_eq!(format_instant(&dt), "2023-05-01T08:00:00Z");
    }
}
