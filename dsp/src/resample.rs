//! Sample-rate conversion between host rates (22.05 to 192 kHz; files 8 to 384 kHz) and the model
//! rate, with rubato.
//!
//! Rubato's synchronous FFT resampler is used whenever the two rates share a large enough common
//! divisor (all the usual rates do: 44.1k-family and 48k-family against 44.1k give FFT blocks of
//! at most a few hundred frames). For unusual rate pairs its FFT block, and so its delay, would be
//! huge, so those fall back to rubato's asynchronous sinc resampler, which has a fixed delay.
//!
//! [`StreamingResampler`] wraps either in preallocated FIFOs so that it accepts host blocks of any
//! size up to a maximum and never allocates after construction; [`resample`] and
//! [`resample_channels`] convert whole signals for the CLI.

use rubato::audioadapter::Adapter;
use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{
    Async, Fft, FixedAsync, FixedSync, Indexing, Resampler, SincInterpolationParameters,
    WindowFunction,
};

/// Host rates the streaming resampler supports (Hz): what plugin hosts run at.
pub const STREAM_RATES: std::ops::RangeInclusive<u32> = 22_050..=192_000;
/// File rates the whole-signal functions accept (Hz): files also come as 8 or 16 kHz speech.
pub const FILE_RATES: std::ops::RangeInclusive<u32> = 8_000..=384_000;
/// Largest FFT block (frames on either side) accepted before switching to the sinc resampler.
const MAX_FFT_BLOCK: u32 = 2048;
/// Input frames per rubato call in the streaming resampler.
const STREAM_CHUNK: usize = 256;
/// Largest input chunk a streaming resampler can have (an FFT block of 2 * MAX_FFT_BLOCK, or the
/// sinc resampler's STREAM_CHUNK), so the output FIFO can hold silence for another one's chunk.
const MAX_PRIME_CHUNK: usize = 2 * MAX_FFT_BLOCK as usize;

