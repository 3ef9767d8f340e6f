//! Building a peer connection the way Janus and our networks need it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use estrade_core::peer::{PeerError, PeerEvent, PeerEventKind, PeerEvents, PeerRole};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Registry, Slot};
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;
use rtc::interceptor::{NackGeneratorBuilder, NackResponderBuilder};
use webrtc::peer_connection::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only, MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState, SettingEngineBuilder,
};

use crate::keyframe::KeyframeRequestForwarder;
use crate::RtcConfig;

/// How often missing packets are asked for again.
const NACK_INTERVAL: Duration = Duration::from_millis(40);
/// How many times one missing packet is asked for.
const NACK_TRIES: u16 = 4;
/// How long to wait for ICE gathering: host candidates only, so it is quick.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// Nothing received for this long: ICE is disconnected (webrtc-rs: 5 s). Short,
/// so that a lost path is noticed and restarted while the class is still
/// listening; the consent checks every [`ICE_KEEPALIVE`] keep a silent but
/// healthy connection from looking lost.
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(2);
/// Disconnected for this long more: ICE has failed (webrtc-rs: 25 s). The
/// class machine restarts ICE well before.
const ICE_FAILED_AFTER: Duration = Duration::from_secs(10);
/// How often consent is checked on the chosen path (webrtc-rs: 2 s): twice
/// within [`ICE_DISCONNECTED_AFTER`], so one lost check is not a lost path.
/// A STUN request a second per connection is little next to the media.
const ICE_KEEPALIVE: Duration = Duration::from_secs(1);

pub(crate) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub(crate) fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: MIME_TYPE_VP8.to_owned(), clock_rate: 90_000, channels: 0, sdp_fmtp_line: String::new(), rtcp_feedback: vec![] }
}

pub(crate) fn err(context: &str) -> impl Fn(webrtc::error::Error) -> PeerError + '_ {
    move |e| PeerError(format!("{context}: {e}"))
}

/// Forwards webrtc-rs callbacks into channels; they run on the connection's
/// driver task, so they only ever send.
pub(crate) struct Handler {
    role: PeerRole,
    events: PeerEvents,
    /// How many gatherings completed (one per local description).
    gathered: watch::Sender<u64>,
    pub(crate) state: watch::Sender<RTCPeerConnectionState>,
    tracks: mpsc::UnboundedSender<Arc<dyn TrackRemote>>,
}

#[async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_modify(|n| *n += 1);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(role = ?self.role, %state, "peer connection state");
        let _ = self.state.send(state);
        let kind = match state {
            RTCPeerConnectionState::Connected => PeerEventKind::Connected,
            RTCPeerConnectionState::Disconnected => PeerEventKind::Disconnected,
            RTCPeerConnectionState::Failed => PeerEventKind::Failed("the media connection failed (ICE or DTLS)".into()),
            _ => return,
        };
        let _ = self.events.send(PeerEvent { role: self.role.clone(), kind });
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tracks.send(track);
    }
}

/// A built connection with the channels its handler feeds.
pub(crate) struct Built {
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) gathered: watch::Receiver<u64>,
    pub(crate) state: watch::Receiver<RTCPeerConnectionState>,
    pub(crate) tracks: mpsc::UnboundedReceiver<Arc<dyn TrackRemote>>,
}

