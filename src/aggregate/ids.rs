//! Identifier columns (`item_id`, `owner_id`): which types they may have, and their value as a
//! join key. An id compares by value, whatever the file's type for it: an integer as itself, text
//! as itself, and a floating-point number (what pandas writes for an integer column with a null:
//! Parquet float64, CSV `1549.0`, NDJSON `1348.0`) as the integer it holds. A float that holds no
//! whole number, or one too large to be exact (beyond ±2^53), is a bad row, never a silent
//! mismatch; any other type is refused with the column's name.

use polars::prelude::*;

/// The largest integer every smaller one of which a float64 holds exactly.
const EXACT_IN_FLOAT: f64 = 9_007_199_254_740_992.0;

/// The same for a 32-bit float: 2^24.
const EXACT_IN_FLOAT32: f64 = 16_777_216.0;

/// What an id column's type is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// An integer type: compared as integers.
    Integer,
    /// A floating-point type: each value must be a whole number, compared as that integer.
    /// `single`: 32-bit, exact only below 2^24.
    Float { single: bool },
    /// Text (or a column of nothing but empty cells): compared as text.
    Text,
    /// A decimal type (what warehouses write for `NUMBER(38,0)`): read as its decimal text, so
    /// that a whole value is that integer and any other value a bad row.
    Decimal,
}

impl IdKind {
    /// The kind of a column of `dtype`, or `None` for a type an id may not have.
    pub(crate) fn of(dtype: &DataType) -> Option<IdKind> {
        match dtype {
            // 128-bit integers (what an NDJSON reader makes of an id above 2^63) are read as
            // their digits: polars groups and joins no such column here.
            DataType::Int128 | DataType::UInt128 => Some(IdKind::Decimal),
            t if t.is_integer() => Some(IdKind::Integer),
            t if t.is_float() => Some(IdKind::Float {
                single: *t == DataType::Float32,
            }),
            DataType::String | DataType::Null => Some(IdKind::Text),
            DataType::Decimal(..) => Some(IdKind::Decimal),
            _ => None,
        }
    }
}

/// What to write in place of a refused type, for the error's help.
pub(crate) const ID_TYPES: &str = "integers or text";

/// The message for a float id that is no exact whole number.
pub(crate) fn not_whole(name: &str, value: &str) -> String {
    format!("{name}: `{value}` is not an exact whole number, so it cannot be matched as an id")
}

/// The help for [`not_whole`].
pub(crate) const NOT_WHOLE_HELP: &str = "write ids as integers or text; a floating-point id must be a whole number below 2^53 (2^24 for 32-bit floats), where floats stop being exact, or it would match the wrong owner";

/// The id column `name` as a key: an integer column as it is, text as it is, a float column as
/// `Int64` (null where the value is no exact whole number: see [`bad`]).
pub(crate) fn value(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Integer => col(name),
        // A whole number written with a decimal point (`1549.0`, as pandas writes a float) is
        // that integer's digits.
        IdKind::Text | IdKind::Decimal => col(name)
            .cast(DataType::String)
            .map(text_keys, |_: &Schema, f: &Field| {
                Ok(Field::new(f.name().clone(), DataType::String))
            }),
        IdKind::Float { single } => when(whole(name, single))
            .then(col(name).cast(DataType::Int64))
            .otherwise(lit(NULL).cast(DataType::Int64)),
    }
}

/// The key's type once read by [`value`].
pub(crate) fn key_type(dtype: &DataType, kind: IdKind) -> DataType {
    match kind {
        IdKind::Integer => dtype.clone(),
        IdKind::Float { .. } => DataType::Int64,
        IdKind::Text | IdKind::Decimal => DataType::String,
    }
}

/// True where the cell holds a value that is no id: a float that is not an exact whole number
/// (a fraction, NaN, infinite, or beyond ±2^53). Missing cells are checked elsewhere.
pub(crate) fn bad(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Float { single } => col(name)
            .is_not_null()
            .and(whole(name, single).not())
            .fill_null(lit(false)),
        // A number in exponent notation (`1.5e+16`, as pandas writes a large float) names no
        // exact integer.
        IdKind::Text | IdKind::Decimal => col(name)
            .cast(DataType::String)
            .map(text_bad, |_: &Schema, f: &Field| {
                Ok(Field::new(f.name().clone(), DataType::Boolean))
            }),
        IdKind::Integer => lit(false),
    }
}

