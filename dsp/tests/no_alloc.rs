//! The audio-thread types never allocate after construction: the streaming framer (with a
//! callback that does what the plugin will do: read magnitudes, write magnitudes back under the
//! frame's phase) and the streaming resampler, across host block sizes 1 to 8192.
//!
//! This binary installs a counting global allocator; allocations are counted only on a thread
//! while it is "armed", so the test harness's own threads do not interfere. It holds a single
//! test so nothing else runs in this process at the same time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use dsp::{StftConfig, StreamingFramer, StreamingResampler, apply_magnitude};

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    // const-initialised: reading it never allocates.
    static ARMED: Cell<bool> = const { Cell::new(false) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Allocations (and frees) made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn framer_and_resampler_do_not_allocate_after_construction() {
    // The counter must see allocations at all, or a zero below would prove nothing.
    assert!(allocations_in(|| drop(std::hint::black_box(vec![1u8; 100]))) >= 1);

    const BLOCK_SIZES: [usize; 5] = [1, 7, 64, 512, 8192];
    let total = 40_000;
    let signal: Vec<f32> = (0..total).map(|i| (i as f32 * 0.013).sin() * 0.5).collect();

    for &block in &BLOCK_SIZES {
        // --- streaming framer, stereo, with a plugin-like callback ---
        let mut framer = StreamingFramer::new(StftConfig::default(), 2);
        let mut left = signal.clone();
        let mut right = signal.clone();
        let mut magnitude = vec![0.0f32; StftConfig::default().n_bins()];
        let mut frames = 0u64;
        let count = allocations_in(|| {
            for (l, r) in left.chunks_mut(block).zip(right.chunks_mut(block)) {
                framer.process(&mut [l, r], |frame| {
                    for c in 0..frame.channels() {
                        for (m, x) in magnitude.iter_mut().zip(frame.spectrum(c)) {
                            *m = x.norm() * 0.5;
                        }
                        apply_magnitude(frame.spectrum_mut(c), &magnitude);
                    }
                    frames += 1;
                });
            }
        });
        assert_eq!(frames, (total / 256) as u64);
        assert_eq!(
            count, 0,
            "framer allocated {count} times with block size {block}"
        );

        // --- streaming resampler, host -> model and model -> host, stereo ---
        for (rate_in, rate_out) in [
            (48_000, 44_100),
            (44_100, 48_000),
            (44_100, 96_000),
            (192_000, 44_100),
            (22_050, 44_100),
            (44_101, 44_100),
        ] {
            let mut resampler = StreamingResampler::new(rate_in, rate_out, 2, 8192).unwrap();
            let mut out_l = vec![0.0f32; 1 << 16];
            let mut out_r = vec![0.0f32; 1 << 16];
            let mut produced = 0;
            let count = allocations_in(|| {
                for chunk in signal.chunks(block) {
                    resampler.push(&[chunk, chunk]).unwrap();
                    produced += resampler
                        .pop(&mut [&mut out_l[..], &mut out_r[..]])
                        .unwrap();
                }
                resampler.reset();
            });
            assert!(produced > 0);
            assert_eq!(
                count, 0,
                "resampler {rate_in}->{rate_out} allocated {count} times with block size {block}"
            );
        }
    }
}
