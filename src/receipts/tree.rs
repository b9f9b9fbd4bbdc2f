//! The Merkle sum tree: RFC 9162's tree shape and audit paths, with a vector of sums beside every
//! hash.
//!
//! A node is its hash followed by its sums, each a 64-bit big-endian unsigned integer: `32 + 8k`
//! bytes for `k` sums. A leaf's hash is `SHA-256(0x00 ‖ record)`; an inner node's is
//! `SHA-256(0x01 ‖ left node ‖ right node)` (both children's hashes *and* sums), and its sums are
//! the children's sums added. The tree over `n` leaves is RFC 9162's (§2.1.1): built level by
//! level, pairing neighbours, the last node of an odd level promoted unchanged; an audit path
//! lists the siblings from the leaf up, skipping the levels where the node was promoted.

use sha2::{Digest, Sha256};

/// Bytes of a hash.
pub(crate) const HASH: usize = 32;

/// The bytes of a node with `sums` sums.
pub(crate) fn node_len(sums: usize) -> usize {
    HASH + 8 * sums
}

/// A leaf: `SHA-256(0x00 ‖ record)` followed by its sums.
pub(crate) fn leaf(record: &[u8], sums: &[u64]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(record);
    let mut out = Vec::with_capacity(node_len(sums.len()));
    out.extend_from_slice(&h.finalize());
    for s in sums {
        out.extend_from_slice(&s.to_be_bytes());
    }
    out
}

/// The parent of two nodes of the same width, written to `out`; `None` when a sum overflows.
pub(crate) fn parent_into(left: &[u8], right: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    out.extend_from_slice(&h.finalize());
    for (l, r) in left[HASH..]
        .chunks_exact(8)
        .zip(right[HASH..].chunks_exact(8))
    {
        let l = u64::from_be_bytes(l.try_into().ok()?);
        let r = u64::from_be_bytes(r.try_into().ok()?);
        out.extend_from_slice(&l.checked_add(r)?.to_be_bytes());
    }
    Some(())
}

/// The parent of two nodes; `None` when a sum overflows or the widths differ.
pub(crate) fn parent(left: &[u8], right: &[u8]) -> Option<Vec<u8>> {
    if left.len() != right.len() || left.len() < HASH || !(left.len() - HASH).is_multiple_of(8) {
        return None;
    }
    let mut out = Vec::with_capacity(left.len());
    parent_into(left, right, &mut out)?;
    Some(out)
}

/// The sums of a node.
pub(crate) fn sums_of(node: &[u8]) -> Vec<u64> {
    node.get(HASH..)
        .unwrap_or_default()
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_be_bytes(b)
        })
        .collect()
}

/// A whole tree: every level's nodes, the leaves (sorted) first, the root's level last.
pub(crate) struct Tree {
    width: usize,
    levels: Vec<Vec<u8>>,
}

impl Tree {
    /// Builds the tree over `leaves` (nodes of `width` bytes, concatenated), which it sorts by
    /// hash first. `None` when a sum overflows. At least one leaf.
    #[cfg(test)]
    pub(crate) fn build(leaves: Vec<u8>, width: usize) -> Option<Tree> {
        if width < HASH || leaves.is_empty() || !leaves.len().is_multiple_of(width) {
            return None;
        }
        let mut nodes: Vec<&[u8]> = leaves.chunks_exact(width).collect();
        nodes.sort_unstable();
        Tree::from_sorted(nodes.concat(), width)
    }

    /// Builds the tree over `leaves` already sorted by hash (nodes of `width` bytes,
    /// concatenated). `None` when a sum overflows, or the leaves are not whole nodes.
    pub(crate) fn from_sorted(leaves: Vec<u8>, width: usize) -> Option<Tree> {
        if width < HASH || leaves.is_empty() || !leaves.len().is_multiple_of(width) {
            return None;
        }
        debug_assert!(
            leaves
                .chunks_exact(width)
                .zip(leaves.chunks_exact(width).skip(1))
                .all(|(a, b)| a <= b)
        );
        let mut levels = vec![leaves];
        loop {
            let below = levels.last()?;
            let n = below.len() / width;
            if n <= 1 {
                break;
            }
            // Parents of 1,024 pairs per task, in order.
            use rayon::prelude::*;
            let blocks: Vec<Option<Vec<u8>>> = below
                .par_chunks(2 * width * 1024)
                .map(|block| {
                    let mut next = Vec::with_capacity(block.len().div_ceil(2));
                    for pair in block.chunks(2 * width) {
                        if pair.len() == 2 * width {
                            parent_into(&pair[..width], &pair[width..], &mut next)?;
                        } else {
                            next.extend_from_slice(pair);
                        }
                    }
                    Some(next)
                })
                .collect();
            let mut next = Vec::with_capacity(n.div_ceil(2) * width);
            for block in blocks {
                next.extend(block?);
            }
            levels.push(next);
        }
        Some(Tree { width, levels })
    }

    /// How many leaves.
    pub(crate) fn size(&self) -> u64 {
        (self.levels[0].len() / self.width) as u64
    }

    /// The root node.
    pub(crate) fn root(&self) -> &[u8] {
        self.levels.last().map_or(&[][..], |l| &l[..self.width])
    }

    /// The leaves in tree order.
    #[cfg(test)]
    pub(crate) fn leaves(&self) -> impl Iterator<Item = &[u8]> {
        self.levels[0].chunks_exact(self.width)
    }

    /// Every level, leaves first: what a receipts folder stores.
    #[cfg(test)]
    pub(crate) fn levels(&self) -> &[Vec<u8>] {
        &self.levels
    }

    /// Every level, leaves first, given up.
    pub(crate) fn into_levels(self) -> Vec<Vec<u8>> {
        self.levels
    }

