//! Test input of the dsp integration tests (the references and file helpers are in
//! netbend-test-support).

/// Deterministic white noise in [-0.5, 0.5) (xorshift; no dependency needed for test input).
pub fn noise(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as f32 / 4_294_967_296.0 - 0.5
        })
        .collect()
}
