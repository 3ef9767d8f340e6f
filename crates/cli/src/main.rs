//! `estrade-cli`: the Estrade core without a window, for tests, load and benchmarks.
//!
//! See the README for the command-line contract; it is scripted against, so
//! keep it stable.

mod record;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use estrade_core::peer::{LocalMedia, RemoteMediaSink};
use estrade_devices::{Camera, Microphone, MicrophoneStats, Screen, Speaker, SCREEN_FPS};
use estrade_media::voice::{SharedVoiceProcessor, VoiceSettings};
use estrade_core::discovery::{DiscoveryError, ServerDirectory};
use estrade_core::{ClassEvent, ClassInvite, InviteError, JoinOptions, UserMessage};
use estrade_media::pattern::TestPattern;
use estrade_media::{MediaSwitch, ToneSource, WavSource};
use estrade_rtc::{RtcConfig, WebrtcPeers};
use estrade_net::diagnose::{Check, Step, Verdict};
use estrade_net::{ClassServers, DiscoveryClient, Source, TlsTrust, WsConnector};
use rand::SeedableRng;

#[derive(Parser, Debug)]
#[command(name = "estrade-cli", version, about = "Estrade classroom client, headless")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Join a class as a participant, send media, receive everyone else's.
    Join(Box<JoinArgs>),
    /// List microphones, speakers, cameras and screens, as JSON.
    Devices,
    /// Test the connection to a class, step by step, in plain sentences.
    Diagnose(DiagnoseArgs),
}

