//! Mergeable summaries for rollups, stored as blobs next to each point.
//!
//! - [`Sketch`]: a log-bucketed histogram of timer values (relative accuracy 1%, as DDSketch
//!   does). The 1 s points keep exact percentiles of their samples; 1 min and 1 h points, and
//!   query steps wider than a point, take theirs from the merged sketches.
//! - [`MemberSet`]: the 64-bit hashes of a set's members, so that a minute's distinct count is
//!   the size of the union of its seconds' sets, not a sum.

use std::collections::BTreeMap;

/// Relative accuracy of [`Sketch`] quantiles.
pub const RELATIVE_ACCURACY: f64 = 0.01;

/// Values with a magnitude below this count as zero.
const MIN_MAGNITUDE: f64 = 1e-9;

/// Blob format version of [`Sketch::encode`].
const SKETCH_V1: u8 = 1;

/// Members kept per set and bucket: more are counted in the distinct count but the union of a
/// rollup can then only be a lower bound (see [`MemberSet::saturated`]).
pub const MAX_SET_MEMBERS: usize = 1024;

fn gamma_ln() -> f64 {
    let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
    gamma.ln()
}

/// A mergeable histogram of values with log-spaced buckets.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sketch {
    neg: BTreeMap<i32, u64>,
    zero: u64,
    pos: BTreeMap<i32, u64>,
}

impl Sketch {
    /// An empty sketch.
    pub fn new() -> Sketch {
        Sketch::default()
    }

    fn index(magnitude: f64) -> i32 {
        // Finite by construction: magnitude >= MIN_MAGNITUDE and finite.
        (magnitude.ln() / gamma_ln()).ceil() as i32
    }

    fn value_of(index: i32) -> f64 {
        let g = gamma_ln();
        // The midpoint (in relative terms) of bucket (gamma^(i-1), gamma^i].
        2.0 * (index as f64 * g).exp() / (1.0 + g.exp())
    }

    /// Add one value (NaN and infinities are ignored).
    pub fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if v.abs() < MIN_MAGNITUDE {
            self.zero += 1;
        } else if v > 0.0 {
            *self.pos.entry(Self::index(v)).or_default() += 1;
        } else {
            *self.neg.entry(Self::index(-v)).or_default() += 1;
        }
    }

    /// Add every value of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        self.zero += other.zero;
        for (k, c) in &other.pos {
            *self.pos.entry(*k).or_default() += c;
        }
        for (k, c) in &other.neg {
            *self.neg.entry(*k).or_default() += c;
        }
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.zero + self.pos.values().sum::<u64>() + self.neg.values().sum::<u64>()
    }

    /// The value of rank `k` (1-based, ascending), within [`RELATIVE_ACCURACY`].
    fn rank(&self, k: u64) -> Option<f64> {
        let mut seen = 0u64;
        for (i, c) in self.neg.iter().rev() {
            seen += c;
            if seen >= k {
                return Some(-Self::value_of(*i));
            }
        }
        seen += self.zero;
        if seen >= k {
            return Some(0.0);
        }
        for (i, c) in &self.pos {
            seen += c;
            if seen >= k {
                return Some(Self::value_of(*i));
            }
        }
        None
    }

    /// The `p`th percentile (0 < p <= 100) by [`nearest_rank`], or `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        self.rank(nearest_rank(p, n))
    }

    /// The blob stored with a point.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + 12 * (self.pos.len() + self.neg.len()));
        out.push(SKETCH_V1);
        out.extend_from_slice(&self.zero.to_le_bytes());
        for map in [&self.pos, &self.neg] {
            out.extend_from_slice(&(map.len() as u32).to_le_bytes());
            for (i, c) in map {
                out.extend_from_slice(&i.to_le_bytes());
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        out
    }

    /// Read a blob written by [`Sketch::encode`]; `None` when it is not one.
    pub fn decode(blob: &[u8]) -> Option<Sketch> {
        let mut r = Reader(blob);
        if r.u8()? != SKETCH_V1 {
            return None;
        }
        let mut s = Sketch {
            zero: r.u64()?,
            ..Sketch::default()
        };
        for neg in [false, true] {
            let n = r.u32()?;
            for _ in 0..n {
                let i = r.u32()? as i32;
                let c = r.u64()?;
                let map = if neg { &mut s.neg } else { &mut s.pos };
                *map.entry(i).or_default() += c;
            }
        }
        r.0.is_empty().then_some(s)
    }
}

/// Etsy statsd's rank for the `p`th percentile of `n` sorted values: `round(p / 100 * n)`, at
/// least 1 and at most `n` (1-based).
pub fn nearest_rank(p: f64, n: u64) -> u64 {
    let k = (p / 100.0 * n as f64).round();
    (k as u64).clamp(1, n.max(1))
}

