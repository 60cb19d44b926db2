//! Turning magnitudes back into sound: input-phase reuse and Griffin-Lim.
//!
//! Input-phase reuse puts a (bent) magnitude under the phase of the input's own STFT: exact when
//! the magnitude is the input's, and what the plugin does per frame. Griffin-Lim recovers a
//! signal from a magnitude alone by alternating the two projections (onto signals, via our
//! ISTFT/STFT, and onto the target magnitude); the fast variant of Perraudin, Balazs and
//! Søndergaard (2013) adds momentum `c_n = t_n + alpha (t_n - t_{n-1})`, which converges much
//! faster for the same cost per iteration.

use realfft::num_complex::Complex32;

use crate::stft::{Spectrogram, Stft};

/// Gives `spectrum` the magnitudes `magnitude`, keeping each bin's phase. A bin with no phase
/// (exactly zero) gets phase 0. Allocation-free: usable inside the framer's callback.
pub fn apply_magnitude(spectrum: &mut [Complex32], magnitude: &[f32]) {
    assert_eq!(spectrum.len(), magnitude.len(), "one magnitude per bin");
    for (c, &m) in spectrum.iter_mut().zip(magnitude) {
        let norm = c.norm();
        *c = if norm > 0.0 {
            *c * (m / norm)
        } else {
            Complex32::new(m, 0.0)
        };
    }
}

/// A spectrogram with magnitudes `magnitude` (row-major `[frames, n_bins]`) and the phases of
/// `phase_source` (normally the input's STFT).
pub fn with_input_phase(magnitude: &[f32], phase_source: &Spectrogram) -> Spectrogram {
    assert_eq!(
        magnitude.len(),
        phase_source.data().len(),
        "magnitude must have the phase source's [frames, n_bins] shape"
    );
    let mut out = phase_source.clone();
    apply_magnitude(out.data_mut(), magnitude);
    out
}

/// `|| |X| - S ||_F / ||S||_F`: how far the magnitude of `estimate` is from the target `S`.
/// Returns 0 for an all-zero target matched exactly, infinity if only the target is zero.
pub fn spectral_convergence(target_magnitude: &[f32], estimate: &Spectrogram) -> f32 {
    assert_eq!(target_magnitude.len(), estimate.data().len());
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for (&s, x) in target_magnitude.iter().zip(estimate.data()) {
        let d = (x.norm() - s) as f64;
        err += d * d;
        norm += (s as f64) * (s as f64);
    }
    if norm == 0.0 {
        return if err == 0.0 { 0.0 } else { f32::INFINITY };
    }
    (err / norm).sqrt() as f32
}

/// Which Griffin-Lim iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GriffinLimVariant {
    /// Griffin and Lim (1984): monotone in spectral convergence, slow.
    Standard,
    /// Fast Griffin-Lim (Perraudin et al. 2013) with the given momentum (0.99 in the paper).
    Fast { momentum: f32 },
}

impl GriffinLimVariant {
    pub const FAST: Self = Self::Fast { momentum: 0.99 };
}

/// Phase the iteration starts from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InitialPhase {
    /// All bins real and positive.
    Zero,
    /// Uniform random phases from a seeded generator (reproducible).
    Random { seed: u64 },
}

/// Griffin-Lim settings. `GriffinLim::default()` is fast GL, momentum 0.99, 100 iterations,
/// random initial phase with seed 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GriffinLim {
    pub iterations: usize,
    pub variant: GriffinLimVariant,
    pub initial_phase: InitialPhase,
}

impl Default for GriffinLim {
    fn default() -> Self {
        Self {
            iterations: 100,
            variant: GriffinLimVariant::FAST,
            initial_phase: InitialPhase::Random { seed: 0 },
        }
    }
}

/// Progress of a Griffin-Lim run: the estimate after `iteration` iterations (0 = the initial
/// phase) has this spectral convergence against the target magnitude.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GriffinLimReport {
    pub iteration: usize,
    pub spectral_convergence: f32,
}

