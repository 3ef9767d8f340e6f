//! What `estrade-cli` writes: event lines, recordings, and totals.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use estrade_core::peer::RemoteMediaSink;
use estrade_core::{ClassEvent, MediaKind, Participant, ParticipantId, VideoFeed};
use estrade_media::analysis::tone_frequency;
use estrade_media::pattern::read_frame_number;
use estrade_media::{VideoFrame, AUDIO_SAMPLE_RATE};
use serde_json::{json, Value};

/// Milliseconds since the Unix epoch: comparable across processes on one machine.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// One JSON object per line on stdout.
pub(crate) fn print_json(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// At most this much audio is kept in memory per participant for the tone
/// measurement (the WAV file has it all).
const KEEP_SAMPLES: usize = AUDIO_SAMPLE_RATE as usize * 10;

#[derive(Default)]
struct Remote {
    name: String,
    wav: Option<hound::WavWriter<BufWriter<File>>>,
    csv: Option<BufWriter<File>>,
    recent_audio: Vec<i16>,
    audio_samples: u64,
    video_frames: u64,
    numbered_frames: u64,
    first_number: Option<u32>,
    last_number: Option<u32>,
    out_of_order: u64,
    size: Option<(u32, u32)>,
    first_audio_ms: Option<u64>,
    first_video_ms: Option<u64>,
    joined_at_ms: Option<u64>,
    left_at_ms: Option<u64>,
    errors: Vec<String>,
    /// The last picture, written out as a greyscale image (its luma) at the end.
    last_frame: Option<VideoFrame>,
    stem: String,
    screen: ScreenTotals,
}

/// What arrived of a participant's screen shares.
#[derive(Default)]
struct ScreenTotals {
    frames: u64,
    size: Option<(u32, u32)>,
    first_ms: Option<u64>,
    started_at_ms: Option<u64>,
    stopped_at_ms: Option<u64>,
    last_frame_at_ms: Option<u64>,
    last_frame: Option<VideoFrame>,
}

/// Receives remote media, records it, and counts it.
pub(crate) struct Recorder {
    dir: Option<PathBuf>,
    remotes: Mutex<HashMap<ParticipantId, Remote>>,
}

impl Recorder {
    pub(crate) fn new(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(Self { dir, remotes: Mutex::new(HashMap::new()) })
    }

    fn with_remote(&self, who: &Participant, f: impl FnOnce(&mut Remote)) {
        let mut remotes = self.remotes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !remotes.contains_key(&who.id) {
            // Only a newcomer needs the names already taken (for its file names).
            let taken: Vec<String> = remotes.values().map(|r| r.name.clone()).collect();
            let remote = self.open(who, &taken);
            remotes.insert(who.id, remote);
        }
        if let Some(remote) = remotes.get_mut(&who.id) {
            f(remote);
        }
    }

    fn open(&self, who: &Participant, taken: &[String]) -> Remote {
        let mut remote = Remote { name: who.name.clone(), ..Remote::default() };
        let Some(dir) = &self.dir else { return remote };
        let mut stem = file_stem(&who.name);
        if taken.iter().any(|n| file_stem(n) == stem) {
            stem = format!("{stem}-{}", who.id);
        }
        remote.stem = stem.clone();
        let spec = hound::WavSpec { channels: 1, sample_rate: AUDIO_SAMPLE_RATE, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        match hound::WavWriter::create(dir.join(format!("{stem}.wav")), spec) {
            Ok(w) => remote.wav = Some(w),
            Err(e) => remote.errors.push(format!("cannot write WAV: {e}")),
        }
        match File::create(dir.join(format!("{stem}.frames.csv"))) {
            Ok(f) => remote.csv = Some(BufWriter::new(f)),
            Err(e) => remote.errors.push(format!("cannot write frame log: {e}")),
        }
        remote
    }

    pub(crate) fn on_event(&self, event: &ClassEvent) {
        let mut line = serde_json::to_value(event).unwrap_or_else(|e| json!({"event": "unprintable", "error": e.to_string()}));
        let t = now_ms();
        if let Value::Object(map) = &mut line {
            map.insert("t_ms".into(), t.into());
            if let ClassEvent::ConnectionLost { reason } = event {
                let message = reason.user_message();
                eprintln!("error: {reason}\n  {}\n  {}", message.en, message.fr);
                map.insert("message".into(), serde_json::to_value(message).unwrap_or_default());
            }
        }
        print_json(&line);
        match event {
            ClassEvent::ParticipantJoined { participant } => self.with_remote(participant, |r| r.joined_at_ms = Some(t)),
            ClassEvent::ParticipantLeft { participant } => self.with_remote(participant, |r| r.left_at_ms = Some(t)),
            ClassEvent::MediaFlowing { participant, kind, after } => self.with_remote(participant, |r| {
                let ms = Some(after.as_millis() as u64);
                match kind {
                    MediaKind::Audio => r.first_audio_ms = ms,
                    MediaKind::Video => r.first_video_ms = ms,
                    MediaKind::Screen => r.screen.first_ms = ms,
                }
            }),
            ClassEvent::ScreenShareStarted { participant } => self.with_remote(participant, |r| r.screen.started_at_ms = Some(t)),
            ClassEvent::ScreenShareStopped { participant } => self.with_remote(participant, |r| r.screen.stopped_at_ms = Some(t)),
            _ => {}
        }
    }

    /// Closes the files and prints one totals line per remote participant.
    pub(crate) fn finish(&self) -> anyhow::Result<()> {
        let mut remotes = self.remotes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ids: Vec<ParticipantId> = remotes.keys().copied().collect();
        ids.sort();
        for id in ids {
            let Some(mut r) = remotes.remove(&id) else { continue };
            if let Some(wav) = r.wav.take() {
                wav.finalize().context("cannot finish a WAV file")?;
            }
            if let Some(mut csv) = r.csv.take() {
                csv.flush().context("cannot finish a frame log")?;
            }
            if let (Some(dir), Some(frame)) = (&self.dir, r.last_frame.take()) {
                write_pgm(&dir.join(format!("{}.last-frame.pgm", r.stem)), &frame).context("cannot write the last frame")?;
            }
            if let (Some(dir), Some(frame)) = (&self.dir, r.screen.last_frame.take()) {
                write_pgm(&dir.join(format!("{}.screen.last-frame.pgm", r.stem)), &frame).context("cannot write the last shared frame")?;
            }
            // Measure the tone on the last seconds, past any start-up transient.
            let tone = tone_frequency(&r.recent_audio, AUDIO_SAMPLE_RATE).map(|hz| (hz * 100.0).round() / 100.0);
            print_json(&json!({
                "totals": true,
                "participant": {"id": id, "name": r.name},
                "audio_ms": r.audio_samples * 1000 / u64::from(AUDIO_SAMPLE_RATE),
                "tone_hz": tone,
                "video_frames": r.video_frames,
                "numbered_frames": r.numbered_frames,
                "first_frame_number": r.first_number,
                "last_frame_number": r.last_number,
                "out_of_order_frames": r.out_of_order,
                "video_size": r.size.map(|(w, h)| format!("{w}x{h}")),
                "first_audio_ms": r.first_audio_ms,
                "first_video_ms": r.first_video_ms,
                "joined_at_ms": r.joined_at_ms,
                "left_at_ms": r.left_at_ms,
                "screen": {
                    "frames": r.screen.frames,
                    "size": r.screen.size.map(|(w, h)| format!("{w}x{h}")),
                    "first_frame_ms": r.screen.first_ms,
                    "started_at_ms": r.screen.started_at_ms,
                    "stopped_at_ms": r.screen.stopped_at_ms,
                    "last_frame_at_ms": r.screen.last_frame_at_ms,
                },
                "errors": r.errors,
            }));
        }
        Ok(())
    }
}

impl RemoteMediaSink for Recorder {
    fn audio(&self, from: &Participant, pcm: &[i16]) {
        self.with_remote(from, |r| {
            r.audio_samples += pcm.len() as u64;
            r.recent_audio.extend_from_slice(pcm);
            if r.recent_audio.len() > KEEP_SAMPLES * 2 {
                r.recent_audio.drain(..r.recent_audio.len() - KEEP_SAMPLES);
            }
            if let Some(wav) = &mut r.wav {
                for &s in pcm {
                    if let Err(e) = wav.write_sample(s) {
                        r.errors.push(format!("WAV write failed: {e}"));
                        r.wav = None;
                        break;
                    }
                }
            }
        });
    }

    fn video(&self, from: &Participant, feed: VideoFeed, frame: &VideoFrame) {
        let t = now_ms();
        let keep = self.dir.is_some();
        if feed == VideoFeed::Screen {
            return self.with_remote(from, |r| {
                r.screen.frames += 1;
                r.screen.size = Some((frame.width, frame.height));
                r.screen.last_frame_at_ms = Some(t);
                if keep {
                    r.screen.last_frame = Some(frame.clone());
                }
            });
        }
        let number = read_frame_number(frame);
        self.with_remote(from, |r| {
            r.video_frames += 1;
            if keep {
                r.last_frame = Some(frame.clone());
            }
            r.size = Some((frame.width, frame.height));
            if let Some(n) = number {
                r.numbered_frames += 1;
                if r.last_number.is_some_and(|last| n <= last) {
                    r.out_of_order += 1;
                }
                r.first_number.get_or_insert(n);
                r.last_number = Some(n);
            }
            if let Some(csv) = &mut r.csv {
                let n = number.map(|n| n.to_string()).unwrap_or_default();
                if let Err(e) = writeln!(csv, "{t},{},{},{n}", frame.width, frame.height) {
                    r.errors.push(format!("frame log write failed: {e}"));
                    r.csv = None;
                }
            }
        });
    }
}

/// Hands everyone's media to two sinks (the recorder and the speakers).
pub(crate) struct Both<A, B>(pub(crate) Arc<A>, pub(crate) Arc<B>);

impl<A: RemoteMediaSink, B: RemoteMediaSink> RemoteMediaSink for Both<A, B> {
    fn audio(&self, from: &Participant, pcm: &[i16]) {
        self.0.audio(from, pcm);
        self.1.audio(from, pcm);
    }

    fn video(&self, from: &Participant, feed: VideoFeed, frame: &VideoFrame) {
        self.0.video(from, feed, frame);
        self.1.video(from, feed, frame);
    }
}

/// The luma plane of a frame as a binary PGM image (viewable, and easy to compare).
fn write_pgm(path: &std::path::Path, frame: &VideoFrame) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    write!(out, "P5\n{} {}\n255\n", frame.width, frame.height)?;
    out.write_all(frame.y())?;
    out.flush()
}

/// A file name from a display name: letters, digits, '-' and '_' only.
fn file_stem(name: &str) -> String {
    let stem: String = name.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    if stem.is_empty() { "participant".into() } else { stem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("Léa Martin"), "Léa_Martin");
        assert_eq!(file_stem("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_stem(""), "participant");
    }
}
