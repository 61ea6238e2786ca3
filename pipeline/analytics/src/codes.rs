//! Small integer codes for string keys, and groups of codes: the lookups
//! behind [`crate::keys`].
//!
//! Both work a column (or a batch) at a time in tight loops: [`Codes`]
//! gives each row of a string column the code of its string, and
//! [`Groups`] gives each row the group of its codes, from a dense table
//! while the codes are few.

use arrow::array::{Array, StringViewArray};
use datafusion::common::HashMap;

/// Views found by a scan before a hash is tried.
const SCAN: usize = 16;

/// Dense group tables up to `2^DENSE_BITS` entries; past that, a hash.
const DENSE_BITS: u32 = 16;

/// A view no string has (its length would be `u32::MAX`).
const NO_VIEW: u128 = u128::MAX;

/// The codes of one column's strings; code 0 is null.
pub(crate) struct Codes {
    /// Each code's string.
    values: Vec<Option<Box<str>>>,
    /// Views seen lately and their codes, scanned in order.
    recent: Vec<(u128, u32)>,
    /// The code of each string, past the views in `recent`.
    by_string: HashMap<Box<str>, u32>,
}

impl Codes {
    pub(crate) fn new() -> Self {
        Codes { values: vec![None], recent: Vec::new(), by_string: HashMap::new() }
    }

    /// Codes given out, null's included.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The string of `code`.
    pub(crate) fn value(&self, code: u32) -> Option<&str> {
        self.values[code as usize].as_deref()
    }

    /// Each row's code, into `out`. A row with the view of the row before
    /// takes its code with no lookup: equal views hold equal strings.
    pub(crate) fn code_rows(&mut self, array: &StringViewArray, out: &mut Vec<u32>) {
        // A long string's view names a buffer and offset of its own batch.
        self.recent.retain(|&(view, _)| inline(view));
        out.clear();
        out.reserve(array.len());
        let (mut last, mut code) = (NO_VIEW, 0);
        let views = array.views();
        match array.nulls().filter(|n| n.null_count() > 0) {
            None => {
                for (row, &view) in views.iter().enumerate() {
                    if view != last {
                        (last, code) = (view, self.code(array, row, view));
                    }
                    out.push(code);
                }
            }
            Some(nulls) => {
                for (row, &view) in views.iter().enumerate() {
                    let view = if nulls.is_valid(row) { view } else { NO_VIEW };
                    if view != last {
                        last = view;
                        code = if view == NO_VIEW { 0 } else { self.code(array, row, view) };
                    }
                    out.push(code);
                }
            }
        }
    }

    fn code(&mut self, array: &StringViewArray, row: usize, view: u128) -> u32 {
        if let Some(&(_, code)) = self.recent.iter().find(|&&(v, _)| v == view) {
            return code;
        }
        let string = array.value(row);
        let code = match self.by_string.get(string) {
            Some(&code) => code,
            None => {
                let code = self.values.len() as u32;
                self.values.push(Some(string.into()));
                self.by_string.insert(string.into(), code);
                code
            }
        };
        if self.recent.len() < SCAN {
            self.recent.push((view, code));
        }
        code
    }
}

fn inline(view: u128) -> bool {
    view as u32 <= 12
}

/// Groups of codes, one code per key column.
pub(crate) struct Groups<const K: usize> {
    /// Each group's codes.
    groups: Vec<[u32; K]>,
    /// The group of each packing of codes (`u32::MAX`: none yet), with the
    /// bits each column's code takes in the packing; empty past
    /// [`DENSE_BITS`].
    dense: Vec<u32>,
    bits: [u32; K],
    /// The group of codes, past [`DENSE_BITS`] (built from `groups` when
    /// the dense table no longer fits).
    hashed: HashMap<[u32; K], usize>,
}