#[derive(clap::Args, Debug)]
struct DiagnoseArgs {
    /// A class link, a school's domain, or a signaling server's address.
    #[arg(value_name = "LINK")]
    link: String,
    /// One JSON object per check instead of sentences.
    #[arg(long)]
    json: bool,
    /// The language of the sentences (default: French when LANG is French).
    #[arg(long, value_parser = ["fr", "en"])]
    lang: Option<String>,
    /// Also trust the certificate authority in this PEM file (repeatable).
    #[arg(long = "ca-cert", value_name = "PATH")]
    ca_certs: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct JoinArgs {
    /// The class link (https://DOMAIN/classe/CODE, estrade://DOMAIN/classe/CODE,
    /// wss://HOST/janus?class=CODE), the school's domain, or a signaling
    /// server's address (ws://127.0.0.1:8188); a domain is looked up in its
    /// discovery document.
    #[arg(long, value_name = "LINK_OR_URL")]
    server: String,
    /// Class (room) number; may be left out when --server is a class link.
    #[arg(long)]
    room: Option<u64>,
    /// Also trust the certificate authority in this PEM file (repeatable),
    /// for the discovery document and wss:// servers. Verification is never off.
    #[arg(long = "ca-cert", value_name = "PATH")]
    ca_certs: Vec<PathBuf>,
    /// Keep the school's discovery document in this folder, for when its
    /// host cannot be reached (default: not kept).
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// Name shown to the others.
    #[arg(long)]
    name: String,
    /// Class PIN, if it has one. Prefer the ESTRADE_PIN variable: arguments are visible to other users.
    #[arg(long, env = "ESTRADE_PIN", hide_env_values = true)]
    pin: Option<String>,
    /// Audio to send: tone:HZ, wav:PATH (16-bit 48 kHz), mic (the default
    /// input), mic:DEVICE (a name or id from `estrade-cli devices`) or none.
    #[arg(long, default_value = "tone:440")]
    send_audio: AudioChoice,
    /// Play everyone's audio, mixed, through the default output or the one named.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "DEVICE")]
    play: Option<String>,
    /// Send the microphone without echo cancellation.
    #[arg(long)]
    no_echo_cancellation: bool,
    /// Send the microphone without noise suppression.
    #[arg(long)]
    no_noise_suppression: bool,
    /// Send the microphone without automatic gain.
    #[arg(long)]
    no_auto_gain: bool,
    /// Video to send: pattern (640x360, 15 fps, numbered frames), pattern:WxH[@FPS],
    /// camera, camera:DEVICE, screen (the primary monitor), screen:MONITOR
    /// (a name or id from `estrade-cli devices`, or window:ID, or part of a window title) or none.
    /// A screen is sent as a screen share (a stream labelled "screen share"), as with --share-screen.
    #[arg(long, default_value = "pattern")]
    send_video: VideoChoice,
    /// Share a screen as well, as a second picture labelled "screen share":
    /// the primary monitor, or MONITOR, window:ID or part of a window title.
    #[arg(long, num_args = 0..=1, default_missing_value = "", value_name = "MONITOR")]
    share_screen: Option<String>,
    /// Start the screen share this many seconds after joining (default: at once).
    #[arg(long, value_name = "SECONDS")]
    share_after: Option<f64>,
    /// Stop the screen share after this many seconds of sharing (default: keep sharing).
    #[arg(long, value_name = "SECONDS")]
    share_for: Option<f64>,
    /// Leave after this many seconds (default: stay until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Write each remote participant's decoded audio and frame log here.
    #[arg(long)]
    record: Option<PathBuf>,
    /// Restrict ICE host candidates to these local addresses (repeatable).
    #[arg(long = "ice-addr")]
    ice_addrs: Vec<IpAddr>,
    /// Give up connecting after this many seconds.
    #[arg(long, default_value_t = 4.0)]
    connect_timeout: f64,
    /// Once in class, stop trying to get back after a loss after this many
    /// seconds (then `connection_lost`, exit 3).
    #[arg(long, default_value_t = 600.0)]
    give_up_after: f64,
}

#[derive(Debug, Clone)]
enum AudioChoice {
    Tone(f64),
    Wav(PathBuf),
    /// A microphone: the default one, or the one named.
    Mic(Option<String>),
    None,
}

impl std::str::FromStr for AudioChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "none" {
            return Ok(AudioChoice::None);
        }
        if let Some(hz) = s.strip_prefix("tone:") {
            let hz: f64 = hz.parse().map_err(|_| format!("not a frequency: {hz}"))?;
            if !(20.0..=20_000.0).contains(&hz) {
                return Err(format!("tone frequency must be between 20 and 20000 Hz, got {hz}"));
            }
            return Ok(AudioChoice::Tone(hz));
        }
        if let Some(path) = s.strip_prefix("wav:") {
            return Ok(AudioChoice::Wav(PathBuf::from(path)));
        }
        if s == "mic" {
            return Ok(AudioChoice::Mic(None));
        }
        if let Some(device) = s.strip_prefix("mic:") {
            return Ok(AudioChoice::Mic(Some(device.to_owned())));
        }
        Err(format!("expected tone:HZ, wav:PATH, mic, mic:DEVICE or none, got {s:?}"))
    }
}

#[derive(Debug, Clone)]
enum VideoChoice {
    /// The test pattern at this size and rate.
    Pattern(u32, u32, u32),
    /// A camera: the first one, or the one named.
    Camera(Option<String>),
    /// A screen or window: the primary monitor, or the one named.
    Screen(Option<String>),
    None,
}

impl std::str::FromStr for VideoChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let expected = || format!("expected pattern, pattern:WIDTHxHEIGHT[@FPS], camera[:DEVICE], screen[:MONITOR] or none, got {s:?}");
        match s {
            "pattern" => Ok(VideoChoice::Pattern(640, 360, 15)),
            "none" => Ok(VideoChoice::None),
            "camera" => Ok(VideoChoice::Camera(None)),
            "screen" => Ok(VideoChoice::Screen(None)),
            _ if s.starts_with("camera:") => Ok(VideoChoice::Camera(s.strip_prefix("camera:").map(str::to_owned))),
            _ if s.starts_with("screen:") => Ok(VideoChoice::Screen(s.strip_prefix("screen:").map(str::to_owned))),
            _ => {
                let spec = s.strip_prefix("pattern:").ok_or_else(expected)?;
                let (size, fps) = spec.split_once('@').unwrap_or((spec, "15"));
                let fps: u32 = fps.parse().map_err(|_| expected())?;
                let (w, h) = size.split_once('x').ok_or_else(expected)?;
                let (w, h): (u32, u32) = (w.parse().map_err(|_| expected())?, h.parse().map_err(|_| expected())?);
                if !(544..=1920).contains(&w) || !(48..=1080).contains(&h) {
                    return Err(format!("pattern size must be 544x48 to 1920x1080, got {w}x{h}"));
                }
                if !(1..=30).contains(&fps) {
                    return Err(format!("pattern rate must be 1 to 30 frames a second, got {fps}"));
                }
                Ok(VideoChoice::Pattern(w & !1, h & !1, fps))
            }
        }
    }
}