/// The `p`th percentile of `sorted` (ascending) by [`nearest_rank`].
pub fn percentile_sorted(sorted: &[f64], p: f64) -> Option<f64> {
    let k = nearest_rank(p, sorted.len() as u64);
    sorted
        .get(usize::try_from(k).ok()?.checked_sub(1)?)
        .copied()
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
}

/// FNV-1a, 64 bits: a stable hash of set members (the same in every process and version, so
/// that the sets of seconds written before a restart merge with those after it).
pub fn member_hash(member: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in member {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The distinct members of a set in one bucket, as sorted hashes (at most
/// [`MAX_SET_MEMBERS`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberSet {
    hashes: Vec<u64>,
    /// Members seen but not kept because the set was full.
    pub saturated: bool,
}

impl MemberSet {
    /// Build from hashes in any order (duplicates allowed).
    pub fn from_hashes(mut hashes: Vec<u64>) -> MemberSet {
        hashes.sort_unstable();
        hashes.dedup();
        let saturated = hashes.len() > MAX_SET_MEMBERS;
        hashes.truncate(MAX_SET_MEMBERS);
        MemberSet { hashes, saturated }
    }

    /// Number of distinct members kept.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether no member was kept.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// The union with `other`.
    pub fn merge(&mut self, other: &MemberSet) {
        let saturated = self.saturated || other.saturated;
        let mut all = std::mem::take(&mut self.hashes);
        all.extend_from_slice(&other.hashes);
        *self = MemberSet::from_hashes(all);
        self.saturated |= saturated;
    }

    /// The blob stored with a point: the sorted hashes, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 * self.hashes.len());
        out.push(u8::from(self.saturated));
        for h in &self.hashes {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out
    }

    /// Read a blob written by [`MemberSet::encode`].
    pub fn decode(blob: &[u8]) -> Option<MemberSet> {
        let (flag, rest) = blob.split_first()?;
        if rest.len() % 8 != 0 || rest.len() / 8 > MAX_SET_MEMBERS {
            return None;
        }
        let hashes = rest
            .chunks_exact(8)
            .filter_map(|c| c.try_into().ok().map(u64::from_le_bytes))
            .collect();
        let mut s = MemberSet::from_hashes(hashes);
        s.saturated |= *flag != 0;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_etsys() {
        // Etsy statsd: numInThreshold = Math.round(pct / 100 * count).
        assert_eq!(nearest_rank(90.0, 10), 9);
        assert_eq!(nearest_rank(50.0, 3), 2);
        assert_eq!(nearest_rank(99.0, 1), 1);
        assert_eq!(nearest_rank(1.0, 10), 1);
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile_sorted(&v, 90.0), Some(9.0));
        assert_eq!(percentile_sorted(&v, 50.0), Some(5.0));
        assert_eq!(percentile_sorted(&[], 50.0), None);
    }

    #[test]
    fn sketch_quantiles_are_within_the_accuracy() {
        let mut s = Sketch::new();
        let mut values = Vec::new();
        for i in 0..10_000 {
            let v = f64::from(i % 997) * 0.37 - 20.0;
            s.add(v);
            values.push(v);
        }
        values.sort_by(f64::total_cmp);
        for p in [1.0, 10.0, 50.0, 90.0, 99.0, 100.0] {
            let exact = percentile_sorted(&values, p).unwrap();
            let got = s.percentile(p).unwrap();
            assert!(
                (got - exact).abs() <= exact.abs() * RELATIVE_ACCURACY + 1e-9,
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(s.count(), 10_000);
    }

    #[test]
    fn sketch_merge_equals_one_sketch_and_round_trips() {
        let (mut a, mut b, mut all) = (Sketch::new(), Sketch::new(), Sketch::new());
        for i in 0..500 {
            let v = f64::from(i) * 1.5 - 100.0;
            if i % 3 == 0 { &mut a } else { &mut b }.add(v);
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(Sketch::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Sketch::decode(&[]), None);
        assert_eq!(Sketch::decode(&a.encode()[..5]), None);
        let mut extra = a.encode();
        extra.push(0);
        assert_eq!(Sketch::decode(&extra), None);
    }

    #[test]
    fn member_sets_union() {
        let a = MemberSet::from_hashes(vec![member_hash(b"u1"), member_hash(b"u2")]);
        let mut b = MemberSet::from_hashes(vec![member_hash(b"u2"), member_hash(b"u3")]);
        b.merge(&a);
        assert_eq!(b.len(), 3);
        assert!(!b.saturated);
        assert_eq!(MemberSet::decode(&b.encode()), Some(b.clone()));
        let big = MemberSet::from_hashes((0..2000u64).collect());
        assert_eq!(big.len(), MAX_SET_MEMBERS);
        assert!(big.saturated);
        assert_eq!(MemberSet::decode(&[0, 1, 2]), None);
    }
}
