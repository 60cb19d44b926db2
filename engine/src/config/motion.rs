//! An entry's `modulate:` and `reroll:` keys (docs/config.md, "Modulation and re-roll"), checked
//! into a [`Motion`].

use super::raw::{RawEntry, RawRate};
use super::yaml::{Pos, field_error, pos};
use crate::error::Result;
use crate::motion::{Modulator, Motion, Rate, Shape, Target};
use crate::spec::Transform;
use crate::stages::Stage;
use std::path::Path;

/// Modulator rates allowed in Hz.
const MAX_HZ: f64 = 100.0;

/// The entry's motion, or `None` when it has neither key. `field` is `transforms[i]`.
pub(super) fn check_motion(
    path: &Path,
    field: &str,
    entry: &RawEntry,
    transform: &Transform,
    random: bool,
) -> Result<Option<Motion>> {
    let err =
        |p: Pos, name: &str, msg: String| field_error(path, p, &format!("{field}.{name}"), msg);
    let modulator = match &entry.modulate {
        None => None,
        Some(m) => {
            let m = &m.value;
            let shape = Shape::from_name(&m.shape.value).ok_or_else(|| {
                err(
                    pos(&m.shape),
                    "modulate.shape",
                    format!(
                        "unknown shape \"{}\"; allowed: {}",
                        m.shape.value,
                        Shape::NAMES
                    ),
                )
            })?;
            let rate = match &m.rate.value {
                RawRate::Hz(hz) if *hz > 0.0 && *hz <= MAX_HZ => Rate::Hz(*hz),
                RawRate::Hz(hz) => {
                    return Err(err(
                        pos(&m.rate),
                        "modulate.rate",
                        format!("{hz} Hz is outside the allowed range (0, {MAX_HZ}]"),
                    ));
                }
                RawRate::Text(text) => Rate::from_text(text)
                    .ok_or_else(|| err(pos(&m.rate), "modulate.rate", bad_rate(text, true)))?,
            };
            if !m.depth.value.is_finite() {
                return Err(err(
                    pos(&m.depth),
                    "modulate.depth",
                    "must be a finite number (in the target's units)".into(),
                ));
            }
            let phase = match &m.phase {
                Some(p) if !(0.0..1.0).contains(&p.value) => {
                    return Err(err(
                        pos(p),
                        "modulate.phase",
                        format!("{} is outside the allowed range [0, 1) (periods)", p.value),
                    ));
                }
                Some(p) => p.value,
                None => 0.0,
            };
            let target = match m.target.as_ref().map(|t| (t.value.as_str(), pos(t))) {
                None | Some(("mix", _)) => Target::Mix,
                Some(("param", p)) => {
                    if transform.params().is_empty() {
                        return Err(err(
                            p,
                            "modulate.target",
                            format!(
                                "`{}` has no parameter to modulate; use `target: mix`",
                                transform.stage()
                            ),
                        ));
                    }
                    Target::Param
                }
                Some((other, p)) => {
                    return Err(err(
                        p,
                        "modulate.target",
                        format!("unknown target \"{other}\"; allowed: mix, param"),
                    ));
                }
            };
            let range = match &m.range {
                None => None,
                Some(r) => match r.value[..] {
                    [low, high] if low.is_finite() && high.is_finite() && low < high => {
                        Some((low, high))
                    }
                    _ => {
                        return Err(err(
                            pos(r),
                            "modulate.range",
                            format!(
                                "expected [low, high], two finite numbers with low < high, got \
                                 {:?}",
                                r.value
                            ),
                        ));
                    }
                },
            };
            Some(Modulator {
                shape,
                rate,
                depth: m.depth.value,
                phase,
                target,
                range,
            })
        }
    };
    let reroll = match &entry.reroll {
        None => None,
        Some(r) => {
            let draws = random || matches!(transform.stage(), Stage::Shuffle | Stage::Noise);
            if !draws {
                return Err(err(
                    pos(r),
                    "reroll",
                    "this entry draws nothing at random: re-roll needs `features: random`, \
                     `shuffle` or `noise`"
                        .into(),
                ));
            }
            match &r.value {
                RawRate::Text(text) => Some(
                    Rate::from_text(text)
                        .ok_or_else(|| err(pos(r), "reroll", bad_rate(text, false)))?,
                ),
                RawRate::Hz(v) => {
                    return Err(err(pos(r), "reroll", bad_rate(&v.to_string(), false)));
                }
            }
        }
    };
    Ok((modulator.is_some() || reroll.is_some()).then_some(Motion { modulator, reroll }))
}

fn bad_rate(text: &str, hz_allowed: bool) -> String {
    format!(
        "\"{text}\" is not a rate; allowed: {}a note length \"N/D\" (D = 1, 2, 4, 8, 16 or 32; \
         \"1/4\" is a beat) or \"N bars\" (1 to 64)",
        if hz_allowed {
            "a number of Hz in (0, 100], "
        } else {
            ""
        }
    )
}