impl<const K: usize> Groups<K> {
    pub(crate) fn new() -> Self {
        Groups { groups: Vec::new(), dense: Vec::new(), bits: [0; K], hashed: HashMap::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }

    /// Each group's codes, in group order.
    pub(crate) fn codes(&self) -> &[[u32; K]] {
        &self.groups
    }

    /// Each row's group, into `out`, from each column's codes; `counts`
    /// is how many codes each column has given out.
    pub(crate) fn group_rows(&mut self, columns: &[Vec<u32>], counts: &[usize], out: &mut Vec<usize>) {
        let rows = columns.first().map_or(0, Vec::len);
        out.clear();
        out.reserve(rows);
        let mut bits = [0; K];
        for (b, &n) in bits.iter_mut().zip(counts) {
            *b = usize::BITS - (n.max(2) - 1).leading_zeros();
        }
        if bits.iter().sum::<u32>() <= DENSE_BITS {
            if bits != self.bits || self.dense.is_empty() {
                self.repack(bits);
            }
            let shifts = self.shifts();
            for row in 0..rows {
                let mut at = 0;
                for (column, shift) in columns.iter().zip(shifts) {
                    at |= (column[row] as usize) << shift;
                }
                let group = match self.dense[at] {
                    u32::MAX => {
                        let group = self.push(std::array::from_fn(|k| columns.get(k).map_or(0, |c| c[row])));
                        self.dense[at] = group as u32;
                        group
                    }
                    group => group as usize,
                };
                out.push(group);
            }
        } else {
            if !self.dense.is_empty() {
                self.dense = Vec::new();
                self.hashed = self.groups.iter().enumerate().map(|(group, &codes)| (codes, group)).collect();
            }
            let mut last: Option<([u32; K], usize)> = None;
            for row in 0..rows {
                let codes: [u32; K] = std::array::from_fn(|k| columns.get(k).map_or(0, |c| c[row]));
                let group = match last {
                    Some((c, group)) if c == codes => group,
                    _ => match self.hashed.get(&codes) {
                        Some(&group) => group,
                        None => {
                            let group = self.push(codes);
                            self.hashed.insert(codes, group);
                            group
                        }
                    },
                };
                last = Some((codes, group));
                out.push(group);
            }
        }
    }

    fn push(&mut self, codes: [u32; K]) -> usize {
        self.groups.push(codes);
        self.groups.len() - 1
    }

    fn shifts(&self) -> [u32; K] {
        let mut shifts = [0; K];
        for k in 1..K {
            shifts[k] = shifts[k - 1] + self.bits[k - 1];
        }
        shifts
    }

    /// A dense table for codes of `bits` bits, holding the groups so far.
    fn repack(&mut self, bits: [u32; K]) {
        self.bits = bits;
        self.dense = vec![u32::MAX; 1 << bits.iter().sum::<u32>()];
        let shifts = self.shifts();
        for (group, codes) in self.groups.iter().enumerate() {
            let at = codes.iter().zip(shifts).fold(0, |at, (&c, s)| at | (c as usize) << s);
            self.dense[at] = group as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_strings_not_views() {
        let mut codes = Codes::new();
        let mut out = Vec::new();
        let long = |n: u8| format!("a string longer than twelve: {n}");
        // Equal long strings at different offsets; then another batch whose
        // long string sits where the first one's did.
        let first = StringViewArray::from(vec![Some(long(1)), Some(long(1)), None, Some("x".into()), Some(long(2))]);
        let first = arrow::compute::kernels::concat::concat(&[&first, &StringViewArray::from(vec![long(1)])]).unwrap();
        codes.code_rows(first.as_any().downcast_ref().unwrap(), &mut out);
        assert_eq!(out, [1, 1, 0, 2, 3, 1]);
        codes.code_rows(&StringViewArray::from(vec![long(2), long(2), "x".into()]), &mut out);
        assert_eq!(out, [3, 3, 2]);
        assert_eq!((codes.len(), codes.value(3), codes.value(0)), (4, Some(long(2).as_str()), None));
    }

    #[test]
    fn groups_are_the_same_dense_or_hashed() {
        // Two columns of 3 and 5 codes (a dense table), then the second
        // with 2^15 codes (past it): codes only grow within a table.
        let a: Vec<u32> = (0..1000).map(|i| i % 3).collect();
        let b: Vec<u32> = (0..1000).map(|i| (i / 7) % 5).collect();
        let wide: Vec<u32> = (0..1000).map(|i| (i * 7) % 300).collect();
        let mut groups = Groups::<4>::new();
        let mut out = Vec::new();
        groups.group_rows(&[a.clone(), b.clone()], &[3, 5], &mut out);
        assert_eq!(groups.len(), 15);
        for (row, &g) in out.iter().enumerate() {
            assert_eq!(groups.codes()[g], [a[row], b[row], 0, 0]);
        }
        groups.group_rows(&[a.clone(), wide.clone()], &[3, 1 << 15], &mut out);
        for (row, &g) in out.iter().enumerate() {
            assert_eq!(groups.codes()[g], [a[row], wide[row], 0, 0]);
        }
        let mut distinct = groups.codes().to_vec();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), groups.len(), "a group was given out twice");
    }
}
