//! The class as the desktop app holds it: joining (link, PIN, keychain,
//! remembered settings), the microphone and camera switches, and the routing
//! of everyone's decoded media to the screen. No Tauri here: the shell passes
//! in where events, levels and frames go.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use estrade_core::link::Connector;
use estrade_core::peer::{LocalMedia, PeerFactory, RemoteMediaSink};
use estrade_core::{ClassEvent, ClassHandle, ClassInvite, JoinOptions, Participant, VideoFeed};
use estrade_media::pattern::TestPattern;
use estrade_devices::{Camera, Microphone, MicrophoneLevel, Speaker};
use estrade_media::voice::SharedVoiceProcessor;
use estrade_media::{MediaSwitch, SwitchedAudio, SwitchedVideo, ToneSource, VideoFrame};
use estrade_net::{DiscoveryClient, Source, TlsTrust};
use rand::SeedableRng;
use estrade_secrets::{CredentialStore, SecretError, SecretKey, Sensitive};
use tokio::sync::mpsc;

use crate::dto::{AppError, AudioChoice, ErrorCode, JoinRequest, Joined, Message, Settings, SpeakerLevel, VideoChoice};
use crate::video::VideoRouter;

/// The self-view's tile key.
pub const SELF_TILE: &str = "me";

/// The tile a participant's picture goes to: their id for the camera,
/// `<id>:screen` for their screen share.
pub fn tile_key(from: &Participant, feed: VideoFeed) -> String {
    match feed {
        VideoFeed::Camera => from.id.to_string(),
        VideoFeed::Screen => format!("{}:screen", from.id),
    }
}
const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// A meter reading from an RMS level (0..1): -60 dBFS and below is 0, full scale is 1.
pub fn meter(rms: f32) -> f32 {
    if rms > 0.0 {
        ((20.0 * rms.log10() + 60.0) / 60.0).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How loud each participant is, smoothed for the spotlight.
#[derive(Debug, Default)]
pub struct Levels(Mutex<HashMap<String, f32>>);

impl Levels {
    /// Folds in 20 ms of someone's audio: fast attack, slow release.
    pub fn update(&self, key: &str, pcm: &[i16]) {
        if pcm.is_empty() {
            return;
        }
        let energy = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / pcm.len() as f64;
        let level = meter((energy.sqrt() / f64::from(i16::MAX)) as f32);
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let old = map.entry(key.to_owned()).or_insert(0.0);
        *old = if level > *old { level } else { *old * 0.9 + level * 0.1 };
    }

    /// Forgets everyone (the class ended).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    pub fn snapshot(&self) -> Vec<SpeakerLevel> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = map.iter().map(|(k, v)| SpeakerLevel { participant: k.clone(), level: *v }).collect();
        out.sort_by(|a, b| a.participant.cmp(&b.participant));
        out
    }
}

/// Everyone's decoded media, to the screen, the level meters and the speakers.
#[derive(Debug)]
struct ScreenSink {
    video: VideoRouter,
    levels: Arc<Levels>,
    speaker: Option<Arc<Speaker>>,
}

impl RemoteMediaSink for ScreenSink {
    fn audio(&self, from: &Participant, pcm: &[i16]) {
        self.levels.update(&from.id.to_string(), pcm);
        if let Some(speaker) = &self.speaker {
            speaker.audio(from, pcm);
        }
    }

    fn video(&self, from: &Participant, feed: VideoFeed, frame: &VideoFrame) {
        self.video.offer(&tile_key(from, feed), frame);
    }
}

/// A class we are in.
#[derive(Debug)]
pub struct ActiveClass {
    pub handle: ClassHandle,
    pub microphone: MediaSwitch,
    pub camera: MediaSwitch,
    /// Echo cancellation and the rest, switchable during the class.
    pub voice: SharedVoiceProcessor,
    /// How loud our own microphone is, when we send one.
    pub microphone_level: Option<MicrophoneLevel>,
    /// Counts classes, so a late event of an old class never ends a new one.
    pub generation: u32,
}

/// The class's life in the app, with one owner (`AppState::class`): no
/// class, a join under way (which the person may cancel), or a class we are
/// in, connected or getting itself back (its events say which). The lock on
/// it is held only to look or to change state, never across a join, so a
/// cancel, a leave or a window closing is never stuck behind one.
#[derive(Debug, Default)]
pub enum ClassLife {
    /// No class.
    #[default]
    Idle,
    /// Joining; sending on `cancel` (or dropping it) abandons the join.
    Joining {
        /// Which join.
        generation: u32,
        /// Abandons it.
        cancel: tokio::sync::oneshot::Sender<()>,
    },
    /// In class.
    InClass(ActiveClass),
}

impl ClassLife {
    /// The class we are in, if any.
    pub fn in_class(&self) -> Option<&ActiveClass> {
        match self {
            ClassLife::InClass(class) => Some(class),
            _ => None,
        }
    }

    /// Back to no class: a join under way is abandoned; the class we were
    /// in, if any, is returned for leaving.
    pub fn end(&mut self) -> Option<ActiveClass> {
        match std::mem::take(self) {
            ClassLife::InClass(class) => Some(class),
            ClassLife::Joining { cancel, .. } => {
                let _ = cancel.send(());
                None
            }
            ClassLife::Idle => None,
        }
    }
}

/// How long a keychain call may take: it may be showing an unlock prompt.
const KEYCHAIN_PATIENCE: Duration = Duration::from_secs(30);

/// Runs a keychain call off the async runtime (it blocks on D-Bus, and may wait
/// for the user to answer an unlock prompt), giving up after a while.
async fn keychain<T: Send + 'static>(
    store: &Arc<dyn CredentialStore>,
    call: impl FnOnce(&dyn CredentialStore) -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    let store = Arc::clone(store);
    let task = tokio::task::spawn_blocking(move || call(store.as_ref()));
    match tokio::time::timeout(KEYCHAIN_PATIENCE, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(SecretError::Failed(format!("keychain call failed: {e}"))),
        Err(_) => Err(SecretError::Locked("no answer from the keychain (an unlock prompt left open?)".into())),
    }
}

