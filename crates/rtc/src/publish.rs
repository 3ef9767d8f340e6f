//! Our publication: encode the local sources and send them to Janus.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use estrade_core::peer::{LocalMedia, PeerError, PeerEvent, PeerEventKind, PeerEvents, PeerRole, Publisher, Renegotiation};
use estrade_core::MediaKind;
use estrade_media::codec::{EncodedVideo, OpusEncoder, Vp8Encoder, Vp8EncoderConfig};
use estrade_media::{AudioSource, VideoSource};
use rtc::media::Sample;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::PayloadType;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState, RTCSessionDescription};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpTransceiver};

use crate::connection::{build, err, gatherings, local_sdp, log_stats, opus_codec, vp8_codec, Built};
use crate::keyframe::is_keyframe_request;
use crate::RtcConfig;

const OPUS_BITRATE: i32 = 32_000;
const AUDIO_FRAME: Duration = Duration::from_millis(20);

#[derive(Clone)]
struct Outgoing {
    track: Arc<TrackLocalStaticSample>,
    transceiver: Arc<dyn RtpTransceiver>,
    ssrc: u32,
}

fn sample_track(kind: RtpCodecKind, ssrc: u32, id: &str) -> Result<Arc<TrackLocalStaticSample>, PeerError> {
    let codec = if kind == RtpCodecKind::Audio { opus_codec() } else { vp8_codec() };
    let track = MediaStreamTrack::new(
        "estrade".to_owned(),
        id.to_owned(),
        id.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec,
            ..Default::default()
        }],
    );
    Ok(Arc::new(TrackLocalStaticSample::new(Instant::now(), track).map_err(err("creating a track"))?))
}

async fn add_sendonly(pc: &Arc<dyn PeerConnection>, kind: RtpCodecKind, id: &str) -> Result<Outgoing, PeerError> {
    let ssrc: u32 = rand::random();
    let track = sample_track(kind, ssrc, id)?;
    let init = RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendonly, ..Default::default() };
    let transceiver = pc
        .add_transceiver_from_track(Arc::clone(&track) as Arc<dyn TrackLocal>, Some(init))
        .await
        .map_err(err("adding a track"))?;
    Ok(Outgoing { track, transceiver, ssrc })
}

async fn negotiated_payload_type(transceiver: &Arc<dyn RtpTransceiver>) -> Result<PayloadType, PeerError> {
    let sender = transceiver.sender().await.map_err(err("reading the sender"))?.ok_or_else(|| PeerError("no sender".into()))?;
    let params = sender.get_parameters().await.map_err(err("reading the negotiated codec"))?;
    tracing::trace!(codecs = ?params.rtp_parameters.codecs, "negotiated");
    params.rtp_parameters.codecs.first().map(|c| c.payload_type).ok_or_else(|| PeerError("the server accepted no codec".into()))
}

/// Counters of what the publisher did, for logs and benchmarks.
#[derive(Debug, Default)]
pub(crate) struct PublishStats {
    pub(crate) keyframe_requests: AtomicU64,
}

/// The screen share's stream. Its transceiver is made on the first share and
/// kept: stopping turns it inactive, sharing again turns it back on, so the
/// mid stays the same and the SDP does not grow with every share.
struct ScreenStream {
    out: Outgoing,
    mid: Option<String>,
    keyframe: Arc<AtomicBool>,
    /// Set to stop the encoder of the share under way.
    running: Option<Arc<AtomicBool>>,
    /// What to send once the server has answered.
    pending: Option<Box<dyn VideoSource>>,
}

impl ScreenStream {
    fn stop_encoder(&mut self) {
        if let Some(running) = self.running.take() {
            running.store(true, Ordering::SeqCst);
        }
    }
}

/// A running publication.
pub(crate) struct MediaPublisher {
    built: Built,
    offer: String,
    audio: Option<(Outgoing, Box<dyn AudioSource>)>,
    video: Option<(Outgoing, Box<dyn VideoSource>)>,
    screen: Option<ScreenStream>,
    events: PeerEvents,
    stop: Arc<AtomicBool>,
    stats: Arc<PublishStats>,
    video_bitrate_kbps: u32,
    screen_bitrate_kbps: u32,
}

