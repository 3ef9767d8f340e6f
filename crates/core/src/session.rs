//! The class session driver: joins, then runs the event loop that wires the
//! signaling machine, the link and the peer connections together.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use estrade_media::VideoSource;
use estrade_proto::videoroom::{
    error_code, Join, Publisher as RoomPublisher, StreamDescription, StreamRef, VideoRoomEvent, VideoRoomRequest,
    SCREEN_SHARE_DESCRIPTION,
};
use estrade_proto::{Jsep, JsepType, VIDEOROOM_PLUGIN};
use estrade_signaling::{Input, Output, RequestError, RequestId, Session, SessionConfig, SessionEvent};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::link::{Connector, LinkEvent, SignalLink};
use crate::peer::{
    LocalMedia, PeerEvent, PeerEventKind, PeerEvents, PeerFactory, PeerRole, Publisher, RemoteMediaSink, Renegotiation, Subscriber,
};
use crate::backoff::Backoff;
use crate::{ClassEvent, JoinError, JoinOptions, MediaKind, Participant, ParticipantId, ReconnectLevel, ShareError, VideoFeed};
use rand::SeedableRng;

/// How long leaving may wait for the server's goodbye before closing anyway.
const LEAVE_GRACE: Duration = Duration::from_secs(2);

enum Command {
    Leave(oneshot::Sender<()>),
    Share(ShareCommand),
}

/// Starting or stopping our screen share, with where its outcome goes.
enum ShareCommand {
    Start(Box<dyn VideoSource>, oneshot::Sender<Result<(), ShareError>>),
    Stop(oneshot::Sender<Result<(), ShareError>>),
}

/// A joined class. Drop it or call [`ClassHandle::leave`] to go.
#[derive(Debug)]
pub struct ClassHandle {
    me: Participant,
    endpoint: String,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl ClassHandle {
    /// Ourselves, as the class sees us.
    pub fn me(&self) -> &Participant {
        &self.me
    }

    /// The signaling server the class is held on (one of [`JoinOptions::servers`]).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Shares `source` as our screen: a second picture, labelled "screen
    /// share", next to our sound and camera (which carry on untouched).
    /// Replaces a share already under way. Returns once the server took it.
    pub async fn share_screen(&self, source: Box<dyn VideoSource>) -> Result<(), ShareError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Share(ShareCommand::Start(source, tx))).map_err(|_| ShareError::NotInClass)?;
        rx.await.map_err(|_| ShareError::NotInClass)?
    }

    /// Stops our screen share: it disappears for everyone. Nothing happens if
    /// we were not sharing.
    pub async fn stop_screen_share(&self) -> Result<(), ShareError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::Share(ShareCommand::Stop(tx))).map_err(|_| ShareError::NotInClass)?;
        rx.await.map_err(|_| ShareError::NotInClass)?
    }

    /// Leaves the class cleanly: says goodbye to the server, closes media.
    pub async fn leave(self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Leave(tx)).is_ok() {
            let _ = rx.await;
        }
        let _ = self.task.await;
    }
}

/// A failed request during the join phase.
enum CallError {
    Request(RequestError),
    Closed(String),
}

/// How long a dropped WebSocket may take to be claimed back. Janus keeps the
/// session that long only if its `reclaim_session_timeout` allows (the
/// shipped production profile: 10 s); past it the session is gone anyway.
const RECLAIM_WINDOW: Duration = Duration::from_secs(10);
/// The wait between claim attempts: short, since the server is alive and the
/// window is short, and jittered so a whole class cut at once is spread.
const RECLAIM_BACKOFF: Backoff = Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(2) };

/// The link plus the session machine, pumped together.
struct Conn {
    session: Session,
    link: SignalLink,
    /// Events that arrived while waiting for a specific reply.
    deferred: VecDeque<SessionEvent>,
    /// Where the link goes, to open it again after a drop.
    endpoint: String,
    connector: Arc<dyn Connector>,
    connect_timeout: Duration,
    /// Once in class: where reconnection events go. Before that (during the
    /// join), a dropped link fails the join instead.
    reconnects: Option<mpsc::UnboundedSender<ClassEvent>>,
}

struct Reply {
    data: Value,
    jsep: Option<Jsep>,
    id: Option<u64>,
}