impl GriffinLim {
    /// Recovers a `signal_len`-sample signal whose STFT magnitude approximates `magnitude`
    /// (row-major `[frames, n_bins]` in `stft`'s geometry). `on_iteration` is called for the
    /// initial estimate and after every iteration.
    pub fn run(
        &self,
        stft: &mut Stft,
        magnitude: &[f32],
        signal_len: usize,
        mut on_iteration: impl FnMut(GriffinLimReport),
    ) -> Vec<f32> {
        let config = stft.config();
        // c: the spectrogram synthesised next; projected: its STFT after synthesis (P_C2 c);
        // previous: t_{n-1} for the momentum term.
        let mut c = Spectrogram::zeros(config, signal_len);
        assert_eq!(
            magnitude.len(),
            c.data().len(),
            "magnitude must be [frames, n_bins] for a {signal_len}-sample signal"
        );
        init_phase(c.data_mut(), magnitude, self.initial_phase);
        let mut projected = c.clone();
        let mut previous = c.clone();
        let mut signal = vec![0.0f32; signal_len];
        let momentum = match self.variant {
            GriffinLimVariant::Standard => 0.0,
            GriffinLimVariant::Fast { momentum } => momentum,
        };

        stft.synthesise_into(&c, &mut signal);
        for iteration in 0..=self.iterations {
            stft.analyse_into(&signal, &mut projected);
            on_iteration(GriffinLimReport {
                iteration,
                spectral_convergence: spectral_convergence(magnitude, &projected),
            });
            if iteration == self.iterations {
                break;
            }
            // t_n = P_C1(P_C2(c_{n-1})): the consistent estimate with the target magnitude.
            apply_magnitude(projected.data_mut(), magnitude);
            for ((c, &t), prev) in c
                .data_mut()
                .iter_mut()
                .zip(projected.data())
                .zip(previous.data_mut())
            {
                *c = t + (t - *prev) * momentum;
                *prev = t;
            }
            stft.synthesise_into(&c, &mut signal);
        }
        signal
    }
}

fn init_phase(spectrum: &mut [Complex32], magnitude: &[f32], phase: InitialPhase) {
    match phase {
        InitialPhase::Zero => {
            for (c, &m) in spectrum.iter_mut().zip(magnitude) {
                *c = Complex32::new(m, 0.0);
            }
        }
        InitialPhase::Random { seed } => {
            // SplitMix64: a tiny, well-known generator; quality is ample for initial phases and
            // it keeps results identical across platforms and crate versions.
            let mut state = seed;
            for (c, &m) in spectrum.iter_mut().zip(magnitude) {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                let angle = (z >> 11) as f64 / (1u64 << 53) as f64 * std::f64::consts::TAU;
                *c = Complex32::from_polar(m, angle as f32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StftConfig;

    #[test]
    fn input_phase_with_own_magnitude_is_the_input() {
        let mut stft = Stft::new(StftConfig::default());
        let x: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let spec = stft.analyse(&x);
        let y = stft.synthesise(&with_input_phase(&spec.magnitudes(), &spec));
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(err < 1e-5, "max error {err}");
    }

    #[test]
    fn apply_magnitude_keeps_phase_and_handles_zero_bins() {
        let mut s = [Complex32::new(3.0, 4.0), Complex32::new(0.0, 0.0)];
        apply_magnitude(&mut s, &[10.0, 2.0]);
        assert!((s[0] - Complex32::new(6.0, 8.0)).norm() < 1e-5);
        assert_eq!(s[1], Complex32::new(2.0, 0.0));
    }

    #[test]
    fn spectral_convergence_of_the_exact_spectrogram_is_zero() {
        let mut stft = Stft::new(StftConfig::default());
        let x: Vec<f32> = (0..3000).map(|i| (i as f32 * 0.01).cos()).collect();
        let spec = stft.analyse(&x);
        assert_eq!(spectral_convergence(&spec.magnitudes(), &spec), 0.0);
    }
}
