//! Secondary suppression: after the small counts are suppressed (primary suppression), more cells
//! are suppressed until no suppressed cell can be recovered exactly from the published numbers.
//!
//! Every published count is a *cell*; every way published numbers add up is a *relation*
//! `Σ plus = Σ minus` (an export's total is the sum of its rows; a partner's total the sum of its
//! exports, its years and its categories; a finding's count the sum of a flag over an export; this
//! month's active opt-outs are last month's plus the new ones minus the withdrawn). A relation is
//! only used when it holds for the actual values, so approximate relations cannot mislead it.
//!
//! The method, repeated until nothing changes:
//! 1. a relation with exactly one suppressed cell would give it away: suppress the smallest
//!    non-zero published cell of that relation as well;
//! 2. a relation whose suppressed cells all sit on one side, and whose difference equals their
//!    number, pins each of them to 1 (zero is never suppressed, so each is at least 1); the same
//!    when every one of them is a small count and the difference is their number times
//!    `min_count − 1`: suppress one more cell there;
//! 3. exact check: Gaussian elimination over all relations (modulo a 61-bit prime) finds every
//!    suppressed cell that a linear combination of published numbers determines; for each, the
//!    smallest non-zero published cell of a relation it is in is suppressed too.
//!
//! Zero is always published, and a banded zero that the relations give away is not protected.
//! Cells that count the platform's own records (requests, files) are
//! never suppressed and never registered here.

use std::collections::BTreeMap;

use super::{Count, Hidden};

/// A relation between cells: `Σ plus = Σ minus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relation {
    pub(crate) plus: Vec<usize>,
    pub(crate) minus: Vec<usize>,
    /// Recorded because it happens to hold (a bound that is tight, figures that happen to be
    /// equal), not because a reader knows it always does: protection respects it, but it never
    /// tells a reader that a banded count is 0.
    pub(crate) tight: bool,
}

impl Relation {
    fn members(&self) -> impl Iterator<Item = usize> + '_ {
        self.plus.iter().chain(&self.minus).copied()
    }
}

/// Every published count and how they add up.
#[derive(Debug, Default, Clone)]
pub(crate) struct Cells {
    pub(crate) values: Vec<u64>,
    pub(crate) relations: Vec<Relation>,
}

/// What [`Cells::protect`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Protection {
    /// Per cell: suppressed (or banded) or not.
    pub(crate) suppressed: Vec<bool>,
    /// Per cell: suppressed for being small.
    pub(crate) is_primary: Vec<bool>,
    /// Per cell: a banded zero the published numbers give away, so published as 0.
    pub(crate) known_zero: Vec<bool>,
    /// Cells suppressed because they are small.
    pub(crate) primary: usize,
    /// Cells suppressed so that the small ones cannot be worked out.
    pub(crate) secondary: usize,
    /// Cells published as bands.
    pub(crate) banded: usize,
}

impl Protection {
    /// How cell `id`, whose value is `n` and whose band (if its table is banded) is `band`, is
    /// published.
    pub(crate) fn decide(&self, id: usize, n: u64, band: Option<(u64, u64)>) -> Count {
        let flag = |v: &[bool]| v.get(id).copied().unwrap_or(false);
        match band {
            _ if flag(&self.known_zero) => Count::Exact(0),
            Some((lo, hi)) => Count::Band(lo, hi),
            // A cell the protection never saw stays hidden: never publish by accident.
            None if id >= self.suppressed.len() => Count::Hidden(Hidden::Secondary),
            None if flag(&self.is_primary) => Count::Hidden(Hidden::Primary),
            None if flag(&self.suppressed) => Count::Hidden(Hidden::Secondary),
            None => Count::Exact(n),
        }
    }
}

impl Cells {
    /// Adds a cell and returns its id.
    pub(crate) fn add(&mut self, value: u64) -> usize {
        self.values.push(value);
        self.values.len() - 1
    }

    /// Records `Σ plus = Σ minus` when it holds for the values (and has at least two cells).
    pub(crate) fn relate(&mut self, plus: Vec<usize>, minus: Vec<usize>) {
        self.record(plus, minus, false);
    }

    /// Records `Σ plus = Σ minus` where it happens to hold: an inequality a reader knows that is
    /// tight here, or figures that may be equal.
    pub(crate) fn relate_tight(&mut self, plus: Vec<usize>, minus: Vec<usize>) {
        self.record(plus, minus, true);
    }

