//! Seeded random choices: channel selections, shuffle permutations and noise fields. Every
//! algorithm here is written out (not delegated to a library's sampling helpers) so that a seed
//! gives the same result on every platform and every dependency version; docs/config.md
//! ("Seeds") describes them.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// What a random stream is used for: each has its own stream, so that e.g. changing a noise
/// entry's sigma never changes its selection.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    Selection = 1,
    Shuffle = 2,
    Noise = 3,
}

/// The generator of one entry and purpose: ChaCha8 with a 32-byte seed made of three
/// little-endian u64 words `seed`, `position`, `purpose` and eight zero bytes. `position` is the
/// entry's 1-based index in the spec when the entry has no seed of its own (its seed is then the
/// spec's seed), 0 when it has one; so two entries with the same explicit seed, layer and fraction
/// select the same channels.
pub(crate) fn entry_rng(
    spec_seed: u64,
    entry_index: usize,
    entry_seed: Option<u64>,
    purpose: Purpose,
) -> ChaCha8Rng {
    let (seed, position) = match entry_seed {
        Some(s) => (s, 0u64),
        None => (spec_seed, entry_index as u64 + 1),
    };
    let mut bytes = [0u8; 32];
    bytes[0..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&position.to_le_bytes());
    bytes[16..24].copy_from_slice(&(purpose as u64).to_le_bytes());
    ChaCha8Rng::from_seed(bytes)
}

/// Uniform integer in `[0, n)`: the next u64 modulo `n` (the bias is below 2^-50 for the
/// channel counts used here).
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    debug_assert!(n > 0);
    (rng.next_u64() % n as u64) as usize
}

/// `k` distinct values of `0..n`, in ascending order: the first `k` positions of a partial
/// Fisher-Yates shuffle (`for i in 0..k: swap(i, i + below(n - i))`).
pub(crate) fn choose(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    let k = k.min(n);
    let mut pool: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + below(rng, n - i);
        pool.swap(i, j);
    }
    let mut chosen = pool[..k].to_vec();
    chosen.sort_unstable();
    chosen
}

/// A cyclic permutation of `0..k` (Sattolo's algorithm: `for i in (1..k).rev(): swap(i,
/// below(i))`), so that with two or more channels no channel keeps its own map.
pub(crate) fn cyclic_permutation(rng: &mut ChaCha8Rng, k: usize) -> Vec<usize> {
    let mut p: Vec<usize> = (0..k).collect();
    for i in (1..k).rev() {
        let j = below(rng, i);
        p.swap(i, j);
    }
    p
}

/// Fills `out` with standard normal samples (Box-Muller on pairs of 53-bit uniforms:
/// `u1 = (a + 1) / 2^53` in (0, 1], `u2 = b / 2^53`, values `r cos(2 pi u2)`, `r sin(2 pi u2)` with
/// `r = sqrt(-2 ln u1)`).
pub(crate) fn fill_standard_normal(rng: &mut ChaCha8Rng, out: &mut [f32]) {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    for pair in out.chunks_mut(2) {
        let u1 = ((rng.next_u64() >> 11) + 1) as f64 * SCALE;
        let u2 = (rng.next_u64() >> 11) as f64 * SCALE;
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        pair[0] = (r * c) as f32;
        if pair.len() > 1 {
            pair[1] = (r * s) as f32;
        }
    }
}

/// `batch` latents of `dim` standard normal values for `netbend generate`: ChaCha8 seeded like an
/// entry's generator with `seed`, position 0 and purpose 4, filled row by row by Box-Muller
/// (docs/config.md, "Seeds"). The same seed always gives the same latents.
pub fn sample_latents(seed: u64, batch: usize, dim: usize) -> ndarray::Array2<f32> {
    let mut rng = latent_rng(seed);
    let mut values = vec![0f32; batch * dim];
    fill_standard_normal(&mut rng, &mut values);
    ndarray::Array2::from_shape_vec((batch, dim), values).expect("batch * dim values")
}

