//! `sharelog verify`: a receipt checked against a site's `data/commitments.json`, as the
//! `verify/` page checks it in the browser.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Commitments, Entry, RECEIPT, Receipt, tree};
use crate::error::Result;

/// What checking a receipt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every entry checks out, and at least one was checked against a commitment: one sentence
    /// per checked batch, and apart, one per batch the site publishes no tree for (its sentence
    /// says why it was not checked: nothing about it is proven).
    Verified {
        /// The checked batches.
        checked: Vec<String>,
        /// The batches without a tree.
        unchecked: Vec<String>,
    },
    /// Nothing is wrong, but the site commits to none of the receipt's batches: nothing was
    /// checked, and the receipt proves nothing.
    Unchecked(Vec<String>),
    /// What failed (at least one line).
    Failed(Vec<String>),
}

/// The largest receipt `verify` reads (bytes): thousands of batches' paths fit in far less.
const MAX_RECEIPT: u64 = 64 << 20;
/// The largest site data file `verify` reads.
const MAX_SITE_FILE: u64 = 1 << 30;
/// The largest count a receipt may hold: JavaScript's largest exact integer, so that the page
/// and `sharelog verify` read the same numbers.
pub const MAX_COUNT: u64 = (1 << 53) - 1;

/// Checks the receipt at `receipt` against the site in `site`. A site that cannot be read is an
/// I/O error; a receipt that is not a regular file or is too large is invalid input; everything
/// wrong with the receipt, or a site without commitments, is a failure.
pub fn verify(receipt: &Path, site: &Path) -> Result<Outcome> {
    match std::fs::metadata(site) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(crate::fs::io_error(
                site,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "--site is not a folder"),
            ));
        }
        Err(e) => return Err(crate::fs::io_error(site, e)),
    }
    let commitments_path = site.join("data").join("commitments.json");
    let commitments: Commitments = match super::read_regular(&commitments_path, MAX_SITE_FILE) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Outcome::Failed(vec![printable(&format!(
                    "{} is not a commitments file sharelog reads: {e}",
                    commitments_path.display()
                ))]));
            }
        },
        Err(e) if e.is_not_found() => {
            return Ok(Outcome::Failed(vec![printable(&format!(
                "{} has no data/commitments.json: it is not a sharelog site, or it was built without --receipt-key",
                site.display()
            ))]));
        }
        Err(e) => return Err(e),
    };
    let text = super::read_regular(receipt, MAX_RECEIPT)?;
    // A byte order mark, as some editors write, is not part of the JSON (the page ignores it too).
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let receipt: Receipt = match serde_json::from_slice(text) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Outcome::Failed(vec![printable(&format!(
                "{} is not a sharelog receipt: {e}",
                receipt.display()
            ))]));
        }
    };
    let published = match published_exports(site) {
        Ok(p) => p,
        Err(why) => return Ok(Outcome::Failed(vec![printable(&why)])),
    };
    let names = partner_names(site);
    Ok(check_named(
        &receipt,
        &commitments,
        published.as_deref(),
        &names,
    ))
}

