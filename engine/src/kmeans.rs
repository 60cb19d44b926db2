//! k-means (Lloyd's method, Forgy initialisation) as `models/netbend_models/clustering/kmeans.py`
//! specifies it step by step, so that per-clip clusters made here equal the Python pipeline's for
//! the same embeddings and seed (docs/model-manifest.md, `clustering`: `"kmeans-lloyd-forgy"`,
//! rng `"splitmix64"`).
//!
//! - Random numbers: SplitMix64; `below(n) = next_u64() % n`.
//! - Forgy: Fisher-Yates shuffle of the point indices from the front, then walk the shuffled order
//!   taking each point not equal (all coordinates) to one already taken, until `k` are taken.
//! - Lloyd in f64: assign to the centroid of least squared Euclidean distance (ties: lowest
//!   index); stop when the assignment repeats; else every centroid becomes the mean of its points.
//!   A centroid left without points takes the point farthest from its own old centroid (the j-th
//!   empty cluster the j-th farthest point, ties to the lowest point index), whose weight moves
//!   out of its cluster (scikit-learn's rule). After `max_iter` updates, one final assignment.

use crate::error::{Error, Result};

/// Lloyd updates at most (the manifest's `max_iter`, scikit-learn's default).
pub const MAX_ITER: usize = 300;

/// SplitMix64 (Steele, Lea, Flood 2014), the generator of the Forgy draw.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `next_u64() % n`: the modulo bias (< n / 2^64) is part of the specification, since the
    /// Python side draws the same way.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `n` points of dimension `dim`, row-major.
#[derive(Clone, Copy, Debug)]
pub struct Points<'a> {
    pub data: &'a [f64],
    pub dim: usize,
}

impl<'a> Points<'a> {
    pub fn new(data: &'a [f64], dim: usize) -> Result<Points<'a>> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(Error::Bend(format!(
                "k-means: {} values are not a whole number of {dim}-dimensional points",
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|x| !x.is_finite()) {
            return Err(Error::Bend(format!(
                "k-means: point {} has a non-finite coordinate ({})",
                i / dim,
                data[i]
            )));
        }
        Ok(Points { data, dim })
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }
}

/// Indices of the `k` distinct points Forgy initialisation picks with `seed`.
pub fn forgy_indices(points: Points, k: usize, seed: u64) -> Result<Vec<usize>> {
    let n = points.len();
    if k == 0 || k > n {
        return Err(Error::Bend(format!(
            "k-means: k must be in 1..={n} for {n} points, got {k}"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in 0..n.saturating_sub(1) {
        let j = i + rng.below((n - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    for i in order {
        if !chosen.iter().any(|&c| points.row(c) == points.row(i)) {
            chosen.push(i);
            if chosen.len() == k {
                return Ok(chosen);
            }
        }
    }
    Err(Error::Bend(format!(
        "k-means: only {} distinct points, cannot make {k} clusters",
        chosen.len()
    )))
}

/// The outcome of [`kmeans`] or [`lloyd`].
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansResult {
    /// Cluster of each point.
    pub labels: Vec<usize>,
    /// `[k, dim]` row-major.
    pub centroids: Vec<f64>,
    /// The Forgy points (empty when [`lloyd`] was given the initial centroids).
    pub init_indices: Vec<usize>,
    /// Lloyd updates done.
    pub n_iter: usize,
    pub converged: bool,
}

fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn assign(points: Points, centroids: &[f64], labels: &mut [usize]) {
    let k = centroids.len() / points.dim;
    for (i, label) in labels.iter_mut().enumerate() {
        let p = points.row(i);
        let mut best = (0, f64::INFINITY);
        for j in 0..k {
            let d = squared_distance(p, &centroids[j * points.dim..(j + 1) * points.dim]);
            // Strictly less: ties stay with the lowest index (NumPy's argmin).
            if d < best.1 {
                best = (j, d);
            }
        }
        *label = best.0;
    }
}

fn update(points: Points, labels: &[usize], old: &[f64]) -> Vec<f64> {
    let dim = points.dim;
    let k = old.len() / dim;
    let mut sums = vec![0.0; old.len()];
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        for (s, x) in sums[l * dim..(l + 1) * dim].iter_mut().zip(points.row(i)) {
            *s += x;
        }
        counts[l] += 1;
    }
    let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
    if !empty.is_empty() {
        let dist: Vec<f64> = (0..points.len())
            .map(|i| {
                let l = labels[i];
                squared_distance(points.row(i), &old[l * dim..(l + 1) * dim])
            })
            .collect();
        let mut far: Vec<usize> = (0..points.len()).collect();
        // Descending distance, ties to the lowest index (a stable sort keeps index order).
        far.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]));
        for (&cluster, &p) in empty.iter().zip(&far) {
            let from = labels[p];
            for (s, x) in sums[from * dim..(from + 1) * dim]
                .iter_mut()
                .zip(points.row(p))
            {
                *s -= x;
            }
            counts[from] -= 1;
            sums[cluster * dim..(cluster + 1) * dim].copy_from_slice(points.row(p));
            counts[cluster] = 1;
        }
    }
    let mut new = old.to_vec();
    for j in 0..k {
        if counts[j] > 0 {
            for d in 0..dim {
                new[j * dim + d] = sums[j * dim + d] / counts[j] as f64;
            }
        }
    }
    new
}

/// Lloyd iterations from the initial centroids `init` (`[k, dim]` row-major).
pub fn lloyd(points: Points, init: &[f64], max_iter: usize) -> Result<KMeansResult> {
    if init.is_empty() || !init.len().is_multiple_of(points.dim) {
        return Err(Error::Bend(format!(
            "k-means: {} initial centroid values for {}-dimensional points",
            init.len(),
            points.dim
        )));
    }
    let mut centroids = init.to_vec();
    let mut labels = vec![0; points.len()];
    let mut previous: Option<Vec<usize>> = None;
    for it in 0..max_iter {
        assign(points, &centroids, &mut labels);
        if previous.as_deref() == Some(labels.as_slice()) {
            return Ok(KMeansResult {
                labels,
                centroids,
                init_indices: Vec::new(),
                n_iter: it,
                converged: true,
            });
        }
        centroids = update(points, &labels, &centroids);
        previous = Some(labels.clone());
    }
    assign(points, &centroids, &mut labels);
    Ok(KMeansResult {
        labels,
        centroids,
        init_indices: Vec::new(),
        n_iter: max_iter,
        converged: false,
    })
}

/// Lloyd's k-means with Forgy initialisation drawn with `seed`.
pub fn kmeans(points: Points, k: usize, seed: u64, max_iter: usize) -> Result<KMeansResult> {
    let init = forgy_indices(points, k, seed)?;
    let start: Vec<f64> = init.iter().flat_map(|&i| points.row(i)).copied().collect();
    let mut result = lloyd(points, &start, max_iter)?;
    result.init_indices = init;
    Ok(result)
}

/// Cluster `j` = the ascending indices of the points labelled `j`, for `j` in `0..k` (empty
/// clusters included).
pub fn clusters_from_labels(labels: &[usize], k: usize) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        out[l].push(i);
    }
    out
}

#[cfg(test)]
#[path = "kmeans_tests.rs"]
mod tests;