#[derive(Debug, thiserror::Error)]
pub enum ResampleError {
    #[error("sample rate {rate} Hz is outside the supported {min}..={max} Hz")]
    UnsupportedRate { rate: u32, min: u32, max: u32 },
    #[error("resampling needs at least one channel")]
    NoChannels,
    #[error("expected {expected} channels, got {actual}")]
    ChannelCount { expected: usize, actual: usize },
    #[error("all channels must have the same length")]
    RaggedChannels,
    #[error("block of {frames} frames exceeds the maximum of {max} set at construction")]
    BlockTooLarge { frames: usize, max: usize },
    #[error("output FIFO full: pop the available output after every push")]
    OutputFull,
    #[error("cannot build the resampler: {0}")]
    Construction(#[from] rubato::ResamplerConstructionError),
    #[error("resampling failed: {0}")]
    Process(#[from] rubato::ResampleError),
}

fn check_rate(rate: u32, supported: &std::ops::RangeInclusive<u32>) -> Result<(), ResampleError> {
    if supported.contains(&rate) {
        Ok(())
    } else {
        Err(ResampleError::UnsupportedRate {
            rate,
            min: *supported.start(),
            max: *supported.end(),
        })
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The rubato resampler for a rate pair (see the module docs for the choice).
fn make_resampler(
    rate_in: u32,
    rate_out: u32,
    channels: usize,
    chunk: usize,
    whole_signal: bool,
) -> Result<Box<dyn Resampler<f32>>, ResampleError> {
    let g = gcd(rate_in, rate_out);
    let (min_in, min_out) = ((rate_in / g) as usize, (rate_out / g) as usize);
    if min_in <= MAX_FFT_BLOCK as usize && min_out <= MAX_FFT_BLOCK as usize {
        // Rubato's FFT block is `k * min_in` input and `k * min_out` output frames. Its filter
        // delay is `floor(block_in / 2)` input frames but it trims `floor(block_out / 2)` output
        // frames; only when both blocks are even do these agree exactly. With an odd block the
        // output is shifted by about half a sample (measured: 0.54 samples at 44.1k -> 48k), so
        // pick an even k.
        let k = chunk.div_ceil(min_in).next_multiple_of(2);
        // Whole signals let rubato fix both sides; streams need a fixed input side.
        let fixed = if whole_signal {
            FixedSync::Both
        } else {
            FixedSync::Input
        };
        let resampler = Fft::<f32>::new_custom(
            rate_in as usize,
            rate_out as usize,
            k * min_in,
            1,
            channels,
            WindowFunction::BlackmanHarris2,
            fixed,
        )?;
        Ok(Box::new(resampler))
    } else {
        let parameters = SincInterpolationParameters::new(256, WindowFunction::BlackmanHarris2);
        let resampler = Async::<f32>::new_sinc(
            rate_out as f64 / rate_in as f64,
            1.0,
            &parameters,
            chunk,
            channels,
            FixedAsync::Input,
        )?;
        Ok(Box::new(resampler))
    }
}

/// Resamples one whole signal; the output has exactly `ceil(len * rate_out / rate_in)` samples
/// and is aligned with the input (rubato's delay is trimmed).
pub fn resample(signal: &[f32], rate_in: u32, rate_out: u32) -> Result<Vec<f32>, ResampleError> {
    let mut out = resample_channels(&[signal.to_vec()], rate_in, rate_out)?;
    Ok(out.pop().expect("one channel in, one out"))
}

/// Resamples whole signals, one `Vec` per channel (all the same length).
pub fn resample_channels(
    channels: &[Vec<f32>],
    rate_in: u32,
    rate_out: u32,
) -> Result<Vec<Vec<f32>>, ResampleError> {
    check_rate(rate_in, &FILE_RATES)?;
    check_rate(rate_out, &FILE_RATES)?;
    let count = channels.len();
    if count == 0 {
        return Err(ResampleError::NoChannels);
    }
    let len = channels[0].len();
    if channels.iter().any(|c| c.len() != len) {
        return Err(ResampleError::RaggedChannels);
    }
    if rate_in == rate_out || len == 0 {
        return Ok(channels.to_vec());
    }
    let mut resampler = make_resampler(rate_in, rate_out, count, 1024, true)?;
    let input = SequentialSliceOfVecs::new(channels, count, len)
        .expect("channels checked to hold len frames");
    let output = resampler.process_all(&input, len, None)?;
    // rubato sizes its output with a float ratio (48000/44100 * 44100 rounds up to 48001);
    // the exact length is ceil(len * rate_out / rate_in) in integers.
    let frames = (len as u64 * rate_out as u64).div_ceil(rate_in as u64) as usize;
    let available = output.frames().min(frames);
    let data = output.take_data();
    Ok((0..count)
        .map(|c| {
            let mut channel: Vec<f32> = (0..available).map(|f| data[f * count + c]).collect();
            channel.resize(frames, 0.0);
            channel
        })
        .collect())
}

/// Real-time resampler: push host blocks of any size up to `max_block`, pop what is ready.
/// Nothing allocates after [`StreamingResampler::new`].
///
/// Delay: [`StreamingResampler::delay`] output frames from rubato's filter plus up to one chunk
/// of input ([`StreamingResampler::chunk_frames`]) waiting in the input FIFO. Pop after every push
/// (the output FIFO holds what one maximum-size push can produce, twice over).
pub struct StreamingResampler {
    resampler: Box<dyn Resampler<f32>>,
    rate_in: u32,
    rate_out: u32,
    max_block: usize,
    input: Vec<Vec<f32>>,
    input_len: usize,
    staging: Vec<Vec<f32>>,
    output: Vec<Vec<f32>>,
    output_start: usize,
    output_len: usize,
}

impl StreamingResampler {
    pub fn new(
        rate_in: u32,
        rate_out: u32,
        channels: usize,
        max_block: usize,
    ) -> Result<Self, ResampleError> {
        check_rate(rate_in, &STREAM_RATES)?;
        check_rate(rate_out, &STREAM_RATES)?;
        if channels == 0 {
            return Err(ResampleError::NoChannels);
        }
        let resampler = make_resampler(rate_in, rate_out, channels, STREAM_CHUNK, false)?;
        let chunk = resampler.input_frames_max();
        let out_max = resampler.output_frames_max();
        let max_block = max_block.max(1);
        // One push of max_block frames plus a leftover partial chunk runs at most this many chunks.
        let chunks_per_push = (max_block + chunk).div_ceil(chunk);
        // Room for one maximal push twice over, plus silence queued by `prime` (at most one input
        // chunk of another resampler and one output chunk of this one; see `prime`).
        let output_capacity = 2 * chunks_per_push * out_max + 2 * (out_max + MAX_PRIME_CHUNK);
        Ok(Self {
            resampler,
            rate_in,
            rate_out,
            max_block,
            input: vec![vec![0.0; max_block + chunk]; channels],
            input_len: 0,
            staging: vec![vec![0.0; out_max]; channels],
            output: vec![vec![0.0; output_capacity]; channels],
            output_start: 0,
            output_len: 0,
        })
    }

    pub fn rates(&self) -> (u32, u32) {
        (self.rate_in, self.rate_out)
    }

    pub fn channels(&self) -> usize {
        self.input.len()
    }

    /// Input frames consumed per rubato call.
    pub fn chunk_frames(&self) -> usize {
        self.resampler.input_frames_next()
    }

    /// Rubato's filter delay in output frames (excludes input waiting for a full chunk).
    pub fn delay(&self) -> usize {
        self.resampler.output_delay()
    }

    /// Output frames one rubato call produces at most.
    pub fn output_chunk_frames(&self) -> usize {
        self.resampler.output_frames_max()
    }

    /// Most output frames one push of `max_block` frames can make ready (size the next stage's
    /// blocks with this).
    pub fn max_output_per_push(&self) -> usize {
        let chunk = self.chunk_frames();
        (self.max_block + chunk).div_ceil(chunk) * self.output_chunk_frames()
    }

    /// Queues `frames` of silence ahead of all output, once, before streaming starts.
    ///
    /// Output appears in whole chunks, so a stage that must pop exactly as many frames as the
    /// host gave it has to run this far behind. For a host -> model -> host round trip through
    /// `down` and `up`, priming `up` with `down.chunk_frames() + up.output_chunk_frames()` frames
    /// makes every exact-size pop succeed, for any block sizes up to the maximum. The round
    /// trip's latency in host samples is then
    /// `priming + up.delay() + down.delay() * host_rate / 44100` plus whatever the model-rate
    /// stage adds (scaled the same way): 960 samples at 48 kHz without a stage, exact to 0.001
    /// samples for the FFT resampler (tested in `tests/resampling.rs`).
    pub fn prime(&mut self, frames: usize) -> Result<(), ResampleError> {
        if self.output_start + self.output_len + frames > self.output[0].len() {
            return Err(ResampleError::OutputFull);
        }
        let start = self.output_start + self.output_len;
        for channel in &mut self.output {
            channel[start..start + frames].fill(0.0);
        }
        self.output_len += frames;
        Ok(())
    }

    /// Output frames ready to pop.
    pub fn available(&self) -> usize {
        self.output_len
    }

    /// Clears all state (FIFOs and the filter history). No allocation.
    pub fn reset(&mut self) {
        self.resampler.reset();
        self.input_len = 0;
        self.output_start = 0;
        self.output_len = 0;
    }

    /// Appends `block[channel][frame]` and resamples every complete chunk.
    pub fn push(&mut self, block: &[&[f32]]) -> Result<(), ResampleError> {
        if block.len() != self.channels() {
            return Err(ResampleError::ChannelCount {
                expected: self.channels(),
                actual: block.len(),
            });
        }
        let frames = block[0].len();
        if block.iter().any(|c| c.len() != frames) {
            return Err(ResampleError::RaggedChannels);
        }
        if frames > self.max_block {
            return Err(ResampleError::BlockTooLarge {
                frames,
                max: self.max_block,
            });
        }
        let chunk = self.chunk_frames();
        let chunks = (self.input_len + frames) / chunk;
        let room = self.output[0].len() - self.output_len;
        if chunks * self.resampler.output_frames_max() > room {
            return Err(ResampleError::OutputFull);
        }
        // Keep the unread output at the front so new output is appended contiguously.
        if self.output_start > 0 {
            let range = self.output_start..self.output_start + self.output_len;
            for channel in &mut self.output {
                channel.copy_within(range.clone(), 0);
            }
            self.output_start = 0;
        }
        for (fifo, samples) in self.input.iter_mut().zip(block) {
            fifo[self.input_len..self.input_len + frames].copy_from_slice(samples);
        }
        self.input_len += frames;
        let mut consumed = 0;
        while self.input_len - consumed >= chunk {
            let indexing = Indexing::new().input_offset(consumed);
            // Buffer sizes are fixed at construction, so the adapters always fit.
            let channels = self.input.len();
            let input = SequentialSliceOfVecs::new(&self.input, channels, self.input_len)
                .expect("input FIFO holds input_len frames");
            let staging_len = self.staging[0].len();
            let mut staging =
                SequentialSliceOfVecs::new_mut(&mut self.staging, channels, staging_len)
                    .expect("staging holds output_frames_max frames");
            let (read, written) =
                self.resampler
                    .process_into_buffer(&input, &mut staging, Some(&indexing))?;
            consumed += read;
            for (out, staged) in self.output.iter_mut().zip(&self.staging) {
                out[self.output_len..self.output_len + written].copy_from_slice(&staged[..written]);
            }
            self.output_len += written;
        }
        if consumed > 0 {
            let range = consumed..self.input_len;
            for fifo in &mut self.input {
                fifo.copy_within(range.clone(), 0);
            }
            self.input_len -= consumed;
        }
        Ok(())
    }

    /// Moves up to `out[0].len()` ready frames into `out[channel][frame]`; returns how many.
    pub fn pop(&mut self, out: &mut [&mut [f32]]) -> Result<usize, ResampleError> {
        if out.len() != self.channels() {
            return Err(ResampleError::ChannelCount {
                expected: self.channels(),
                actual: out.len(),
            });
        }
        let wanted = out[0].len();
        if out.iter().any(|c| c.len() != wanted) {
            return Err(ResampleError::RaggedChannels);
        }
        let n = wanted.min(self.output_len);
        for (dst, fifo) in out.iter_mut().zip(&self.output) {
            dst[..n].copy_from_slice(&fifo[self.output_start..self.output_start + n]);
        }
        self.output_start += n;
        self.output_len -= n;
        if self.output_len == 0 {
            self.output_start = 0;
        }
        Ok(n)
    }
}