/// A line safe to print on a terminal: control characters (escape sequences, carriage returns,
/// bidirectional overrides) written as `\u{…}` escapes.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        // Unicode's format characters (Cf: direction marks and overrides, invisible joiners and
        // separators, the byte order mark) and the line and paragraph separators.
        let invisible = matches!(c,
            '\u{ad}' | '\u{34f}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
            | '\u{8e2}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}' | '\u{2800}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}'
            | '\u{feff}' | '\u{ffa0}' | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}'
            | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}');
        if c.is_control() || invisible {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Partner names by id, from the site's `data/partners.json` (empty when it has none).
fn partner_names(site: &Path) -> BTreeMap<String, String> {
    let Ok(bytes) = super::read_regular(&site.join("data").join("partners.json"), MAX_SITE_FILE)
    else {
        return BTreeMap::new();
    };
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&bytes).unwrap_or_default();
    rows.iter()
        .filter_map(|r| {
            Some((
                r.get("partner")?.as_str()?.to_owned(),
                r.get("name")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// The published `exports` table's totals, where the site has `data/exports.json`: (export,
/// count name, value) for every exact count; `Err` (what is wrong) when it cannot be read.
type Shown = Vec<(String, String, u64)>;
fn published_exports(site: &Path) -> std::result::Result<Option<Shown>, String> {
    let path = site.join("data").join("exports.json");
    let bytes = match super::read_regular(&path, MAX_SITE_FILE) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(format!("{} cannot be read: {e}", path.display())),
    };
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&bytes)
        .map_err(|e| {
            format!(
                "{} is not the exports table sharelog writes ({e}): the commitments cannot be compared with the published totals",
                path.display()
            )
        })?;
    let mut out = Vec::new();
    for row in rows {
        let Some(export) = row.get("export").and_then(|v| v.as_str()) else {
            return Err(format!("{} has a row without an export id", path.display()));
        };
        for name in super::SUMS {
            if let Some(n) = row.get(name).and_then(serde_json::Value::as_u64) {
                out.push((export.to_owned(), name.to_owned(), n));
            }
        }
    }
    Ok(Some(out))
}

/// Checks a parsed receipt against parsed commitments (and the published totals, when known).
pub fn check(
    receipt: &Receipt,
    commitments: &Commitments,
    published: Option<&[(String, String, u64)]>,
) -> Outcome {
    check_named(receipt, commitments, published, &BTreeMap::new())
}

/// [`check`], naming partners by `names` (id → name) in the summary.
pub fn check_named(
    receipt: &Receipt,
    commitments: &Commitments,
    published: Option<&[(String, String, u64)]>,
    names: &BTreeMap<String, String>,
) -> Outcome {
    let mut failed = Vec::new();
    if receipt.receipt != RECEIPT {
        failed.push(format!(
            "the receipt's format is {:?}, not {RECEIPT:?}",
            receipt.receipt
        ));
    }
    if receipt.report != commitments.report {
        failed.push(format!(
            "the receipt is for the report {:?} of {}, the site is {:?} of {}",
            receipt.report.title,
            receipt.report.published,
            commitments.report.title,
            commitments.report.published
        ));
    }
    if receipt.exports.is_empty() {
        failed.push("the receipt names no export batch".to_owned());
    }
    failed.extend(check_commitments(commitments, published));
    let (mut checked, mut unchecked) = (Vec::new(), Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for entry in &receipt.exports {
        if !seen.insert(entry.export.as_str()) {
            failed.push(format!("the receipt names {:?} twice", entry.export));
            continue;
        }
        match check_entry(&receipt.owner, entry, commitments, names) {
            Ok((line, true)) => checked.push(line),
            Ok((line, false)) => unchecked.push(line),
            Err(why) => failed.extend(why.into_iter().map(|w| format!("{:?}: {w}", entry.export))),
        }
    }
    let all = |v: Vec<String>| v.iter().map(|l| printable(l)).collect();
    if !failed.is_empty() {
        Outcome::Failed(all(failed))
    } else if checked.is_empty() {
        Outcome::Unchecked(all(unchecked))
    } else {
        Outcome::Verified {
            checked: all(checked),
            unchecked: all(unchecked),
        }
    }
}

/// What is wrong with the commitments themselves: a tree whose sums are not the published
/// totals, or whose size is not its owners.
fn check_commitments(
    commitments: &Commitments,
    published: Option<&[(String, String, u64)]>,
) -> Vec<String> {
    let mut failed = Vec::new();
    for c in commitments.exports.iter().filter(|c| c.committed) {
        if c.sums.iter().any(|n| !c.totals.contains_key(n)) || c.sums.len() != c.totals.len() {
            failed.push(format!(
                "the commitment of {} names sums {:?} but totals {:?}",
                c.export,
                c.sums,
                c.totals.keys().collect::<Vec<_>>()
            ));
        }
        if c.sums.first().map(String::as_str) != Some("items")
            || c.sums.get(1).map(String::as_str) != Some("owners")
        {
            failed.push(format!(
                "the commitment of {} does not sum items and owners",
                c.export
            ));
        }
        if c.tree_size.is_none() || c.tree_size != c.totals.get("owners").copied() {
            failed.push(format!(
                "the commitment of {} has {} leaves but sums {} owners: every owner is one leaf",
                c.export,
                c.tree_size
                    .map_or_else(|| "no".to_owned(), |n| n.to_string()),
                c.totals
                    .get("owners")
                    .map_or_else(|| "no".to_owned(), |n| n.to_string())
            ));
        }
        if !c.root.as_deref().is_some_and(is_hash) {
            failed.push(format!(
                "the commitment of {} has no root hash of 64 lowercase hex digits",
                c.export
            ));
        }
        if let Some(published) = published {
            for (name, total) in &c.totals {
                let shown = published
                    .iter()
                    .find(|(e, n, _)| *e == c.export && n == name)
                    .map(|(_, _, v)| *v);
                if shown != Some(*total) {
                    failed.push(format!(
                        "the commitment of {} sums {name} to {total}, but the site's exports table shows {}",
                        c.export,
                        shown.map_or_else(|| "no exact figure".to_owned(), |v| v.to_string())
                    ));
                }
            }
        }
    }
    failed
}

/// 64 lowercase hex digits (both verifiers read hashes and salts only in this form).
fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether the owner had opted out, in words: at the export and on the report's date.
fn opted_out(r: &super::Record, report_date: &str) -> String {
    let word = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not known",
    };
    if r.opted_out_at_export.is_none() && r.opted_out_now.is_none() {
        "whether you had opted out is not known: the report has no opt-out ledger".to_owned()
    } else {
        format!(
            "counted as opted out at the export: {}; on {report_date} (the report's date): {}",
            word(r.opted_out_at_export),
            word(r.opted_out_now)
        )
    }
}

/// One entry: its sentence and whether it was checked against a commitment, or what is wrong
/// with it.
fn check_entry(
    owner: &str,
    entry: &Entry,
    commitments: &Commitments,
    names: &BTreeMap<String, String>,
) -> std::result::Result<(String, bool), Vec<String>> {
    let mut why = Vec::new();
    let r = &entry.record;
    let Some(c) = commitments
        .exports
        .iter()
        .find(|c| c.export == entry.export)
    else {
        return Err(vec!["the site has no export batch of this id".to_owned()]);
    };
    if r.export != entry.export {
        why.push(format!("the record names the batch {:?}", r.export));
    }
    if r.owner != owner {
        why.push(format!(
            "the record is of the owner {:?}, not {owner:?}",
            r.owner
        ));
    }
    if r.partner != c.partner {
        why.push(format!(
            "the record names the partner {:?}, the site {:?}",
            r.partner, c.partner
        ));
    }
    if r.exported_at != c.exported_at {
        why.push(format!(
            "the record says exported at {:?}, the site {}",
            r.exported_at, c.exported_at
        ));
    }
    if !is_hash(&r.salt) {
        why.push("the salt is not 64 lowercase hex digits".to_owned());
    }
    let sum: Option<u64> = r.cells.iter().try_fold(0u64, |a, c| a.checked_add(c.items));
    if sum != Some(r.items) {
        why.push(format!(
            "the record's items ({}) are not the sum of its categories and years",
            r.items
        ));
    }
    if r.items == 0 {
        why.push("the record holds no items".to_owned());
    }
    if r.items > MAX_COUNT {
        why.push(format!("the record's items exceed {MAX_COUNT}"));
    }
    for cell in &r.cells {
        let flags = [
            cell.private,
            cell.deleted,
            cell.suspended,
            cell.explicit,
            cell.minor,
        ];
        if flags.iter().any(|f| *f > cell.items) {
            why.push(format!(
                "{:?} {}: a flag counts more items than the cell has",
                cell.category, cell.year
            ));
        }
        if cell.items == 0 {
            why.push(format!(
                "{:?} {}: a cell of no items",
                cell.category, cell.year
            ));
        }
    }
    let sentence = format!(
        "{} of your posts {} in export {}, sent to {} on {}; {}",
        r.items,
        if r.items == 1 { "was" } else { "were" },
        c.export,
        names.get(&c.partner).unwrap_or(&c.partner),
        crate::time::display_instant(&c.exported_at)
            .replace('T', " ")
            .replace(":00Z", " UTC")
            .replace('Z', " UTC"),
        opted_out(r, &commitments.report.published),
    );
    if !entry.committed {
        if c.committed {
            why.push("the site commits to this batch, but the receipt has no path".to_owned());
        }
        if entry.leaf_index.is_some()
            || entry.tree_size.is_some()
            || !entry.sums.is_empty()
            || !entry.path.is_empty()
        {
            why.push(
                "the receipt says the batch has no tree, yet gives a leaf index, tree size, sums or path"
                    .to_owned(),
            );
        }
        match c.reason.as_deref() {
            Some("no-listing") => why.push("the batch has declared counts only: it holds no owner's records, so no receipt lists it".to_owned()),
            Some("empty") => why.push("the batch's listing is empty: it holds no owner's records, so no receipt lists it".to_owned()),
            _ => {}
        }
        return if why.is_empty() {
            Ok((
                format!(
                    "{sentence}. Not checked: the site publishes no tree for this batch ({})",
                    match c.reason.as_deref() {
                        Some("hidden") => "its totals are hidden, and a receipt would tell them",
                        _ => "no reason given",
                    }
                ),
                false,
            ))
        } else {
            Err(why)
        };
    }
    if !c.committed {
        why.push("the site publishes no commitment for this batch".to_owned());
        return Err(why);
    }
    if entry.sums != c.sums {
        why.push(format!(
            "the receipt sums {:?}, the site {:?}",
            entry.sums, c.sums
        ));
    }
    if entry.tree_size != c.tree_size {
        why.push("the receipt's tree size is not the site's".to_owned());
    }
    let (Some(index), Some(size)) = (entry.leaf_index, c.tree_size) else {
        why.push("the receipt gives no leaf index".to_owned());
        return Err(why);
    };
    let Some(sums) = r.sums(&c.sums) else {
        why.push("the record lacks a count the site sums (opted_out_at_export)".to_owned());
        return Err(why);
    };
    let Ok(bytes) = r.canonical() else {
        why.push("the record cannot be written".to_owned());
        return Err(why);
    };
    let leaf = tree::leaf(&bytes, &sums);
    // Each sibling covers a known number of leaves, one owner each; its other sums are bounded
    // by its owners.
    let sizes = tree::sibling_sizes(index, size);
    let at = |name: &str| c.sums.iter().position(|n| n == name);
    let mut path = Vec::with_capacity(entry.path.len());
    for (k, p) in entry.path.iter().enumerate() {
        if !is_hash(&p.hash) || p.sums.len() != c.sums.len() {
            why.push(format!(
                "sibling {} is not a hash of 64 lowercase hex digits with {} sums",
                k + 1,
                c.sums.len()
            ));
            continue;
        }
        let sum = |name: &str| at(name).and_then(|i| p.sums.get(i).copied());
        let owners = sum("owners");
        let impossible = p.sums.iter().any(|s| *s > MAX_COUNT)
            || owners.is_some_and(|o| sizes.get(k).is_some_and(|n| *n != o))
            || sum("items").zip(owners).is_some_and(|(i, o)| i < o)
            || sum("owners_opted_out")
                .zip(owners)
                .is_some_and(|(x, o)| x > o);
        if impossible {
            why.push(format!(
                "sibling {}'s sums {:?} are impossible for a subtree of {}",
                k + 1,
                p.sums,
                match sizes.get(k) {
                    Some(1) => "1 owner".to_owned(),
                    Some(n) => format!("{n} owners"),
                    None => "no owners".to_owned(),
                }
            ));
        }
        let mut node = hex::decode(&p.hash).unwrap_or_default();
        for s in &p.sums {
            node.extend_from_slice(&s.to_be_bytes());
        }
        path.push(node);
    }
    if !why.is_empty() {
        return Err(why);
    }
    let root = match tree::root_from_path(&leaf, index, size, &path) {
        Ok(root) => root,
        Err(e) => {
            why.push(match e {
                tree::PathError::Index => "the leaf index is not below the tree's size".to_owned(),
                tree::PathError::TooLong => {
                    "the path has more siblings than the tree has levels".to_owned()
                }
                tree::PathError::TooShort => {
                    "the path has fewer siblings than the tree has levels".to_owned()
                }
                tree::PathError::Node => "a sum on the path overflows".to_owned(),
            });
            return Err(why);
        }
    };
    if Some(hex::encode(&root[..tree::HASH])) != c.root {
        why.push("the record and its path do not lead to the published root hash: the receipt was changed, or it is not from this report".to_owned());
    }
    let totals: Vec<u64> = c
        .sums
        .iter()
        .map(|n| c.totals.get(n).copied().unwrap_or(u64::MAX))
        .collect();
    if tree::sums_of(&root) != totals {
        why.push(format!(
            "the path adds up to {:?}, the published totals are {:?}",
            tree::sums_of(&root),
            totals
        ));
    }
    if why.is_empty() {
        Ok((sentence, true))
    } else {
        Err(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipts::{Cell, ExportCommitment, PathNode, Record, ReportRef};

    /// A receipt of one leaf in a tree of four, whose two siblings carry `sums`, and the
    /// commitment to the root those siblings give: hashes that match, whatever the sums claim.
    fn forged(siblings: [[u64; 2]; 2], tree_size: u64) -> (Receipt, Commitments) {
        let record = Record {
            cells: vec![Cell {
                category: "text".into(),
                deleted: 0,
                explicit: 0,
                items: 2,
                minor: 0,
                private: 0,
                suspended: 0,
                year: 2020,
            }],
            export: "e1".into(),
            exported_at: "2024-01-01T00:00:00Z".into(),
            items: 2,
            opted_out_at_export: None,
            opted_out_now: None,
            owner: "a".into(),
            partner: "p".into(),
            salt: "ab".repeat(32),
        };
        let leaf = tree::leaf(&record.canonical().expect("json"), &[2, 1]);
        let nodes: Vec<Vec<u8>> = siblings
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let mut n = vec![k as u8 + 7; tree::HASH];
                for x in s {
                    n.extend_from_slice(&x.to_be_bytes());
                }
                n
            })
            .collect();
        let root =
            tree::parent(&tree::parent(&leaf, &nodes[0]).expect("node"), &nodes[1]).expect("root");
        let report = ReportRef {
            title: "t".into(),
            published: "2024-06-30".into(),
        };
        let sums = vec!["items".to_owned(), "owners".to_owned()];
        let totals = tree::sums_of(&root);
        let c = Commitments {
            scheme: crate::receipts::SCHEME.into(),
            hashing: String::new(),
            report: report.clone(),
            exports: vec![ExportCommitment {
                export: "e1".into(),
                partner: "p".into(),
                exported_at: record.exported_at.clone(),
                committed: true,
                reason: None,
                tree_size: Some(tree_size),
                root: Some(hex::encode(&root[..tree::HASH])),
                sums: sums.clone(),
                totals: [
                    ("items".to_owned(), totals[0]),
                    ("owners".to_owned(), totals[1]),
                ]
                .into_iter()
                .collect(),
            }],
        };
        let r = Receipt {
            receipt: RECEIPT.into(),
            owner: "a".into(),
            report,
            exports: vec![Entry {
                export: "e1".into(),
                committed: true,
                leaf_index: Some(0),
                tree_size: Some(tree_size),
                sums,
                record,
                path: nodes
                    .iter()
                    .map(|n| PathNode {
                        hash: hex::encode(&n[..tree::HASH]),
                        sums: tree::sums_of(n),
                    })
                    .collect(),
            }],
        };
        (r, c)
    }

    #[test]
    fn sibling_sums_must_fit_their_subtrees_and_a_tree_its_owners() {
        // Honest: a sibling of one owner, then one of two.
        let (r, c) = forged([[5, 1], [3, 2]], 4);
        assert!(matches!(check(&r, &c, None), Outcome::Verified { .. }));
        // Two owners claimed by a single leaf; one owner claimed by a subtree of two.
        let (r, c) = forged([[5, 2], [3, 1]], 4);
        match check(&r, &c, None) {
            Outcome::Failed(why) => {
                assert!(why.iter().any(|w| w.contains("impossible")), "{why:?}")
            }
            other => panic!("{other:?}"),
        }
        // Fewer items than owners.
        let (r, c) = forged([[0, 1], [3, 2]], 4);
        assert!(matches!(check(&r, &c, None), Outcome::Failed(_)));
        // A tree of four leaves that claims five owners.
        let (r, c) = forged([[5, 1], [3, 3]], 4);
        match check(&r, &c, None) {
            Outcome::Failed(why) => {
                assert!(
                    why.iter().any(|w| w.contains("every owner is one leaf")),
                    "{why:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn printable_escapes_control_and_bidi_characters() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\u{202e}y\r"), "x\\u{202e}y\\u{d}");
        assert_eq!(printable("Zoë 1 of 2"), "Zoë 1 of 2");
        assert_eq!(
            printable("a\u{61c}\u{2028}\u{feff}"),
            "a\\u{61c}\\u{2028}\\u{feff}"
        );
        assert_eq!(printable("x\u{e0041}\u{3164}"), "x\\u{e0041}\\u{3164}");
    }
}
