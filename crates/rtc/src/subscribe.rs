//! A subscription: receive one participant's feed from Janus and decode it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use estrade_core::peer::{PeerError, PeerEvent, PeerEventKind, PeerEvents, PeerRole, RemoteMediaSink, Subscriber};
use estrade_core::{MediaKind, Participant, VideoFeed};
use estrade_media::codec::{OpusDecoder, Vp8Decoder};
use rtc::media::io::sample_builder::SampleBuilder;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtp::codec::vp8::Vp8Packet;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::RTCSessionDescription;

use crate::connection::{build, err, gatherings, local_sdp, log_stats, Built};
use crate::sequence::SequenceTracker;
use crate::RtcConfig;

/// Don't ask for keyframes more often than this.
const PLI_INTERVAL: Duration = Duration::from_millis(300);
/// How long a frame may wait for a missing packet (a NACK retransmission) before
/// it is given up. Two NACK rounds on a school network; a bounded stall, not 128 packets' worth.
const MAX_REASSEMBLY_DELAY: Duration = Duration::from_millis(200);
/// A packet still missing after this long is taken as lost for good: two NACK
/// rounds and a round trip on a school network.
const UNREPAIRED_LOSS: Duration = Duration::from_millis(100);
/// The largest gap in audio sequence numbers we conceal; beyond, we just resync.
const MAX_CONCEALED_FRAMES: u16 = 5;

pub(crate) struct MediaSubscriber {
    built: Built,
    role: PeerRole,
}

impl MediaSubscriber {
    pub(crate) async fn start(
        config: &RtcConfig,
        from: Participant,
        feed: VideoFeed,
        offer: String,
        sink: Arc<dyn RemoteMediaSink>,
        events: PeerEvents,
    ) -> Result<(Self, String), PeerError> {
        let role = PeerRole::receiving(from.clone(), feed);
        let mut built = build(config, role.clone(), events.clone()).await?;
        let answer = answer(&mut built, offer).await?;
        let mut tracks = std::mem::replace(&mut built.tracks, tokio::sync::mpsc::unbounded_channel().1);
        tokio::spawn(async move {
            while let Some(track) = tracks.recv().await {
                tokio::spawn(receive(track, from.clone(), feed, Arc::clone(&sink), events.clone()));
            }
        });
        Ok((Self { built, role }, answer))
    }
}

/// Applies the server's `offer` and returns our answer, once gathered (again,
/// if the offer restarts ICE).
async fn answer(built: &mut Built, offer: String) -> Result<String, PeerError> {
    tracing::trace!(sdp = %offer, "remote SDP");
    let before = gatherings(built);
    let offer = RTCSessionDescription::offer(offer).map_err(err("reading the server's offer"))?;
    built.pc.set_remote_description(offer).await.map_err(err("applying the server's offer"))?;
    let answer = built.pc.create_answer(None).await.map_err(err("creating the answer"))?;
    built.pc.set_local_description(answer).await.map_err(err("applying the answer"))?;
    local_sdp(built, before).await
}

#[async_trait]
impl Subscriber for MediaSubscriber {
    async fn accept_offer(&mut self, offer: String) -> Result<String, PeerError> {
        tracing::info!(role = ?self.role, "the server restarts ICE on a subscription");
        answer(&mut self.built, offer).await
    }

    async fn close(self: Box<Self>) {
        log_stats(&self.built.pc, &self.role).await;
        if let Err(e) = self.built.pc.close().await {
            tracing::debug!(error = %e, "closing a subscription");
        }
    }
}

async fn receive(track: Arc<dyn TrackRemote>, from: Participant, feed: VideoFeed, sink: Arc<dyn RemoteMediaSink>, events: PeerEvents) {
    let ssrcs = track.ssrcs().await;
    let ssrc = ssrcs.first().copied().unwrap_or_default();
    tracing::debug!(?ssrcs, "remote track");
    let mime = track.codec(ssrc).await.map(|c| c.mime_type.to_lowercase()).unwrap_or_default();
    let first = |kind| {
        let kind = if feed == VideoFeed::Screen && kind == MediaKind::Video { MediaKind::Screen } else { kind };
        let _ = events.send(PeerEvent { role: PeerRole::receiving(from.clone(), feed), kind: PeerEventKind::FirstMedia(kind) });
    };
    if mime == MIME_TYPE_OPUS.to_lowercase() {
        receive_audio(track, &from, sink, first).await;
    } else if mime == MIME_TYPE_VP8.to_lowercase() {
        receive_video(track, ssrc, (&from, feed), sink, first).await;
    } else {
        tracing::warn!(%mime, "ignoring a track in a codec Estrade does not decode");
    }
}

/// The next RTP packet of a track, or `None` once it has ended.
async fn next_rtp(track: &dyn TrackRemote) -> Option<rtc::rtp::Packet> {
    loop {
        match track.poll().await? {
            TrackRemoteEvent::OnRtpPacket(packet) => return Some(packet),
            TrackRemoteEvent::OnEnded => return None,
            _ => {}
        }
    }
}

