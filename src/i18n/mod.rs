//! Interface strings and locale formatting.
//!
//! Every string a page, chart, feed or finding shows comes from a catalogue: English (`en.yaml`)
//! and German (`de.yaml`) are built in; a report root may add a language or override strings in
//! `i18n/<language>.yaml`. Numbers, dates and plural forms follow the language through ICU4X
//! (CLDR data), so a catalogue holds words only.
//!
//! A catalogue is YAML: nested mappings whose leaves are strings, flattened to dotted keys
//! (`nav.overview`). A leaf mapping whose keys are CLDR plural categories (`zero`, `one`, `two`,
//! `few`, `many`, `other`; `other` required) is a plural message, chosen by its `{n}`. Strings
//! name their values in braces (`{partner}`); `[text]({href})` makes a link to the value `href`
//! (`[text](file.json)` to a fixed address) in strings that pages show as HTML.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use fixed_decimal::Decimal;
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::{YM, YMD};
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale;
use icu_plurals::{PluralCategory, PluralRules};

use crate::error::{Error, Problem, Result};
use crate::urls::is_safe_link;

/// The built-in catalogues, by language.
pub const BUILT_IN: [(&str, &str); 2] = [
    ("en", include_str!("en.yaml")),
    ("de", include_str!("de.yaml")),
];

/// The CLDR plural categories a plural message may use, and sharelog's `unknown`: the form for
/// a count that is not a number (suppressed, banded, not declared), whose `{n}` is then its
/// wording ("a suppressed number of"); without it, `other` is used.
const PLURAL_CATEGORIES: [&str; 7] = ["zero", "one", "two", "few", "many", "other", "unknown"];

/// One string of a catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A string.
    Text(String),
    /// A string per CLDR plural category (`other` always present).
    Plural(BTreeMap<String, String>),
}

impl Message {
    /// Every link target (`[text](target)`) the message writes itself, in all its forms: not the
    /// `({name})` ones, whose URL the page gives.
    fn link_targets(&self) -> Vec<String> {
        let forms: Vec<&String> = match self {
            Message::Text(s) => vec![s],
            Message::Plural(forms) => forms.values().collect(),
        };
        let mut out = Vec::new();
        for form in forms {
            let mut rest = form.as_str();
            while let Some(i) = rest.find("](") {
                let after = &rest[i + 2..];
                let Some(end) = after.find(')') else { break };
                let target = &after[..end];
                let named = target
                    .strip_prefix('{')
                    .and_then(|t| t.strip_suffix('}'))
                    .is_some_and(is_name);
                if !named {
                    out.push(target.to_owned());
                }
                rest = &after[end..];
            }
        }
        out
    }

    /// Every `{name}` the message uses, in all its forms.
    fn placeholders(&self) -> BTreeSet<String> {
        match self {
            Message::Text(s) => placeholders(s),
            Message::Plural(forms) => forms.values().flat_map(|s| placeholders(s)).collect(),
        }
    }
}

/// The strings of one language, checked against the English catalogue's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// The report's language tag (BCP 47).
    pub language: String,
    messages: BTreeMap<String, Message>,
}

impl Catalogue {
    /// The built-in English catalogue, for when the report's own could not be loaded (the
    /// build stops on the problems anyway).
    pub fn fallback() -> Self {
        Catalogue {
            language: "en".to_owned(),
            messages: reference(),
        }
    }
}

/// The built-in catalogue text for a language tag: the exact tag, else its primary language.
pub fn built_in_text(tag: &str) -> Option<&'static str> {
    let primary = tag.split('-').next().unwrap_or(tag);
    BUILT_IN
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(tag))
        .or_else(|| {
            BUILT_IN
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(primary))
        })
        .map(|(_, text)| *text)
}