pub(crate) async fn build(config: &RtcConfig, role: PeerRole, events: PeerEvents) -> Result<Built, PeerError> {
    let mut media = MediaEngine::default();
    media
        .register_codec(RTCRtpCodecParameters { rtp_codec: opus_codec(), payload_type: 111 }, RtpCodecKind::Audio)
        .map_err(err("registering Opus"))?;
    media
        .register_codec(RTCRtpCodecParameters { rtp_codec: vp8_codec(), payload_type: 96 }, RtpCodecKind::Video)
        .map_err(err("registering VP8"))?;
    for (typ, parameter) in [("ccm", "fir"), ("nack", ""), ("nack", "pli")] {
        media.register_feedback(RTCPFeedback { typ: typ.into(), parameter: parameter.into() }, RtpCodecKind::Video);
    }
    // webrtc-rs's defaults, but with a NACK generator tuned for interactive video:
    // ask again every 40 ms (not 100), and give up on a packet after 4 asks
    // instead of asking for it forever (Janus keeps only ~500 ms of history).
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new().with_interval(NACK_INTERVAL).with_max_nacks_per_packet(NACK_TRIES).build(),
        );
    configure_simulcast_extension_headers(&mut media).map_err(err("header extensions"))?;
    let registry = configure_twcc_receiver_only(registry, &mut media).map_err(err("interceptors"))?;
    let mut registry = configure_rtcp_reports(registry);
    if role == PeerRole::Publisher {
        // Without it the interceptor chain swallows PLI and FIR before the app sees them.
        registry = registry.with(Slot::from(14_000), KeyframeRequestForwarder::default());
    }
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        // Faster checks than the 200 ms default: a late joiner sees video sooner.
        .with_ice_connection_attempts(Some(Duration::from_millis(50)), Some(40))
        .with_ice_timeouts(Some(ICE_DISCONNECTED_AFTER), Some(ICE_FAILED_AFTER), Some(ICE_KEEPALIVE))
        // An ICE restart gathers on fresh sockets: after a change of network
        // (Wi-Fi to 4G, a new address) the old ones lead nowhere.
        .with_discard_local_candidates_during_ice_restart(true)
        .build();
    let bind: Vec<SocketAddr> = if config.ice_addrs.is_empty() {
        vec![SocketAddr::from(([0, 0, 0, 0], 0))]
    } else {
        config.ice_addrs.iter().map(|ip| SocketAddr::new(*ip, 0)).collect()
    };
    let (gathered_tx, gathered) = watch::channel(0);
    let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
    let (tracks_tx, tracks) = mpsc::unbounded_channel();
    let handler = Arc::new(Handler { role, events, gathered: gathered_tx, state: state_tx, tracks: tracks_tx });
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(bind)
        .build()
        .await
        .map_err(err("opening the media connection"))?;
    Ok(Built { pc: Arc::new(pc), gathered, state, tracks })
}

/// How many gatherings have completed so far: give it to [`local_sdp`] to
/// wait for the next one (an ICE restart gathers again).
pub(crate) fn gatherings(built: &Built) -> u64 {
    *built.gathered.borrow()
}

/// Waits until more than `after` gatherings have completed, then returns the
/// complete local SDP (no trickle).
pub(crate) async fn local_sdp(built: &mut Built, after: u64) -> Result<String, PeerError> {
    let wait = built.gathered.wait_for(|done| *done > after);
    if tokio::time::timeout(GATHER_TIMEOUT, wait).await.is_err() {
        return Err(PeerError("no network address could be gathered for media".into()));
    }
    let sdp = built
        .pc
        .local_description()
        .await
        .map(|d| d.sdp)
        .ok_or_else(|| PeerError("no local description after gathering".into()))?;
    tracing::trace!(%sdp, "local SDP");
    Ok(sdp)
}

/// Logs what the connection's RTP streams went through: for diagnosing loss,
/// retransmission and keyframe requests after the fact.
pub(crate) async fn log_stats(pc: &Arc<dyn PeerConnection>, role: &PeerRole) {
    let report = pc.get_stats(std::time::Instant::now(), webrtc::peer_connection::StatsSelector::None).await;
    for s in report.inbound_rtp_streams() {
        let r = &s.received_rtp_stream_stats;
        tracing::info!(
            ?role,
            kind = ?r.rtp_stream_stats.kind,
            packets = r.packets_received,
            lost = r.packets_lost,
            nacks_sent = s.nack_count,
            plis_sent = s.pli_count,
            retransmitted = s.retransmitted_packets_received,
            "received stream"
        );
    }
    for s in report.outbound_rtp_streams() {
        tracing::info!(
            ?role,
            kind = ?s.sent_rtp_stream_stats.rtp_stream_stats.kind,
            packets = s.sent_rtp_stream_stats.packets_sent,
            nacks_received = s.nack_count,
            plis_received = s.pli_count,
            firs_received = s.fir_count,
            retransmitted = s.retransmitted_packets_sent,
            "sent stream"
        );
    }
}