async fn receive_audio(track: Arc<dyn TrackRemote>, from: &Participant, sink: Arc<dyn RemoteMediaSink>, first: impl Fn(MediaKind)) {
    let mut decoder = match OpusDecoder::new() {
        Ok(d) => d,
        Err(e) => return tracing::error!(error = %e, "cannot open the audio decoder"),
    };
    let mut last_seq: Option<u16> = None;
    let mut decoded_any = false;
    while let Some(packet) = next_rtp(track.as_ref()).await {
        let seq = packet.header.sequence_number;
        if let Some(prev) = last_seq {
            let gap = seq.wrapping_sub(prev);
            if gap == 0 || gap > u16::MAX / 2 {
                continue; // duplicate or late: already concealed
            }
            for _ in 1..gap.min(MAX_CONCEALED_FRAMES + 1) {
                if let Ok(pcm) = decoder.decode(None) {
                    sink.audio(from, &pcm);
                }
            }
        }
        last_seq = Some(seq);
        match decoder.decode(Some(&packet.payload)) {
            Ok(pcm) => {
                if !decoded_any {
                    decoded_any = true;
                    first(MediaKind::Audio);
                }
                sink.audio(from, &pcm);
            }
            Err(e) => tracing::debug!(error = %e, "undecodable audio packet"),
        }
    }
}

async fn receive_video(
    track: Arc<dyn TrackRemote>,
    ssrc: u32,
    (from, feed): (&Participant, VideoFeed),
    sink: Arc<dyn RemoteMediaSink>,
    first: impl Fn(MediaKind),
) {
    let mut decoder = match Vp8Decoder::new() {
        Ok(d) => d,
        Err(e) => return tracing::error!(error = %e, "cannot open the video decoder"),
    };
    let mut builder = SampleBuilder::new(512, Vp8Packet::default(), 90_000).with_max_time_delay(MAX_REASSEMBLY_DELAY);
    let (mut decoded, mut skipped, mut incomplete) = (0u64, 0u64, 0u64);
    let rtcp_sender_ssrc: u32 = rand::random::<u32>().max(1);
    let mut sequence = SequenceTracker::default();
    let mut need_keyframe = true;
    let mut last_pli: Option<Instant> = None;
    let mut decoded_any = false;
    let request_keyframe = |last_pli: &mut Option<Instant>, highest_seq: u32| {
        let due = last_pli.is_none_or(|t| t.elapsed() >= PLI_INTERVAL);
        if due {
            *last_pli = Some(Instant::now());
            let track = Arc::clone(&track);
            tokio::spawn(async move {
                let pli = keyframe_request(rtcp_sender_ssrc, ssrc, highest_seq);
                tracing::debug!(media_ssrc = ssrc, "asking for a keyframe");
                let _ = track.write_rtcp(pli).await;
            });
        }
    };
    while let Some(packet) = next_rtp(track.as_ref()).await {
        let now = Instant::now();
        sequence.on_packet(packet.header.sequence_number, now);
        let highest_seq = sequence.extended_highest();
        // A loss that retransmission has not repaired in time will freeze the
        // picture: ask for the keyframe now rather than when reassembly gives up.
        if sequence.oldest_missing(now, MAX_REASSEMBLY_DELAY).is_some_and(|age| age >= UNREPAIRED_LOSS) {
            request_keyframe(&mut last_pli, highest_seq);
        }
        builder.push(now, packet);
        while let Some(frame) = builder.pop(now) {
            // VP8 payload header: bit 0 of the first byte is 0 on keyframes.
            let keyframe = frame.data.first().is_some_and(|b| b & 0x01 == 0);
            if frame.prev_dropped_packets > 0 && !keyframe {
                incomplete += 1;
                need_keyframe = true;
            }
            if need_keyframe && !keyframe {
                skipped += 1;
                request_keyframe(&mut last_pli, highest_seq);
                continue;
            }
            match decoder.decode(&frame.data) {
                Ok(pictures) => {
                    if keyframe {
                        tracing::debug!(bytes = frame.data.len(), "keyframe decoded");
                    }
                    decoded += 1;
                    need_keyframe = false;
                    for picture in &pictures {
                        if !decoded_any {
                            decoded_any = true;
                            first(MediaKind::Video);
                        }
                        sink.video(from, feed, picture);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "undecodable video frame; asking for a keyframe");
                    need_keyframe = true;
                    request_keyframe(&mut last_pli, highest_seq);
                }
            }
        }
    }
    tracing::info!(participant = %from.id, ?feed, decoded, skipped, incomplete, "video receive ended");
}

/// A keyframe request as a compound RTCP packet: a receiver report, then the PLI.
///
/// RFC 4585 feedback is sent compound, and Janus 1.1 relies on it: it files RTCP
/// by the sender SSRC or, failing that, by the first report block, and does not
/// look inside a lone PLI from a receive-only peer (whose sender SSRC it has
/// never seen). A lone PLI lands on the audio stream and is ignored.
fn keyframe_request(sender_ssrc: u32, media_ssrc: u32, highest_seq: u32) -> Vec<Box<dyn rtc::rtcp::Packet>> {
    let report = ReceptionReport {
        ssrc: media_ssrc,
        last_sequence_number: highest_seq,
        // Loss, jitter and timing come in the regular reports; zero LSR tells the
        // server not to compute a round trip from this one.
        ..Default::default()
    };
    vec![
        Box::new(ReceiverReport { ssrc: sender_ssrc, reports: vec![report], ..Default::default() }),
        Box::new(PictureLossIndication { sender_ssrc, media_ssrc }),
    ]
}
