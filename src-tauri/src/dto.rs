//! What crosses the IPC boundary. Every type here derives `specta::Type`, and
//! `ui/src/bindings.ts` is generated from them (a test fails when it drifts).
//! Participant ids travel as strings: JavaScript numbers cannot hold every u64.

use estrade_core::discovery::DiscoveryError;
use estrade_core::{ClassEvent, InviteError, JoinError, MediaKind, Participant, ShareError, UserMessage};
use serde::{Deserialize, Serialize};
use specta::Type;

/// A sentence for a person, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Message {
    /// Français.
    pub fr: String,
    /// English.
    pub en: String,
}

impl From<UserMessage> for Message {
    fn from(m: UserMessage) -> Self {
        Self { fr: m.fr, en: m.en }
    }
}

impl Message {
    pub fn new(fr: impl Into<String>, en: impl Into<String>) -> Self {
        Self { fr: fr.into(), en: en.into() }
    }
}

/// What kind of failure, for the UI to choose how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unreachable,
    BadAddress,
    BadInvite,
    NoName,
    NoSuchClass,
    WrongPin,
    ClassFull,
    Refused,
    TimedOut,
    ConnectionLost,
    Media,
    AlreadyInClass,
    NotInClass,
    /// The person cancelled the join.
    Cancelled,
    Settings,
    Device,
    ScreenShare,
    /// The school's discovery document could not be had (its host, its
    /// certificate, or its content).
    Discovery,
}

/// Every command error: a typed code and a message to show as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, thiserror::Error)]
#[error("{code:?}: {}", message.en)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: Message,
}

impl AppError {
    pub fn new(code: ErrorCode, fr: impl Into<String>, en: impl Into<String>) -> Self {
        Self { code, message: Message::new(fr, en) }
    }
}

impl From<JoinError> for AppError {
    fn from(e: JoinError) -> Self {
        let code = match &e {
            JoinError::Unreachable { .. } | JoinError::NotListening { .. } => ErrorCode::Unreachable,
            JoinError::BadAddress { .. } => ErrorCode::BadAddress,
            JoinError::NoSuchClass { .. } => ErrorCode::NoSuchClass,
            JoinError::WrongPin { .. } => ErrorCode::WrongPin,
            JoinError::ClassFull { .. } => ErrorCode::ClassFull,
            JoinError::TimedOut(_) => ErrorCode::TimedOut,
            JoinError::ConnectionLost { .. } => ErrorCode::ConnectionLost,
            JoinError::Media { .. } => ErrorCode::Media,
            JoinError::Discovery(_) => ErrorCode::Discovery,
            _ => ErrorCode::Refused,
        };
        Self { code, message: e.user_message().into() }
    }
}

impl From<DiscoveryError> for AppError {
    fn from(e: DiscoveryError) -> Self {
        Self { code: ErrorCode::Discovery, message: e.user_message().into() }
    }
}

impl From<ShareError> for AppError {
    fn from(e: ShareError) -> Self {
        Self { code: ErrorCode::ScreenShare, message: e.user_message().into() }
    }
}

impl From<InviteError> for AppError {
    fn from(e: InviteError) -> Self {
        Self { code: ErrorCode::BadInvite, message: e.user_message().into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Fr,
    En,
}

/// What the app sends as its sound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum AudioChoice {
    /// The chosen microphone (or the default one).
    #[default]
    Microphone,
    /// A steady 440 Hz tone (for trying Estrade without a microphone).
    Tone,
    /// Nothing.
    None,
}

/// Which parts of the voice processing are on. All on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", default)]
pub struct Voice {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub auto_gain: bool,
}

impl Default for Voice {
    fn default() -> Self {
        Self { echo_cancellation: true, noise_suppression: true, auto_gain: true }
    }
}

impl From<Voice> for estrade_media::voice::VoiceSettings {
    fn from(v: Voice) -> Self {
        Self { echo_cancellation: v.echo_cancellation, noise_suppression: v.noise_suppression, auto_gain: v.auto_gain }
    }
}

/// One device, for the pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// What to remember to choose it again.
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

/// A screen or window that can be shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ShareTarget {
    /// What to share it by: `screen:ID` or `window:ID`.
    pub id: String,
    /// A monitor's name, or a window's title and application.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The primary monitor.
    pub is_default: bool,
}

