//! The webrtc-rs adapter: Janus publisher and subscriber peer connections.
//!
//! Implements `estrade_core::peer::PeerFactory`. Publishing encodes the local
//! sources (Opus on the runtime, VP8 on its own thread) and answers Janus's
//! keyframe requests (PLI, FIR) by forcing a keyframe. Receiving depacketizes,
//! decodes and hands frames to the core's sink, and asks for a keyframe when
//! it cannot decode. NACK (retransmission) is handled by the default
//! interceptors in both directions.

mod connection;
mod keyframe;
mod publish;
mod sequence;
mod subscribe;

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use estrade_core::peer::{LocalMedia, PeerError, PeerEvents, PeerFactory, Publisher, RemoteMediaSink, Subscriber};
use estrade_core::{Participant, VideoFeed};

/// A shared screen's bitrate: text must stay sharp, and slides change
/// rarely, so a keyframe of a 1080p slide must fit without a long freeze.
const SCREEN_BITRATE_KBPS: u32 = 1500;

/// Network settings for peer connections.
#[derive(Debug, Clone, Default)]
pub struct RtcConfig {
    /// Local addresses ICE may use for host candidates. Empty: every
    /// non-loopback interface, as any app would.
    pub ice_addrs: Vec<IpAddr>,
    /// Target video bitrate in kbit/s (0: 600).
    pub video_bitrate_kbps: u32,
    /// Target bitrate of a screen share in kbit/s (0: 1500).
    pub screen_bitrate_kbps: u32,
}

/// Makes webrtc-rs peer connections for the class driver.
#[derive(Debug, Clone)]
pub struct WebrtcPeers {
    config: RtcConfig,
}

impl WebrtcPeers {
    /// A factory with the given settings.
    pub fn new(mut config: RtcConfig) -> Self {
        if config.video_bitrate_kbps == 0 {
            config.video_bitrate_kbps = 600;
        }
        if config.screen_bitrate_kbps == 0 {
            config.screen_bitrate_kbps = SCREEN_BITRATE_KBPS;
        }
        Self { config }
    }
}

#[async_trait]
impl PeerFactory for WebrtcPeers {
    async fn publisher(&self, media: LocalMedia, events: PeerEvents) -> Result<Box<dyn Publisher>, PeerError> {
        Ok(Box::new(publish::MediaPublisher::start(&self.config, media, events).await?))
    }

    async fn subscriber(
        &self,
        from: Participant,
        feed: VideoFeed,
        offer: String,
        sink: Arc<dyn RemoteMediaSink>,
        events: PeerEvents,
    ) -> Result<(Box<dyn Subscriber>, String), PeerError> {
        let (sub, answer) = subscribe::MediaSubscriber::start(&self.config, from, feed, offer, sink, events).await?;
        Ok((Box::new(sub), answer))
    }
}
