//! What a class is made of, as the UI and the CLI see it.

use std::time::Duration;

use serde::Serialize;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
    /// The WebSocket dropped while Janus kept our session: a new WebSocket
    /// claims it back, with every handle and peer connection as it was.
    Claim,
}

/// How to join a class. Its `Debug` output never shows the PIN.
#[derive(Clone)]
pub struct JoinOptions {
    /// The signaling servers to try, in order (the discovery document's
    /// endpoints, ordered; or the one server a direct link names), e.g.
    /// `wss://janus-a.ecole.example.fr/janus`. One that cannot be reached or
    /// does not answer is skipped for the next.
    pub servers: Vec<String>,
    /// The class (VideoRoom) number.
    pub room: u64,
    /// The name others will see.
    pub name: String,
    /// The class PIN, if it has one.
    pub pin: Option<String>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for JoinOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinOptions")
            .field("servers", &self.servers)
            .field("room", &self.room)
            .field("name", &self.name)
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
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
    },
    /// The connection to the server is gone, and retrying did not help (or cannot).
    ConnectionLost {
        /// Why.
        reason: String,
    },
    /// We left the class on request.
    Left,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