/// Exit status when joining fails (bad address, unreachable, wrong PIN, …).
const EXIT_JOIN_FAILED: u8 = 2;
/// Exit status when the connection is lost during the class.
const EXIT_CONNECTION_LOST: u8 = 3;

/// Logging when ESTRADE_LOG is unset. webrtc-rs warns about normal ICE and DTLS
/// start-up steps; those two are quietened to errors.
const DEFAULT_LOG: &str = "warn,rtc_ice::agent=error,rtc_dtls=error";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ESTRADE_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Join(args) => match runtime.block_on(join(*args)) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Diagnose(args) => runtime.block_on(diagnose(args)),
        Command::Devices => {
            let (monitors, windows) = estrade_devices::list_shareable();
            record::print_json(&serde_json::json!({
                "audio": estrade_devices::list_audio(),
                "cameras": estrade_devices::list_cameras(),
                "monitors": monitors,
                "windows": windows,
            }));
            ExitCode::SUCCESS
        }
    }
}

/// `estrade-cli diagnose`: each check as it is done, then the devices.
async fn diagnose(args: DiagnoseArgs) -> ExitCode {
    let french = match args.lang.as_deref() {
        Some(lang) => lang == "fr",
        None => std::env::var("LANG").is_ok_and(|l| l.starts_with("fr")),
    };
    let show = |check: &Check| {
        if args.json {
            record::print_json(&serde_json::to_value(check).expect("plain data"));
        } else {
            let mark = match check.verdict {
                Verdict::Ok => "ok  ",
                Verdict::Warn => "warn",
                Verdict::Fail => "FAIL",
            };
            println!("{mark} {}", if french { &check.message.fr } else { &check.message.en });
        }
    };
    let trust = match trust(&args.ca_certs) {
        Ok(trust) => trust,
        Err(e) => {
            show(&Check { step: Step::Tls, target: e.path.display().to_string(), verdict: Verdict::Fail, message: e.user_message(), elapsed_ms: 0 });
            return ExitCode::from(EXIT_JOIN_FAILED);
        }
    };
    let mut checks = estrade_net::diagnose::diagnose(&args.link, &trust, show).await;
    let devices = tokio::task::spawn_blocking(device_check).await.unwrap_or_else(|_| estrade_net::diagnose::devices_unlisted());
    show(&devices);
    checks.push(devices);
    // The class can be reached if nothing on the way failed (devices only warn).
    if checks.iter().any(|c| c.verdict == Verdict::Fail) {
        ExitCode::from(EXIT_JOIN_FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// What the class will hear and see from this computer.
fn device_check() -> Check {
    let audio = estrade_devices::list_audio();
    estrade_net::diagnose::device_check(audio.inputs.len(), audio.outputs.len(), estrade_devices::list_cameras().len())
}

/// Device notices become event lines, and a warning in both languages.
fn device_notices() -> estrade_devices::Notify {
    Arc::new(|notice: estrade_devices::DeviceNotice| {
        let message = notice.user_message();
        let mut line = serde_json::json!({"event": "device", "message": message, "t_ms": record::now_ms()});
        if let (Some(map), Ok(serde_json::Value::Object(fields))) = (line.as_object_mut(), serde_json::to_value(&notice)) {
            map.extend(fields);
        }
        record::print_json(&line);
        eprintln!("warning: {}\n  {}", message.en, message.fr);
    })
}

/// A device that cannot be used at all ends the command with its message.
fn device_error(e: estrade_devices::DeviceError) -> anyhow::Error {
    let message = e.user_message();
    anyhow::anyhow!("{e}\n  {}\n  {}", message.en, message.fr)
}

fn voice_settings(args: &JoinArgs) -> VoiceSettings {
    VoiceSettings {
        echo_cancellation: !args.no_echo_cancellation,
        noise_suppression: !args.no_noise_suppression,
        auto_gain: !args.no_auto_gain,
    }
}

/// The screen to share, if any: `--share-screen`, or `--send-video screen`.
/// `Some(None)` is the primary monitor.
fn screen_to_share(args: &JoinArgs) -> Option<Option<String>> {
    match (&args.share_screen, &args.send_video) {
        (Some(which), _) => Some(Some(which.clone()).filter(|w| !w.is_empty())),
        (None, VideoChoice::Screen(which)) => Some(which.clone()),
        _ => None,
    }
}

fn open_screen(which: Option<&str>) -> anyhow::Result<Box<dyn estrade_media::VideoSource>> {
    Ok(Box::new(Screen::open(which, SCREEN_FPS).map_err(device_error)?))
}

/// The media to send, and the microphone's counters when one is sent.
fn local_media(args: &JoinArgs, voice: Option<&SharedVoiceProcessor>) -> anyhow::Result<(LocalMedia, Option<MicrophoneStats>)> {
    let mut capture = None;
    let audio: Option<Box<dyn estrade_media::AudioSource>> = match &args.send_audio {
        AudioChoice::Tone(hz) => Some(Box::new(ToneSource::new(*hz))),
        AudioChoice::Wav(path) => Some(Box::new(WavSource::open(path)?)),
        AudioChoice::Mic(device) => {
            let mic = Microphone::open(device.as_deref(), voice.cloned(), device_notices()).map_err(device_error)?;
            capture = Some(mic.stats());
            Some(Box::new(mic))
        }
        AudioChoice::None => None,
    };
    let video: Option<Box<dyn estrade_media::VideoSource>> = match &args.send_video {
        VideoChoice::Pattern(w, h, fps) => Some(Box::new(TestPattern::new(*w, *h, *fps))),
        VideoChoice::Camera(device) => {
            Some(Box::new(Camera::open(device.as_deref(), MediaSwitch::new(true), device_notices()).map_err(device_error)?))
        }
        // Sent as the screen share below.
        VideoChoice::Screen(_) | VideoChoice::None => None,
    };
    let screen = match screen_to_share(args) {
        Some(which) if args.share_after.is_none() => Some(open_screen(which.as_deref())?),
        _ => None,
    };
    Ok((LocalMedia { audio, video, screen }, capture))
}

/// When the screen share starts and stops, for `--share-after` and `--share-for`.
struct SharePlan {
    which: Option<String>,
    start_in: Option<Duration>,
    sharing_since: Option<tokio::time::Instant>,
    share_for: Option<Duration>,
}

impl SharePlan {
    fn new(args: &JoinArgs, sharing_at_join: bool) -> Option<Self> {
        let which = screen_to_share(args)?;
        let seconds = |s: f64| Duration::from_secs_f64(s.max(0.0));
        Some(SharePlan {
            which,
            start_in: if sharing_at_join { None } else { args.share_after.map(seconds) },
            sharing_since: sharing_at_join.then(tokio::time::Instant::now),
            share_for: args.share_for.map(seconds),
        })
    }

    /// The next moment something is due, if any.
    fn next_due(&self, joined: tokio::time::Instant) -> Option<tokio::time::Instant> {
        match (self.sharing_since, self.start_in, self.share_for) {
            (Some(since), _, Some(length)) => Some(since + length),
            (None, Some(delay), _) => Some(joined + delay),
            _ => None,
        }
    }

    /// Starts or stops the share, whichever is due, and says so on stdout.
    async fn step(&mut self, class: &estrade_core::ClassHandle) {
        if self.sharing_since.is_some() {
            self.share_for = None;
            self.sharing_since = None;
            match class.stop_screen_share().await {
                Ok(()) => record::print_json(&serde_json::json!({"event": "sharing_stopped", "t_ms": record::now_ms()})),
                Err(e) => share_failed(&e),
            }
            return;
        }
        self.start_in = None;
        let started = match open_screen(self.which.as_deref()) {
            Ok(source) => class.share_screen(source).await.map_err(|e| share_failed(&e)).is_ok(),
            Err(e) => {
                record::print_json(&serde_json::json!({"event": "share_failed", "error": format!("{e:#}")}));
                eprintln!("error: {e:#}");
                false
            }
        };
        if started {
            self.sharing_since = Some(tokio::time::Instant::now());
            record::print_json(&serde_json::json!({"event": "sharing_started", "t_ms": record::now_ms()}));
        }
    }
}

fn share_failed(e: &estrade_core::ShareError) {
    let message = e.user_message();
    record::print_json(&serde_json::json!({"event": "share_failed", "error": e.to_string(), "message": message}));
    eprintln!("error: {e}
  {}
  {}", message.en, message.fr);
}

async fn join(args: JoinArgs) -> anyhow::Result<ExitCode> {
    // One voice processor for the call, when a microphone is sent: the
    // speakers feed it what they play, so the microphone's echo can be removed.
    let voice = matches!(args.send_audio, AudioChoice::Mic(_)).then(|| SharedVoiceProcessor::start(voice_settings(&args)));
    let (media, capture) = local_media(&args, voice.as_ref())?;
    let mut share_plan = SharePlan::new(&args, media.screen.is_some());
    let recorder = Arc::new(record::Recorder::new(args.record.clone()).context("cannot prepare the recording folder")?);
    let speaker = match &args.play {
        Some(device) => {
            let wanted = Some(device.as_str()).filter(|d| !d.is_empty());
            Some(Arc::new(Speaker::open(wanted, voice.clone(), device_notices()).map_err(device_error)?))
        }
        None => None,
    };
    let sink: Arc<dyn RemoteMediaSink> = match &speaker {
        Some(speaker) => Arc::new(record::Both(recorder.clone(), speaker.clone())),
        None => recorder.clone(),
    };
    let trust = match trust(&args.ca_certs) {
        Ok(trust) => trust,
        Err(e) => return Ok(join_failed(&e.to_string(), &e.user_message())),
    };
    let (invite, servers, directory) = match find_class(&args, &trust).await {
        Ok(found) => found,
        Err(ClassNotFound::Invite(e)) => return Ok(join_failed(&e.to_string(), &e.user_message())),
        Err(ClassNotFound::Discovery(e)) => return Ok(join_failed(&e.to_string(), &e.user_message())),
    };
    let room = invite.room;
    let options = JoinOptions {
        servers: servers.endpoints.clone(),
        directory,
        room,
        name: args.name.clone(),
        pin: args.pin.clone(),
        connect_timeout: Duration::from_secs_f64(args.connect_timeout.max(0.1)),
        give_up_after: Duration::from_secs_f64(args.give_up_after.max(0.0)),
    };
    let join_started_ms = record::now_ms();
    let peers = Arc::new(WebrtcPeers::new(RtcConfig { ice_addrs: args.ice_addrs.clone(), ..RtcConfig::default() }));
    let joined = estrade_core::join(options, Arc::new(WsConnector::new(trust)), peers, media, sink).await;
    let (class, mut events) = match joined {
        Ok(ok) => ok,
        Err(e) => return Ok(join_failed(&e.to_string(), &e.user_message())),
    };
    record::print_json(&serde_json::json!({
        "event": "joined", "me": class.me(), "room": room, "endpoint": class.endpoint(),
        "join_started_ms": join_started_ms, "t_ms": record::now_ms(),
    }));
    let joined_at = tokio::time::Instant::now();
    if share_plan.as_ref().is_some_and(|p| p.sharing_since.is_some()) {
        record::print_json(&serde_json::json!({"event": "sharing_started", "t_ms": record::now_ms()}));
    }
    let deadline = async {
        match args.duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    // Registered once, before the loop, so a signal between two events is not missed.
    let stop = stop_signal();
    tokio::pin!(stop);
    let mut exit = ExitCode::SUCCESS;
    loop {
        let share_due = share_plan.as_ref().and_then(|p| p.next_due(joined_at));
        let share_step = async {
            match share_due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = share_step => {
                if let Some(plan) = share_plan.as_mut() {
                    plan.step(&class).await;
                }
            }
            event = events.recv() => match event {
                Some(event) => {
                    recorder.on_event(&event);
                    if let (ClassEvent::SharingEnded { .. }, Some(plan)) = (&event, share_plan.as_mut()) {
                        // Nothing left to stop later.
                        plan.sharing_since = None;
                        plan.share_for = None;
                    }
                    if let ClassEvent::ConnectionLost { .. } = event {
                        exit = ExitCode::from(EXIT_CONNECTION_LOST);
                        break;
                    }
                }
                None => break,
            },
            () = &mut deadline => {
                class.leave().await;
                break;
            }
            () = &mut stop => {
                class.leave().await;
                break;
            }
        }
    }
    // Print what remains (e.g. `left`) before the totals.
    while let Ok(event) = events.try_recv() {
        recorder.on_event(&event);
    }
    recorder.finish()?;
    if let Some(speaker) = speaker {
        record::print_json(&serde_json::json!({"playback": speaker.stats()}));
    }
    if let Some(capture) = capture {
        record::print_json(&serde_json::json!({"capture": capture.snapshot()}));
    }
    Ok(exit)
}

/// Says on stdout and stderr that joining failed, and why, for a person.
fn join_failed(error: &str, message: &UserMessage) -> ExitCode {
    record::print_json(&serde_json::json!({"event": "join_failed", "error": error, "message": message}));
    eprintln!("error: {error}\n  {}\n  {}", message.en, message.fr);
    ExitCode::from(EXIT_JOIN_FAILED)
}

/// The system's certificate authorities, plus those of `--ca-cert`.
fn trust(ca_certs: &[PathBuf]) -> Result<TlsTrust, estrade_net::TrustError> {
    ca_certs.iter().try_fold(TlsTrust::system(), |trust, path| trust.with_ca_file(path))
}

enum ClassNotFound {
    Invite(InviteError),
    Discovery(DiscoveryError),
}

/// Reads `--server` (and `--room`) and finds the class's servers: a class
/// link or a domain is looked up in the school's discovery document.
/// Also returns where to ask for the servers again before a rejoin.
async fn find_class(args: &JoinArgs, trust: &TlsTrust) -> Result<(ClassInvite, ClassServers, Option<Arc<dyn ServerDirectory>>), ClassNotFound> {
    let (server, named) = ClassInvite::parse_class_or_server(&args.server).map_err(ClassNotFound::Invite)?;
    let room = match (named, args.room) {
        (Some(named), Some(room)) if named != room => {
            return Err(ClassNotFound::Invite(InviteError::Malformed {
                reason: format!("--room {room} differs from the class the link names ({named})"),
            }))
        }
        (Some(room), _) | (None, Some(room)) => room,
        (None, None) => {
            return Err(ClassNotFound::Invite(InviteError::Malformed { reason: "--room is needed when --server names no class".into() }))
        }
    };
    let invite = ClassInvite { server, room };
    let discovery = DiscoveryClient::new(trust, args.config_dir.clone());
    let servers = discovery.servers_for(&invite.server, &mut rand::rngs::StdRng::from_entropy()).await.map_err(ClassNotFound::Discovery)?;
    if let Some(resolved) = &servers.document {
        let mut event = serde_json::json!({
            "event": "discovery", "domain": invite.server.as_str(), "endpoints": servers.endpoints, "t_ms": record::now_ms(),
        });
        match &resolved.source {
            Source::Fetched => event["source"] = "fetched".into(),
            Source::Cached => event["source"] = "cached".into(),
            Source::Stale { age, because } => {
                event["source"] = "stale".into();
                event["age_s"] = age.as_secs().into();
                event["reason"] = because.to_string().into();
                let message = estrade_core::discovery::stale_notice(invite.server.as_str(), *age);
                eprintln!("warning: {}\n  {}", message.en, message.fr);
                event["message"] = serde_json::to_value(message).expect("plain data");
            }
        }
        record::print_json(&event);
    }
    let directory = discovery.directory(&invite.server);
    Ok((invite, servers, directory))
}

/// Ctrl-C, or SIGTERM from a script.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
