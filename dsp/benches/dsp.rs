//! `cargo bench -p dsp`: throughput of the signal path.
//!
//! Throughput is reported in samples (per channel) per second for the STFT, the framer and the
//! resampler: divide by 44 100 for multiples of real time at the model rate. Griffin-Lim is
//! reported in iterations per second on one 128-frame model window.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dsp::{
    GriffinLim, GriffinLimVariant, InitialPhase, Stft, StftConfig, StreamingFramer,
    StreamingResampler, WINDOW_FRAMES,
};
use std::hint::black_box;
use std::time::Duration;

const RATE: usize = 44_100;

fn signal(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            0.3 * (t * 440.0 * std::f32::consts::TAU).sin()
                + 0.2 * (t * 3_001.0 * std::f32::consts::TAU).sin()
                + 0.1 * ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0 - 0.5)
        })
        .collect()
}

fn stft_round_trip(c: &mut Criterion) {
    let x = signal(10 * RATE);
    let mut stft = Stft::new(StftConfig::default());
    let mut group = c.benchmark_group("stft+istft");
    group.throughput(Throughput::Elements(x.len() as u64));
    group.bench_function("10 s mono", |b| {
        b.iter(|| {
            let spec = stft.analyse(black_box(&x));
            black_box(stft.synthesise(&spec))
        })
    });
    group.finish();
}

fn framer(c: &mut Criterion) {
    let x = signal(10 * RATE);
    let mut group = c.benchmark_group("streaming framer");
    group.throughput(Throughput::Elements(x.len() as u64));
    for (channels, block) in [(1usize, 64usize), (1, 512), (2, 512)] {
        let mut framer = StreamingFramer::new(StftConfig::default(), channels);
        let mut buffers = vec![x.clone(); channels];
        group.bench_with_input(
            BenchmarkId::new(
                format!("{channels} ch, identity callback"),
                format!("block {block}"),
            ),
            &block,
            |b, &block| {
                b.iter(|| {
                    let mut chunks: Vec<_> =
                        buffers.iter_mut().map(|c| c.chunks_mut(block)).collect();
                    loop {
                        let mut slices: Vec<&mut [f32]> =
                            chunks.iter_mut().filter_map(|c| c.next()).collect();
                        if slices.len() < channels {
                            break;
                        }
                        framer.process(&mut slices, |f| {
                            black_box(f.spectrum(0)[1]);
                        });
                    }
                })
            },
        );
    }
    group.finish();
}

fn resampler(c: &mut Criterion) {
    let x = signal(10 * 48_000);
    let mut group = c.benchmark_group("streaming resampler");
    group.throughput(Throughput::Elements(x.len() as u64));
    for (rate_in, rate_out) in [(48_000u32, 44_100u32), (44_100, 48_000)] {
        let mut r = StreamingResampler::new(rate_in, rate_out, 1, 512).unwrap();
        let mut out = vec![0.0f32; 1 << 14];
        group.bench_function(format!("{rate_in} -> {rate_out}, mono, block 512"), |b| {
            b.iter(|| {
                for chunk in x.chunks(512) {
                    r.push(&[chunk]).unwrap();
                    black_box(r.pop(&mut [&mut out[..]]).unwrap());
                }
            })
        });
    }
    group.finish();
}

fn griffin_lim(c: &mut Criterion) {
    // One model window: the signal length whose STFT has exactly 128 frames.
    let config = StftConfig::default();
    let len = (WINDOW_FRAMES - 1) * config.hop + 1 - config.front_padding();
    assert_eq!(config.frames_for(len), WINDOW_FRAMES);
    let x = signal(len);
    let mut stft = Stft::new(config);
    let magnitude = stft.analyse(&x).magnitudes();
    let iterations = 10;
    let mut group = c.benchmark_group("griffin-lim, 128-frame window");
    group.throughput(Throughput::Elements(iterations as u64));
    for (name, variant) in [
        ("standard", GriffinLimVariant::Standard),
        ("fast", GriffinLimVariant::FAST),
    ] {
        let gl = GriffinLim {
            iterations,
            variant,
            initial_phase: InitialPhase::Random { seed: 1 },
        };
        group.bench_function(name, |b| {
            b.iter(|| black_box(gl.run(&mut stft, &magnitude, len, |_| {})))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short by default: the project machine has 2 cores shared with training jobs.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sample_size(15)
}

criterion_group! {
    name = benches;
    config = config();
    targets = stft_round_trip, framer, resampler, griffin_lim
}
criterion_main!(benches);