/// How a text id reads. A text that is a number is compared by its value, so that `1549`,
/// `1549.0`, `+1549` and ` 01549 ` (as spreadsheets and pandas write integers) are one owner;
/// a number that names no exact integer is a bad row; any other text is compared as written,
/// without the whitespace around it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TextId<'a> {
    /// Not a number: the text without surrounding whitespace.
    Text(&'a str),
    /// A whole number written in decimal: its digits, without `+`, leading zeros or `.0`.
    Whole(std::borrow::Cow<'a, str>),
    /// A number that is no exact whole number: `1549.5`, `1e17`, `NaN`, `inf`.
    NotWhole,
    /// Nothing but whitespace: a missing id.
    Empty,
}

/// Reads a text id (see [`TextId`]).
pub(crate) fn classify(v: &str) -> TextId<'_> {
    let t = v.trim();
    if t.is_empty() {
        return TextId::Empty;
    }
    let (negative, unsigned) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = unsigned.to_ascii_lowercase();
    if ["nan", "inf", "infinity"].contains(&lower.as_str()) {
        return TextId::NotWhole;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let numeric = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac);
    if !numeric {
        return TextId::Text(t);
    }
    if let Some(e) = exponent {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        // `12e3` is a number in exponent notation (as pandas writes large floats); `12easy`
        // is an ordinary text id.
        return if !e.is_empty() && digits(e) {
            TextId::NotWhole
        } else {
            TextId::Text(t)
        };
    }
    if frac.bytes().any(|b| b != b'0') {
        return TextId::NotWhole;
    }
    let trimmed = int.trim_start_matches('0');
    let magnitude = if trimmed.is_empty() { "0" } else { trimmed };
    if magnitude == "0" {
        return TextId::Whole(std::borrow::Cow::Borrowed("0"));
    }
    if negative {
        TextId::Whole(std::borrow::Cow::Owned(format!("-{magnitude}")))
    } else if magnitude.len() == t.len() {
        TextId::Whole(std::borrow::Cow::Borrowed(t))
    } else {
        TextId::Whole(std::borrow::Cow::Owned(magnitude.to_owned()))
    }
}