impl MediaPublisher {
    pub(crate) async fn start(config: &RtcConfig, media: LocalMedia, events: PeerEvents) -> Result<Self, PeerError> {
        let built = build(config, PeerRole::Publisher, events.clone()).await?;
        let audio = match media.audio {
            Some(source) => Some((add_sendonly(&built.pc, RtpCodecKind::Audio, "audio0").await?, source)),
            None => None,
        };
        let video = match media.video {
            Some(source) => Some((add_sendonly(&built.pc, RtpCodecKind::Video, "video0").await?, source)),
            None => None,
        };
        let mut publisher = Self {
            built,
            offer: String::new(),
            audio,
            video,
            screen: None,
            events,
            stop: Arc::new(AtomicBool::new(false)),
            stats: Arc::default(),
            video_bitrate_kbps: config.video_bitrate_kbps,
            screen_bitrate_kbps: config.screen_bitrate_kbps,
        };
        if let Some(source) = media.screen {
            publisher.prepare_screen(source).await?;
        }
        publisher.offer = publisher.make_offer(false).await?;
        Ok(publisher)
    }

    /// Readies the screen stream to send `source` once the next offer is answered.
    async fn prepare_screen(&mut self, source: Box<dyn VideoSource>) -> Result<(), PeerError> {
        match self.screen.as_mut() {
            Some(screen) => {
                screen.stop_encoder();
                screen.out.transceiver.set_direction(RTCRtpTransceiverDirection::Sendonly).await.map_err(err("turning the screen share on"))?;
                screen.pending = Some(source);
            }
            None => {
                let out = add_sendonly(&self.built.pc, RtpCodecKind::Video, "screen0").await?;
                let keyframe = Arc::new(AtomicBool::new(true));
                // For the stream's whole life, across shares.
                tokio::spawn(watch_keyframe_requests(Arc::clone(&out.track), Arc::clone(&keyframe), Arc::clone(&self.stats)));
                self.screen = Some(ScreenStream { out, mid: None, keyframe, running: None, pending: Some(source) });
            }
        }
        Ok(())
    }

    /// A new offer; with `restart_ice`, with fresh ICE credentials, gathered
    /// again on fresh sockets.
    async fn make_offer(&mut self, restart_ice: bool) -> Result<String, PeerError> {
        // A renegotiation reuses what was gathered; a restart waits for the new gathering.
        let after = if restart_ice {
            let before = gatherings(&self.built);
            self.built.pc.restart_ice().await.map_err(err("restarting ICE"))?;
            before
        } else {
            0
        };
        let offer = self.built.pc.create_offer(None).await.map_err(err("creating the offer"))?;
        self.built.pc.set_local_description(offer).await.map_err(err("applying the offer"))?;
        if let Some(screen) = self.screen.as_mut() {
            screen.mid = screen.out.transceiver.mid().await.map_err(err("reading the screen share's mid"))?;
        }
        local_sdp(&mut self.built, after).await
    }

    fn sharing(&self) -> bool {
        self.screen.as_ref().is_some_and(|s| s.running.is_some() || s.pending.is_some())
    }

    /// Starts a picture stream (`kind`: camera or screen): the encoder on its
    /// own thread, once connected, and the loop that hands its frames to the track.
    #[allow(clippy::too_many_arguments)]
    fn start_video(&self, kind: MediaKind, out: Outgoing, pt: PayloadType, source: Box<dyn VideoSource>, bitrate: u32, keyframe: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
        let (tx, rx) = mpsc::channel(4);
        let fps = source.frames_per_second().max(1);
        let mut state = self.built.state.clone();
        let events = self.events.clone();
        let source_ended = {
            let events = self.events.clone();
            move || {
                let _ = events.send(PeerEvent { role: PeerRole::Publisher, kind: PeerEventKind::SourceEnded(kind) });
            }
        };
        // The encoder waits for the connection, so its first frame (a keyframe) is not lost.
        tokio::spawn(async move {
            if wait_connected(&mut state).await {
                let spawned = std::thread::Builder::new()
                    .name("estrade-vp8".into())
                    .spawn(move || encode_video(source, bitrate, keyframe, stop, tx, source_ended));
                if let Err(e) = spawned {
                    let _ = events.send(PeerEvent { role: PeerRole::Publisher, kind: PeerEventKind::Failed(format!("cannot start the video encoder: {e}")) });
                }
            }
        });
        tokio::spawn(send_video(out, pt, fps, rx));
    }
}

#[async_trait]
impl Publisher for MediaPublisher {
    fn offer(&self) -> String {
        self.offer.clone()
    }