/// Where the PIN for this join comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum PinSource {
    Typed,
    Keychain,
    None,
}

/// The PIN to use: the typed one, else the one kept for this class.
pub async fn resolve_pin(typed: Option<&str>, store: &Arc<dyn CredentialStore>, key: &SecretKey) -> (Option<Sensitive<String>>, PinSource) {
    if let Some(pin) = typed.map(str::trim).filter(|p| !p.is_empty()) {
        return (Some(Sensitive(pin.to_owned())), PinSource::Typed);
    }
    let key = key.clone();
    match keychain(store, move |s| s.get(&key)).await {
        Ok(Some(pin)) => (Some(pin), PinSource::Keychain),
        Ok(None) => (None, PinSource::None),
        Err(e) => {
            tracing::info!(error = %e, "no PIN from the keychain");
            (None, PinSource::None)
        }
    }
}

/// What to tell the user when the keychain would not keep the PIN.
pub fn pin_not_saved(e: &SecretError) -> Message {
    match e {
        SecretError::Locked(_) => Message::new(
            "Le code PIN n'a pas été enregistré : le trousseau de clés de l'ordinateur est verrouillé ou n'est pas configuré. Déverrouillez-le (ou configurez-le) pour qu'Estrade s'en souvienne ; vous pouvez continuer sans.",
            "The PIN was not saved: this computer's keychain is locked or not set up. Unlock it (or set it up) for Estrade to remember the PIN; you can carry on without.",
        ),
        SecretError::Unavailable(_) => Message::new(
            "Le code PIN n'a pas été enregistré : aucun trousseau de clés n'est disponible ou prêt sur cet ordinateur. Il faudra le saisir à chaque fois.",
            "The PIN was not saved: no keychain is available or set up on this computer. You will need to type it each time.",
        ),
        _ => Message::new(
            "Le code PIN n'a pas été enregistré : le trousseau de clés a refusé. Il faudra le saisir la prochaine fois.",
            "The PIN was not saved: the keychain refused. You will need to type it next time.",
        ),
    }
}

/// Everything a join needs from the outside.
pub struct JoinContext {
    pub connector: Arc<dyn Connector>,
    /// The certificate authorities trusted (the system's, plus `--ca-cert`).
    pub trust: TlsTrust,
    /// Finds a school's servers (its discovery document, kept in the config folder).
    pub discovery: DiscoveryClient,
    pub peers: Arc<dyn PeerFactory>,
    pub secrets: Arc<dyn CredentialStore>,
    pub video: VideoRouter,
    pub levels: Arc<Levels>,
    /// How long a lost class is tried for (`--give-up-after`).
    pub give_up_after: Duration,
}

impl std::fmt::Debug for JoinContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinContext").field("secrets", &self.secrets).finish()
    }
}

/// A successful join: the class, its events, and the answer for the UI.
#[derive(Debug)]
pub struct JoinOutcome {
    pub class: ActiveClass,
    pub events: mpsc::UnboundedReceiver<ClassEvent>,
    pub joined: Joined,
}

/// Where device notices go: the class view shows them.
pub type Notices = Arc<dyn Fn(Message) + Send + Sync>;

