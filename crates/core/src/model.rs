//! What a class is made of, as the UI and the CLI see it.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::discovery::ServerDirectory;

/// Janus's id for a participant in a room (also the id of their feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u64);

impl std::fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Someone in the class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Server id.
    pub id: ParticipantId,
    /// The name they joined with.
    pub name: String,
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Sound.
    Audio,
    /// Pictures (the camera, or a test pattern).
    Video,
    /// A shared screen or window, sent as a second picture.
    Screen,
}

/// Which of a participant's pictures: their camera or their shared screen.
/// A participant may send both at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoFeed {
    /// The camera (or whatever replaces it: a test pattern).
    Camera,
    /// A screen share, published as its own stream labelled "screen share".
    Screen,
}

/// How a broken connection is repaired, lightest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReconnectLevel {
    /// Media stopped getting through while the server link held: ICE is
    /// restarted on the same session and handles (fresh credentials, fresh
    /// local addresses), so we stay the same participant.
    IceRestart,
    /// The WebSocket dropped while Janus kept our session: a new WebSocket
    /// claims it back, with every handle and peer connection as it was.
    Claim,
    /// The session was gone (the server restarted or died): a new session on
    /// the first server that answers, then the class joined again, our media
    /// published again and everyone's received again.
    Rejoin,
}

/// Why the class ended for us without our leaving, and whether retrying helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Disconnect {
    /// No server could be reached again in time. Retrying later may help.
    #[error("the network or the server failed: {detail}")]
    Network {
        /// What failed last.
        detail: String,
    },
    /// The class no longer exists on the server (the teacher ended it).
    #[error("the class was closed on the server")]
    ClassEnded,
    /// The server would not let us back in (a PIN changed, a refusal).
    #[error("the server refused to let us back in: {detail}")]
    Refused {
        /// The server's reason.
        detail: String,
    },
}

impl Disconnect {
    /// Whether joining again later may work.
    pub fn retry_helps(&self) -> bool {
        matches!(self, Disconnect::Network { .. })
    }

    /// What to tell the person in class, in both languages: what happened,
    /// and what to do now.
    pub fn user_message(&self) -> crate::UserMessage {
        let (fr, en) = match self {
            Disconnect::Network { .. } => (
                "Estrade n'a pas pu retrouver la classe : le serveur ne répond plus. Vérifiez votre connexion à Internet, puis rejoignez la classe à nouveau ; si cela continue, prévenez l'enseignant.".to_owned(),
                "Estrade could not get back to the class: the server is not answering. Check your Internet connection, then join the class again; if it keeps happening, tell your teacher.".to_owned(),
            ),
            Disconnect::ClassEnded => (
                "Le cours est terminé.".to_owned(),
                "The class has ended.".to_owned(),
            ),
            Disconnect::Refused { detail } => (
                format!("Le serveur n'a pas voulu vous reprendre dans la classe ({detail}). Rejoignez-la à nouveau ; si cela continue, prévenez l'enseignant."),
                format!("The server would not let you back into the class ({detail}). Join it again; if it keeps happening, tell your teacher."),
            ),
        };
        crate::UserMessage { fr, en }
    }
}

impl Serialize for Disconnect {
    /// As its sentence: `connection_lost`'s `reason` stays a string.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How to join a class. Its `Debug` output never shows the PIN.
#[derive(Clone)]
pub struct JoinOptions {
    /// The signaling servers to try, in order (the discovery document's
    /// endpoints, ordered; or the one server a direct link names), e.g.
    /// `wss://janus-a.ecole.example.fr/janus`. One that cannot be reached or
    /// does not answer is skipped for the next.
    pub servers: Vec<String>,
    /// Where the servers are listed, asked again before each round of a
    /// rejoin (the school's discovery document). `None`: `servers` are the
    /// only ones (a direct link).
    pub directory: Option<Arc<dyn ServerDirectory>>,
    /// The class (VideoRoom) number.
    pub room: u64,
    /// The name others will see.
    pub name: String,
    /// The class PIN, if it has one.
    pub pin: Option<String>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Once in class, stop trying to get back after this long (a class cut
    /// off for longer is reported lost).
    pub give_up_after: Duration,
}

/// How long a class cut off keeps trying to get back, by default.
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(600);

impl std::fmt::Debug for JoinOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinOptions")
            .field("servers", &self.servers)
            .field("rediscovers", &self.directory.is_some())
            .field("room", &self.room)
            .field("name", &self.name)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("give_up_after", &self.give_up_after)
            .finish()
    }
}

/// Something that happened in the class. Events for one participant arrive
/// in order: `ParticipantJoined`, then `MediaFlowing`, then `ParticipantLeft`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClassEvent {
    /// Someone is in the class (already there when we joined, or just arrived).
    ParticipantJoined {
        /// Who.
        participant: Participant,
    },
    /// Someone left the class.
    ParticipantLeft {
        /// Who.
        participant: Participant,
    },
    /// Our own media reached the server.
    Publishing,
    /// The first audio or video of a participant was decoded.
    MediaFlowing {
        /// Whose.
        participant: Participant,
        /// Which.
        kind: MediaKind,
        /// From our subscription request to the first decoded frame.
        #[serde(serialize_with = "as_millis")]
        after: Duration,
    },
    /// Someone started sharing their screen (Janus announced the stream).
    ScreenShareStarted {
        /// Who.
        participant: Participant,
    },
    /// Someone stopped sharing their screen, or left while sharing.
    ScreenShareStopped {
        /// Who.
        participant: Participant,
    },
    /// Our own screen share stopped by itself: what we shared went away (a
    /// window was closed). The others were told, as for a stop.
    SharingEnded {
        /// Why.
        reason: String,
    },
    /// Media with one participant failed; the rest of the class carries on.
    MediaFailed {
        /// Whose (None: our own publication).
        participant: Option<Participant>,
        /// Why.
        reason: String,
    },
    /// The server sent something we could not use; it was ignored.
    Warning {
        /// What.
        message: String,
    },
    /// The link to the server broke; Estrade is getting the class back by
    /// itself. The class view stays; media may pause.
    Reconnecting {
        /// How: the lightest repair that can work.
        level: ReconnectLevel,
        /// 1 for the first try, then 2, 3…
        attempt: u32,
        /// The server being tried.
        endpoint: String,
    },
    /// The class is back after a [`ClassEvent::Reconnecting`].
    Reconnected {
        /// How it came back.
        level: ReconnectLevel,
        /// From the break to being back.
        #[serde(serialize_with = "as_millis", rename = "after_ms")]
        after: Duration,
        /// The server the class is on.
        endpoint: String,
        /// Ourselves now: the same after a claim, a new participant id after
        /// a rejoin.
        me: Participant,
    },
    /// The connection to the server is gone, and retrying did not help (or cannot).
    ConnectionLost {
        /// Why.
        reason: Disconnect,
    },
    /// We left the class on request.
    Left,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
