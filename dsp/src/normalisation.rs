//! Magnitude <-> decibels and the "db-minmax" normalisation of model values (docs/signal.md).
//!
//! The parameters live in one struct because a model's manifest records the values it was
//! trained with; code gets them from there (or from [`Normalisation::default`], the documented
//! defaults) and never from constants of its own.

/// `dB = 20 log10(max(|X|, amin))`, `v = clip((dB - db_min) / (db_max - db_min), 0, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normalisation {
    /// Smallest magnitude distinguished (1e-4, i.e. -80 dB).
    pub amin: f32,
    /// dB mapped to 0.
    pub db_min: f32,
    /// dB mapped to 1.
    pub db_max: f32,
}

impl Default for Normalisation {
    fn default() -> Self {
        Self {
            amin: 1e-4,
            db_min: -80.0,
            db_max: 50.0,
        }
    }
}

/// Parameters that cannot describe a db-minmax mapping.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NormalisationError {
    #[error("normalisation amin must be > 0, got {0}")]
    NonPositiveAmin(f32),
    #[error("normalisation needs db_max > db_min, got {db_min}..{db_max}")]
    EmptyRange { db_min: f32, db_max: f32 },
}

impl Normalisation {
    /// Validated parameters (the manifest's `amin`, `db_min`, `db_max`).
    pub fn new(amin: f32, db_min: f32, db_max: f32) -> Result<Self, NormalisationError> {
        // Written so that NaN fails both checks.
        if amin.is_nan() || amin <= 0.0 {
            return Err(NormalisationError::NonPositiveAmin(amin));
        }
        if db_min.is_nan() || db_max.is_nan() || db_max <= db_min {
            return Err(NormalisationError::EmptyRange { db_min, db_max });
        }
        Ok(Self {
            amin,
            db_min,
            db_max,
        })
    }

    pub fn magnitude_to_db(&self, magnitude: f32) -> f32 {
        20.0 * magnitude.max(self.amin).log10()
    }

    pub fn db_to_magnitude(&self, db: f32) -> f32 {
        10.0f32.powf(db / 20.0)
    }

    /// `|X| -> v` in `[0, 1]`.
    pub fn normalise(&self, magnitude: f32) -> f32 {
        ((self.magnitude_to_db(magnitude) - self.db_min) / (self.db_max - self.db_min))
            .clamp(0.0, 1.0)
    }

    /// `v -> |X| = 10^((db_min + v (db_max - db_min)) / 20)`. Values outside `[0, 1]` are taken
    /// as they are (a bent network may produce them); clamp first if that is not wanted.
    pub fn denormalise(&self, value: f32) -> f32 {
        self.db_to_magnitude(self.db_min + value * (self.db_max - self.db_min))
    }

    /// Element-wise [`Self::normalise`] from `magnitudes` into `values` (same length).
    pub fn normalise_slice(&self, magnitudes: &[f32], values: &mut [f32]) {
        assert_eq!(magnitudes.len(), values.len());
        for (v, &m) in values.iter_mut().zip(magnitudes) {
            *v = self.normalise(m);
        }
    }

    /// Element-wise [`Self::denormalise`] from `values` into `magnitudes` (same length).
    pub fn denormalise_slice(&self, values: &[f32], magnitudes: &mut [f32]) {
        assert_eq!(magnitudes.len(), values.len());
        for (m, &v) in magnitudes.iter_mut().zip(values) {
            *m = self.denormalise(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_those_of_docs_signal_md() {
        let n = Normalisation::default();
        assert_eq!((n.amin, n.db_min, n.db_max), (1e-4, -80.0, 50.0));
        assert_eq!(n.normalise(0.0), 0.0);
        assert!((n.magnitude_to_db(1e-4) + 80.0).abs() < 1e-4);
        assert!((n.normalise(1.0) - 80.0 / 130.0).abs() < 1e-6);
        assert_eq!(n.normalise(1e6), 1.0);
    }

    #[test]
    fn denormalise_inverts_normalise_inside_the_range() {
        let n = Normalisation::default();
        for db in [-79.0f32, -40.0, 0.0, 20.0, 49.0] {
            let m = n.db_to_magnitude(db);
            let back = n.denormalise(n.normalise(m));
            assert!((back - m).abs() / m < 1e-4, "{db} dB: {m} -> {back}");
        }
    }

    #[test]
    fn parameters_are_used_not_constants() {
        let n = Normalisation::new(1e-3, -60.0, 40.0).unwrap();
        assert_eq!(n.normalise(1e-5), 0.0);
        assert!((n.normalise(1.0) - 0.6).abs() < 1e-6);
        assert!((n.denormalise(0.6) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Normalisation::new(0.0, -80.0, 50.0).is_err());
        assert!(Normalisation::new(1e-4, 50.0, 50.0).is_err());
        assert!(Normalisation::new(f32::NAN, -80.0, 50.0).is_err());
    }
}
