//! Audio files for the CLI: read WAV/FLAC/OGG Vorbis/MP3 with symphonia, write WAV with hound.
//!
//! Every error names the file and what is wrong with it, because the CLI shows these messages
//! to users as they are. Writing goes to a temporary file in the target folder that is renamed
//! into place, so a crash or full disk never leaves a half-written WAV under the final name.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

/// Decoded audio: `channels[c][i]` in `[-1, 1]` floats at `sample_rate` Hz.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioData {
    pub channels: Vec<Vec<f32>>,
    pub sample_rate: u32,
}

impl AudioData {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Average of all channels.
    pub fn mono_mixdown(&self) -> Vec<f32> {
        let scale = 1.0 / self.channels.len().max(1) as f32;
        (0..self.frames())
            .map(|i| self.channels.iter().map(|c| c[i]).sum::<f32>() * scale)
            .collect()
    }
}

/// What went wrong with which file.
#[derive(Debug, thiserror::Error)]
pub enum AudioFileError {
    #[error("{path}: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable audio file (supported: WAV, FLAC, OGG Vorbis, MP3): {reason}")]
    Unrecognised { path: PathBuf, reason: String },
    #[error(
        "{path}: unsupported audio format: {format}; supported: {}",
        crate::audio_format::SUPPORTED
    )]
    UnsupportedFormat { path: PathBuf, format: String },
    #[error("{path}: contains no audio track")]
    NoAudioTrack { path: PathBuf },
    #[error("{path}: corrupt or unsupported audio data: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: contains no audio samples (empty or corrupt)")]
    Empty { path: PathBuf },
    #[error("{path}: {channels} channels; only mono and stereo are supported")]
    UnsupportedChannels { path: PathBuf, channels: usize },
    #[error("{path}: invalid audio to write: {reason}")]
    InvalidAudio { path: PathBuf, reason: String },
    #[error("{path}: cannot write: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Reads a mono or stereo WAV, FLAC, OGG Vorbis or MP3 file to float channels.