    async fn accept_answer(&mut self, sdp: String) -> Result<(), PeerError> {
        tracing::trace!(%sdp, "remote SDP");
        let answer = RTCSessionDescription::answer(sdp).map_err(err("reading the server's answer"))?;
        self.built.pc.set_remote_description(answer).await.map_err(err("applying the server's answer"))?;
        if let Some((out, source)) = self.audio.take() {
            let pt = negotiated_payload_type(&out.transceiver).await?;
            let encoder = OpusEncoder::new(OPUS_BITRATE).map_err(|e| PeerError(e.to_string()))?;
            tokio::spawn(send_audio(out, pt, source, encoder, self.built.state.clone(), Arc::clone(&self.stop)));
        }
        if let Some((out, source)) = self.video.take() {
            let pt = negotiated_payload_type(&out.transceiver).await?;
            // Starts set: the encoder's first frame, once connected, is a keyframe.
            let keyframe = Arc::new(AtomicBool::new(true));
            tokio::spawn(watch_keyframe_requests(Arc::clone(&out.track), Arc::clone(&keyframe), Arc::clone(&self.stats)));
            self.start_video(MediaKind::Video, out, pt, source, self.video_bitrate_kbps, keyframe, Arc::clone(&self.stop));
        }
        let screen_source = self.screen.as_mut().and_then(|s| s.pending.take());
        let screen_stream = self.screen.as_ref().map(|s| (s.out.clone(), Arc::clone(&s.keyframe)));
        if let (Some(source), Some((out, keyframe))) = (screen_source, screen_stream) {
            let pt = negotiated_payload_type(&out.transceiver).await?;
            // A new share starts on a keyframe: the viewers' decoders start afresh.
            keyframe.store(true, Ordering::SeqCst);
            let running = Arc::new(AtomicBool::new(false));
            self.start_video(MediaKind::Screen, out, pt, source, self.screen_bitrate_kbps, keyframe, Arc::clone(&running));
            if let Some(screen) = self.screen.as_mut() {
                screen.running = Some(running);
            }
        }
        Ok(())
    }

    fn screen_mid(&self) -> Option<String> {
        self.screen.as_ref().filter(|_| self.sharing()).and_then(|s| s.mid.clone())
    }

    async fn share_screen(&mut self, source: Box<dyn VideoSource>) -> Result<Renegotiation, PeerError> {
        self.prepare_screen(source).await?;
        let offer = self.make_offer(false).await?;
        Ok(Renegotiation { offer, screen_mid: self.screen_mid() })
    }

    async fn stop_screen_share(&mut self) -> Result<Option<Renegotiation>, PeerError> {
        if !self.sharing() {
            return Ok(None);
        }
        if let Some(screen) = self.screen.as_mut() {
            screen.stop_encoder();
            screen.pending = None;
            // Inactive: Janus marks the stream disabled and tells everyone.
            screen.out.transceiver.set_direction(RTCRtpTransceiverDirection::Inactive).await.map_err(err("turning the screen share off"))?;
        }
        let offer = self.make_offer(false).await?;
        Ok(Some(Renegotiation { offer, screen_mid: None }))
    }

    async fn restart_ice(&mut self) -> Result<Renegotiation, PeerError> {
        tracing::info!("restarting ICE on our publication");
        let offer = self.make_offer(true).await?;
        Ok(Renegotiation { offer, screen_mid: self.screen_mid() })
    }

    async fn close(mut self: Box<Self>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(screen) = self.screen.as_mut() {
            screen.stop_encoder();
        }
        tracing::debug!(keyframe_requests = self.stats.keyframe_requests.load(Ordering::Relaxed), "publisher closing");
        log_stats(&self.built.pc, &PeerRole::Publisher).await;
        if let Err(e) = self.built.pc.close().await {
            tracing::debug!(error = %e, "closing the publisher connection");
        }
    }
}

/// Resolves true once connected, false if the connection ends first.
async fn wait_connected(state: &mut watch::Receiver<RTCPeerConnectionState>) -> bool {
    let result = state
        .wait_for(|s| matches!(s, RTCPeerConnectionState::Connected | RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed))
        .await
        .map(|s| *s == RTCPeerConnectionState::Connected);
    result.unwrap_or(false)
}