/// Parses a catalogue's YAML into flat keys; `file` names it in problems.
fn parse(file: &str, text: &str) -> Result<BTreeMap<String, Message>, Vec<Problem>> {
    let tree: serde_json::Value = crate::load::yaml::parse(file, text, 0).map_err(|p| vec![*p])?;
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    match &tree {
        serde_json::Value::Object(map) => flatten("", map, file, &mut out, &mut problems),
        serde_json::Value::Null => {}
        _ => problems.push(
            Problem::new(file, "a catalogue is a mapping of keys to strings")
                .help("see docs/i18n.md for the format"),
        ),
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn flatten(
    prefix: &str,
    map: &serde_json::Map<String, serde_json::Value>,
    file: &str,
    out: &mut BTreeMap<String, Message>,
    problems: &mut Vec<Problem>,
) {
    for (k, v) in map {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            serde_json::Value::String(s) => {
                out.insert(key, Message::Text(s.clone()));
            }
            serde_json::Value::Object(m)
                if !m.is_empty() && m.keys().all(|c| PLURAL_CATEGORIES.contains(&c.as_str())) =>
            {
                let mut forms = BTreeMap::new();
                for (category, text) in m {
                    match text.as_str() {
                        Some(t) => {
                            forms.insert(category.clone(), t.to_owned());
                        }
                        None => problems.push(
                            Problem::new(file, "a plural form must be a string")
                                .key(format!("{key}.{category}")),
                        ),
                    }
                }
                if !forms.contains_key("other") {
                    problems.push(
                        Problem::new(file, "a plural message needs an `other` form")
                            .key(key.clone())
                            .help("add `other:`, the form used for most numbers"),
                    );
                }
                out.insert(key, Message::Plural(forms));
            }
            serde_json::Value::Object(m) => flatten(&key, m, file, out, problems),
            _ => problems
                .push(Problem::new(file, "expected a string (quote numbers and yes/no)").key(key)),
        }
    }
}

/// The built-in English catalogue: the reference every language is checked against.
fn reference() -> BTreeMap<String, Message> {
    // The built-in catalogues are tested to parse (see the tests below).
    parse("en.yaml", BUILT_IN[0].1).unwrap_or_default()
}

/// Loads the catalogue for `language`: the built-in one (if any) with the root's
/// `i18n/<language>.yaml` (`overrides`: its path relative to the root, and its text) on top.
/// Every key of the English catalogue must have a string; an override may only use known keys,
/// the same shape (string or plural) and the placeholders the English string has.
pub fn load(language: &str, overrides: Option<(&str, &str)>) -> Result<Catalogue, Vec<Problem>> {
    let reference = reference();
    let mut messages = match built_in_text(language) {
        Some(text) => parse("built-in catalogue", text)?,
        None => BTreeMap::new(),
    };
    let mut problems = Vec::new();
    if let Some((file, text)) = overrides {
        for (key, message) in parse(file, text)? {
            let Some(known) = reference.get(&key) else {
                problems.push(
                    Problem::new(file, format!("unknown key `{key}`"))
                        .key(key.clone())
                        .help("use the keys of the built-in catalogue (`sharelog catalogue en` prints it)"),
                );
                continue;
            };
            match (known, &message) {
                (Message::Text(_), Message::Plural(_)) => problems.push(
                    Problem::new(file, "this key is a string, not a plural message").key(key.clone()),
                ),
                (Message::Plural(_), Message::Text(_)) => problems.push(
                    Problem::new(file, "this key is a plural message: give `one:` and `other:` forms (or the categories of your language)")
                        .key(key.clone()),
                ),
                _ => {}
            }
            for target in message.link_targets() {
                if !is_safe_link(&target) {
                    problems.push(
                        Problem::new(file, format!("the link target `{}` is not allowed", target.escape_debug()))
                            .key(key.clone())
                            .help("a string may link to a page of the site (a relative path) or to an http(s) or mailto address"),
                    );
                }
            }
            let allowed = known.placeholders();
            for p in message.placeholders().difference(&allowed) {
                let list: Vec<String> = allowed.iter().map(|a| format!("`{{{a}}}`")).collect();
                problems.push(
                    Problem::new(file, format!("`{{{p}}}` is not a value of this string"))
                        .key(key.clone())
                        .help(if list.is_empty() {
                            "this string takes no values".to_owned()
                        } else {
                            format!("it may use {}", list.join(", "))
                        }),
                );
            }
            messages.insert(key, message);
        }
    }
    let missing: Vec<&String> = reference
        .keys()
        .filter(|k| !messages.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let file = overrides.map_or("report.yaml", |(f, _)| f);
        let shown: Vec<String> = missing.iter().take(5).map(|k| format!("`{k}`")).collect();
        let more = if missing.len() > shown.len() {
            format!(" and {} more", missing.len() - shown.len())
        } else {
            String::new()
        };
        problems.push(
            Problem::new(
                file,
                format!(
                    "no string for key {}{more} in language `{language}`",
                    shown.join(", ")
                ),
            )
            .help(format!(
                "add them to i18n/{language}.yaml (`sharelog catalogue en` prints every key with its English string), or set `language` in report.yaml to a built-in one (en, de)"
            )),
        );
    }
    if problems.is_empty() {
        Ok(Catalogue {
            language: language.to_owned(),
            messages,
        })
    } else {
        Err(problems)
    }
}

/// A value for a string's `{name}`.
#[derive(Debug, Clone)]
pub enum Arg {
    /// A number, written for the language; `{n}` also chooses the plural form.
    N(u64),
    /// Text, used as it is.
    S(String),
}

impl From<u64> for Arg {
    fn from(n: u64) -> Self {
        Arg::N(n)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::N(n as u64)
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::S(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::S(s)
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::S(s.clone())
    }
}

/// A catalogue with the language's number, date and plural rules: what rendering uses.
#[derive(Debug)]
pub struct Lang {
    catalogue: Catalogue,
    numbers: DecimalFormatter,
    dates: FixedCalendarDateTimeFormatter<Gregorian, YMD>,
    months: FixedCalendarDateTimeFormatter<Gregorian, YM>,
    plurals: PluralRules,
}

impl Lang {
    /// The formatters for the catalogue's language (CLDR's root data when ICU4X does not know it).
    pub fn new(catalogue: Catalogue) -> Result<Self> {
        let locale: Locale = catalogue
            .language
            .parse()
            .map_err(|e| Error::Internal(format!("language `{}`: {e}", catalogue.language)))?;
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            Error::Internal(format!("{what} for language `{}`: {e}", catalogue.language))
        };
        let numbers = DecimalFormatter::try_new(locale.clone().into(), Default::default())
            .map_err(|e| fail("number format", &e))?;
        let dates = FixedCalendarDateTimeFormatter::try_new(locale.clone().into(), YMD::long())
            .map_err(|e| fail("date format", &e))?;
        let months = FixedCalendarDateTimeFormatter::try_new(locale.clone().into(), YM::long())
            .map_err(|e| fail("month format", &e))?;
        let plurals =
            PluralRules::try_new_cardinal(locale.into()).map_err(|e| fail("plural rules", &e))?;
        Ok(Lang {
            catalogue,
            numbers,
            dates,
            months,
            plurals,
        })
    }

    /// The language tag.
    pub fn tag(&self) -> &str {
        &self.catalogue.language
    }

    fn message(&self, key: &str) -> Result<&Message> {
        self.catalogue.messages.get(key).ok_or_else(|| {
            Error::invalid(vec![
                Problem::new(
                    format!("i18n/{}.yaml", self.tag()),
                    format!("no string for key `{key}` in language `{}`", self.tag()),
                )
                .help("add the key to the catalogue, or use a key the built-in catalogue has (`sharelog catalogue en`)"),
            ])
        })
    }

    /// The form of `key` for these values (the plural form chosen by `{n}`), unfilled.
    fn pattern(&self, key: &str, args: &[(&str, Arg)]) -> Result<&str> {
        Ok(match self.message(key)? {
            Message::Text(s) => s,
            Message::Plural(forms) => {
                let category = match args.iter().find(|(name, _)| *name == "n") {
                    Some((_, Arg::N(n))) => self.plurals.category_for(*n),
                    Some((_, Arg::S(_))) => {
                        return Ok(forms
                            .get("unknown")
                            .or_else(|| forms.get("other"))
                            .map_or("", String::as_str));
                    }
                    None => PluralCategory::Other,
                };
                let name = match category {
                    PluralCategory::Zero => "zero",
                    PluralCategory::One => "one",
                    PluralCategory::Two => "two",
                    PluralCategory::Few => "few",
                    PluralCategory::Many => "many",
                    PluralCategory::Other => "other",
                };
                forms
                    .get(name)
                    .or_else(|| forms.get("other"))
                    .map_or("", String::as_str)
            }
        })
    }

    /// The string `key` without values.
    pub fn t(&self, key: &str) -> Result<String> {
        self.f(key, &[])
    }

    /// The string `key` with its values filled in, as plain text.
    pub fn f(&self, key: &str, args: &[(&str, Arg)]) -> Result<String> {
        let pattern = self.pattern(key, args)?;
        self.fill(key, pattern, args, &|s| s.to_owned(), false)
    }

    /// The string `key` as HTML: text and values escaped, `[text](href)` made a link to the value
    /// `href` (which the caller has checked is a safe URL or a relative path).
    pub fn html(&self, key: &str, args: &[(&str, Arg)]) -> Result<String> {
        let pattern = self.pattern(key, args)?;
        self.fill(
            key,
            pattern,
            args,
            &crate::render::format::escape_html,
            true,
        )
    }

    fn value(&self, arg: &Arg) -> String {
        match arg {
            Arg::N(n) => self.number(*n),
            Arg::S(s) => s.clone(),
        }
    }

    fn fill(
        &self,
        key: &str,
        pattern: &str,
        args: &[(&str, Arg)],
        escape: &dyn Fn(&str) -> String,
        links: bool,
    ) -> Result<String> {
        let lookup = |name: &str| {
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, a)| self.value(a))
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "the string `{key}` ({}) uses `{{{name}}}`, which this page does not give",
                        self.tag()
                    ))
                })
        };
        let mut out = String::with_capacity(pattern.len() + 16);
        let mut rest = pattern;
        while let Some(i) = rest.find(['{', '[', ']']) {
            let (before, at) = rest.split_at(i);
            out.push_str(&escape(before));
            let c = at.as_bytes()[0];
            if c == b'{'
                && let Some(end) = at.find('}')
                && is_name(&at[1..end])
            {
                let mut value = lookup(&at[1..end])?;
                // A sentence (a string that ends with a full stop) that starts with a count that
                // is no number ("a suppressed number of items in 1 export batch.") starts with a
                // capital; a phrase ("a suppressed number of items") does not.
                if out.is_empty()
                    && pattern.trim_end().ends_with('.')
                    && self.starts_with_amount_wording(&value)
                {
                    let mut chars = value.chars();
                    if let Some(first) = chars.next() {
                        value = first.to_uppercase().chain(chars).collect();
                    }
                }
                out.push_str(&escape(&value));
                rest = &at[end + 1..];
                // A range whose ends are the same ("from 2024 to 2024", "2024–2024") is said
                // once: the words between its start and its end go with the end.
                let end_name = match &at[1..end] {
                    "from" => Some("{to}"),
                    "first_year" => Some("{last_year}"),
                    _ => None,
                };
                if let Some(end_name) = end_name
                    && let Some(to_at) = rest.find(end_name)
                    && to_at <= 12
                    && !rest[..to_at].contains(['{', '}', '.', ',', ';', '('])
                    && lookup(&end_name[1..end_name.len() - 1]).is_ok_and(|to| to == value)
                {
                    rest = &rest[to_at + end_name.len()..];
                }
                // A value that ends a sentence with its own full stop ("Orchard AI, Inc.")
                // takes the place of the pattern's: no "Inc..".
                if value.ends_with('.') && rest.starts_with('.') && !rest.starts_with("..") {
                    rest = &rest[1..];
                }
                continue;
            }
            if c == b'['
                && let Some(close) = at.find("](")
                && let Some(end) = at[close..].find(')')
            {
                let target = &at[close + 2..close + end];
                let inner = self.fill(key, &at[1..close], args, escape, false)?;
                if links {
                    // `({name})` is a value; anything else is the catalogue's own URL.
                    let href = match target.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                        Some(name) if is_name(name) => Some(lookup(name)?),
                        // Checked when the catalogue is loaded; never a link otherwise.
                        _ => is_safe_link(target).then(|| target.to_owned()),
                    };
                    match href {
                        Some(href) => {
                            out.push_str(&format!("<a href=\"{}\">{inner}</a>", escape(&href)))
                        }
                        None => out.push_str(&inner),
                    }
                } else {
                    // Plain text: the link's text alone.
                    out.push_str(&inner);
                }
                rest = &at[close + end + 1..];
                continue;
            }
            out.push_str(&escape(&at[..1]));
            rest = &at[1..];
        }
        out.push_str(&escape(rest));
        Ok(out)
    }

    /// `1234567` as the language writes it (1,234,567 / 1.234.567).
    pub fn number(&self, n: u64) -> String {
        self.numbers.format(&Decimal::from(n)).to_string()
    }

    /// A published count as pages show it: the number, its band (`250–499`), or the
    /// catalogue's words for a suppressed or a not-declared count.
    pub(crate) fn count(&self, n: crate::publish::Count) -> String {
        use crate::publish::Count;
        match n {
            Count::Exact(n) => self.number(n),
            Count::Band(lo, hi) => format!("{}–{}", self.number(lo), self.number(hi)),
            Count::Hidden(_) => self.suppressed(),
            Count::NotDeclared => self
                .t("format.not_declared")
                .unwrap_or_else(|_| "–".to_owned()),
        }
    }

    /// A published count inside a sentence, before its noun ("1,234 owners", "250–499 owners",
    /// "a suppressed number of owners"): [`Lang::count`], with the words for hidden and
    /// not-declared counts that read as a quantity.
    pub(crate) fn amount(&self, n: crate::publish::Count) -> String {
        use crate::publish::Count;
        match n {
            Count::Hidden(_) => self
                .t("format.suppressed_amount")
                .unwrap_or_else(|_| self.suppressed()),
            Count::NotDeclared => self
                .t("format.not_declared_amount")
                .unwrap_or_else(|_| "–".to_owned()),
            other => self.count(other),
        }
    }

    /// A count with its noun, for a sentence: `1 item`, `12 items`, `a suppressed number of
    /// items` (`noun` is a key under `counted.`).
    pub(crate) fn counted(&self, noun: &str, n: crate::publish::Count) -> String {
        self.f(&format!("counted.{noun}"), &[("n", self.n_arg(n))])
            .unwrap_or_else(|_| self.amount(n))
    }

    /// A count as the `{n}` of a plural message: the number when it is exact, else its wording
    /// ("a suppressed number of"), which chooses the message's `unknown` form.
    pub(crate) fn n_arg(&self, n: crate::publish::Count) -> Arg {
        match n {
            crate::publish::Count::Exact(n) => Arg::N(n),
            other => Arg::S(self.amount(other)),
        }
    }

    /// [`Lang::n_arg`] for a template: a number, or the wording as text.
    pub(crate) fn n_value(&self, n: crate::publish::Count) -> serde_json::Value {
        match self.n_arg(n) {
            Arg::N(n) => n.into(),
            Arg::S(s) => s.into(),
        }
    }

    /// Whether `value` starts with the wording of a count that is no number ("a suppressed
    /// number of", "an undeclared number of").
    fn starts_with_amount_wording(&self, value: &str) -> bool {
        ["format.suppressed_amount", "format.not_declared_amount"]
            .iter()
            .filter_map(|k| match self.catalogue.messages.get(*k) {
                Some(Message::Text(t)) if !t.is_empty() => Some(t),
                _ => None,
            })
            .any(|t| value.starts_with(t.as_str()))
    }

    /// How pages show a suppressed count.
    pub fn suppressed(&self) -> String {
        self.t("format.suppressed")
            .unwrap_or_else(|_| "–".to_owned())
    }

    /// A date as the language writes it (6 March 2024 / 6. März 2024).
    pub fn date(&self, d: NaiveDate) -> String {
        match Date::try_new_gregorian(d.year(), d.month() as u8, d.day() as u8) {
            Ok(date) => self.dates.format(&date).to_string(),
            Err(_) => d.to_string(),
        }
    }

    /// A month `YYYY-MM` as the language writes it (March 2024 / März 2024); other text unchanged.
    pub fn month(&self, text: &str) -> String {
        match crate::time::parse_month(text)
            .and_then(|d| Date::try_new_gregorian(d.year(), d.month() as u8, 1).ok())
        {
            Some(date) => self.months.format(&date).to_string(),
            None => text.to_owned(),
        }
    }

    /// Every month of `months` as [`Lang::month`] writes it.
    pub fn months(&self, months: &[String]) -> Vec<String> {
        months.iter().map(|m| self.month(m)).collect()
    }

    /// An instant: the date alone at midnight UTC, else the date and the UTC time.
    pub fn instant(&self, dt: &DateTime<Utc>) -> String {
        let date = self.date(dt.date_naive());
        if dt.time() == chrono::NaiveTime::MIN {
            return date;
        }
        let time = if dt.second() == 0 {
            format!("{:02}:{:02}", dt.hour(), dt.minute())
        } else {
            format!("{:02}:{:02}:{:02}", dt.hour(), dt.minute(), dt.second())
        };
        self.f(
            "format.instant",
            &[("date", date.clone().into()), ("time", time.into())],
        )
        .unwrap_or(date)
    }

    /// An RFC 3339 text as [`Lang::instant`] shows it; other text unchanged.
    pub fn instant_text(&self, text: &str) -> String {
        crate::time::parse_instant(text).map_or_else(|| text.to_owned(), |dt| self.instant(&dt))
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The `{name}`s of a string.
fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(i) = rest.find('{') {
        let at = &rest[i..];
        match at.find('}') {
            Some(end) if is_name(&at[1..end]) => {
                out.insert(at[1..end].to_owned());
                rest = &at[end + 1..];
            }
            _ => rest = &at[1..],
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(tag: &str) -> Lang {
        let cat = load(tag, None).unwrap_or_else(|p| panic!("{tag}: {p:?}"));
        Lang::new(cat).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn built_in_catalogues_are_complete_and_use_only_english_placeholders() {
        let reference = reference();
        assert!(
            reference.len() > 100,
            "the English catalogue parsed: {}",
            reference.len()
        );
        for (tag, text) in BUILT_IN {
            let messages = parse(tag, text).unwrap_or_else(|p| panic!("{tag}: {p:?}"));
            let keys: BTreeSet<&String> = messages.keys().collect();
            let want: BTreeSet<&String> = reference.keys().collect();
            assert_eq!(keys, want, "{tag} has exactly the English keys");
            for (key, m) in &messages {
                let known = &reference[key];
                assert_eq!(
                    m.placeholders(),
                    known.placeholders(),
                    "{tag} {key} uses the same values as English"
                );
                assert_eq!(
                    matches!(m, Message::Plural(_)),
                    matches!(known, Message::Plural(_)),
                    "{tag} {key} has the same shape as English"
                );
            }
        }
    }

    #[test]
    fn formats_numbers_dates_and_plurals_per_language() {
        let en = lang("en");
        let de = lang("de");
        assert_eq!(en.number(1234567), "1,234,567");
        assert_eq!(de.number(1234567), "1.234.567");
        let d = NaiveDate::from_ymd_opt(2024, 3, 6).unwrap_or_default();
        assert_eq!(en.date(d), "March 6, 2024");
        assert_eq!(de.date(d), "6. März 2024");
        assert_eq!(de.month("2024-03"), "März 2024");
        assert_eq!(en.month("not a month"), "not a month");
        let one = en
            .f("finding.items", &[("n", 1u64.into())])
            .unwrap_or_default();
        let many = en
            .f("finding.items", &[("n", 1200u64.into())])
            .unwrap_or_default();
        assert_eq!((one.as_str(), many.as_str()), ("1 item", "1,200 items"));
        let de_many = de
            .f("finding.items", &[("n", 1200u64.into())])
            .unwrap_or_default();
        assert_eq!(de_many, "1.200 Beiträge");
    }

    /// Nouns that follow a count, per language: a plain string that puts one after a value
    /// prints "1 items" for one.
    const COUNTED_NOUNS: [(&str, &[&str]); 2] = [
        (
            "en",
            &[
                "items",
                "owners",
                "partners",
                "exports",
                "export batches",
                "requests",
                "files",
                "further counts",
                "counts",
                "values",
                "months",
            ],
        ),
        (
            "de",
            &[
                "Beiträge",
                "Urheber",
                "Partner",
                "Lieferungen",
                "Löschersuchen",
                "Dateien",
                "weitere Anzahlen",
                "weitere Zahlen",
                "Werte",
                "Monate",
            ],
        ),
    ];

    #[test]
    fn no_plain_string_puts_a_plural_noun_after_a_value() {
        // A count with its noun goes through a plural message (chosen by `{n}`) or a `counted.*`
        // phrase; `{n} items` in a plural message's `other` form is right.
        for (tag, nouns) in COUNTED_NOUNS {
            let cat = load(tag, None).unwrap_or_else(|p| panic!("{tag}: {p:?}"));
            let mut bad = Vec::new();
            for (key, message) in &cat.messages {
                let Message::Text(text) = message else {
                    continue;
                };
                // A band ("250–499 items") is a range, never one.
                if key == "finding.items_band" {
                    continue;
                }
                for noun in nouns {
                    let mut rest = text.as_str();
                    while let Some(i) = rest.find(&format!("}} {noun}")) {
                        let tail = &rest[i + 2 + noun.len()..];
                        // The whole word only ("Partnern" is another word).
                        if !tail.starts_with(|c: char| c.is_alphanumeric()) {
                            bad.push(format!("{key}: {text}"));
                            break;
                        }
                        rest = tail;
                    }
                }
            }
            assert!(bad.is_empty(), "{tag}: {bad:#?}");
        }
    }

    #[test]
    fn every_plural_message_renders_for_0_1_many_and_an_unknown_count() {
        for tag in ["en", "de"] {
            let l = lang(tag);
            let unknown = l.amount(crate::publish::Count::Hidden(
                crate::publish::Hidden::Primary,
            ));
            for (key, message) in &l.catalogue.messages {
                let Message::Plural(forms) = message else {
                    continue;
                };
                // `{n}` chooses the form even where no form prints it.
                let mut names: BTreeSet<String> =
                    forms.values().flat_map(|f| placeholders(f)).collect();
                names.insert("n".to_owned());
                let mut texts = Vec::new();
                for n in [Arg::N(0), Arg::N(1), Arg::N(1200), Arg::S(unknown.clone())] {
                    let args: Vec<(&str, Arg)> = names
                        .iter()
                        .map(|name| {
                            let value = if name == "n" {
                                n.clone()
                            } else {
                                Arg::S(format!("<{name}>"))
                            };
                            (name.as_str(), value)
                        })
                        .collect();
                    let text = l
                        .f(key, &args)
                        .unwrap_or_else(|e| panic!("{tag} {key}: {e}"));
                    assert!(!text.contains('{'), "{tag} {key}: {text}");
                    texts.push(text);
                }
                // One and many read differently in English (for German, nouns such as
                // "Urheber" and "Partner" have one form; "a 1-day deadline" is an adjective).
                if tag == "en" && key != "counted.deadline_days" {
                    assert_ne!(
                        texts[1].replace('1', ""),
                        texts[2].replace("1,200", ""),
                        "{key}"
                    );
                    if forms.values().any(|f| f.contains("{n}")) {
                        // (At a sentence's start, with a capital.)
                        assert!(
                            texts[3].to_lowercase().contains(&unknown.to_lowercase()),
                            "{key}: {}",
                            texts[3]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_sentence_that_starts_with_a_suppressed_count_starts_with_a_capital() {
        use crate::publish::{Count, Hidden};
        for (tag, want) in [
            ("en", "A suppressed number of items in 2 export batches."),
            ("de", "Eine unterdrückte Anzahl Beiträge in 2 Lieferungen."),
        ] {
            let l = lang(tag);
            let items = l.counted("items", Count::Hidden(Hidden::Secondary));
            let text = l
                .f(
                    "partner.items_in_batches",
                    &[("items", items.as_str().into()), ("n", 2u64.into())],
                )
                .unwrap_or_default();
            assert_eq!(text, want);
        }
        // Mid-sentence, it stays as it is.
        let l = lang("en");
        let requested = l.counted("items", Count::Hidden(Hidden::Primary));
        let text = l
            .f(
                "partner.opted_out_now",
                &[
                    ("partner", "P".into()),
                    ("n", 3u64.into()),
                    ("requested", requested.as_str().into()),
                ],
            )
            .unwrap_or_default();
        assert!(
            text.contains("cover a suppressed number of items in all"),
            "{text}"
        );
    }

    #[test]
    fn a_range_whose_ends_are_the_same_is_said_once() {
        let en = lang("en");
        let same = [("from", Arg::from("2024")), ("to", Arg::from("2024"))];
        let text = en
            .fill(
                "k",
                "created from {from} to {to}, {from}–{to}.",
                &same,
                &|s| s.to_owned(),
                false,
            )
            .unwrap_or_default();
        assert_eq!(text, "created from 2024, 2024.");
        let apart = [("from", Arg::from("2022")), ("to", Arg::from("2024"))];
        let text = en
            .fill(
                "k",
                "created from {from} to {to}, {from}–{to}.",
                &apart,
                &|s| s.to_owned(),
                false,
            )
            .unwrap_or_default();
        assert_eq!(text, "created from 2022 to 2024, 2022–2024.");
        let de = lang("de");
        let text = de
            .f(
                "about.composition_text",
                &[
                    ("partners", "1 Partner".into()),
                    ("exports", "1 Lieferung".into()),
                    ("from", "1. Januar 2024".into()),
                    ("to", "1. Januar 2024".into()),
                    ("items", "3 Beiträge".into()),
                    ("first_year", "2023".into()),
                    ("last_year", "2023".into()),
                ],
            )
            .unwrap_or_default();
        assert!(text.contains("aus der Zeit von 1. Januar 2024;"), "{text}");
        assert!(text.contains("entstanden von 2023. "), "{text}");
    }

    #[test]
    fn counted_phrases_say_one_many_and_unknown() {
        use crate::publish::{Count, Hidden};
        let en = lang("en");
        assert_eq!(en.counted("items", Count::Exact(1)), "1 item");
        assert_eq!(en.counted("items", Count::Exact(0)), "0 items");
        assert_eq!(
            en.counted("export_batches", Count::Exact(1200)),
            "1,200 export batches"
        );
        assert_eq!(
            en.counted("owners", Count::Hidden(Hidden::Primary)),
            "a suppressed number of owners"
        );
        let de = lang("de");
        assert_eq!(de.counted("items", Count::Exact(1)), "1 Beitrag");
        assert_eq!(
            de.counted("export_batches", Count::Exact(2)),
            "2 Lieferungen"
        );
    }

    #[test]
    fn a_value_ending_in_a_full_stop_ends_the_sentence_once() {
        for tag in ["en", "de"] {
            let l = lang(tag);
            let args = [
                ("date", Arg::from("2024-06-30")),
                ("n", Arg::from(12u64)),
                ("partner", Arg::from("Orchard AI, Inc.")),
            ];
            for text in [
                l.f("partner.in_force_now", &args).unwrap_or_default(),
                l.html("partner.in_force_now", &args).unwrap_or_default(),
            ] {
                assert!(text.contains("Orchard AI, Inc. "), "{tag}: {text}");
                assert!(!text.contains("Inc.."), "{tag}: {text}");
            }
        }
        // An ellipsis after a value stays.
        let l = lang("en");
        let mut out = String::new();
        let filled = l.fill(
            "k",
            "{x}...",
            &[("x", Arg::from("a."))],
            &|s| s.to_owned(),
            false,
        );
        out.push_str(&filled.unwrap_or_default());
        assert_eq!(out, "a....");
    }

    #[test]
    fn html_escapes_text_and_values_and_makes_links() {
        let cat = Catalogue {
            language: "en".into(),
            messages: [(
                "k".to_owned(),
                Message::Text("a <b> [see {what}]({href}) & [{x}](x.csv)".to_owned()),
            )]
            .into_iter()
            .collect(),
        };
        let l = Lang::new(cat).unwrap_or_else(|e| panic!("{e}"));
        let args = [
            ("what", Arg::from("<i>")),
            ("href", Arg::from("a\"b.html")),
            ("x", Arg::from("\"q\"")),
        ];
        assert_eq!(
            l.html("k", &args).unwrap_or_default(),
            "a &lt;b&gt; <a href=\"a&quot;b.html\">see &lt;i&gt;</a> &amp; <a href=\"x.csv\">&quot;q&quot;</a>"
        );
        assert_eq!(l.f("k", &args).unwrap_or_default(), "a <b> see <i> & \"q\"");
        let missing = l.t("nope").err().map(|e| match e {
            Error::Invalid(p) => p[0].to_string(),
            other => other.to_string(),
        });
        assert_eq!(
            missing.as_deref(),
            Some(
                "error: i18n/en.yaml: no string for key `nope` in language `en`\n  = help: add the key to the catalogue, or use a key the built-in catalogue has (`sharelog catalogue en`)"
            )
        );
    }

    #[test]
    fn overrides_are_checked_against_the_english_keys() {
        let err = |text: &str| match load("en", Some(("i18n/en.yaml", text))) {
            Ok(_) => String::new(),
            Err(p) => p
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        };
        assert!(err("nav:\n  overview: Start\n").is_empty());
        assert!(err("nav:\n  overveiw: Start\n").contains("unknown key `nav.overveiw`"));
        assert!(err("finding:\n  items: \"{n} things\"\n").contains("plural message"));
        assert!(err("nav:\n  overview: \"{partner}\"\n").contains("`{partner}` is not a value"));
        let fr = match load("fr", Some(("i18n/fr.yaml", "nav:\n  overview: Accueil\n"))) {
            Ok(_) => String::new(),
            Err(p) => p[0].to_string(),
        };
        assert!(fr.contains("i18n/fr.yaml: no string for key"), "{fr}");
        assert!(fr.contains("in language `fr`"), "{fr}");
        let none = match load("fr", None) {
            Ok(_) => String::new(),
            Err(p) => p[0].to_string(),
        };
        assert!(
            none.starts_with("error: report.yaml: no string for key"),
            "{none}"
        );
    }
}