pub fn read_audio(path: impl AsRef<Path>) -> Result<AudioData, AudioFileError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            AudioFileError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            AudioFileError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let decode_err = |reason: String| AudioFileError::Decode {
        path: path.to_path_buf(),
        reason,
    };

    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| match crate::audio_format::wav_format(path) {
            // A WAV file symphonia cannot read: say which sample format it holds.
            Some(format) => AudioFileError::UnsupportedFormat {
                path: path.to_path_buf(),
                format: format!("WAV {format} ({e})"),
            },
            None => AudioFileError::Unrecognised {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
        })?;
    let no_track = || AudioFileError::NoAudioTrack {
        path: path.to_path_buf(),
    };
    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(no_track)?;
    let track_id = track.id;
    let announced_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(no_track)?
        .clone();
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| AudioFileError::UnsupportedFormat {
            path: path.to_path_buf(),
            format: format!(
                "{} audio ({e})",
                crate::audio_format::codec_name(params.codec)
            ),
        })?;

    let mut sample_rate = params.sample_rate;
    let mut channel_count = params.channels.as_ref().map(|c| c.count());
    let mut channels: Vec<Vec<f32>> = Vec::new();
    let mut interleaved: Vec<f32> = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A truncated file ends with an unexpected EOF; the length check below reports it.
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break;
            }
            Err(e) => return Err(decode_err(e.to_string())),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = decoder
            .decode(&packet)
            .map_err(|e| decode_err(e.to_string()))?;
        let spec = buffer.spec();
        let count = spec.channels().count();
        sample_rate.get_or_insert(spec.rate());
        if *channel_count.get_or_insert(count) != count {
            return Err(decode_err("channel count changes mid-stream".into()));
        }
        check_channels(path, count)?;
        if channels.is_empty() {
            channels = vec![Vec::new(); count];
        }
        buffer.copy_to_vec_interleaved(&mut interleaved);
        for frame in interleaved.chunks_exact(count) {
            for (channel, &sample) in channels.iter_mut().zip(frame) {
                channel.push(sample);
            }
        }
    }
    if let Some(count) = channel_count {
        check_channels(path, count)?;
    }
    // Symphonia's readers skip frames they cannot parse and resynchronise, so a damaged file
    // would silently come out shorter; the header's frame count catches that.
    let decoded = channels.first().map_or(0, Vec::len) as u64;
    if let Some(announced) = announced_frames.filter(|&n| decoded < n) {
        return Err(decode_err(format!(
            "decoded only {decoded} of the {announced} frames its header announces (damaged or truncated)"
        )));
    }
    if channels.first().is_none_or(Vec::is_empty) {
        return Err(AudioFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let sample_rate = sample_rate
        .filter(|&r| r > 0)
        .ok_or_else(|| decode_err("no sample rate".into()))?;
    Ok(AudioData {
        channels,
        sample_rate,
    })
}

fn check_channels(path: &Path, channels: usize) -> Result<(), AudioFileError> {
    if (1..=2).contains(&channels) {
        Ok(())
    } else {
        Err(AudioFileError::UnsupportedChannels {
            path: path.to_path_buf(),
            channels,
        })
    }
}

/// Writes `audio` as a 32-bit float WAV, atomically (temporary file in the same folder, then
/// rename). Samples are written as they are: no clipping or dithering.
pub fn write_wav(path: impl AsRef<Path>, audio: &AudioData) -> Result<(), AudioFileError> {
    let path = path.as_ref();
    let invalid = |reason: String| AudioFileError::InvalidAudio {
        path: path.to_path_buf(),
        reason,
    };
    check_channels(path, audio.channels.len())?;
    let frames = audio.frames();
    if audio.channels.iter().any(|c| c.len() != frames) {
        return Err(invalid("channels have different lengths".into()));
    }
    if audio.sample_rate == 0 {
        return Err(invalid("sample rate 0".into()));
    }
    let write_err = |reason: String| AudioFileError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| write_err("not a file path".into()))?;
    let temp = folder.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let spec = hound::WavSpec {
        channels: audio.channels.len() as u16,
        sample_rate: audio.sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let result = (|| -> Result<(), String> {
        let file = File::create(&temp).map_err(|e| e.to_string())?;
        let mut writer =
            hound::WavWriter::new(BufWriter::new(file), spec).map_err(|e| e.to_string())?;
        for i in 0..frames {
            for channel in &audio.channels {
                writer.write_sample(channel[i]).map_err(|e| e.to_string())?;
            }
        }
        writer.finalize().map_err(|e| e.to_string())?;
        std::fs::rename(&temp, path).map_err(|e| e.to_string())
    })();
    if let Err(reason) = result {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&temp);
        return Err(write_err(reason));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(len: usize, freq: f32, rate: u32) -> Vec<f32> {
        (0..len)
            .map(|i| 0.5 * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn wav_round_trip_mono_and_stereo() {
        let dir = tempfile::tempdir().unwrap();
        for channels in [1usize, 2] {
            let audio = AudioData {
                channels: (0..channels)
                    .map(|c| sine(4410, 440.0 * (c + 1) as f32, 44_100))
                    .collect(),
                sample_rate: 44_100,
            };
            let path = dir.path().join(format!("out{channels}.wav"));
            write_wav(&path, &audio).unwrap();
            assert_eq!(read_audio(&path).unwrap(), audio);
        }
        // Only the two WAVs remain: no temporary files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.wav");
        let msg = read_audio(&missing).unwrap_err().to_string();
        assert!(
            msg.contains("missing.wav") && msg.contains("not found"),
            "{msg}"
        );

        let garbage = dir.path().join("garbage.flac");
        std::fs::write(&garbage, b"this is not audio at all, just text").unwrap();
        let msg = read_audio(&garbage).unwrap_err().to_string();
        assert!(
            msg.contains("garbage.flac") && msg.contains("not a readable audio file"),
            "{msg}"
        );

        let empty_wav = dir.path().join("empty.wav");
        let audio = AudioData {
            channels: vec![vec![]],
            sample_rate: 44_100,
        };
        write_wav(&empty_wav, &audio).unwrap();
        let msg = read_audio(&empty_wav).unwrap_err().to_string();
        assert!(
            msg.contains("empty.wav") && msg.contains("no audio samples"),
            "{msg}"
        );

        let three = AudioData {
            channels: vec![vec![0.0; 10]; 3],
            sample_rate: 44_100,
        };
        let msg = write_wav(dir.path().join("three.wav"), &three)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("three.wav") && msg.contains("3 channels"),
            "{msg}"
        );
    }

    #[test]
    fn three_channel_files_are_rejected_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("surround.wav");
        let spec = hound::WavSpec {
            channels: 3,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..300 {
            writer.write_sample((i % 100) as i16).unwrap();
        }
        writer.finalize().unwrap();
        let msg = read_audio(&path).unwrap_err().to_string();
        assert!(
            msg.contains("surround.wav") && msg.contains("3 channels"),
            "{msg}"
        );
    }

    #[test]
    fn writing_into_a_missing_folder_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/folder/out.wav");
        let audio = AudioData {
            channels: vec![vec![0.0; 10]],
            sample_rate: 44_100,
        };
        let msg = write_wav(&path, &audio).unwrap_err().to_string();
        assert!(
            msg.contains("out.wav") && msg.contains("cannot write"),
            "{msg}"
        );
    }
}