/// Text ids as their keys: a whole number as its digits, other text trimmed; null for a number
/// that is no exact whole number and for blank text ([`bad`] flags those rows).
fn text_keys(c: Column) -> PolarsResult<Column> {
    let out: StringChunked = c
        .str()?
        .iter()
        .map(|v| match v.map(classify) {
            Some(TextId::Text(t)) => Some(std::borrow::Cow::Borrowed(t)),
            Some(TextId::Whole(digits)) => Some(digits),
            _ => None,
        })
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// True for a text id that is a number but no exact whole number, or blank.
fn text_bad(c: Column) -> PolarsResult<Column> {
    let out: BooleanChunked = c
        .str()?
        .iter()
        .map(|v| {
            Some(matches!(
                v.map(classify),
                Some(TextId::NotWhole | TextId::Empty)
            ))
        })
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// A float cell that is an exact whole number: strictly within ±2^53 (2^53 itself is also what
/// 2^53 + 1 rounds to; NaN is outside every range in polars' order) and equal to its integer
/// part.
fn whole(name: &str, single: bool) -> Expr {
    let exact = if single {
        EXACT_IN_FLOAT32
    } else {
        EXACT_IN_FLOAT
    };
    let c = col(name).cast(DataType::Float64);
    c.clone()
        .lt(lit(exact))
        .and(c.clone().gt(lit(-exact)))
        .and(
            c.clone()
                .cast(DataType::Int64)
                .cast(DataType::Float64)
                .eq(c),
        )
        .fill_null(lit(false))
}

/// Whether every value of integer type `t` is an `Int64` (not so `UInt64`, `Int128`, `UInt128`).
pub(crate) fn fits_i64(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// The type both sides of an owner join are read as: the integer type they share, `Int64` when
/// both are signed or small integers of different widths, else text (an integer's text is its
/// decimal digits, so `42` matches `"42"`).
pub(crate) fn join_type(a: &DataType, b: &DataType) -> DataType {
    if a == b && a.is_integer() {
        return a.clone();
    }
    if fits_i64(a) && fits_i64(b) {
        DataType::Int64
    } else {
        DataType::String
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(values: Series) -> (Vec<Option<i64>>, Vec<bool>) {
        let df = DataFrame::new_infer_height(vec![values.into()]).expect("frame");
        let out = df
            .lazy()
            .select([
                value("id", IdKind::Float { single: false }).alias("v"),
                bad("id", IdKind::Float { single: false }).alias("b"),
            ])
            .collect()
            .expect("query");
        let v = out.column("v").expect("v").i64().expect("i64").to_vec();
        let b = out.column("b").expect("b").bool().expect("bool");
        (v, b.iter().map(|x| x.unwrap_or(true)).collect())
    }

    #[test]
    fn a_float_id_is_the_integer_it_holds_or_a_bad_value() {
        let s = Series::new(
            "id".into(),
            [
                Some(1549.0),
                None,
                Some(-3.0),
                Some(1.5),
                Some(f64::NAN),
                Some(f64::INFINITY),
                Some(9_007_199_254_740_992.0),
                Some(1e17),
            ],
        );
        let (v, b) = keys(s);
        assert_eq!(
            v,
            [Some(1549), None, Some(-3), None, None, None, None, None]
        );
        assert_eq!(b, [false, false, false, true, true, true, true, true]);
    }

    #[test]
    fn text_ids_written_as_floats() {
        use std::borrow::Cow::Borrowed;
        fn whole(s: &str) -> TextId<'_> {
            TextId::Whole(Borrowed(s))
        }
        for (written, read) in [
            ("1549", whole("1549")),
            ("1549.0", whole("1549")),
            ("1549.", whole("1549")),
            ("+1549", whole("1549")),
            (" 01549.00 ", whole("1549")),
            ("-7.000", whole("-7")),
            ("-0.0", whole("0")),
            ("+0", whole("0")),
            (".0", whole("0")),
            ("9007199254740993.0", whole("9007199254740993")),
        ] {
            assert_eq!(classify(written), read, "{written:?}");
        }
        for bad in [
            "1549.5",
            "1.5e+16",
            "2E3",
            "-.5e-3",
            "1016.0e0",
            "NaN",
            "-inf",
            "Infinity",
            "1016.00000000000000000001",
        ] {
            assert_eq!(classify(bad), TextId::NotWhole, "{bad:?}");
        }
        for text in [
            "v1.0",
            "abc-e1",
            "e5",
            "1e",
            "user-1e5x",
            "0x3f8",
            "1 016",
            "12easy",
            "u-7",
        ] {
            assert_eq!(classify(text), TextId::Text(text), "{text:?}");
        }
        assert_eq!(classify(" u-7 "), TextId::Text("u-7"));
        assert_eq!(classify("   "), TextId::Empty);
    }

    #[test]
    fn join_types() {
        assert_eq!(
            join_type(&DataType::Int32, &DataType::Int32),
            DataType::Int32
        );
        assert_eq!(
            join_type(&DataType::Int32, &DataType::Int64),
            DataType::Int64
        );
        assert_eq!(
            join_type(&DataType::UInt64, &DataType::Int64),
            DataType::String
        );
        assert_eq!(
            join_type(&DataType::String, &DataType::Int64),
            DataType::String
        );
        assert_eq!(IdKind::of(&DataType::Boolean), None);
        assert_eq!(
            IdKind::of(&DataType::Float32),
            Some(IdKind::Float { single: true })
        );
    }

    #[test]
    fn a_text_id_written_as_a_whole_float_is_its_digits() {
        let s = Series::new("id".into(), ["1001.0", "x", "7"]);
        let df = DataFrame::new_infer_height(vec![s.into()]).expect("frame");
        let out = df
            .lazy()
            .select([value("id", IdKind::Text).alias("v")])
            .collect()
            .expect("q");
        let v: Vec<_> = out
            .column("v")
            .expect("v")
            .str()
            .expect("str")
            .iter()
            .collect();
        assert_eq!(v, [Some("1001"), Some("x"), Some("7")]);
    }
}
