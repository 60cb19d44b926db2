//! The output stage (NaN/Inf guard, DC blocker, soft limiter, latency-compensation delay,
//! dry/wet, gain, bypass cross-fade) is defined once, in `dsp::output_stage`, so that `netbend
//! render` ends in the very same stage; the plugin uses it under its old name.

pub use dsp::output_stage::*;
