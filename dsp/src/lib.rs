//! Netbend signal processing (no ML): STFT/ISTFT, the streaming framer, resynthesis, resampling, audio file I/O.