    fn record(&mut self, plus: Vec<usize>, minus: Vec<usize>, tight: bool) {
        let sum = |ids: &[usize]| -> u128 {
            ids.iter()
                .map(|&i| u128::from(self.values.get(i).copied().unwrap_or(0)))
                .sum()
        };
        if plus.len() + minus.len() >= 2
            && plus.iter().chain(&minus).all(|&i| i < self.values.len())
            && sum(&plus) == sum(&minus)
        {
            self.relations.push(Relation { plus, minus, tight });
        }
    }

    /// `total = Σ parts`.
    pub(crate) fn sum(&mut self, total: usize, parts: Vec<usize>) {
        self.relate(vec![total], parts);
    }

    /// Primary and secondary suppression for `min_count`.
    /// `banded[i]` is the band `(first, last)` cell `i` is published as, if any: a band hides the
    /// exact count like suppression does, but tells its range.
    pub(crate) fn protect(&self, min_count: u64, banded: &[Option<(u64, u64)>]) -> Protection {
        let band = |i: usize| banded.get(i).copied().flatten();
        let primary: Vec<bool> = self
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| v > 0 && v < min_count && band(i).is_none())
            .collect();
        let mut suppressed: Vec<bool> = primary
            .iter()
            .enumerate()
            .map(|(i, &p)| p || band(i).is_some())
            .collect();
        loop {
            let mut changed = false;
            for r in &self.relations {
                if self.exposed(r, &suppressed, &primary, banded, min_count) {
                    changed |= self.suppress_one_more(r, &mut suppressed);
                }
            }
            if changed {
                continue;
            }
            // A hidden zero (a band's) may be worked out: zero is never secret.
            for cell in determined(self.values.len(), &self.relations, &suppressed)
                .into_iter()
                .filter(|&c| self.values[c] > 0)
            {
                if let Some(r) = self.nearest_with_candidate(cell, &suppressed) {
                    changed |= self.suppress_one_more(r, &mut suppressed);
                }
            }
            if !changed {
                break;
            }
        }
        // A banded zero that the published numbers give away is known: it is published as 0.
        let mut known_zero = vec![false; self.values.len()];
        // (Solving is the costly step: only when some banded count is 0.)
        if (0..self.values.len()).any(|c| self.values[c] == 0 && band(c).is_some()) {
            // Only what a reader knows always holds can tell them a banded count is 0.
            let known: Vec<Relation> = self
                .relations
                .iter()
                .filter(|r| !r.tight)
                .cloned()
                .collect();
            for c in determined(self.values.len(), &known, &suppressed) {
                if self.values[c] == 0 && band(c).is_some() {
                    known_zero[c] = true;
                }
            }
        }
        let count = |v: &[bool]| v.iter().filter(|&&b| b).count();
        let primary_n = count(&primary);
        let banded_n = (0..self.values.len())
            .filter(|&i| band(i).is_some())
            .count();
        Protection {
            secondary: count(&suppressed) - primary_n - banded_n,
            primary: primary_n,
            banded: banded_n - count(&known_zero),
            suppressed,
            is_primary: primary,
            known_zero,
        }
    }

    /// Whether a relation gives a suppressed cell away on its own (steps 1 and 2).
    fn exposed(
        &self,
        r: &Relation,
        suppressed: &[bool],
        primary: &[bool],
        banded: &[Option<(u64, u64)>],
        min: u64,
    ) -> bool {
        let hidden_plus: Vec<usize> = r.plus.iter().copied().filter(|&i| suppressed[i]).collect();
        let hidden_minus: Vec<usize> = r.minus.iter().copied().filter(|&i| suppressed[i]).collect();
        let k = hidden_plus.len() + hidden_minus.len();
        if k == 0 {
            return false;
        }
        if k == 1 {
            return true;
        }
        // All hidden cells on one side: their sum is known.
        let hidden = match (hidden_plus.is_empty(), hidden_minus.is_empty()) {
            (false, true) => hidden_plus,
            (true, false) => hidden_minus,
            _ => return false,
        };
        // What a reader knows of each hidden cell: a band's range, else at least 1 (zero is never
        // suppressed); when every one is a small count, a reader might guess at most min − 1.
        let band = |i: usize| banded.get(i).copied().flatten();
        let sum: u128 = hidden.iter().map(|&i| u128::from(self.values[i])).sum();
        let lowest: u128 = hidden
            .iter()
            .map(|&i| band(i).map_or(1, |(lo, _)| u128::from(lo)))
            .sum();
        let highest: Option<u128> = hidden
            .iter()
            .map(|&i| band(i).map(|(_, hi)| u128::from(hi)))
            .sum();
        let k = hidden.len() as u128;
        sum == lowest
            || highest == Some(sum)
            || (hidden.iter().all(|&i| primary[i]) && sum == k * u128::from(min.saturating_sub(1)))
    }

    /// The relation nearest to `cell` (through relations that share hidden cells) that still has a
    /// published non-zero cell: hiding one more cell there adds an unknown to the equations that
    /// pin `cell` down.
    fn nearest_with_candidate(&self, cell: usize, suppressed: &[bool]) -> Option<&Relation> {
        let mut seen_cells = vec![false; self.values.len()];
        let mut seen_relations = vec![false; self.relations.len()];
        let mut queue = std::collections::VecDeque::from([cell]);
        seen_cells[cell] = true;
        while let Some(c) = queue.pop_front() {
            for (k, r) in self.relations.iter().enumerate() {
                if seen_relations[k] || !r.members().any(|m| m == c) {
                    continue;
                }
                seen_relations[k] = true;
                if self.candidate(r, suppressed).is_some() {
                    return Some(r);
                }
                for m in r.members().filter(|&m| suppressed[m]) {
                    if !seen_cells[m] {
                        seen_cells[m] = true;
                        queue.push_back(m);
                    }
                }
            }
        }
        None
    }

    /// The published non-zero cell of a relation to suppress next: the smallest, then the lowest id.
    fn candidate(&self, r: &Relation, suppressed: &[bool]) -> Option<usize> {
        r.members()
            .filter(|&i| !suppressed[i] && self.values[i] > 0)
            .min_by_key(|&i| (self.values[i], i))
    }

    fn suppress_one_more(&self, r: &Relation, suppressed: &mut [bool]) -> bool {
        match self.candidate(r, suppressed) {
            Some(i) => {
                suppressed[i] = true;
                true
            }
            None => false,
        }
    }
}

