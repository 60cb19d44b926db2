//! Naming what a file holds when it cannot be decoded, so that the error says which sample
//! format or codec was found rather than symphonia's generic "unsupported feature".

use std::io::Read;
use std::path::Path;

use symphonia::core::codecs::audio::AudioCodecId;
use symphonia::core::codecs::audio::well_known::*;

/// What the CLI decodes, for error messages.
pub const SUPPORTED: &str = "WAV (integer PCM 8/16/24/32-bit, IEEE float 32/64-bit, A-law, \
                             mu-law, MS/IMA ADPCM), FLAC, OGG Vorbis, MP3";

/// The sample format in a RIFF/WAVE file's `fmt ` chunk, e.g. `format tag 0x1234 (unknown),
/// 16-bit`; `None` when the file is not a WAV file or has no readable `fmt ` chunk.
pub fn wav_format(path: &Path) -> Option<String> {
    let mut head = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(1 << 16)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() < 12 || &head[..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let u16_at = |i: usize| Some(u16::from_le_bytes(head.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_le_bytes(head.get(i..i + 4)?.try_into().ok()?));
    let mut pos = 12;
    while pos + 8 <= head.len() {
        let size = u32_at(pos + 4)? as usize;
        if &head[pos..pos + 4] == b"fmt " {
            let body = pos + 8;
            let mut tag = u16_at(body)?;
            let bits = u16_at(body + 14)?;
            // WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes.
            let extensible = tag == 0xFFFE;
            if extensible {
                tag = u16_at(body + 24)?;
            }
            let name = match tag {
                0x0001 => "integer PCM",
                0x0002 => "MS ADPCM",
                0x0003 => "IEEE float",
                0x0006 => "A-law",
                0x0007 => "mu-law",
                0x0011 => "IMA ADPCM",
                0x0050 => "MPEG",
                0x0055 => "MPEG Layer 3",
                0x0161 => "Windows Media Audio",
                0x2000 => "AC-3",
                _ => "unknown",
            };
            let ext = if extensible { ", extensible" } else { "" };
            return Some(format!("format tag {tag:#06x} ({name}{ext}), {bits}-bit"));
        }
        // Chunks are padded to an even size.
        pos = pos.checked_add(8 + size + (size & 1))?;
    }
    None
}

/// A readable name for a codec symphonia has no decoder for.
pub fn codec_name(id: AudioCodecId) -> String {
    let known = [
        (CODEC_ID_OPUS, "Opus"),
        (CODEC_ID_AAC, "AAC"),
        (CODEC_ID_ALAC, "ALAC"),
        (CODEC_ID_SPEEX, "Speex"),
        (CODEC_ID_WAVPACK, "WavPack"),
        (CODEC_ID_MONKEYS_AUDIO, "Monkey's Audio"),
        (CODEC_ID_AC3, "AC-3"),
        (CODEC_ID_EAC3, "E-AC-3"),
        (CODEC_ID_DCA, "DTS"),
        (CODEC_ID_WMA, "WMA"),
        (CODEC_ID_TTA, "TTA"),
        (CODEC_ID_MP1, "MPEG Layer 1"),
        (CODEC_ID_MP2, "MPEG Layer 2"),
    ];
    match known.iter().find(|(k, _)| *k == id) {
        Some((_, name)) => format!("{name} (codec id {id})"),
        None => format!("codec id {id}"),
    }
}
