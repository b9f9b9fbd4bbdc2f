//! Number and count formatting for pages.

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A published count for HTML: the number, or `<min_count` when suppressed.
pub(crate) fn count(n: Option<u64>) -> String {
    match n {
        Some(n) => thousands(n),
        None => SUPPRESSED.to_owned(),
    }
}

/// How the pages show a suppressed count. Every suppressed cell looks the same, whether it is
/// small or was hidden so that a small one cannot be worked out: telling them apart would tell
/// readers which cells are at least `min_count`, and that can pin a small one down.
pub(crate) const SUPPRESSED: &str = "suppressed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        for (n, want) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (1234567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn shows_suppressed_counts_as_below_min() {
        assert_eq!(count(None), "suppressed");
        assert_eq!(count(Some(12)), "12");
        assert_eq!(count(Some(1234567)), "1,234,567");
    }
}
