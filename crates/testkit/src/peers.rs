//! Peer connections that only record what they were asked to do, and a sink
//! that drops what it is given.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use estrade_core::peer::{LocalMedia, PeerError, PeerEvents, PeerFactory, Publisher, RemoteMediaSink, Renegotiation, Subscriber};
use estrade_core::{Participant, VideoFeed};
use estrade_media::{VideoFrame, VideoSource};

/// Peer connections that only record what they were asked to do.
#[derive(Debug, Default)]
pub struct RecordingPeers {
    /// Whose media was subscribed to, with the server's offer.
    pub subscribed: Mutex<Vec<(Participant, String)>>,
    /// The feed of each subscription, in order.
    pub feeds: Mutex<Vec<VideoFeed>>,
    /// Connections closed: the subscribed participant's name, or "publisher".
    pub closed: Mutex<Vec<String>>,
    /// Each publisher made: what it sends (sound, picture, screen).
    pub published: Mutex<Vec<(bool, bool, bool)>>,
    /// The server's answers given to publishers, in order.
    pub answers: Mutex<Vec<String>>,
    /// ICE restarts: "publisher", or the subscribed participant's name with the server's new offer.
    pub restarted: Mutex<Vec<String>>,
}

/// The offer of a [`FakePublisher`].
pub const PUBLISHER_OFFER: &str = "v=0 publisher-offer";

/// A publisher that offers a fixed SDP, renegotiates for a share with
/// another, and records the answers it is given.
#[derive(Debug)]
pub struct FakePublisher {
    /// Where it records.
    pub peers: Arc<RecordingPeers>,
    /// Sending a screen share.
    pub sharing: bool,
}

#[async_trait]
impl Publisher for FakePublisher {
    fn offer(&self) -> String {
        PUBLISHER_OFFER.into()
    }
    fn screen_mid(&self) -> Option<String> {
        self.sharing.then(|| "2".into())
    }
    async fn accept_answer(&mut self, sdp: String) -> Result<(), PeerError> {
        self.peers.answers.lock().unwrap().push(sdp);
        Ok(())
    }
    async fn share_screen(&mut self, _source: Box<dyn VideoSource>) -> Result<Renegotiation, PeerError> {
        self.sharing = true;
        Ok(Renegotiation { offer: "v=0 share-offer".into(), screen_mid: Some("2".into()) })
    }
    async fn stop_screen_share(&mut self) -> Result<Option<Renegotiation>, PeerError> {
        if !std::mem::take(&mut self.sharing) {
            return Ok(None);
        }
        Ok(Some(Renegotiation { offer: "v=0 unshare-offer".into(), screen_mid: None }))
    }
    async fn restart_ice(&mut self) -> Result<Renegotiation, PeerError> {
        self.peers.restarted.lock().unwrap().push("publisher".into());
        Ok(Renegotiation { offer: "v=0 restart-offer".into(), screen_mid: self.screen_mid() })
    }
    async fn close(self: Box<Self>) {
        self.peers.closed.lock().unwrap().push("publisher".into());
    }
}

/// A subscription's connection that records its closing.
#[derive(Debug)]
pub struct FakeSubscriber(pub String, pub Arc<RecordingPeers>);

#[async_trait]
impl Subscriber for FakeSubscriber {
    async fn accept_offer(&mut self, offer: String) -> Result<String, PeerError> {
        self.1.restarted.lock().unwrap().push(format!("{} {offer}", self.0));
        Ok("v=0 client-restart-answer".into())
    }
    async fn close(self: Box<Self>) {
        self.1.closed.lock().unwrap().push(self.0.clone());
    }
}

/// Makes [`FakePublisher`]s and [`FakeSubscriber`]s that record into the same place.
#[derive(Debug)]
pub struct Peers(pub Arc<RecordingPeers>);

#[async_trait]
impl PeerFactory for Peers {
    async fn publisher(&self, media: LocalMedia, _events: PeerEvents) -> Result<Box<dyn Publisher>, PeerError> {
        self.0.published.lock().unwrap().push((media.audio.is_some(), media.video.is_some(), media.screen.is_some()));
        Ok(Box::new(FakePublisher { peers: Arc::clone(&self.0), sharing: media.screen.is_some() }))
    }
    async fn subscriber(
        &self,
        from: Participant,
        feed: VideoFeed,
        offer: String,
        _sink: Arc<dyn RemoteMediaSink>,
        _events: PeerEvents,
    ) -> Result<(Box<dyn Subscriber>, String), PeerError> {
        self.0.subscribed.lock().unwrap().push((from.clone(), offer));
        self.0.feeds.lock().unwrap().push(feed);
        Ok((Box::new(FakeSubscriber(from.name, Arc::clone(&self.0))), "v=0 client-answer".into()))
    }
}

/// Drops whatever media it is given.
#[derive(Debug)]
pub struct NoSink;
impl RemoteMediaSink for NoSink {
    fn audio(&self, _: &Participant, _: &[i16]) {}
    fn video(&self, _: &Participant, _: VideoFeed, _: &VideoFrame) {}
}
