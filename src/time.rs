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
    fixed_shape(text).or_else(|| parse_general(text))
}

/// The shape nearly every listing writes (`2024-03-01T12:00:00.123456+0000`): a date, `T` or a
/// space, a time to the second, a fraction of one to nine digits or none, and `Z`, `±HH:MM` or
/// `±HHMM`. Its fields are cut at fixed places and chrono checks each as it builds the instant
/// (a CSV listing's every `created_at` comes through here: chrono's RFC 3339 parser took a
/// fifth of a CSV build's own work). `None` for any other text, valid or not: [`parse_general`]
/// reads it then, as it would have.
fn fixed_shape(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let number = |digits: &[u8]| -> Option<u32> {
        digits.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(number(&b[..4])?).ok()?,
        number(&b[5..7])?,
        number(&b[8..10])?,
    )?;
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let [b'.', fraction @ ..] = rest {
        let n = fraction
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if !(1..=9).contains(&n) {
            return None;
        }
        nanos = number(&fraction[..n])? * 10u32.pow(9 - u32::try_from(n).ok()?);
        rest = &fraction[n..];
    }
    // Seconds 60 (a leap second) and hours 24 are refused here, and read as before.
    let time = chrono::NaiveTime::from_hms_nano_opt(
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
        nanos,
    )?;
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let (hours, minutes) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    date.and_time(time)
        .checked_sub_signed(chrono::TimeDelta::try_seconds(offset)?)
        .map(|dt| dt.and_utc())
}

/// [`parse_instant`] for every accepted form.
fn parse_general(text: &str) -> Option<DateTime<Utc>> {
    // An offset without its colon first: RFC 3339 refuses it, so trying that first would
    // parse every such text twice.
    if let Some(dt) = with_offset_colon(text) {
        return Some(dt);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    parse_slow(text)
}

/// A datetime whose offset has no colon (`2020-01-01T00:30:00.25+0100`, what polars, Java and
/// strftime's `%z` write: every row of such a CSV listing) read as RFC 3339 with the colon put
/// in, without the strftime formats' slower parser. `None` where it does not have that shape,
/// or RFC 3339 refuses it: the formats decide then.
fn with_offset_colon(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    let n = b.len();
    // YYYY-MM-DDTHH:MM:SS, then the offset's sign and four digits.
    if !(24..=48).contains(&n)
        || !matches!(b[10], b'T' | b' ')
        || !matches!(b[n - 5], b'+' | b'-')
        || !b[n - 4..].iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let mut buf = [0u8; 49];
    buf[..n - 2].copy_from_slice(&b[..n - 2]);
    buf[n - 2] = b':';
    buf[n - 1..=n].copy_from_slice(&b[n - 2..]);
    let with_colon = std::str::from_utf8(&buf[..=n]).ok()?;
    DateTime::parse_from_rfc3339(with_colon)
        .ok()
        .map(|dt| dt.with_timezone(&Utc))
}

/// [`parse_instant`] past RFC 3339: the strftime formats, then a bare date.
fn parse_slow(text: &str) -> Option<DateTime<Utc>> {
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

    /// Datetime texts from a grid of dates, separators, times, fractions and offsets, each at
    /// and past its limits.
    fn grid() -> Vec<String> {
        let dates = [
            "2020-01-01",
            "2019-12-31",
            "2020-02-29",
            "2021-02-29",
            "0000-01-01",
            "0001-01-01",
            "9999-12-31",
            "2020-13-01",
            "2020-00-10",
            "2020-1-01",
        ];
        let seps = ["T", " ", "t", "_"];
        let times = [
            "00:30:00", "23:59:59", "23:59:60", "24:00:00", "12:60:00", "9:00:00", "12:00",
        ];
        let fractions = [
            "",
            ".",
            ".5",
            ".250",
            ".123456",
            ".123456789",
            ".1234567891",
            ".12x",
        ];
        let offsets = [
            "+0000", "-0000", "+0100", "-1259", "+2359", "+2400", "+0060", "+9999", "+00", "Z",
            "z", "+01:00", "-13:30", "+23:59", "+24:00", "+01:60", "", "+01:0", "Z1",
        ];
        let mut out = Vec::new();
        for d in dates {
            for sep in seps {
                for t in times {
                    for f in fractions {
                        for o in offsets {
                            out.push(format!("{d}{sep}{t}{f}{o}"));
                        }
                    }
                }
            }
        }
        out
    }

    /// The colon fast path reads every text it accepts as the strftime formats do, and refuses
    /// (leaves to them) every text they refuse.
    #[test]
    fn offset_colon_fast_path_agrees_with_the_formats() {
        let mut accepted = 0;
        for text in grid() {
            if let Some(fast) = with_offset_colon(&text) {
                accepted += 1;
                assert_eq!(Some(fast), parse_slow(&text), "{text}");
            }
            // Whatever the fast path refuses reads as before.
            let old = DateTime::parse_from_rfc3339(&text)
                .ok()
                .map(|dt| dt.with_timezone(&Utc))
                .or_else(|| parse_slow(&text));
            assert_eq!(parse_instant(&text), old, "{text}");
        }
        assert!(accepted > 100, "the fast path took {accepted} texts");
    }

    /// The fixed-shape reader reads every text it takes as the general parsers do, and takes
    /// nothing they refuse: over a grid of fields at and past their limits, and over texts with
    /// one to three bytes changed at random.
    #[test]
    fn fixed_shape_agrees_with_the_general_parsers() {
        let mut taken = 0;
        let mut check = |text: &str| {
            let text = text.trim();
            let general = parse_general(text);
            if let Some(fast) = fixed_shape(text) {
                taken += 1;
                assert_eq!(Some(fast), general, "{text}");
            }
            assert_eq!(parse_instant(text), general, "{text}");
        };
        for text in grid() {
            check(&text);
        }
        let seeds = [
            "2014-11-14T09:40:44.418405+0000",
            "2019-12-31T23:30:00-01:00",
            "2020-02-29 00:00:00Z",
            "1969-12-31T23:59:59.999999999+2359",
        ];
        let alphabet = b"0123456789+-:.TZtz 9";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..200_000 {
            let mut bytes = seeds[i % seeds.len()].as_bytes().to_vec();
            for _ in 0..=(next() % 3) {
                let at = (next() as usize) % bytes.len();
                bytes[at] = alphabet[(next() as usize) % alphabet.len()];
            }
            check(std::str::from_utf8(&bytes).unwrap_or_default());
        }
        assert!(taken > 20_000, "the fixed shape took {taken} texts");
    }

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