/// What can be shared now: the monitors, then the visible windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct ShareTargets {
    pub monitors: Vec<ShareTarget>,
    pub windows: Vec<ShareTarget>,
}

/// The devices of this computer, now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct DeviceList {
    pub microphones: Vec<DeviceInfo>,
    pub speakers: Vec<DeviceInfo>,
    pub cameras: Vec<DeviceInfo>,
}

/// What the app sends as its picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
#[serde(rename_all = "lowercase")]
pub enum VideoChoice {
    /// The chosen camera (or the first one); the test pattern if there is none.
    #[default]
    Camera,
    /// The moving test pattern.
    Pattern,
    /// Nothing.
    None,
}

/// What the app remembers between runs. Never a secret: PINs live in the keychain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// The school's classroom server.
    pub server: String,
    /// The name others see.
    pub name: String,
    /// The chosen language; None follows the system.
    pub language: Option<Language>,
    pub audio: AudioChoice,
    pub video: VideoChoice,
    /// The microphone, speakers and camera chosen on this computer (None: the system's default).
    pub microphone: Option<String>,
    pub speakers: Option<String>,
    pub camera: Option<String>,
    pub voice: Voice,
}

/// Everything the UI needs to draw its first screen.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Startup {
    pub settings: Settings,
    /// No settings were ever saved: show the first-run screen.
    pub first_run: bool,
    /// French when the system locale is French, English otherwise.
    pub system_language: Language,
    /// Something to tell the user before anything else (a damaged settings file).
    pub notice: Option<Message>,
    /// Join this class at once (the demo, or a link the app was opened with).
    pub auto_join: Option<JoinRequest>,
}

/// A request to join a class.
#[derive(Clone, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    /// A class link or a bare class code.
    pub invite: String,
    pub name: String,
    /// Empty or absent: use the PIN kept in the keychain for this class, if any.
    pub pin: Option<String>,
    /// Keep the typed PIN in the OS keychain after a successful join.
    pub remember_pin: bool,
}

impl std::fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest")
            .field("invite", &self.invite)
            .field("name", &self.name)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("remember_pin", &self.remember_pin)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ParticipantInfo {
    pub id: String,
    pub name: String,
}

impl From<&Participant> for ParticipantInfo {
    fn from(p: &Participant) -> Self {
        Self { id: p.id.to_string(), name: p.name.clone() }
    }
}

/// We are in the class.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    /// This class session's number: its `ClassChanged` events carry it.
    pub class: u32,
    pub me: ParticipantInfo,
    pub room: String,
    pub server: String,
    pub microphone: bool,
    pub camera: bool,
    /// Said when the PIN could not be kept (keychain locked or absent).
    pub pin_notice: Option<Message>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Audio,
    Video,
    /// A screen share's picture.
    Screen,
}

impl From<MediaKind> for Media {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Audio => Media::Audio,
            MediaKind::Video => Media::Video,
            MediaKind::Screen => Media::Screen,
        }
    }
}

/// A change in a class session, in order. `class` tells which session: an
/// event of a class already left must not touch the next one.
#[derive(Debug, Clone, Serialize, Deserialize, Type, tauri_specta::Event)]
pub struct ClassChanged {
    pub class: u32,
    pub update: ClassUpdate,
}

/// What changed.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClassUpdate {
    ParticipantJoined { participant: ParticipantInfo },
    ParticipantLeft { participant: ParticipantInfo },
    /// Our own sound and picture reach the server.
    Publishing,
    MediaFlowing { participant: ParticipantInfo, media: Media },
    /// Someone started sharing their screen: its picture goes to tile `<id>:screen`.
    ScreenShareStarted { participant: ParticipantInfo },
    /// Someone's screen share ended: its tile goes away.
    ScreenShareStopped { participant: ParticipantInfo },
    /// Our own screen share stopped by itself (the shared window was closed).
    SharingEnded { message: Message },
    /// Media with one participant (None: our own) failed; the class goes on.
    MediaFailed { participant: Option<ParticipantInfo>, message: Message },
    /// The link to the server broke and the class is being brought back by
    /// itself: the view stays, with a banner.
    Reconnecting { attempt: u32 },
    /// The class is back after `Reconnecting`.
    Reconnected,
    /// The connection to the server is gone; the class view says so.
    ConnectionLost { message: Message },
    /// A device failed, went away, or came back; the class goes on.
    Device { message: Message },
    /// We left.
    Left,
}