/// What "Test my connection" looks at: the class `invite` names (a bare code
/// at the school of the settings), or the school itself when nothing is typed.
pub fn connection_test_target(invite: &str, school: &str) -> String {
    let school = Some(school).filter(|s| !s.trim().is_empty());
    match ClassInvite::parse(invite, school) {
        Ok(found) => found.link(),
        Err(_) if invite.trim().is_empty() => school.unwrap_or_default().trim().to_owned(),
        Err(_) => invite.trim().to_owned(),
    }
}

/// Opens the devices the settings name, off the async runtime (sound servers
/// answer over sockets). A device that will not open is told, not fatal.
async fn open_devices(settings: &Settings, voice: &SharedVoiceProcessor, camera: &MediaSwitch, notices: &Notices) -> Devices {
    let (settings, voice, camera_switch, notices) = (settings.clone(), voice.clone(), camera.clone(), Arc::clone(notices));
    let opened = tokio::task::spawn_blocking(move || {
        let device_notices: estrade_devices::Notify = {
            let notices = Arc::clone(&notices);
            Arc::new(move |n: estrade_devices::DeviceNotice| notices(n.user_message().into()))
        };
        let microphone = match settings.audio {
            AudioChoice::Microphone => Microphone::open(settings.microphone.as_deref(), Some(voice.clone()), Arc::clone(&device_notices))
                .map_err(|e| {
                    tracing::warn!(error = %e, "no microphone");
                    notices(e.user_message().into());
                })
                .ok(),
            _ => None,
        };
        let speaker = Speaker::open(settings.speakers.as_deref(), Some(voice), Arc::clone(&device_notices))
            .map_err(|e| {
                tracing::warn!(error = %e, "no speakers");
                notices(e.user_message().into());
            })
            .ok()
            .map(Arc::new);
        let camera = match settings.video {
            VideoChoice::Camera => Camera::open(settings.camera.as_deref(), camera_switch, Arc::clone(&device_notices))
                .map_err(|e| {
                    tracing::warn!(error = %e, "no camera");
                    let said: Message = e.user_message().into();
                    notices(Message::new(
                        format!("{} Estrade envoie la mire de test à la place.", said.fr),
                        format!("{} Estrade sends the test pattern instead.", said.en),
                    ));
                })
                .ok(),
            _ => None,
        };
        Devices { microphone, speaker, camera }
    });
    opened.await.unwrap_or(Devices { microphone: None, speaker: None, camera: None })
}

/// The devices a class uses; each is missing when it would not open.
struct Devices {
    microphone: Option<Microphone>,
    speaker: Option<Arc<Speaker>>,
    camera: Option<Camera>,
}

