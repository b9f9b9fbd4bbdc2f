//! `sharelog verify`: a receipt checked against a site's `data/commitments.json`, as the
//! `verify/` page checks it in the browser.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Commitments, Entry, RECEIPT, Receipt, tree};
use crate::error::Result;

/// What checking a receipt found: the plain-language summary when it verifies, else what failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every entry checks out: one sentence per batch.
    Verified(Vec<String>),
    /// What failed (at least one line).
    Failed(Vec<String>),
}

/// Checks the receipt at `receipt` against the site in `site`. I/O errors reading the site are
/// errors; everything wrong with the receipt, or a site without commitments, is a failure.
pub fn verify(receipt: &Path, site: &Path) -> Result<Outcome> {
    let commitments_path = site.join("data").join("commitments.json");
    let commitments: Commitments = match std::fs::read(&commitments_path) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(c) => c,
            Err(e) => {
                return Ok(Outcome::Failed(vec![format!(
                    "{} is not a commitments file sharelog reads: {e}",
                    commitments_path.display()
                )]));
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Outcome::Failed(vec![format!(
                "{} publishes no commitments (no data/commitments.json): it was built without --receipt-key",
                site.display()
            )]));
        }
        Err(e) => return Err(crate::fs::io_error(&commitments_path, e)),
    };
    let text = match std::fs::read(receipt) {
        Ok(t) => t,
        Err(e) => return Err(crate::fs::io_error(receipt, e)),
    };
    let receipt: Receipt = match serde_json::from_slice(&text) {
        Ok(r) => r,
        Err(e) => {
            return Ok(Outcome::Failed(vec![format!(
                "{} is not a sharelog receipt: {e}",
                receipt.display()
            )]));
        }
    };
    let published = published_exports(site);
    let names = partner_names(site);
    Ok(check_named(
        &receipt,
        &commitments,
        published.as_deref(),
        &names,
    ))
}

/// Partner names by id, from the site's `data/partners.json` (empty when it has none).
fn partner_names(site: &Path) -> BTreeMap<String, String> {
    let Ok(bytes) = std::fs::read(site.join("data").join("partners.json")) else {
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
/// count name, value) for every exact count.
fn published_exports(site: &Path) -> Option<Vec<(String, String, u64)>> {
    let bytes = std::fs::read(site.join("data").join("exports.json")).ok()?;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_slice(&bytes).ok()?;
    let mut out = Vec::new();
    for row in rows {
        let Some(export) = row.get("export").and_then(|v| v.as_str()) else {
            continue;
        };
        for name in super::SUMS {
            if let Some(n) = row.get(name).and_then(serde_json::Value::as_u64) {
                out.push((export.to_owned(), name.to_owned(), n));
            }
        }
    }
    Some(out)
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
            "the receipt is for the report \"{}\" of {}, the site is \"{}\" of {}",
            receipt.report.title,
            receipt.report.published,
            commitments.report.title,
            commitments.report.published
        ));
    }
    if receipt.exports.is_empty() {
        failed.push("the receipt names no export batch".to_owned());
    }
    // Every commitment's totals are the published ones.
    if let Some(published) = published {
        for c in commitments.exports.iter().filter(|c| c.committed) {
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
    let mut lines = Vec::new();
    for (k, entry) in receipt.exports.iter().enumerate() {
        if receipt.exports[..k]
            .iter()
            .any(|e| e.export == entry.export)
        {
            failed.push(format!("the receipt names {} twice", entry.export));
            continue;
        }
        match check_entry(&receipt.owner, entry, commitments, names) {
            Ok(line) => lines.push(line),
            Err(why) => failed.extend(why.into_iter().map(|w| format!("{}: {w}", entry.export))),
        }
    }
    if failed.is_empty() {
        Outcome::Verified(lines)
    } else {
        Outcome::Failed(failed)
    }
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not known (the report has no opt-out ledger)",
    }
}

/// One entry: its sentence, or what is wrong with it.
fn check_entry(
    owner: &str,
    entry: &Entry,
    commitments: &Commitments,
    names: &BTreeMap<String, String>,
) -> std::result::Result<String, Vec<String>> {
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
        why.push(format!("the record names the batch {}", r.export));
    }
    if r.owner != owner {
        why.push(format!(
            "the record is of the owner {:?}, not {owner:?}",
            r.owner
        ));
    }
    if r.partner != c.partner {
        why.push(format!(
            "the record names the partner {}, the site {}",
            r.partner, c.partner
        ));
    }
    if r.exported_at != c.exported_at {
        why.push(format!(
            "the record says exported at {}, the site {}",
            r.exported_at, c.exported_at
        ));
    }
    if r.salt.len() != 64 || !r.salt.bytes().all(|b| b.is_ascii_hexdigit()) {
        why.push("the salt is not 64 hex digits".to_owned());
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
                "{} {}: a flag counts more items than the cell has",
                cell.category, cell.year
            ));
        }
    }
    let sentence = format!(
        "{} of your posts {} in export {}, sent to {} on {}; you were counted as opted out: {} (at the export), {} (now)",
        r.items,
        if r.items == 1 { "was" } else { "were" },
        c.export,
        names.get(&c.partner).unwrap_or(&c.partner),
        crate::time::display_instant(&c.exported_at),
        yes_no(r.opted_out_at_export),
        yes_no(r.opted_out_now),
    );
    if !entry.committed {
        if c.committed {
            why.push("the site commits to this batch, but the receipt has no path".to_owned());
        }
        return if why.is_empty() {
            Ok(format!(
                "{sentence}. Not checked: the site publishes no commitment for this batch ({})",
                match c.reason.as_deref() {
                    Some("hidden") => "its totals are hidden, and a receipt would tell them",
                    Some("no-listing") => "it has declared counts only",
                    _ => "no reason given",
                }
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
    let mut path = Vec::with_capacity(entry.path.len());
    for (k, p) in entry.path.iter().enumerate() {
        match hex::decode(&p.hash) {
            Ok(h) if h.len() == tree::HASH && p.sums.len() == c.sums.len() => {
                let mut node = h;
                for s in &p.sums {
                    node.extend_from_slice(&s.to_be_bytes());
                }
                path.push(node);
            }
            _ => why.push(format!(
                "sibling {} is not a 32-byte hex hash with {} sums",
                k + 1,
                c.sums.len()
            )),
        }
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
        Ok(sentence)
    } else {
        Err(why)
    }
}