    /// The audit path of leaf `index`.
    #[cfg(test)]
    pub(crate) fn path(&self, index: u64) -> Vec<Vec<u8>> {
        path_from(self.size(), self.width, index, |level, i| {
            let start = i as usize * self.width;
            Some(self.levels[level][start..start + self.width].to_vec())
        })
        .unwrap_or_default()
    }
}

/// The audit path of leaf `index` in a tree of `size` leaves, reading node `i` of level `l` with
/// `node(l, i)`.
pub(crate) fn path_from(
    size: u64,
    _width: usize,
    index: u64,
    mut node: impl FnMut(usize, u64) -> Option<Vec<u8>>,
) -> Option<Vec<Vec<u8>>> {
    if index >= size {
        return None;
    }
    let (mut m, mut n, mut level) = (index, size, 0usize);
    let mut out = Vec::new();
    while n > 1 {
        let sibling = m ^ 1;
        if sibling < n {
            out.push(node(level, sibling)?);
        }
        m >>= 1;
        n = n.div_ceil(2);
        level += 1;
    }
    Some(out)
}

/// The node count of each level of a tree of `size` leaves, leaves first.
pub(crate) fn level_sizes(size: u64) -> Vec<u64> {
    let mut out = vec![size];
    let mut n = size;
    while n > 1 {
        n = n.div_ceil(2);
        out.push(n);
    }
    out
}

/// How many leaves each sibling on the audit path of leaf `index` covers, from the leaf up: the
/// `owners` sum each sibling must carry (every leaf counts one owner). Empty when `index` is not
/// below `size`.
pub(crate) fn sibling_sizes(index: u64, size: u64) -> Vec<u64> {
    let mut out = Vec::new();
    if index >= size {
        return out;
    }
    let (mut lo, mut n) = (0u64, size);
    while n > 1 {
        // RFC 9162: the left subtree holds the largest power of two below n.
        let k = n.next_power_of_two() / 2;
        if index < lo + k {
            out.push(n - k);
            n = k;
        } else {
            out.push(k);
            lo += k;
            n -= k;
        }
    }
    out.reverse();
    out
}

/// Why a path does not lead to a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// The leaf's index is not below the tree's size.
    Index,
    /// More siblings than the tree has levels.
    TooLong,
    /// Fewer siblings than the tree has levels.
    TooShort,
    /// A sibling's width differs from the leaf's, or a sum overflows.
    Node,
}

/// RFC 9162 §2.1.3.2, with sums: the root a leaf and its audit path lead to in a tree of `size`
/// leaves.
pub(crate) fn root_from_path(
    leaf: &[u8],
    index: u64,
    size: u64,
    path: &[Vec<u8>],
) -> Result<Vec<u8>, PathError> {
    if index >= size {
        return Err(PathError::Index);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = leaf.to_vec();
    for p in path {
        if snode == 0 {
            return Err(PathError::TooLong);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = parent(p, &r).ok_or(PathError::Node)?;
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = parent(&r, p).ok_or(PathError::Node)?;
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(PathError::TooShort);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<u8> {
        (0..n)
            .flat_map(|i| leaf(format!("owner {i}").as_bytes(), &[i + 1, 1]))
            .collect()
    }

    /// RFC 9162's recursive definition: MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the
    /// largest power of two below n.
    fn recursive(nodes: &[&[u8]]) -> Vec<u8> {
        if nodes.len() == 1 {
            return nodes[0].to_vec();
        }
        let k = nodes.len().next_power_of_two() / 2;
        parent(&recursive(&nodes[..k]), &recursive(&nodes[k..])).unwrap()
    }

    #[test]
    fn levels_give_rfc_9162_roots_and_every_path_verifies() {
        let width = node_len(2);
        for n in 1..=70u64 {
            let tree = Tree::build(leaves(n), width).unwrap();
            let sorted: Vec<&[u8]> = tree.leaves().collect();
            assert_eq!(tree.root(), recursive(&sorted).as_slice(), "n = {n}");
            assert_eq!(sums_of(tree.root()), vec![n * (n + 1) / 2, n]);
            assert_eq!(level_sizes(n).len(), tree.levels().len());
            for i in 0..n {
                let path = tree.path(i);
                let owners: Vec<u64> = path.iter().map(|p| sums_of(p)[1]).collect();
                assert_eq!(owners, sibling_sizes(i, n), "n = {n}, leaf {i}");
                let root = root_from_path(sorted[i as usize], i, n, &path).unwrap();
                assert_eq!(root, tree.root(), "n = {n}, leaf {i}");
                // Another index, a missing or an extra sibling: not the root.
                for j in (0..n).filter(|j| *j != i) {
                    assert_ne!(
                        root_from_path(sorted[i as usize], j, n, &path).ok(),
                        Some(tree.root().to_vec())
                    );
                }
                if !path.is_empty() {
                    assert!(root_from_path(sorted[i as usize], i, n, &path[1..]).is_err());
                }
                let mut longer = path.clone();
                longer.push(sorted[0].to_vec());
                assert!(root_from_path(sorted[i as usize], i, n, &longer).is_err());
            }
        }
    }

    #[test]
    fn leaves_are_sorted_by_hash_and_sums_overflow_is_refused() {
        let width = node_len(1);
        let tree = Tree::build(
            leaves(9)
                .chunks_exact(node_len(2))
                .flat_map(|c| c[..width].to_vec())
                .collect(),
            width,
        )
        .unwrap();
        let hashes: Vec<&[u8]> = tree.leaves().map(|l| &l[..HASH]).collect();
        assert!(hashes.windows(2).all(|w| w[0] < w[1]));
        let big = [leaf(b"a", &[u64::MAX]), leaf(b"b", &[1])].concat();
        assert!(Tree::build(big, width).is_none());
    }
}