/// The per-layer noise images of an image model for one image seed: ChaCha8 seeded like
/// [`sample_latents`] but with purpose 5, filling layer 1's `H*W` values, then layer 2's, ... in
/// order, each by Box-Muller as in [`fill_standard_normal`] (docs/config.md, "Seeds"). `sizes`
/// are the layers' `(height, width)`; the result holds one row-major map per layer. Its own
/// stream, so the noise does not depend on the latent width.
pub fn sample_noise(seed: u64, sizes: &[(usize, usize)]) -> Vec<Vec<f32>> {
    let mut rng = seeded_rng(seed, 5);
    sizes
        .iter()
        .map(|&(h, w)| {
            let mut map = vec![0f32; h * w];
            fill_standard_normal(&mut rng, &mut map);
            map
        })
        .collect()
}

fn latent_rng(seed: u64) -> ChaCha8Rng {
    seeded_rng(seed, 4)
}

/// ChaCha8 from the 32 bytes `seed` (u64 LE), 0 (u64), `purpose` (u64 LE), 0 (u64).
fn seeded_rng(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut bytes = [0u8; 32];
    bytes[0..8].copy_from_slice(&seed.to_le_bytes());
    bytes[16..24].copy_from_slice(&purpose.to_le_bytes());
    ChaCha8Rng::from_seed(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choose_is_reproducible_distinct_and_seed_dependent() {
        let a = choose(&mut entry_rng(1, 0, None, Purpose::Selection), 128, 32);
        let b = choose(&mut entry_rng(1, 0, None, Purpose::Selection), 128, 32);
        let c = choose(&mut entry_rng(2, 0, None, Purpose::Selection), 128, 32);
        let d = choose(&mut entry_rng(1, 1, None, Purpose::Selection), 128, 32);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_eq!(a.len(), 32);
        assert!(a.windows(2).all(|w| w[0] < w[1]) && a[31] < 128);
        // An explicit entry seed ignores the position.
        assert_eq!(
            choose(&mut entry_rng(9, 0, Some(5), Purpose::Selection), 64, 8),
            choose(&mut entry_rng(1, 3, Some(5), Purpose::Selection), 64, 8)
        );
        assert_eq!(
            choose(&mut entry_rng(1, 0, None, Purpose::Selection), 5, 5),
            [0, 1, 2, 3, 4]
        );
    }

    #[test]
    fn cyclic_permutation_moves_every_element() {
        for seed in 0..20 {
            let p = cyclic_permutation(&mut entry_rng(seed, 0, None, Purpose::Shuffle), 7);
            let mut sorted = p.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..7).collect::<Vec<_>>());
            assert!(p.iter().enumerate().all(|(i, &j)| i != j), "{p:?}");
        }
        assert_eq!(
            cyclic_permutation(&mut entry_rng(0, 0, None, Purpose::Shuffle), 1),
            [0]
        );
    }

    #[test]
    fn latents_are_seeded() {
        let a = sample_latents(7, 2, 512);
        assert_eq!(a, sample_latents(7, 2, 512));
        assert_ne!(a, sample_latents(8, 2, 512));
        assert_eq!(a.row(0), sample_latents(7, 1, 512).row(0));
    }

    #[test]
    fn noise_is_seeded_per_layer_and_independent_of_latents() {
        let sizes = [(4, 4), (8, 8)];
        let a = sample_noise(3, &sizes);
        assert_eq!(a, sample_noise(3, &sizes));
        assert_ne!(a, sample_noise(4, &sizes));
        assert_eq!((a[0].len(), a[1].len()), (16, 64));
        // Layer 1's map does not depend on the layers after it.
        assert_eq!(sample_noise(3, &sizes[..1])[0], a[0]);
        // Its own stream: not the latent's values.
        assert_ne!(a[0][..], sample_latents(3, 1, 16).as_slice().unwrap()[..]);
    }

    #[test]
    fn normal_samples_have_unit_moments() {
        let mut v = vec![0f32; 20001];
        fill_standard_normal(&mut entry_rng(3, 0, None, Purpose::Noise), &mut v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.03, "{mean}");
        assert!((var - 1.0).abs() < 0.05, "{var}");
    }
}