impl Conn {
    fn now() -> std::time::Instant {
        Instant::now().into_std()
    }

    /// The next event from the session machine; once in class, a dropped
    /// link is claimed back first. Cancel-safe: nothing is lost if the future
    /// is dropped (a claim under way is simply tried again).
    async fn next_event(&mut self) -> Result<SessionEvent, String> {
        loop {
            match self.next_event_on_link().await {
                Err(reason) if self.reconnects.is_some() => self.reclaim(reason).await?,
                other => return other,
            }
        }
    }

    /// The next event, or why the link closed.
    async fn next_event_on_link(&mut self) -> Result<SessionEvent, String> {
        loop {
            match self.session.poll_output() {
                Output::Transmit(text) => {
                    if self.link.outgoing.send(text).is_err() {
                        return Err("the link to the server is closed".into());
                    }
                }
                Output::Event(event) => return Ok(event),
                Output::Timeout(deadline) => {
                    let sleep = async {
                        match deadline {
                            Some(d) => tokio::time::sleep_until(Instant::from_std(d)).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        msg = self.link.incoming.recv() => match msg {
                            Some(LinkEvent::Text(text)) => self.session.handle_input(Input::Receive(Self::now(), &text)),
                            Some(LinkEvent::Closed { reason }) => return Err(reason),
                            None => return Err("the link to the server ended".into()),
                        },
                        () = sleep => self.session.handle_input(Input::Timeout(Self::now())),
                    }
                }
            }
        }
    }

    /// The WebSocket dropped (`reason`): opens a new one to the same server
    /// and claims our session back, with every handle and peer connection,
    /// for up to [`RECLAIM_WINDOW`]. `Err` when the server no longer has the
    /// session, or cannot be reached in time.
    async fn reclaim(&mut self, reason: String) -> Result<(), String> {
        let Some(events) = self.reconnects.clone() else { return Err(reason) };
        warn!(%reason, endpoint = %self.endpoint, "link to the server lost; claiming the session back");
        self.session.link_lost();
        let started = Instant::now();
        let mut rng = rand::rngs::StdRng::from_entropy();
        for attempt in 1u32.. {
            let _ = events.send(ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt, endpoint: self.endpoint.clone() });
            let left = RECLAIM_WINDOW.saturating_sub(started.elapsed());
            match tokio::time::timeout(self.connect_timeout.min(left), self.connector.connect(&self.endpoint)).await {
                Ok(Ok(link)) => {
                    self.link = link;
                    let claim = self.session.claim(Self::now());
                    match self.wait_on_link(claim).await {
                        Ok(_) => {
                            let after = started.elapsed();
                            info!(attempt, after_ms = after.as_millis() as u64, "session claimed back");
                            let _ = events.send(ClassEvent::Reconnected { level: ReconnectLevel::Claim, after, endpoint: self.endpoint.clone() });
                            return Ok(());
                        }
                        Err(CallError::Request(e)) => {
                            return Err(format!("{reason}; the server no longer has our session ({e})"));
                        }
                        Err(CallError::Closed(again)) => debug!(attempt, reason = %again, "claim attempt: link closed"),
                    }
                }
                Ok(Err(JoinError::NotListening { address })) => {
                    // The server program is gone, and our session with it.
                    return Err(format!("{reason}; the server is gone (nothing listens at {address})"));
                }
                Ok(Err(e)) => debug!(attempt, error = %e, "claim attempt: cannot connect"),
                Err(_) => debug!(attempt, "claim attempt: no answer"),
            }
            let wait = RECLAIM_BACKOFF.delay(attempt - 1, Duration::ZERO, &mut rng);
            if started.elapsed() + wait >= RECLAIM_WINDOW {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        Err(format!("{reason}; the session could not be claimed back within {} s", RECLAIM_WINDOW.as_secs()))
    }

    /// Waits for the outcome of `request`, setting other events aside.
    async fn wait(&mut self, request: RequestId) -> Result<Reply, CallError> {
        loop {
            let event = self.next_event().await.map_err(CallError::Closed)?;
            if let Some(outcome) = self.outcome_of(request, event) {
                return outcome;
            }
        }
    }

    /// Like [`Conn::wait`], on this link only (a drop is not claimed back).
    async fn wait_on_link(&mut self, request: RequestId) -> Result<Reply, CallError> {
        loop {
            let event = self.next_event_on_link().await.map_err(CallError::Closed)?;
            if let Some(outcome) = self.outcome_of(request, event) {
                return outcome;
            }
        }
    }

    /// `event`, if it ends `request`; else it is set aside for later.
    fn outcome_of(&mut self, request: RequestId, event: SessionEvent) -> Option<Result<Reply, CallError>> {
        Some(match event {
            SessionEvent::Created { request: r, session_id } if r == request => Ok(Reply { data: Value::Null, jsep: None, id: Some(session_id) }),
            SessionEvent::Attached { request: r, handle } if r == request => Ok(Reply { data: Value::Null, jsep: None, id: Some(handle) }),
            SessionEvent::Replied { request: r, data, jsep, .. } if r == request => Ok(Reply { data, jsep, id: None }),
            SessionEvent::Done { request: r } if r == request => Ok(Reply { data: Value::Null, jsep: None, id: None }),
            SessionEvent::Failed { request: r, error } if r == request => Err(CallError::Request(error)),
            other => {
                self.deferred.push_back(other);
                return None;
            }
        })
    }

    async fn attach(&mut self) -> Result<u64, CallError> {
        let req = self.session.attach(Self::now(), VIDEOROOM_PLUGIN);
        let reply = self.wait(req).await?;
        reply.id.ok_or_else(|| CallError::Request(RequestError::Malformed("attach without handle".into())))
    }

    async fn videoroom(&mut self, handle: u64, body: VideoRoomRequest, jsep: Option<Jsep>) -> Result<(VideoRoomEvent, Option<Jsep>), CallError> {
        let body = serde_json::to_value(body).expect("VideoRoom requests are plain data");
        let req = self.session.message(Self::now(), handle, body, jsep);
        let reply = self.wait(req).await?;
        Ok((VideoRoomEvent::from_plugin_data(&reply.data), reply.jsep))
    }
}

fn join_error(e: CallError) -> JoinError {
    match e {
        CallError::Closed(reason) => JoinError::ConnectionLost { reason },
        CallError::Request(RequestError::TimedOut(d)) => JoinError::TimedOut(d),
        CallError::Request(other) => JoinError::Refused { reason: other.to_string() },
    }
}

/// Publishing (or changing what we publish) failed.
enum PublishFailure {
    Call(CallError),
    Refused(String),
    Media(String),
}

impl From<PublishFailure> for JoinError {
    fn from(f: PublishFailure) -> Self {
        match f {
            PublishFailure::Call(e) => join_error(e),
            PublishFailure::Refused(reason) => JoinError::Refused { reason: format!("cannot publish: {reason}") },
            PublishFailure::Media(reason) => JoinError::Media { reason },
        }
    }
}

impl From<PublishFailure> for ShareError {
    fn from(f: PublishFailure) -> Self {
        match f {
            PublishFailure::Call(CallError::Closed(_)) => ShareError::NotInClass,
            PublishFailure::Call(CallError::Request(e)) => ShareError::Refused { reason: e.to_string() },
            PublishFailure::Refused(reason) => ShareError::Refused { reason },
            PublishFailure::Media(reason) => ShareError::Media { reason },
        }
    }
}

/// Janus's label for our screen share's stream, if we share.
fn describe_screen(screen_mid: Option<String>) -> Vec<StreamDescription> {
    screen_mid.map(|mid| vec![StreamDescription { mid, description: SCREEN_SHARE_DESCRIPTION.to_owned() }]).unwrap_or_default()
}

/// Sends `request` with our SDP `offer`, and applies the server's answer.
async fn configure(conn: &mut Conn, handle: u64, publisher: &mut dyn Publisher, request: VideoRoomRequest, offer: String) -> Result<(), PublishFailure> {
    let offer = Jsep { kind: JsepType::Offer, sdp: offer };
    let (event, answer) = conn.videoroom(handle, request, Some(offer)).await.map_err(PublishFailure::Call)?;
    if let VideoRoomEvent::Error { code, reason } = event {
        return Err(PublishFailure::Refused(format!("{reason} ({code})")));
    }
    let answer = answer.filter(|j| j.kind == JsepType::Answer).ok_or_else(|| PublishFailure::Refused("the server sent no SDP answer".into()))?;
    publisher.accept_answer(answer.sdp).await.map_err(|e| PublishFailure::Media(e.0))
}

/// Starts publishing `media` on our room handle.
async fn publish(conn: &mut Conn, handle: u64, peers: &dyn PeerFactory, media: LocalMedia, events: PeerEvents) -> Result<Box<dyn Publisher>, PublishFailure> {
    let (audio, video) = (media.audio.is_some(), media.video.is_some() || media.screen.is_some());
    let mut publisher = peers.publisher(media, events).await.map_err(|e| PublishFailure::Media(e.0))?;
    let request = VideoRoomRequest::Configure { audio: Some(audio), video: Some(video), descriptions: describe_screen(publisher.screen_mid()) };
    let offer = publisher.offer();
    match configure(conn, handle, publisher.as_mut(), request, offer).await {
        Ok(()) => Ok(publisher),
        Err(e) => {
            publisher.close().await;
            Err(e)
        }
    }
}

/// Tells the server about a change to what we publish.
async fn renegotiate(conn: &mut Conn, handle: u64, publisher: &mut dyn Publisher, change: Renegotiation) -> Result<(), PublishFailure> {
    let request = VideoRoomRequest::Configure { audio: None, video: None, descriptions: describe_screen(change.screen_mid) };
    configure(conn, handle, publisher, request, change.offer).await
}

/// Opens a session on the first of `options.servers` that answers: one that
/// refuses the connection, does not answer in time, or closes before the
/// session exists is skipped (and logged) for the next. Only when none
/// answers does the join fail, with the last server's error.
async fn connect_first(options: &JoinOptions, connector: &Arc<dyn Connector>) -> Result<(Conn, String), JoinError> {
    let mut last = JoinError::BadAddress { address: String::new(), reason: "no server to connect to".into() };
    for server in &options.servers {
        match connect_one(server, options.connect_timeout, connector).await {
            Ok(conn) => return Ok((conn, server.clone())),
            Err(e @ JoinError::BadAddress { .. }) => return Err(e),
            Err(e) => {
                warn!(%server, error = %e, "server not answering; trying the next");
                last = e;
            }
        }
    }
    Err(last)
}

async fn connect_one(server: &str, timeout: Duration, connector: &Arc<dyn Connector>) -> Result<Conn, JoinError> {
    let unreachable = |reason: String| JoinError::Unreachable { address: server.to_owned(), reason };
    let attempt = async {
        let link = connector.connect(server).await?;
        let mut conn = Conn {
            session: Session::new(SessionConfig::default()),
            link,
            deferred: VecDeque::new(),
            endpoint: server.to_owned(),
            connector: Arc::clone(connector),
            connect_timeout: timeout,
            reconnects: None,
        };
        let create = conn.session.create(Conn::now());
        conn.wait(create).await.map_err(|e| match e {
            CallError::Closed(reason) => unreachable(reason),
            other => join_error(other),
        })?;
        Ok(conn)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(unreachable(format!("no answer within {} s", timeout.as_secs()))),
    }
}

fn room_error(room: u64, code: i64, reason: String) -> JoinError {
    match code {
        error_code::NO_SUCH_ROOM => JoinError::NoSuchClass { room },
        error_code::UNAUTHORIZED => JoinError::WrongPin { room },
        error_code::MISSING_ELEMENT if reason.contains("pin") => JoinError::WrongPin { room },
        error_code::TOO_MANY_PUBLISHERS => JoinError::ClassFull { room },
        _ => JoinError::Refused { reason: format!("{reason} ({code})") },
    }
}

/// Joins a class: connects, enters the room, publishes `media`, and starts
/// receiving everyone else into `sink`. Returns once we are in the class;
/// everything after that arrives as [`ClassEvent`]s.
pub async fn join(
    options: JoinOptions,
    connector: Arc<dyn Connector>,
    peers: Arc<dyn PeerFactory>,
    media: LocalMedia,
    sink: Arc<dyn RemoteMediaSink>,
) -> Result<(ClassHandle, mpsc::UnboundedReceiver<ClassEvent>), JoinError> {
    let room = options.room;
    let span = info_span!("class", room, name = %options.name);
    async move {
        let (mut conn, endpoint) = connect_first(&options, &connector).await?;
        let handle = conn.attach().await.map_err(join_error)?;
        let join = Join::Publisher { room, display: options.name.clone(), pin: options.pin.clone() };
        let (event, _) = conn.videoroom(handle, VideoRoomRequest::Join(join), None).await.map_err(join_error)?;
        let (me, private_id, already, attendees) = match event {
            VideoRoomEvent::Joined { id, private_id, publishers, attendees, .. } => {
                (ParticipantId(id), private_id, publishers, attendees)
            }
            VideoRoomEvent::Error { code, reason } => return Err(room_error(room, code, reason)),
            other => return Err(JoinError::Refused { reason: format!("unexpected answer to join: {other:?}") }),
        };
        info!(id = %me, %endpoint, "joined");
        let (peer_tx, peer_rx) = mpsc::unbounded_channel();
        let publisher = if media.is_empty() {
            None
        } else {
            Some(publish(&mut conn, handle, peers.as_ref(), media, peer_tx.clone()).await?)
        };
        let me_participant = Participant { id: me, name: options.name.clone() };
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        // In class from now on: a dropped link is claimed back, not the end.
        conn.reconnects = Some(events_tx.clone());
        let driver = Driver {
            conn,
            room,
            pin: options.pin.clone(),
            me,
            private_id,
            handle,
            publisher,
            participants: HashMap::new(),
            subscriptions: HashMap::new(),
            sharing: HashSet::new(),
            handle_owner: HashMap::new(),
            peers,
            sink,
            peer_tx,
            events: events_tx,
        };
        let task = tokio::spawn(driver.run(already, attendees, cmd_rx, peer_rx).in_current_span());
        Ok((ClassHandle { me: me_participant, endpoint, commands: cmd_tx, task }, events_rx))
    }
    .instrument(span)
    .await
}

/// One of a participant's subscriptions: sound and camera, or screen share.
type SubscriptionKey = (ParticipantId, VideoFeed);

struct Subscription {
    handle: u64,
    peer: Box<dyn Subscriber>,
    requested_at: Instant,
    /// The publisher's streams it carries (`None`: all of them).
    mids: Option<Vec<String>>,
}

struct Driver {
    conn: Conn,
    room: u64,
    pin: Option<String>,
    me: ParticipantId,
    private_id: Option<u64>,
    handle: u64,
    publisher: Option<Box<dyn Publisher>>,
    participants: HashMap<ParticipantId, Participant>,
    /// A screen share gets its own subscription (and peer connection), so
    /// that starting or stopping it never renegotiates, or interrupts, the
    /// sharer's sound and camera.
    subscriptions: HashMap<SubscriptionKey, Subscription>,
    /// Who is sharing their screen, as Janus announced it.
    sharing: HashSet<ParticipantId>,
    handle_owner: HashMap<u64, SubscriptionKey>,
    peers: Arc<dyn PeerFactory>,
    sink: Arc<dyn RemoteMediaSink>,
    peer_tx: mpsc::UnboundedSender<PeerEvent>,
    events: mpsc::UnboundedSender<ClassEvent>,
}

enum Step {
    Session(SessionEvent),
    Peer(PeerEvent),
    Share(ShareCommand),
    Leave(Option<oneshot::Sender<()>>),
    Lost(String),
}

impl Driver {
    fn emit(&self, event: ClassEvent) {
        debug!(?event, "class event");
        // The receiver may be gone (the app stopped listening); the class goes on.
        let _ = self.events.send(event);
    }

    async fn run(
        mut self,
        already: Vec<RoomPublisher>,
        attendees: Vec<RoomPublisher>,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut peer_rx: mpsc::UnboundedReceiver<PeerEvent>,
    ) {
        // Those in class without sending anything (no camera, no microphone) are in class too.
        for a in attendees {
            self.participant_seen(Participant { id: ParticipantId(a.id), name: a.display });
        }
        self.publishers_appeared(already).await;
        loop {
            let step = if let Some(event) = self.conn.deferred.pop_front() {
                Step::Session(event)
            } else {
                tokio::select! {
                    event = self.conn.next_event() => match event {
                        Ok(event) => Step::Session(event),
                        Err(reason) => Step::Lost(reason),
                    },
                    Some(event) = peer_rx.recv() => Step::Peer(event),
                    command = commands.recv() => match command {
                        Some(Command::Leave(done)) => Step::Leave(Some(done)),
                        Some(Command::Share(share)) => Step::Share(share),
                        None => Step::Leave(None),
                    },
                }
            };
            match step {
                Step::Session(event) => {
                    if let Err(reason) = self.on_session_event(event).await {
                        return self.connection_lost(reason).await;
                    }
                }
                Step::Peer(PeerEvent { role: PeerRole::Publisher, kind: PeerEventKind::SourceEnded(MediaKind::Screen) }) => {
                    self.shared_source_ended().await;
                }
                Step::Peer(event) => self.on_peer_event(event),
                Step::Share(ShareCommand::Start(source, done)) => {
                    let result = self.share_screen(source).await;
                    let _ = done.send(result);
                }
                Step::Share(ShareCommand::Stop(done)) => {
                    let result = self.stop_screen_share().await;
                    let _ = done.send(result);
                }
                Step::Lost(reason) => return self.connection_lost(reason).await,
                Step::Leave(done) => {
                    self.leave().await;
                    self.emit(ClassEvent::Left);
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
            }
        }
    }

    /// Handles one session event. An `Err` means the session is over.
    async fn on_session_event(&mut self, event: SessionEvent) -> Result<(), String> {
        match event {
            SessionEvent::PluginEvent { handle, data, .. } if handle == self.handle => {
                match VideoRoomEvent::from_plugin_data(&data) {
                    VideoRoomEvent::Publishers(list) => self.publishers_appeared(list).await,
                    VideoRoomEvent::Joining { id, display } => {
                        self.participant_seen(Participant { id: ParticipantId(id), name: display });
                    }
                    VideoRoomEvent::Leaving { id } => self.participant_left(ParticipantId(id)).await,
                    VideoRoomEvent::Unpublished { id } => self.unsubscribe_all(ParticipantId(id)).await,
                    VideoRoomEvent::Destroyed { .. } => return Err("the class was closed on the server".into()),
                    VideoRoomEvent::Error { code, reason } => {
                        self.emit(ClassEvent::Warning { message: format!("server error {code}: {reason}") })
                    }
                    other => debug!(?other, "videoroom event"),
                }
            }
            SessionEvent::PluginEvent { handle, data, .. } => debug!(handle, %data, "subscriber event"),
            SessionEvent::WebrtcUp { handle } if handle == self.handle => self.emit(ClassEvent::Publishing),
            SessionEvent::HangUp { handle, reason } => {
                if handle == self.handle {
                    self.emit(ClassEvent::MediaFailed { participant: None, reason: format!("server hung up: {reason}") });
                } else if let Some((owner, feed)) = self.handle_owner.get(&handle) {
                    debug!(participant = %owner, ?feed, %reason, "subscription hung up");
                }
            }
            SessionEvent::SessionLost { reason } => return Err(reason),
            SessionEvent::Ignored { reason } => self.emit(ClassEvent::Warning { message: reason }),
            SessionEvent::Failed { request, error } => debug!(?request, %error, "late request failed"),
            other => debug!(?other, "session event"),
        }
        Ok(())
    }

    fn on_peer_event(&mut self, event: PeerEvent) {
        let receiving = event.role.received().map(|(p, feed)| (p.clone(), feed));
        match (receiving, event.kind) {
            (Some((p, feed)), PeerEventKind::FirstMedia(kind)) => {
                if let Some(sub) = self.subscriptions.get(&(p.id, feed)) {
                    let after = sub.requested_at.elapsed();
                    self.emit(ClassEvent::MediaFlowing { participant: p, kind, after });
                }
            }
            (Some((p, feed)), PeerEventKind::Failed(reason)) => {
                if self.subscriptions.contains_key(&(p.id, feed)) {
                    self.emit(ClassEvent::MediaFailed { participant: Some(p), reason });
                }
            }
            (None, PeerEventKind::Failed(reason)) => {
                self.emit(ClassEvent::MediaFailed { participant: None, reason });
            }
            (_, PeerEventKind::Connected) => debug!(role = ?event.role, "peer connected"),
            (_, kind) => debug!(role = ?event.role, ?kind, "peer event"),
        }
    }

    fn participant_seen(&mut self, p: Participant) -> bool {
        if p.id == self.me || self.participants.contains_key(&p.id) {
            return false;
        }
        info!(id = %p.id, name = %p.name, "participant joined");
        self.participants.insert(p.id, p.clone());
        self.emit(ClassEvent::ParticipantJoined { participant: p });
        true
    }

    /// Janus lists publishers when they start, and again whenever what they
    /// publish changes (a screen share starting or stopping).
    async fn publishers_appeared(&mut self, list: Vec<RoomPublisher>) {
        for p in list {
            let participant = Participant { id: ParticipantId(p.id), name: p.display };
            if participant.id == self.me {
                continue;
            }
            self.participant_seen(participant.clone());
            // Janus 1.x lists each stream; a list without any (an older
            // server) means: take the whole feed, as sound and camera.
            let main: Option<Vec<String>> = if p.streams.is_empty() {
                None
            } else {
                Some(p.streams.iter().filter(|s| s.is_main_media()).map(|s| s.mid.clone()).collect())
            };
            let share = p.streams.iter().find(|s| s.is_screen_share()).map(|s| vec![s.mid.clone()]);
            if main.as_ref().is_some_and(Vec::is_empty) {
                self.unsubscribe(participant.id, VideoFeed::Camera).await;
            } else {
                self.keep_subscribed(&participant, VideoFeed::Camera, main).await;
            }
            match share {
                Some(mids) => {
                    if self.sharing.insert(participant.id) {
                        info!(id = %participant.id, "screen share started");
                        self.emit(ClassEvent::ScreenShareStarted { participant: participant.clone() });
                    }
                    self.keep_subscribed(&participant, VideoFeed::Screen, Some(mids)).await;
                }
                None => self.screen_share_ended(participant.id).await,
            }
        }
    }

    /// Subscribes to `mids` of `from`'s feed, unless already subscribed to
    /// exactly those; a different set replaces the subscription.
    async fn keep_subscribed(&mut self, from: &Participant, feed: VideoFeed, mids: Option<Vec<String>>) {
        if let Some(sub) = self.subscriptions.get(&(from.id, feed)) {
            if sub.mids == mids {
                return;
            }
            self.unsubscribe(from.id, feed).await;
        }
        if let Err(reason) = self.subscribe(from.clone(), feed, mids).await {
            warn!(participant = %from.id, ?feed, %reason, "subscription failed");
            self.emit(ClassEvent::MediaFailed { participant: Some(from.clone()), reason });
        }
    }

    async fn screen_share_ended(&mut self, id: ParticipantId) {
        self.unsubscribe(id, VideoFeed::Screen).await;
        if self.sharing.remove(&id) {
            info!(%id, "screen share stopped");
            if let Some(participant) = self.participants.get(&id).cloned() {
                self.emit(ClassEvent::ScreenShareStopped { participant });
            }
        }
    }

    async fn subscribe(&mut self, from: Participant, feed: VideoFeed, mids: Option<Vec<String>>) -> Result<(), String> {
        let requested_at = Instant::now();
        let handle = self.conn.attach().await.map_err(describe)?;
        let streams = match &mids {
            Some(mids) => mids.iter().map(|mid| StreamRef { feed: from.id.0, mid: Some(mid.clone()) }).collect(),
            None => vec![StreamRef { feed: from.id.0, mid: None }],
        };
        let join = Join::Subscriber { room: self.room, private_id: self.private_id, streams, pin: self.pin.clone() };
        let result = self.finish_subscribe(handle, join, (from, feed, mids), requested_at).await;
        if result.is_err() {
            self.conn.session.detach(Conn::now(), handle);
        }
        result
    }

    async fn finish_subscribe(
        &mut self,
        handle: u64,
        join: Join,
        (from, feed, mids): (Participant, VideoFeed, Option<Vec<String>>),
        requested_at: Instant,
    ) -> Result<(), String> {
        let (event, offer) = self.conn.videoroom(handle, VideoRoomRequest::Join(join), None).await.map_err(describe)?;
        if let VideoRoomEvent::Error { code, reason } = event {
            return Err(format!("server refused the subscription: {reason} ({code})"));
        }
        let offer = offer.filter(|j| j.kind == JsepType::Offer).ok_or("the server sent no SDP offer")?;
        let (peer, answer) = self
            .peers
            .subscriber(from.clone(), feed, offer.sdp, Arc::clone(&self.sink), self.peer_tx.clone())
            .await
            .map_err(|e| e.0)?;
        let answer = Jsep { kind: JsepType::Answer, sdp: answer };
        match self.conn.videoroom(handle, VideoRoomRequest::Start, Some(answer)).await {
            Ok((VideoRoomEvent::Error { code, reason }, _)) => {
                peer.close().await;
                return Err(format!("server refused to start: {reason} ({code})"));
            }
            Ok(_) => {}
            Err(e) => {
                peer.close().await;
                return Err(describe(e));
            }
        }
        self.handle_owner.insert(handle, (from.id, feed));
        self.subscriptions.insert((from.id, feed), Subscription { handle, peer, requested_at, mids });
        Ok(())
    }

    async fn unsubscribe(&mut self, id: ParticipantId, feed: VideoFeed) {
        if let Some(sub) = self.subscriptions.remove(&(id, feed)) {
            self.handle_owner.remove(&sub.handle);
            sub.peer.close().await;
            self.conn.session.detach(Conn::now(), sub.handle);
        }
    }

    /// `id` stopped publishing altogether.
    async fn unsubscribe_all(&mut self, id: ParticipantId) {
        self.screen_share_ended(id).await;
        self.unsubscribe(id, VideoFeed::Camera).await;
    }

    async fn share_screen(&mut self, source: Box<dyn VideoSource>) -> Result<(), ShareError> {
        match self.publisher.as_mut() {
            Some(publisher) => {
                let change = publisher.share_screen(source).await.map_err(|e| ShareError::Media { reason: e.0 })?;
                renegotiate(&mut self.conn, self.handle, publisher.as_mut(), change).await?;
            }
            None => {
                // Nothing published yet (no microphone, no camera): the share is the publication.
                let media = LocalMedia { screen: Some(source), ..LocalMedia::default() };
                let publisher = publish(&mut self.conn, self.handle, self.peers.as_ref(), media, self.peer_tx.clone()).await?;
                self.publisher = Some(publisher);
            }
        }
        info!("sharing our screen");
        Ok(())
    }

    async fn stop_screen_share(&mut self) -> Result<(), ShareError> {
        let Some(publisher) = self.publisher.as_mut() else { return Ok(()) };
        let Some(change) = publisher.stop_screen_share().await.map_err(|e| ShareError::Media { reason: e.0 })? else { return Ok(()) };
        renegotiate(&mut self.conn, self.handle, publisher.as_mut(), change).await?;
        info!("screen share stopped");
        Ok(())
    }

    /// What we shared went away: stop the share for everyone, and say so.
    async fn shared_source_ended(&mut self) {
        let reason = "what was shared is gone (a window was closed)".to_owned();
        info!(%reason, "screen share ended by itself");
        if let Err(e) = self.stop_screen_share().await {
            warn!(error = %e, "stopping the ended screen share");
        }
        self.emit(ClassEvent::SharingEnded { reason });
    }

    async fn participant_left(&mut self, id: ParticipantId) {
        self.unsubscribe_all(id).await;
        if let Some(participant) = self.participants.remove(&id) {
            info!(id = %participant.id, name = %participant.name, "participant left");
            self.emit(ClassEvent::ParticipantLeft { participant });
        }
    }

    async fn shutdown(&mut self) {
        for (_, sub) in self.subscriptions.drain() {
            sub.peer.close().await;
        }
        if let Some(publisher) = self.publisher.take() {
            publisher.close().await;
        }
    }

    /// Ends the class: the link or the server's session is gone.
    async fn connection_lost(&mut self, reason: String) {
        warn!(%reason, "connection lost");
        self.shutdown().await;
        self.emit(ClassEvent::ConnectionLost { reason });
    }

    async fn leave(&mut self) {
        // Leaving never reconnects: a link that drops now ends it.
        self.conn.reconnects = None;
        // A goodbye is a courtesy: don't hold the user hostage to a slow server.
        let _ = tokio::time::timeout(LEAVE_GRACE, self.conn.videoroom(self.handle, VideoRoomRequest::Leave, None)).await;
        self.shutdown().await;
        let req = self.conn.session.destroy(Conn::now());
        let _ = tokio::time::timeout(LEAVE_GRACE, self.conn.wait(req)).await;
    }
}

fn describe(e: CallError) -> String {
    match e {
        CallError::Closed(reason) => reason,
        CallError::Request(e) => e.to_string(),
    }
}