impl ClassUpdate {
    /// The UI's view of a core event; warnings stay in the log.
    pub fn from_event(event: &ClassEvent) -> Option<Self> {
        Some(match event {
            ClassEvent::ParticipantJoined { participant } => Self::ParticipantJoined { participant: participant.into() },
            ClassEvent::ParticipantLeft { participant } => Self::ParticipantLeft { participant: participant.into() },
            ClassEvent::Publishing => Self::Publishing,
            ClassEvent::MediaFlowing { participant, kind, .. } => {
                Self::MediaFlowing { participant: participant.into(), media: (*kind).into() }
            }
            ClassEvent::ScreenShareStarted { participant } => Self::ScreenShareStarted { participant: participant.into() },
            ClassEvent::ScreenShareStopped { participant } => Self::ScreenShareStopped { participant: participant.into() },
            ClassEvent::SharingEnded { .. } => Self::SharingEnded {
                message: Message::new(
                    "Votre partage d'écran s'est arrêté : la fenêtre partagée a été fermée. Partagez-en une autre si besoin.",
                    "Your screen share stopped: the shared window was closed. Share another one if you need to.",
                ),
            },
            ClassEvent::MediaFailed { participant, .. } => Self::MediaFailed {
                participant: participant.as_ref().map(Into::into),
                message: match participant {
                    Some(p) => Message::new(
                        format!("La vidéo ou le son de {} ne passe pas. La classe continue.", p.name),
                        format!("Sound or video from {} is not getting through. The class goes on.", p.name),
                    ),
                    None => Message::new(
                        "Votre son et votre image ne passent pas. Vérifiez votre connexion ; la classe continue.",
                        "Your sound and picture are not getting through. Check your connection; the class goes on.",
                    ),
                },
            },
            ClassEvent::Reconnecting { attempt, .. } => Self::Reconnecting { attempt: *attempt },
            ClassEvent::Reconnected { .. } => Self::Reconnected,
            ClassEvent::ConnectionLost { reason } => Self::ConnectionLost { message: reason.user_message().into() },
            ClassEvent::Left => Self::Left,
            _ => return None,
        })
    }
}

/// What a connection test looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckStep {
    Link,
    Name,
    Tls,
    Discovery,
    Signaling,
    Devices,
}

/// How one check of a connection test went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CheckVerdict {
    Ok,
    Warn,
    Fail,
}

/// One result of "Test my connection", in the order checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct ConnectionCheck {
    pub step: CheckStep,
    pub verdict: CheckVerdict,
    /// The host or server checked (empty for the link and the devices).
    pub target: String,
    /// One sentence, with what to try next when it failed.
    pub message: Message,
}

impl From<&estrade_net::diagnose::Check> for ConnectionCheck {
    fn from(c: &estrade_net::diagnose::Check) -> Self {
        use estrade_net::diagnose::{Step, Verdict};
        let step = match c.step {
            Step::Link => CheckStep::Link,
            Step::Name => CheckStep::Name,
            Step::Tls => CheckStep::Tls,
            Step::Discovery => CheckStep::Discovery,
            Step::Signaling => CheckStep::Signaling,
            Step::Devices => CheckStep::Devices,
        };
        let verdict = match c.verdict {
            Verdict::Ok => CheckVerdict::Ok,
            Verdict::Warn => CheckVerdict::Warn,
            Verdict::Fail => CheckVerdict::Fail,
        };
        Self { step, verdict, target: c.target.clone(), message: c.message.clone().into() }
    }
}

/// The size at which the UI shows a participant's picture. Only listed
/// participants get frames, scaled to fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct VideoTile {
    /// A participant id, or "me" for the self-view.
    pub participant: String,
    pub width: u32,
    pub height: u32,
}

/// How loud someone is right now, 0 to 1, for the active-speaker spotlight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct SpeakerLevel {
    pub participant: String,
    pub level: f32,
}
