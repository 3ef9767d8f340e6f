//! Peer connections, as the driver needs them. `estrade-rtc` implements these
//! traits over webrtc-rs.

use std::sync::Arc;

use async_trait::async_trait;
use estrade_media::{AudioSource, VideoFrame, VideoSource};
use tokio::sync::mpsc;

use crate::{MediaKind, Participant, VideoFeed};

/// A peer connection failed to set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeerError(pub String);

/// Which connection an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerRole {
    /// Our own publication.
    Publisher,
    /// Our subscription to someone's sound and camera.
    Subscriber(Participant),
    /// Our subscription to someone's screen share.
    ScreenShare(Participant),
}

impl PeerRole {
    /// The subscription for `feed` of `from`.
    pub fn receiving(from: Participant, feed: VideoFeed) -> Self {
        match feed {
            VideoFeed::Camera => PeerRole::Subscriber(from),
            VideoFeed::Screen => PeerRole::ScreenShare(from),
        }
    }

    /// Whose feed a subscription receives ([`PeerRole::receiving`] reversed);
    /// `None` for our publication.
    pub fn received(&self) -> Option<(&Participant, VideoFeed)> {
        match self {
            PeerRole::Subscriber(from) => Some((from, VideoFeed::Camera)),
            PeerRole::ScreenShare(from) => Some((from, VideoFeed::Screen)),
            PeerRole::Publisher => None,
        }
    }
}

/// What a peer connection reports to the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEventKind {
    /// ICE and DTLS are up (at first, and again after a disconnection).
    Connected,
    /// Nothing has come through for a while (ICE disconnected): the path may
    /// come back by itself, or need an ICE restart.
    Disconnected,
    /// The first frame of this kind was decoded.
    FirstMedia(MediaKind),
    /// The connection failed or closed unexpectedly.
    Failed(String),
    /// A local source of this kind ended by itself (a shared window was
    /// closed); its stream sends nothing more.
    SourceEnded(MediaKind),
}

/// An event from a peer connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEvent {
    /// Which connection.
    pub role: PeerRole,
    /// What happened.
    pub kind: PeerEventKind,
}

/// Where peer connections send their events.
pub type PeerEvents = mpsc::UnboundedSender<PeerEvent>;

/// What we send.
#[derive(Default)]
pub struct LocalMedia {
    /// Our sound, if we send any.
    pub audio: Option<Box<dyn AudioSource>>,
    /// Our picture, if we send any.
    pub video: Option<Box<dyn VideoSource>>,
    /// Our shared screen, if we share it from the start (sent as a second
    /// picture, labelled as a screen share).
    pub screen: Option<Box<dyn VideoSource>>,
}

impl std::fmt::Debug for LocalMedia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalMedia")
            .field("audio", &self.audio.is_some())
            .field("video", &self.video.is_some())
            .field("screen", &self.screen.is_some())
            .finish()
    }
}

impl LocalMedia {
    /// Whether there is anything to send.
    pub fn is_empty(&self) -> bool {
        self.audio.is_none() && self.video.is_none() && self.screen.is_none()
    }
}

/// Receives everyone's decoded media. Called from media threads: keep it quick.
pub trait RemoteMediaSink: Send + Sync {
    /// Decoded 48 kHz mono audio from `from`.
    fn audio(&self, from: &Participant, pcm: &[i16]);
    /// A decoded picture from `from`'s camera or shared screen.
    fn video(&self, from: &Participant, feed: VideoFeed, frame: &VideoFrame);
}

/// A new offer for the server, after a change to what we publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renegotiation {
    /// The SDP offer.
    pub offer: String,
    /// The mid of the screen share's stream, while sharing (for its label).
    pub screen_mid: Option<String>,
}

/// Our publication's connection.
#[async_trait]
pub trait Publisher: Send {
    /// The SDP offer to send to the server.
    fn offer(&self) -> String;
    /// The mid of the screen share's stream in [`Publisher::offer`], if we share from the start.
    fn screen_mid(&self) -> Option<String>;
    /// Applies the server's answer; media starts flowing once connected.
    /// Also completes a [`Renegotiation`].
    async fn accept_answer(&mut self, sdp: String) -> Result<(), PeerError>;
    /// Starts sending `source` as our screen share, replacing any share
    /// under way. The share flows once the offer is answered.
    async fn share_screen(&mut self, source: Box<dyn VideoSource>) -> Result<Renegotiation, PeerError>;
    /// Stops sending the screen share at once; the offer tells the server.
    /// `None`: we were not sharing.
    async fn stop_screen_share(&mut self) -> Result<Option<Renegotiation>, PeerError>;
    /// Restarts ICE: an offer with fresh credentials, gathered again on
    /// fresh sockets (the network may have changed under us). Media flows
    /// again once the answer is applied ([`Publisher::accept_answer`]).
    async fn restart_ice(&mut self) -> Result<Renegotiation, PeerError>;
    /// Stops sending and closes the connection.
    async fn close(self: Box<Self>);
}

/// A subscription's connection.
#[async_trait]
pub trait Subscriber: Send {
    /// Answers a new offer from the server on the same subscription (an ICE
    /// restart: fresh credentials); returns the SDP answer.
    async fn accept_offer(&mut self, offer: String) -> Result<String, PeerError>;
    /// Stops receiving and closes the connection.
    async fn close(self: Box<Self>);
}

/// Makes peer connections.
#[async_trait]
pub trait PeerFactory: Send + Sync {
    /// A send-only connection for `media`, with its offer ready.
    async fn publisher(&self, media: LocalMedia, events: PeerEvents) -> Result<Box<dyn Publisher>, PeerError>;
    /// A receive-only connection answering the server's `offer` for `from`'s
    /// sound and camera, or their screen share (`feed`); returns it with the SDP answer.
    async fn subscriber(
        &self,
        from: Participant,
        feed: VideoFeed,
        offer: String,
        sink: Arc<dyn RemoteMediaSink>,
        events: PeerEvents,
    ) -> Result<(Box<dyn Subscriber>, String), PeerError>;
}
