//! Identifier columns (`item_id`, `owner_id`): which types they may have, and their value as a
//! join key. An id compares by value, whatever the file's type for it: an integer as itself, text
//! as itself, and a floating-point number (what pandas writes for an integer column with a null:
//! Parquet float64, CSV `1549.0`, NDJSON `1348.0`) as the integer it holds. A float that holds no
//! whole number, or one too large to be exact (beyond ±2^53), is a bad row, never a silent
//! mismatch; any other type is refused with the column's name.

use polars::prelude::*;

/// The largest integer every smaller one of which a float64 holds exactly.
const EXACT_IN_FLOAT: f64 = 9_007_199_254_740_992.0;

/// What an id column's type is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdKind {
    /// An integer type: compared as integers.
    Integer,
    /// A floating-point type: each value must be a whole number, compared as that integer.
    Float,
    /// Text (or a column of nothing but empty cells): compared as text.
    Text,
}

impl IdKind {
    /// The kind of a column of `dtype`, or `None` for a type an id may not have.
    pub(crate) fn of(dtype: &DataType) -> Option<IdKind> {
        match dtype {
            t if t.is_integer() => Some(IdKind::Integer),
            t if t.is_float() => Some(IdKind::Float),
            DataType::String | DataType::Null => Some(IdKind::Text),
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
pub(crate) const NOT_WHOLE_HELP: &str = "write ids as integers or text; a floating-point id must be a whole number no larger than 2^53 (9007199254740992), or it would match the wrong owner";

/// The id column `name` as a key: an integer column as it is, text as it is, a float column as
/// `Int64` (null where the value is no exact whole number: see [`bad`]).
pub(crate) fn value(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Integer => col(name),
        // A whole number written with a decimal point (`1549.0`, as pandas writes a float) is
        // that integer's digits.
        IdKind::Text => col(name)
            .cast(DataType::String)
            .map(whole_as_digits, |_: &Schema, f: &Field| {
                Ok(Field::new(f.name().clone(), DataType::String))
            }),
        IdKind::Float => when(whole(name))
            .then(col(name).cast(DataType::Int64))
            .otherwise(lit(NULL).cast(DataType::Int64)),
    }
}

/// The key's type once read by [`value`].
pub(crate) fn key_type(dtype: &DataType, kind: IdKind) -> DataType {
    match kind {
        IdKind::Integer => dtype.clone(),
        IdKind::Float => DataType::Int64,
        IdKind::Text => DataType::String,
    }
}

/// True where the cell holds a value that is no id: a float that is not an exact whole number
/// (a fraction, NaN, infinite, or beyond ±2^53). Missing cells are checked elsewhere.
pub(crate) fn bad(name: &str, kind: IdKind) -> Expr {
    match kind {
        IdKind::Float => col(name)
            .is_not_null()
            .and(whole(name).not())
            .fill_null(lit(false)),
        // A number in exponent notation (`1.5e+16`, as pandas writes a large float) names no
        // exact integer.
        IdKind::Text => col(name)
            .cast(DataType::String)
            .map(in_exponent_form, |_: &Schema, f: &Field| {
                Ok(Field::new(f.name().clone(), DataType::Boolean))
            }),
        IdKind::Integer => lit(false),
    }
}

/// `1549.0` → `1549`: a text that is an integer followed by a point and zeros, as that integer.
fn whole_as_digits(c: Column) -> PolarsResult<Column> {
    let out = c.str()?.apply_values(|v| match whole_digits(v) {
        Some(digits) => std::borrow::Cow::Borrowed(digits),
        None => std::borrow::Cow::Borrowed(v),
    });
    Ok(out.into_column())
}

/// The integer part of `-?[0-9]+\.0+`, or `None` for any other text.
fn whole_digits(v: &str) -> Option<&str> {
    let (int, frac) = v.split_once('.')?;
    let digits = int.strip_prefix('-').unwrap_or(int);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b == b'0');
    ok.then_some(int)
}

/// True for a text that is a number in exponent notation (`1.5e+16`).
fn in_exponent_form(c: Column) -> PolarsResult<Column> {
    let out: BooleanChunked = c
        .str()?
        .iter()
        .map(|v| Some(v.is_some_and(exponent_form)))
        .collect();
    Ok(out.with_name(c.name().clone()).into_column())
}

/// `[+-]?digits[.digits]e[+-]?digits`, with at least one digit on each side.
fn exponent_form(v: &str) -> bool {
    let Some((mantissa, exponent)) = v.split_once(['e', 'E']) else {
        return false;
    };
    let mantissa = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && !exponent.is_empty()
        && digits(exponent)
}

/// A float cell that is an exact whole number: within ±2^53 (NaN is outside every range in
/// polars' order) and equal to its integer part.
fn whole(name: &str) -> Expr {
    let c = col(name).cast(DataType::Float64);
    c.clone()
        .lt_eq(lit(EXACT_IN_FLOAT))
        .and(c.clone().gt_eq(lit(-EXACT_IN_FLOAT)))
        .and(
            c.clone()
                .cast(DataType::Int64)
                .cast(DataType::Float64)
                .eq(c),
        )
        .fill_null(lit(false))
}

/// The type both sides of an owner join are read as: the integer type they share, `Int64` when
/// both are signed or small integers of different widths, else text (an integer's text is its
/// decimal digits, so `42` matches `"42"`).
pub(crate) fn join_type(a: &DataType, b: &DataType) -> DataType {
    if a == b && a.is_integer() {
        return a.clone();
    }
    let fits_i64 = |t: &DataType| t.is_integer() && *t != DataType::UInt64;
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
                value("id", IdKind::Float).alias("v"),
                bad("id", IdKind::Float).alias("b"),
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
            [
                Some(1549),
                None,
                Some(-3),
                None,
                None,
                None,
                Some(9_007_199_254_740_992),
                None
            ]
        );
        assert_eq!(b, [false, false, false, true, true, true, false, true]);
    }

    #[test]
    fn text_ids_written_as_floats() {
        assert_eq!(whole_digits("1549.0"), Some("1549"));
        assert_eq!(whole_digits("-7.000"), Some("-7"));
        assert_eq!(whole_digits("1549"), None);
        assert_eq!(whole_digits("1549.5"), None);
        assert_eq!(whole_digits("v1.0"), None);
        assert_eq!(whole_digits(".0"), None);
        assert_eq!(whole_digits("1."), None);
        assert!(exponent_form("1.5e+16"));
        assert!(exponent_form("2E3"));
        assert!(exponent_form("-.5e-3"));
        assert!(!exponent_form("e5"));
        assert!(!exponent_form("abc-e1"));
        assert!(!exponent_form("1e"));
        assert!(!exponent_form("user-1e5x"));
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
        assert_eq!(IdKind::of(&DataType::Float32), Some(IdKind::Float));
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