/// Sends our sound once connected: frames are pulled and encoded on a thread
/// of their own ([`pull_audio`]) and written to the track here.
async fn send_audio(
    out: Outgoing,
    pt: PayloadType,
    source: Box<dyn AudioSource>,
    encoder: OpusEncoder,
    mut state: watch::Receiver<RTCPeerConnectionState>,
    stop: Arc<AtomicBool>,
) {
    if !wait_connected(&mut state).await {
        return;
    }
    // A few frames of room: past that the writer is stuck, and old sound is worth less than new.
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(8);
    let spawned = std::thread::Builder::new().name("estrade-audio".into()).spawn(move || pull_audio(source, encoder, &stop, &tx));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start sending sound");
        return;
    }
    while let Some(packet) = rx.recv().await {
        let sample = Sample { data: Bytes::from(packet), duration: AUDIO_FRAME, ..Sample::new(Instant::now()) };
        if out.track.write_sample(out.ssrc, pt, &sample, &[]).await.is_err() {
            return; // closed
        }
    }
}

/// Pulls and encodes 20 ms frames, on its own thread so that neither a
/// device's wait nor the encoder ever holds the async runtime, and a busy
/// runtime never delays the sound. The clock is one of absolute deadlines: a
/// late frame is followed by an early one, never by a burst of catching up
/// (which used to run the microphone short, and so pad it with silence mid-word).
fn pull_audio(mut source: Box<dyn AudioSource>, mut encoder: OpusEncoder, stop: &AtomicBool, tx: &mpsc::Sender<Vec<u8>>) {
    let mut due = Instant::now();
    while !stop.load(Ordering::SeqCst) && !tx.is_closed() {
        let now = Instant::now();
        match due.checked_duration_since(now) {
            Some(wait) => std::thread::sleep(wait),
            // Far behind (the machine was suspended): start the clock again rather than burst.
            None if now - due > AUDIO_FRAME * 5 => {
                tracing::warn!(behind_ms = (now - due).as_millis(), "the audio clock fell behind; starting it again (a jump in the sound)");
                due = now;
            }
            None => {}
        }
        due += AUDIO_FRAME;
        let frame = source.next_frame();
        match encoder.encode(&frame) {
            Ok(packet) => {
                if tx.try_send(packet).is_err() && !tx.is_closed() {
                    tracing::warn!("the audio writer is behind; dropping a frame (a jump in the sound)");
                }
            }
            Err(e) => tracing::warn!(error = %e, "dropping an audio frame that failed to encode"),
        }
    }
}

/// Runs on its own thread: libvpx is CPU-bound and must not stall the runtime.
fn encode_video(
    mut source: Box<dyn VideoSource>,
    bitrate_kbps: u32,
    keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    tx: mpsc::Sender<EncodedVideo>,
    source_ended: impl FnOnce(),
) {
    let fps = source.frames_per_second().max(1);
    let period = Duration::from_secs(1) / fps;
    let first = source.next_frame();
    let config = Vp8EncoderConfig { width: first.width, height: first.height, fps, bitrate_kbps };
    let mut encoder = match Vp8Encoder::new(config) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the video encoder");
            return;
        }
    };
    let start = Instant::now();
    let mut frame = first;
    let mut n: u32 = 0;
    while !stop.load(Ordering::SeqCst) && !tx.is_closed() {
        if source.ended() {
            tracing::info!("the video source ended");
            source_ended();
            return;
        }
        if keyframe.swap(false, Ordering::SeqCst) {
            encoder.request_keyframe();
        }
        match encoder.encode(&frame) {
            Ok(packets) => {
                for packet in packets {
                    if tx.try_send(packet).is_err() {
                        // The sender is behind: drop, and make the next frame decodable on its own.
                        keyframe.store(true, Ordering::SeqCst);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "dropping a video frame that failed to encode"),
        }
        n += 1;
        let next = start + period * n;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        frame = source.next_frame();
    }
}

async fn send_video(out: Outgoing, pt: PayloadType, fps: u32, mut rx: mpsc::Receiver<EncodedVideo>) {
    // Round up so the 90 kHz timestamp step is exact (webrtc-rs truncates).
    let duration = Duration::from_nanos(1_000_000_000u64.div_ceil(u64::from(fps)));
    while let Some(frame) = rx.recv().await {
        let sample = Sample { data: Bytes::from(frame.data), duration, ..Sample::new(Instant::now()) };
        if out.track.write_sample(out.ssrc, pt, &sample, &[]).await.is_err() {
            return;
        }
    }
}

async fn watch_keyframe_requests(track: Arc<TrackLocalStaticSample>, keyframe: Arc<AtomicBool>, stats: Arc<PublishStats>) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                stats.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("keyframe requested by the server");
                keyframe.store(true, Ordering::SeqCst);
            }
        }
    }
}