/// Joins the class `request` names, with `settings` for the server and media.
/// Device problems go to `notices`; the class goes on without that device.
pub async fn join(ctx: &JoinContext, settings: &Settings, request: JoinRequest, generation: u32, notices: Notices) -> Result<JoinOutcome, AppError> {
    let default_server = Some(settings.server.as_str()).filter(|s| !s.trim().is_empty());
    let invite = ClassInvite::parse(&request.invite, default_server)?;
    let name = request.name.trim().to_owned();
    if name.is_empty() {
        return Err(AppError::new(
            ErrorCode::NoName,
            "Saisissez votre nom : c'est celui que la classe verra.",
            "Enter your name: it is what the class will see.",
        ));
    }
    let key = SecretKey { server: invite.server.to_string(), room: invite.room };
    let (pin, pin_source) = resolve_pin(request.pin.as_deref(), &ctx.secrets, &key).await;

    let microphone = MediaSwitch::new(true);
    let camera = MediaSwitch::new(true);
    let voice = SharedVoiceProcessor::start(settings.voice.into());
    let Devices { microphone: device, speaker, camera: camera_device } = open_devices(settings, &voice, &camera, &notices).await;
    let microphone_level = device.as_ref().map(Microphone::level);
    let audio: Option<Box<dyn estrade_media::AudioSource>> = match (settings.audio, device) {
        (AudioChoice::Microphone, Some(device)) => Some(Box::new(SwitchedAudio::new(Box::new(device), microphone.clone()))),
        (AudioChoice::Tone, _) => Some(Box::new(SwitchedAudio::new(Box::new(ToneSource::new(440.0)), microphone.clone()))),
        _ => None,
    };
    let picture: Option<Box<dyn estrade_media::VideoSource>> = match (settings.video, camera_device) {
        (VideoChoice::Camera, Some(device)) => Some(Box::new(device)),
        // No camera (or the pattern chosen): the test pattern.
        (VideoChoice::Camera | VideoChoice::Pattern, _) => Some(Box::new(TestPattern::new(640, 360, 15))),
        (VideoChoice::None, _) => None,
    };
    let video: Option<Box<dyn estrade_media::VideoSource>> = picture.map(|source| {
        let router = ctx.video.clone();
        let tap = Box::new(move |f: &VideoFrame| router.offer(SELF_TILE, f));
        Box::new(SwitchedVideo::new(source, camera.clone(), Some(tap))) as Box<dyn estrade_media::VideoSource>
    });
    let (has_audio, has_video) = (audio.is_some(), video.is_some());
    let servers = ctx.discovery.servers_for(&invite.server, &mut rand::rngs::StdRng::from_entropy()).await?;
    if let Some(Source::Stale { age, .. }) = servers.document.as_ref().map(|d| &d.source) {
        notices(estrade_core::discovery::stale_notice(invite.server.as_str(), *age).into());
    }
    let options = JoinOptions {
        servers: servers.endpoints,
        directory: ctx.discovery.directory(&invite.server),
        room: invite.room,
        name: name.clone(),
        pin: pin.as_ref().map(|p| p.expose().clone()),
        connect_timeout: CONNECT_TIMEOUT,
        give_up_after: ctx.give_up_after,
    };
    let sink = Arc::new(ScreenSink { video: ctx.video.clone(), levels: Arc::clone(&ctx.levels), speaker });
    let joined = estrade_core::join(options, Arc::clone(&ctx.connector), Arc::clone(&ctx.peers), LocalMedia { audio, video, screen: None }, sink).await;
    let (handle, events) = match joined {
        Ok(ok) => ok,
        Err(e) => {
            if matches!(e, estrade_core::JoinError::WrongPin { .. }) && pin_source == PinSource::Keychain {
                // A kept PIN that no longer works would fail every time: forget it.
                let key = key.clone();
                let _ = keychain(&ctx.secrets, move |s| s.delete(&key)).await;
            }
            return Err(e.into());
        }
    };

    let mut pin_notice = None;
    match (pin_source, &pin) {
        (PinSource::Typed, Some(pin)) if request.remember_pin => {
            let (key, pin) = (key.clone(), pin.clone());
            if let Err(e) = keychain(&ctx.secrets, move |s| s.set(&key, &pin)).await {
                tracing::warn!(error = %e, "PIN not kept");
                pin_notice = Some(pin_not_saved(&e));
            }
        }
        (PinSource::Typed, _) if !request.remember_pin => {
            let key = key.clone();
            let _ = keychain(&ctx.secrets, move |s| s.delete(&key)).await;
        }
        _ => {}
    }
    let me = (&handle.me()).into();
    Ok(JoinOutcome {
        class: ActiveClass { handle, microphone, camera, voice, microphone_level, generation },
        events,
        joined: Joined {
            class: generation,
            me,
            room: invite.room.to_string(),
            server: invite.server.to_string(),
            microphone: has_audio,
            camera: has_video,
            pin_notice,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use estrade_secrets::MemoryStore;

    #[tokio::test]
    async fn typed_pin_wins_then_the_keychain() {
        let store: Arc<dyn CredentialStore> = Arc::new(MemoryStore::default());
        let key = SecretKey { server: "wss://a".into(), room: 1 };
        assert_eq!(resolve_pin(Some("  "), &store, &key).await, (None, PinSource::None));
        store.set(&key, &Sensitive("1111".into())).unwrap();
        assert_eq!(resolve_pin(None, &store, &key).await, (Some(Sensitive("1111".into())), PinSource::Keychain));
        assert_eq!(resolve_pin(Some(" 2468 "), &store, &key).await, (Some(Sensitive("2468".into())), PinSource::Typed));
    }

    #[test]
    fn the_connection_test_looks_at_the_class_or_else_the_school() {
        assert_eq!(connection_test_target("1234", "ecole.test"), "https://ecole.test/classe/1234");
        assert_eq!(connection_test_target(" ", "ecole.test"), "ecole.test");
        assert_eq!(connection_test_target("https://autre.test/classe/7", "ecole.test"), "https://autre.test/classe/7");
        assert_eq!(connection_test_target("n'importe quoi", "ecole.test"), "n'importe quoi", "the test says what is wrong with it");
    }

    #[test]
    fn levels_rise_fast_and_fall_slowly() {
        let levels = Levels::default();
        levels.update("1", &[16000; 960]);
        let loud = levels.snapshot()[0].level;
        assert!(loud > 0.8, "{loud}");
        levels.update("1", &[0; 960]);
        let after = levels.snapshot()[0].level;
        assert!(after < loud && after > 0.5 * loud, "{after}");
        levels.forget("1");
        assert!(levels.snapshot().is_empty());
    }
}