/// 2^61 − 1, a Mersenne prime: exact arithmetic on the relations' small integer coefficients.
const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn pow(mut a: u64, mut e: u64) -> u64 {
    let mut r = 1;
    while e > 0 {
        if e & 1 == 1 {
            r = mul(r, a);
        }
        a = mul(a, a);
        e >>= 1;
    }
    r
}

fn inverse(a: u64) -> u64 {
    pow(a, P - 2)
}

/// The suppressed cells that the relations determine exactly: those whose unit vector lies in
/// the row space of the relations restricted to the suppressed cells (the published cells are
/// known constants). Row-reduces each connected group of suppressed cells on its own.
pub(crate) fn determined(cells: usize, relations: &[Relation], suppressed: &[bool]) -> Vec<usize> {
    // Column index of each suppressed cell.
    let mut column: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, _) in suppressed
        .iter()
        .enumerate()
        .take(cells)
        .filter(|(_, s)| **s)
    {
        let n = column.len();
        column.insert(i, n);
    }
    // Rows: sparse (column → coefficient mod P), one per relation with a suppressed cell.
    let mut rows: Vec<BTreeMap<usize, u64>> = Vec::new();
    for r in relations {
        let mut row = BTreeMap::new();
        for (&i, sign) in r
            .plus
            .iter()
            .map(|i| (i, 1))
            .chain(r.minus.iter().map(|i| (i, -1)))
        {
            if let Some(&c) = column.get(&i) {
                let e = row.entry(c).or_insert(0u64);
                *e = if sign > 0 {
                    (*e + 1) % P
                } else {
                    (*e + P - 1) % P
                };
            }
        }
        row.retain(|_, v| *v != 0);
        if !row.is_empty() {
            rows.push(row);
        }
    }
    // Gauss–Jordan elimination on sparse rows.
    let mut pivots: BTreeMap<usize, BTreeMap<usize, u64>> = BTreeMap::new();
    for mut row in rows {
        // Reduce by existing pivots.
        while let Some((&c, &v)) = row.iter().find(|(c, _)| pivots.contains_key(c)) {
            let Some(p) = pivots.get(&c) else { break };
            for (&pc, &pv) in p {
                let e = row.entry(pc).or_insert(0);
                *e = (*e + P - mul(v, pv)) % P;
            }
            row.retain(|_, x| *x != 0);
        }
        let Some((&c, &v)) = row.iter().next() else {
            continue;
        };
        let inv = inverse(v);
        for x in row.values_mut() {
            *x = mul(*x, inv);
        }
        // Eliminate c from the other pivot rows.
        for p in pivots.values_mut() {
            if let Some(&f) = p.get(&c) {
                for (&rc, &rv) in &row {
                    let e = p.entry(rc).or_insert(0);
                    *e = (*e + P - mul(f, rv)) % P;
                }
                p.retain(|_, x| *x != 0);
            }
        }
        pivots.insert(c, row);
    }
    let cell_of: BTreeMap<usize, usize> = column.iter().map(|(&cell, &c)| (c, cell)).collect();
    pivots
        .iter()
        .filter(|(_, row)| row.len() == 1)
        .filter_map(|(c, _)| cell_of.get(c).copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::TestRng as Rng;

    /// A 2×2 table with row, column and grand totals: cells 0..4, rows 4,5, columns 6,7, total 8.
    fn table(values: [u64; 4]) -> Cells {
        let mut c = Cells::default();
        let v: Vec<usize> = values.iter().map(|&x| c.add(x)).collect();
        let r0 = c.add(values[0] + values[1]);
        let r1 = c.add(values[2] + values[3]);
        let c0 = c.add(values[0] + values[2]);
        let c1 = c.add(values[1] + values[3]);
        let t = c.add(values.iter().sum());
        c.sum(r0, vec![v[0], v[1]]);
        c.sum(r1, vec![v[2], v[3]]);
        c.sum(c0, vec![v[0], v[2]]);
        c.sum(c1, vec![v[1], v[3]]);
        c.sum(t, vec![r0, r1]);
        c.sum(t, vec![c0, c1]);
        c
    }

    #[test]
    fn one_small_cell_takes_three_more_with_it() {
        let c = table([3, 40, 50, 60]);
        let p = c.protect(10, &[]);
        assert_eq!(p.primary, 1);
        // The row and the column of the small cell each need a second hidden cell, and so does
        // the row or column those share: all four inner cells.
        assert!(p.suppressed[0] && p.suppressed[1] && p.suppressed[2] && p.suppressed[3]);
        assert!(determined(9, &c.relations, &p.suppressed).is_empty());
    }

    #[test]
    fn the_exact_check_finds_what_subtraction_gives_away() {
        let c = table([3, 40, 50, 60]);
        let mut hidden = vec![false; 9];
        hidden[0] = true;
        assert_eq!(determined(9, &c.relations, &hidden), vec![0]);
        hidden[1] = true;
        // Row 0 no longer gives cell 0 away, but column 0 still does, and then row 0 gives 1.
        assert_eq!(determined(9, &c.relations, &hidden), vec![0, 1]);
    }

    #[test]
    fn two_ones_in_a_relation_are_pinned_and_protected() {
        let mut c = Cells::default();
        let a = c.add(1);
        let b = c.add(1);
        let d = c.add(20);
        let t = c.add(22);
        c.sum(t, vec![a, b, d]);
        let p = c.protect(10, &[]);
        assert!(p.suppressed[a] && p.suppressed[b]);
        assert!(p.suppressed[d], "1 + 1 = 2 would give both away");
    }

    #[test]
    fn relations_that_do_not_hold_are_ignored() {
        let mut c = Cells::default();
        let a = c.add(3);
        let t = c.add(50);
        c.sum(t, vec![a]);
        assert!(c.relations.is_empty());
    }

    #[test]
    fn zero_is_published_and_no_small_count_is() {
        let c = table([0, 0, 5, 0]);
        let p = c.protect(10, &[]);
        for (i, v) in c.values.iter().enumerate() {
            if *v == 0 {
                assert!(!p.suppressed[i]);
            }
            if *v > 0 && *v < 10 {
                assert!(p.suppressed[i]);
            }
        }
    }

    /// Rank by floating-point elimination with partial pivoting: an oracle independent of the
    /// modular elimination under test.
    fn rank(mut m: Vec<Vec<f64>>) -> usize {
        let cols = m.first().map_or(0, Vec::len);
        let mut r = 0;
        for c in 0..cols {
            let Some(p) = (r..m.len()).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
            else {
                break;
            };
            if m[p][c].abs() < 1e-9 {
                continue;
            }
            m.swap(r, p);
            for i in 0..m.len() {
                if i != r {
                    let f = m[i][c] / m[r][c];
                    let pivot = m[r].clone();
                    for (x, p) in m[i].iter_mut().zip(&pivot).skip(c) {
                        *x -= f * p;
                    }
                }
            }
            r += 1;
        }
        r
    }

    fn oracle(relations: &[Relation], hidden: &[bool]) -> Vec<usize> {
        let cols: Vec<usize> = (0..hidden.len()).filter(|&i| hidden[i]).collect();
        let rows: Vec<Vec<f64>> = relations
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| {
                        r.plus.iter().filter(|&&i| i == *c).count() as f64
                            - r.minus.iter().filter(|&&i| i == *c).count() as f64
                    })
                    .collect()
            })
            .collect();
        let base = rank(rows.clone());
        cols.iter()
            .enumerate()
            .filter(|&(k, _)| {
                let mut with = rows.clone();
                with.push(
                    (0..cols.len())
                        .map(|j| f64::from(u8::from(j == k)))
                        .collect(),
                );
                rank(with) == base
            })
            .map(|(_, &i)| i)
            .collect()
    }

    /// A random (export × category × year) cube with every margin published, as the report does.
    fn cube(rng: &mut Rng) -> Cells {
        let (e, c, y) = (
            1 + rng.below(3) as usize,
            1 + rng.below(3) as usize,
            1 + rng.below(4) as usize,
        );
        let mut cells = Cells::default();
        let mut inner = vec![vec![vec![0usize; y]; c]; e];
        for plane in &mut inner {
            for row in plane.iter_mut() {
                for slot in row.iter_mut() {
                    let v = match rng.below(4) {
                        0 => 0,
                        1 => 1 + rng.below(12),
                        _ => rng.below(200),
                    };
                    *slot = cells.add(v);
                }
            }
        }
        let total = |cells: &mut Cells, ids: Vec<usize>| {
            let v = ids.iter().map(|&i| cells.values[i]).sum();
            let t = cells.add(v);
            cells.sum(t, ids);
            t
        };
        let exports: Vec<usize> = (0..e)
            .map(|a| total(&mut cells, inner[a].iter().flatten().copied().collect()))
            .collect();
        let cy: Vec<Vec<usize>> = (0..c)
            .map(|b| {
                (0..y)
                    .map(|k| total(&mut cells, (0..e).map(|a| inner[a][b][k]).collect()))
                    .collect()
            })
            .collect();
        let years: Vec<usize> = (0..y)
            .map(|k| total(&mut cells, (0..c).map(|b| cy[b][k]).collect()))
            .collect();
        let categories: Vec<usize> = (0..c).map(|b| total(&mut cells, cy[b].clone())).collect();
        let all = total(&mut cells, exports);
        cells.sum(all, years);
        cells.sum(all, categories);
        cells
    }

    #[test]
    fn the_modular_check_agrees_with_a_floating_point_oracle() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200 {
            let cells = cube(&mut rng);
            let hidden: Vec<bool> = (0..cells.values.len()).map(|_| rng.below(3) == 0).collect();
            assert_eq!(
                determined(cells.values.len(), &cells.relations, &hidden),
                oracle(&cells.relations, &hidden)
            );
        }
    }

    #[test]
    fn on_random_cubes_no_hidden_cell_can_be_worked_out() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..200 {
            let cells = cube(&mut rng);
            for min in [3, 10] {
                let p = cells.protect(min, &[]);
                for (i, &v) in cells.values.iter().enumerate() {
                    assert!(!(v > 0 && v < min && !p.suppressed[i]), "{v} published");
                    assert!(!(v == 0 && p.suppressed[i]), "0 hidden");
                }
                assert_eq!(oracle(&cells.relations, &p.suppressed), Vec::<usize>::new());
            }
        }
    }

    #[test]
    fn on_random_cubes_no_banded_cell_can_be_worked_out() {
        let mut rng = Rng(0x5851_f42d_4c95_7f2d);
        for _ in 0..200 {
            let cells = cube(&mut rng);
            // Band the first quarter of the cells (inner cells, as a banded table's are).
            let width = 50;
            let banded: Vec<Option<(u64, u64)>> = cells
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    (i < cells.values.len() / 4)
                        .then(|| (v / width * width, v / width * width + width - 1))
                })
                .collect();
            let p = cells.protect(10, &banded);
            for (i, b) in banded.iter().enumerate() {
                if b.is_some() {
                    assert!(p.suppressed[i], "a banded cell is hidden");
                }
            }
            let exposed: Vec<usize> = oracle(&cells.relations, &p.suppressed)
                .into_iter()
                .filter(|&i| cells.values[i] > 0)
                .collect();
            assert_eq!(
                exposed,
                Vec::<usize>::new(),
                "only banded zeros may be worked out"
            );
            // A banded zero the relations give away is published as 0, and only such a zero.
            let zeros: Vec<usize> = (0..cells.values.len())
                .filter(|&i| p.known_zero[i])
                .collect();
            for &i in &zeros {
                assert!(banded[i].is_some() && cells.values[i] == 0, "cell {i}");
            }
            assert_eq!(p.banded + zeros.len(), cells.values.len() / 4);
        }
    }
}
