//! Bends that move over a song (docs/config.md, "Modulation and re-roll"): a modulator (a
//! low-frequency oscillator or a random curve) on an entry's mix or main parameter, and a
//! re-roll that draws the entry's random channels, permutation and noise anew every few beats.
//! Both are functions of the song position alone, so the same position always gives the same
//! bend: a render is reproducible, and one render equals another of the same positions.

use crate::motion::{SongPosition, Target, entry_base_seed, reroll_index, reroll_seed};
use crate::spec::{BendSpec, Transform};
use crate::stages::Stage;

impl BendSpec {
    /// Whether any entry moves with the song position.
    pub fn moves(&self) -> bool {
        self.entries.iter().any(|e| e.motion.is_some())
    }

    /// The spec at `position`: every modulator applied to its entry's mix or main parameter, every
    /// re-rolling entry given the seed of its period; entries without motion unchanged. The result
    /// has no motion left.
    pub fn at(&self, position: SongPosition) -> BendSpec {
        let mut spec = self.clone();
        for (i, entry) in spec.entries.iter_mut().enumerate() {
            let Some(motion) = entry.motion.take() else {
                continue;
            };
            let base = entry_base_seed(entry.seed, self.seed, i + 1);
            if let Some(m) = motion.modulator {
                let offset = m.offset(position, base);
                match m.target {
                    Target::Mix => {
                        let mix = m.bounded(f64::from(entry.mix) + offset);
                        entry.mix = mix.clamp(0.0, 1.0) as f32
                    }
                    Target::Param => {
                        entry.transform = moved(&entry.transform, offset, |v| m.bounded(v))
                    }
                }
            }
            if let Some(rate) = motion.reroll {
                entry.seed = Some(reroll_seed(base, reroll_index(rate, position)));
            }
        }
        spec
    }
}

/// The transform with its main parameter moved by `offset` and kept in the allowed range: the
/// angle of rotate, the x shift of translate, both factors of scale (never closer to 0 than
/// 0.001, keeping the base's sign), the radius of erode and dilate (rounded, 1 to 3), sigma of
/// noise (at least 0), the factor, offset or threshold of the others. `bounded` keeps each moved
/// value within the modulator's own range first.
pub fn moved(transform: &Transform, offset: f64, bounded: impl Fn(f64) -> f64) -> Transform {
    let stage = transform.stage();
    let mut params: Vec<f64> = transform.params().iter().map(|&p| f64::from(p)).collect();
    match stage {
        Stage::Scale => {
            for k in params.iter_mut() {
                let sign = if *k < 0.0 { -1.0 } else { 1.0 };
                let v = bounded(*k + offset);
                *k = if v * sign < 1e-3 { sign * 1e-3 } else { v };
            }
        }
        Stage::Erode | Stage::Dilate => params[0] = bounded(params[0] + offset).clamp(1.0, 3.0),
        Stage::Noise => params[0] = bounded(params[0] + offset).max(0.0),
        _ if params.is_empty() => {}
        _ => params[0] = bounded(params[0] + offset),
    }
    Transform::new(stage, &params).expect("kept within the transform's range")
}

#[cfg(test)]
mod tests;
