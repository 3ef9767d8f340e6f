//! The class machine: everything a class does, without doing any I/O.
//!
//! In the style of [`estrade_signaling::Session`] (which it owns) and of
//! quinn-proto: the driver feeds [`Input`]s with the current instant, then
//! drains [`ClassMachine::poll_output`] and sleeps until
//! [`ClassMachine::poll_timeout`]. The machine never reads a clock, never
//! spawns and never waits, so its tests run whole scenarios (a join, a server
//! restart, a herd of retries) on virtual time in microseconds.
//!
//! What it holds: the connection's life ([`ConnectionState`]), the roster,
//! what each publisher offers and what we are subscribed to (a set
//! difference: a repeated `publishers` list changes nothing), our
//! publication's jobs (one at a time, in order), and the reconnect policy.
//! Each request's outcome comes back as an input, so a leave or a command is
//! never stuck behind a subscription's ICE gathering.
//!
//! Reconnection escalates, lightest first:
//! - media stopped getting through while the server link held (ICE
//!   disconnected or failed): ICE is restarted on the same session and
//!   handles, a new offer with fresh credentials for our publication, a
//!   `configure {restart}` for each subscription, in rounds ([`ICE_RESTART_BACKOFF`])
//!   for up to [`ICE_REPAIR_WINDOW`], then a rejoin;
//! - the WebSocket dropped while Janus kept our session: a new WebSocket to
//!   the same server and Janus `claim` (every handle and peer connection as it
//!   was), for up to [`RECLAIM_WINDOW`];
//! - the session is gone (Janus restarted, the server died, the claim was
//!   refused): a new session on the first server that answers, in the order
//!   given, then rejoin, republish from the class's own media and resubscribe.
//!   Rounds over every server in the slotted windows of [`REJOIN_BACKOFF`]
//!   (each client at its own phase of every window, [`crate::backoff`]), so
//!   a whole class (or ten thousand of them) does not come back in one wave.
//!
//! A leave, or a class closed on the server, never reconnects.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use estrade_proto::videoroom::{
    error_code, Join, Publisher as RoomPublisher, StreamDescription, StreamRef, VideoRoomEvent, VideoRoomRequest,
    SCREEN_SHARE_DESCRIPTION,
};
use estrade_proto::{Jsep, JsepType, VIDEOROOM_PLUGIN};
use estrade_signaling::{self as signaling, RequestError, RequestId, Session, SessionConfig, SessionEvent};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tracing::{debug, info, warn};

use crate::backoff::{Backoff, Phase};
use crate::discovery::{DiscoveryError, ServerList};
use crate::peer::{PeerError, PeerEvent, PeerEventKind, Renegotiation};
use crate::{ClassEvent, Disconnect, JoinError, JoinOptions, MediaKind, Participant, ParticipantId, ReconnectLevel, ShareError, VideoFeed};

/// How long a dropped WebSocket may take to be claimed back. Janus keeps the
/// session that long only if its `reclaim_session_timeout` allows (the
/// shipped production profile: 10 s); past it the session is gone anyway.
pub const RECLAIM_WINDOW: Duration = Duration::from_secs(10);
/// The wait between claim attempts: short, since the server is alive and the
/// window is short, and jittered so a whole class cut at once is spread.
pub const RECLAIM_BACKOFF: Backoff = Backoff { base: Duration::from_millis(250), growth: 2.0, cap: Duration::from_secs(2) };
/// The windows of rejoin attempts over every server: the first within half a
/// second of the loss, then growing by half to 15 s. Not doubling: a client
/// tries once per window, so the last of a class comes back up to a whole
/// window after its server (doubling left one of four clients 7.4 s behind a
/// restarted Janus; growing by half, the windows reach 15 s within a minute
/// all the same).
pub const REJOIN_BACKOFF: Backoff = Backoff { base: Duration::from_millis(500), growth: 1.5, cap: Duration::from_secs(15) };
/// How long a media connection may stay disconnected (ICE has heard nothing
/// for 2 s already, `estrade-rtc`) before its ICE is restarted: long enough
/// for a blip to pass by itself, short enough to be back while the class is
/// still listening. Each client adds up to [`ICE_RESTART_SPREAD`] of its own.
pub const ICE_RESTART_AFTER: Duration = Duration::from_millis(800);
/// Spreads the first ICE restarts of a whole school whose network blinked at once.
pub const ICE_RESTART_SPREAD: Duration = Duration::from_millis(400);
/// The windows of the ICE restart rounds after the first: a restarted
/// connection gets this long to connect (its checks last about 2 s) before
/// it is restarted again.
pub const ICE_RESTART_BACKOFF: Backoff = Backoff { base: Duration::from_secs(2), growth: 1.5, cap: Duration::from_secs(5) };
/// ICE restarts that have not brought the media back within this give way to
/// a rejoin (a new session: whatever was stuck on the server goes with it).
pub const ICE_REPAIR_WINDOW: Duration = Duration::from_secs(20);
/// How long leaving may wait for the server's goodbye before closing anyway.
pub const LEAVE_GRACE: Duration = Duration::from_secs(2);

/// What the machine needs to know about the class to join.
#[derive(Debug, Clone)]
pub struct ClassConfig {
    /// The servers, the class, our name and PIN, and the time limits.
    pub join: JoinOptions,
    /// We send sound.
    pub audio: bool,
    /// We send a picture.
    pub video: bool,
    /// We share a screen from the start.
    pub screen: bool,
    /// Seeds the jitter of the retries (tests fix it; the driver draws it).
    pub seed: u64,
}

/// Names one operation on a peer connection, to match its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerOpId(pub u64);

/// Names one subscription's peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// Names one user command, to answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandId(pub u64);

/// What the person in class asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Share the screen the driver now holds (replacing a share under way).
    ShareScreen(CommandId),
    /// Stop sharing.
    StopScreenShare(CommandId),
    /// Leave the class.
    Leave,
}

/// Something to do to a peer connection. Our publisher's operations come one
/// at a time, in order; subscriptions' run side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAction {
    /// Restart our publisher's ICE: fresh credentials and addresses.
    /// Outcome: [`PeerResult::Offer`].
    RestartIce,
    /// Answer the server's new offer on a live subscription (an ICE restart).
    /// Outcome: [`PeerResult::Answer`].
    AcceptOffer {
        /// Which subscription.
        subscription: SubscriptionId,
        /// The server's SDP offer, with fresh ICE credentials.
        offer: String,
    },
    /// Make our publisher from the class's media (closing any previous one).
    /// Outcome: [`PeerResult::Offer`].
    Publish {
        /// With our sound.
        audio: bool,
        /// With our picture.
        video: bool,
        /// With our shared screen.
        screen: bool,
    },
    /// Apply the server's answer to the publisher. Outcome: [`PeerResult::Done`].
    AcceptAnswer {
        /// The SDP answer.
        sdp: String,
    },
    /// Start sending the shared screen the driver holds. Outcome: [`PeerResult::Offer`].
    ShareScreen,
    /// Stop sending the shared screen. Outcome: [`PeerResult::Offer`], or
    /// [`PeerResult::Done`] if there was nothing to stop.
    StopScreenShare,
    /// Close the publisher. No outcome.
    ClosePublisher,
    /// Answer the server's offer for a subscription. Outcome: [`PeerResult::Answer`].
    Subscribe {
        /// Which subscription.
        subscription: SubscriptionId,
        /// Whose media.
        from: Participant,
        /// Camera or screen share.
        feed: VideoFeed,
        /// The server's SDP offer.
        offer: String,
    },
    /// Close a subscription's connection. No outcome.
    CloseSubscription {
        /// Which.
        subscription: SubscriptionId,
    },
}

/// The outcome of a [`PeerAction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerResult {
    /// An offer for the server.
    Offer(Renegotiation),
    /// A subscription's SDP answer.
    Answer(String),
    /// Done, nothing to send.
    Done,
    /// It failed.
    Failed(PeerError),
}

/// What happened, fed to [`ClassMachine::handle_input`].
#[derive(Debug)]
pub enum Input<'a> {
    /// The link asked for with [`Output::Connect`] is open.
    LinkOpened,
    /// The link asked for could not be opened.
    LinkFailed(JoinError),
    /// The server sent this text.
    Received(&'a str),
    /// The open link closed.
    LinkClosed(String),
    /// A [`PeerAction`] finished.
    PeerDone {
        /// Which.
        op: PeerOpId,
        /// How.
        result: PeerResult,
    },
    /// A peer connection reported something.
    Peer(PeerEvent),
    /// The person in class asked for something.
    Command(Command),
    /// The instant from [`ClassMachine::poll_timeout`] has come.
    Timeout,
    /// The answer to [`Output::Resolve`].
    Resolved(Result<ServerList, DiscoveryError>),
}

/// What the driver must do, from [`ClassMachine::poll_output`].
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Open a link to this server (dropping any link still open), then feed
    /// [`Input::LinkOpened`] or [`Input::LinkFailed`].
    Connect {
        /// The signaling address.
        endpoint: String,
    },
    /// Ask the class's [`crate::discovery::ServerDirectory`] for its
    /// servers (with `refresh`: every server listed last failed), then feed
    /// [`Input::Resolved`]. Only before a round of a rejoin, and only when
    /// the join options have a directory.
    Resolve {
        /// Ask the school again even if its document is still fresh.
        refresh: bool,
    },
    /// Drop the link.
    CloseLink,
    /// Send this text on the link.
    Transmit(String),
    /// Act on a peer connection.
    Peer {
        /// Names the outcome to feed back.
        op: PeerOpId,
        /// What to do.
        action: PeerAction,
    },
    /// Tell the person in class.
    Event(ClassEvent),
    /// We are in the class (the first time only).
    Joined {
        /// Ourselves.
        me: Participant,
        /// The server the class is on.
        endpoint: String,
    },
    /// Joining failed (the first time only); the machine is done.
    JoinFailed(JoinError),
    /// The answer to a [`Command`].
    Answer {
        /// Which command.
        command: CommandId,
        /// Its outcome.
        result: Result<(), ShareError>,
    },
    /// The class is over for us; close everything.
    Finished,
}

/// The connection's life, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Joining for the first time.
    Joining,
    /// In class.
    Connected,
    /// The link dropped; claiming our session back on the same server.
    Resuming,
    /// The session is gone; joining again.
    Rejoining,
    /// Over, for this reason (retrying did not help, or cannot).
    Lost(Disconnect),
    /// We left, or the join failed.
    Ended,
}

/// One of a participant's subscriptions: sound and camera, or screen share.
type SubscriptionKey = (ParticipantId, VideoFeed);

/// A media connection, as ICE repair sees it: a subscription, or (`None`) our publication.
type Connection = Option<SubscriptionKey>;

/// Media connections that lost their path, and the rounds of ICE restarts
/// that bring them back. One repair for the whole class: a network that
/// blinks takes every connection with it.
#[derive(Debug, Clone)]
struct IceRepair {
    /// When the first connection lost its path.
    since: Instant,
    /// Restart rounds so far (0: none yet).
    attempt: u32,
    /// The next round (the first at this client's own phase of
    /// [`ICE_RESTART_SPREAD`]; the rest keep that spacing).
    next_round: Instant,
    /// The connections without a path.
    troubled: BTreeSet<Connection>,
}

/// What a publisher offers, as Janus last listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offered {
    /// Sound and camera mids (`None`: the whole feed, from an older server;
    /// empty: nothing but a screen share).
    main: Option<Vec<String>>,
    /// The screen share's mid, while sharing.
    screen: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubStep {
    Attach,
    Join,
    /// Our peer connection is answering the server's offer.
    Answer,
    Start,
    Live,
    /// Live, and the server was asked for an ICE-restart offer.
    Restart,
}

#[derive(Debug)]
struct Subscription {
    id: SubscriptionId,
    from: Participant,
    mids: Option<Vec<String>>,
    handle: Option<u64>,
    step: SubStep,
    requested_at: Instant,
    /// The driver holds a peer connection for it.
    has_peer: bool,
}

/// One change to what we publish, done in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Job {
    /// A new publisher from the class's media (at join, after a rejoin, or
    /// for a share when nothing was published).
    Publish { answers: Vec<CommandId> },
    Share(CommandId),
    /// `None` when the shared window went away by itself.
    StopShare(Option<CommandId>),
    /// Fresh ICE for our publication (its path was lost).
    RestartIce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JobStep {
    /// Waiting for the publisher's offer; `new_publisher`: a whole new one.
    Peer { op: PeerOpId, new_publisher: bool },
    Configure(RequestId),
    Accept(PeerOpId),
}

/// What a pending request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Create,
    AttachRoom,
    JoinRoom,
    Configure,
    Claim,
    SubAttach(SubscriptionId),
    SubJoin(SubscriptionId),
    SubStart(SubscriptionId),
    SubRestart(SubscriptionId),
    Leave,
    Destroy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// A link was asked for (or is open and `create` sent) to `servers[index]`.
    Connecting { index: usize, deadline: Instant },
    /// Between rounds of rejoin attempts.
    Waiting { until: Instant },
    /// Before a round of a rejoin: asking where the class's servers are now.
    Resolving,
    /// The session exists; attaching and joining the room.
    Entering,
    InClass,
    /// The link dropped; `retry_at` is the next claim attempt (`None`: one under way).
    Claiming { attempt: u32, retry_at: Option<Instant>, link_open: bool },
    /// Saying goodbye; done at `deadline` at the latest.
    Leaving { deadline: Instant },
    Over,
}

/// A break in the class, while we get it back.
#[derive(Debug, Clone, Copy)]
struct Recovery {
    since: Instant,
    level: ReconnectLevel,
    /// Rejoin: rounds over every server that failed so far.
    round: u32,
    attempt: u32,
    /// Where this client tries in each window of the outage (see [`crate::backoff`]).
    phase: Phase,
}

/// The class, sans I/O. See the module documentation.
pub struct ClassMachine {
    config: ClassConfig,
    rng: StdRng,
    session: Session,
    stage: Stage,
    /// `None` until the first room join succeeded.
    me: Option<Participant>,
    /// [`Output::Joined`] was given.
    join_announced: bool,
    private_id: Option<u64>,
    room_handle: Option<u64>,
    endpoint: Option<String>,
    /// The servers to try, best first: the join's, then as the directory
    /// lists them before each round of a rejoin.
    servers: Vec<String>,
    /// The least wait between rounds, from the school's document.
    retry_floor: Duration,
    /// Servers that failed since the class was cut: tried last.
    down: Vec<String>,
    recovery: Option<Recovery>,
    /// Media connections being repaired by ICE restarts, while the link holds.
    ice_repair: Option<IceRepair>,
    /// Why the last server attempt failed (for the join's error).
    last_failure: Option<JoinError>,
    requests: HashMap<RequestId, Pending>,
    participants: BTreeMap<ParticipantId, Participant>,
    offered: BTreeMap<ParticipantId, Offered>,
    sharing: HashSet<ParticipantId>,
    subscriptions: BTreeMap<SubscriptionKey, Subscription>,
    /// Subscriptions that failed, with when to try again.
    retry_subscription: HashMap<SubscriptionKey, (u32, Instant)>,
    next_subscription: u64,
    /// What we send (sound and picture are fixed at join; the screen while sharing).
    screen: bool,
    publisher_exists: bool,
    jobs: VecDeque<Job>,
    current_job: Option<(Job, JobStep)>,
    peer_ops: HashMap<PeerOpId, Option<SubscriptionId>>,
    next_op: u64,
    outputs: VecDeque<Output>,
    now: Instant,
}

impl std::fmt::Debug for ClassMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClassMachine").field("stage", &self.stage).field("me", &self.me).field("subscriptions", &self.subscriptions.len()).finish()
    }
}

impl ClassMachine {
    /// A machine that starts joining at once: drain its outputs.
    pub fn new(config: ClassConfig, now: Instant) -> Self {
        let mut machine = Self {
            rng: StdRng::seed_from_u64(config.seed),
            session: Session::new(SessionConfig::default()),
            stage: Stage::Over,
            me: None,
            join_announced: false,
            private_id: None,
            room_handle: None,
            endpoint: None,
            servers: config.join.servers.clone(),
            retry_floor: Duration::ZERO,
            down: Vec::new(),
            recovery: None,
            ice_repair: None,
            last_failure: None,
            requests: HashMap::new(),
            participants: BTreeMap::new(),
            offered: BTreeMap::new(),
            sharing: HashSet::new(),
            subscriptions: BTreeMap::new(),
            retry_subscription: HashMap::new(),
            next_subscription: 1,
            screen: config.screen,
            publisher_exists: false,
            jobs: VecDeque::new(),
            current_job: None,
            peer_ops: HashMap::new(),
            next_op: 1,
            outputs: VecDeque::new(),
            now,
            config,
        };
        if machine.servers.is_empty() {
            machine.join_failed(JoinError::BadAddress { address: String::new(), reason: "no server to connect to".into() });
        } else {
            machine.try_server(0);
        }
        machine
    }

    /// Where the connection stands.
    pub fn state(&self) -> ConnectionState {
        match (self.stage, self.recovery) {
            (Stage::Over | Stage::Leaving { .. }, _) => ConnectionState::Ended,
            (_, Some(r)) if r.level == ReconnectLevel::Claim => ConnectionState::Resuming,
            (_, Some(_)) => ConnectionState::Rejoining,
            (Stage::InClass, None) if self.ice_repair.as_ref().is_some_and(|r| r.attempt > 0) => ConnectionState::Resuming,
            (Stage::InClass, None) => ConnectionState::Connected,
            (_, None) => ConnectionState::Joining,
        }
    }

    /// Ourselves, once joined (a rejoin gives us a new id).
    pub fn me(&self) -> Option<&Participant> {
        self.me.as_ref()
    }

    /// Feeds what happened at `now`; then drain [`ClassMachine::poll_output`].
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.now = now;
        match input {
            Input::LinkOpened => self.link_opened(),
            Input::LinkFailed(error) => self.link_failed(error),
            Input::Received(text) => self.session.handle_input(signaling::Input::Receive(now, text)),
            Input::LinkClosed(reason) => self.link_closed(reason),
            Input::PeerDone { op, result } => self.peer_done(op, result),
            Input::Peer(event) => self.peer_event(event),
            Input::Command(command) => self.command(command),
            Input::Timeout => self.timeout(),
            Input::Resolved(result) => self.resolved(result),
        }
        self.pump_session();
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed [`Input::Timeout`] next (`None`: only on other input).
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let own = match self.stage {
            Stage::Connecting { deadline, .. } | Stage::Leaving { deadline } => Some(deadline),
            Stage::Waiting { until } => Some(until),
            Stage::Claiming { retry_at, .. } => retry_at,
            Stage::Entering | Stage::InClass | Stage::Resolving | Stage::Over => None,
        };
        let give_up = self.recovery.map(|r| r.since + self.config.join.give_up_after);
        let retry = self.retry_subscription.values().map(|&(_, at)| at).min();
        let ice = self.ice_repair.as_ref().filter(|_| self.repairing_allowed()).map(|r| r.next_round.min(r.since + ICE_REPAIR_WINDOW));
        let session = if self.offline() {
            None
        } else {
            match self.session.poll_output() {
                signaling::Output::Timeout(at) => at,
                // Outputs are drained after each input; none can be waiting here.
                _ => None,
            }
        };
        [own, give_up, retry, ice, session].into_iter().flatten().min()
    }

    // ----- the link and the session -----

    /// No link and no session: between rounds, asking for the servers, or over.
    fn offline(&self) -> bool {
        matches!(self.stage, Stage::Over | Stage::Waiting { .. } | Stage::Resolving)
    }

    /// A round of a rejoin over every server: first where they are now, if
    /// the class has a directory to ask.
    fn start_round(&mut self) {
        if self.config.join.directory.is_some() {
            let refresh = self.recovery.is_some_and(|r| r.round > 0);
            self.stage = Stage::Resolving;
            self.outputs.push_back(Output::Resolve { refresh });
            return;
        }
        self.try_round();
    }

    /// The directory answered: its list replaces ours (a server it no longer
    /// lists is never tried again), then the round begins.
    fn resolved(&mut self, result: Result<ServerList, DiscoveryError>) {
        if self.stage != Stage::Resolving {
            return debug!("a server list that is no longer wanted");
        }
        match result {
            Ok(list) => {
                if list.endpoints != self.servers {
                    info!(endpoints = ?list.endpoints, "the school lists other servers now");
                }
                self.servers = list.endpoints;
                self.retry_floor = list.retry_after;
            }
            Err(error) => {
                warn!(%error, "the school's list of servers could not be had again");
                let wait = match &error {
                    DiscoveryError::Unavailable { retry_after, .. } => *retry_after,
                    _ => None,
                };
                if let Some(wait) = wait {
                    self.retry_floor = self.retry_floor.max(wait);
                }
                if matches!(error, DiscoveryError::Expired { .. }) {
                    // Past its max_stale_s, the list we had may not be used either.
                    self.servers.clear();
                }
                self.last_failure = Some(JoinError::Discovery(error));
            }
        }
        self.try_round();
    }

    /// Tries the servers in order, those that failed since the cut last.
    fn try_round(&mut self) {
        if self.servers.is_empty() {
            return self.round_failed();
        }
        let down = std::mem::take(&mut self.down);
        self.servers.sort_by_key(|s| down.contains(s));
        self.down = down;
        self.try_server(0);
    }

    /// Every server failed: wait for this client's moment of the next window.
    fn round_failed(&mut self) {
        let floor = self.retry_floor;
        let Some(r) = self.recovery.as_mut() else {
            let error = self.last_failure.take().unwrap_or(JoinError::BadAddress { address: String::new(), reason: "no server to connect to".into() });
            return self.join_failed(error);
        };
        let delay = REJOIN_BACKOFF.next_wait(r.round, r.phase, floor);
        r.round += 1;
        debug!(round = r.round, delay_ms = delay.as_millis() as u64, "every server failed; waiting");
        self.stage = Stage::Waiting { until: self.now + delay };
    }

    fn emit(&mut self, event: ClassEvent) {
        debug!(?event, "class event");
        self.outputs.push_back(Output::Event(event));
    }

    fn op(&mut self, action: PeerAction, subscription: Option<SubscriptionId>) -> PeerOpId {
        let op = PeerOpId(self.next_op);
        self.next_op += 1;
        if !matches!(action, PeerAction::ClosePublisher | PeerAction::CloseSubscription { .. }) {
            self.peer_ops.insert(op, subscription);
        }
        self.outputs.push_back(Output::Peer { op, action });
        op
    }

    fn request(&mut self, request: RequestId, pending: Pending) -> RequestId {
        self.requests.insert(request, pending);
        request
    }

    fn videoroom(&mut self, handle: u64, body: VideoRoomRequest, jsep: Option<Jsep>, pending: Pending) -> RequestId {
        let body = serde_json::to_value(body).expect("VideoRoom requests are plain data");
        let request = self.session.message(self.now, handle, body, jsep);
        self.request(request, pending)
    }

    /// Asks for a link to `servers[index]`.
    fn try_server(&mut self, index: usize) {
        let endpoint = self.servers[index].clone();
        if let Some(r) = self.recovery.as_mut() {
            r.attempt += 1;
            let (level, attempt) = (r.level, r.attempt);
            self.emit(ClassEvent::Reconnecting { level, attempt, endpoint: endpoint.clone() });
        }
        self.stage = Stage::Connecting { index, deadline: self.now + self.config.join.connect_timeout };
        self.outputs.push_back(Output::Connect { endpoint });
    }

    /// The server being tried failed: the next one, or the next round.
    fn server_failed(&mut self, error: JoinError) {
        let Stage::Connecting { index, .. } = self.stage else { return };
        let endpoint = self.servers[index].clone();
        warn!(%endpoint, %error, "server not answering");
        if !self.down.contains(&endpoint) {
            self.down.push(endpoint);
        }
        self.requests.clear();
        self.outputs.push_back(Output::CloseLink);
        let fatal = matches!(error, JoinError::BadAddress { .. });
        self.last_failure = Some(error);
        if index + 1 < self.servers.len() && !fatal {
            return self.try_server(index + 1);
        }
        self.round_failed();
    }

    fn link_opened(&mut self) {
        match self.stage {
            Stage::Connecting { .. } => {
                // A new session: the old one (if any) is gone.
                self.session = Session::new(SessionConfig::default());
                let create = self.session.create(self.now);
                self.request(create, Pending::Create);
            }
            Stage::Claiming { attempt, .. } => {
                self.stage = Stage::Claiming { attempt, retry_at: None, link_open: true };
                let claim = self.session.claim(self.now);
                self.request(claim, Pending::Claim);
            }
            _ => debug!("a link opened that is no longer wanted"),
        }
    }

    fn link_failed(&mut self, error: JoinError) {
        match self.stage {
            Stage::Connecting { .. } => self.server_failed(error),
            Stage::Claiming { attempt, .. } => {
                if let JoinError::NotListening { .. } = error {
                    // The server program is gone, and our session with it.
                    if let Some(endpoint) = self.endpoint.clone() {
                        self.down.push(endpoint);
                    }
                    return self.rejoin(format!("the server is gone ({error})"));
                }
                debug!(attempt, %error, "claim attempt: cannot connect");
                self.next_claim(attempt);
            }
            _ => {}
        }
    }

    fn link_closed(&mut self, reason: String) {
        match self.stage {
            Stage::Connecting { .. } => {
                let address = self.connecting_endpoint();
                self.server_failed(JoinError::Unreachable { address, reason })
            }
            Stage::Entering if self.recovery.is_none() => self.join_failed(JoinError::ConnectionLost { reason }),
            Stage::Entering => self.rejoin(reason),
            Stage::InClass => self.claim(reason),
            Stage::Claiming { attempt, .. } => {
                debug!(attempt, %reason, "claim attempt: link closed");
                self.requests.retain(|_, p| *p != Pending::Claim);
                self.next_claim(attempt);
            }
            Stage::Leaving { .. } => self.finish(),
            Stage::Waiting { .. } | Stage::Resolving | Stage::Over => {}
        }
    }

    fn connecting_endpoint(&self) -> String {
        match self.stage {
            Stage::Connecting { index, .. } => self.servers[index].clone(),
            _ => self.endpoint.clone().unwrap_or_default(),
        }
    }

    /// The link dropped in class: claim the session back on the same server.
    fn claim(&mut self, reason: String) {
        warn!(%reason, endpoint = ?self.endpoint, "link to the server lost; claiming the session back");
        self.session.link_lost();
        let phase = Phase::random(&mut self.rng);
        self.recovery = Some(Recovery { since: self.now, level: ReconnectLevel::Claim, round: 0, attempt: 0, phase });
        // Not at once: a whole class (or every class behind one proxy) was cut together.
        self.stage = Stage::Claiming { attempt: 0, retry_at: Some(self.now + RECLAIM_BACKOFF.first_wait(phase)), link_open: false };
    }

    fn claim_attempt(&mut self, attempt: u32) {
        let endpoint = self.endpoint.clone().unwrap_or_default();
        if let Some(r) = self.recovery.as_mut() {
            r.attempt = attempt;
        }
        self.emit(ClassEvent::Reconnecting { level: ReconnectLevel::Claim, attempt, endpoint: endpoint.clone() });
        self.stage = Stage::Claiming { attempt, retry_at: None, link_open: false };
        self.outputs.push_back(Output::Connect { endpoint });
    }

    fn next_claim(&mut self, attempt: u32) {
        let Some(Recovery { since, phase, .. }) = self.recovery else { return };
        let wait = RECLAIM_BACKOFF.next_wait(attempt.saturating_sub(1), phase, Duration::ZERO);
        if self.now + wait >= since + RECLAIM_WINDOW {
            return self.rejoin(format!("the session could not be claimed back within {} s", RECLAIM_WINDOW.as_secs()));
        }
        self.outputs.push_back(Output::CloseLink);
        self.stage = Stage::Claiming { attempt, retry_at: Some(self.now + wait), link_open: false };
    }

    /// The session is gone: drop what belonged to it, and join again.
    fn rejoin(&mut self, reason: String) {
        if self.me.is_none() {
            return self.join_failed(JoinError::ConnectionLost { reason });
        }
        warn!(%reason, "the session is gone; joining the class again");
        self.drop_session();
        let since = self.recovery.map_or(self.now, |r| r.since);
        let phase = Phase::random(&mut self.rng);
        self.recovery = Some(Recovery { since, level: ReconnectLevel::Rejoin, round: 0, attempt: 0, phase });
        // Spread from the first attempt: a whole class lost its server at once.
        self.stage = Stage::Waiting { until: self.now + REJOIN_BACKOFF.first_wait(phase) };
    }

    /// Forgets the session's handles and peer connections (the class's own
    /// media stay: the next publisher leases them again).
    fn drop_session(&mut self) {
        self.outputs.push_back(Output::CloseLink);
        self.requests.clear();
        self.room_handle = None;
        self.private_id = None;
        for (_, sub) in std::mem::take(&mut self.subscriptions) {
            if sub.has_peer {
                self.op(PeerAction::CloseSubscription { subscription: sub.id }, None);
            }
        }
        self.peer_ops.clear();
        self.retry_subscription.clear();
        self.ice_repair = None;
        if self.publisher_exists {
            self.op(PeerAction::ClosePublisher, None);
            self.publisher_exists = false;
        }
        // What the person asked for still holds: it is folded into the republish.
        let mut answers = Vec::new();
        for job in self.current_job.take().map(|(j, _)| j).into_iter().chain(self.jobs.drain(..)) {
            match job {
                Job::Publish { answers: a } => answers.extend(a),
                Job::Share(c) => answers.push(c),
                Job::StopShare(c) => answers.extend(c),
                Job::RestartIce => {}
            }
        }
        if self.config.audio || self.config.video || self.screen || !answers.is_empty() {
            self.jobs.push_back(Job::Publish { answers });
        }
    }

    fn timeout(&mut self) {
        let now = self.now;
        if let Some(r) = self.recovery {
            if now >= r.since + self.config.join.give_up_after {
                let secs = self.config.join.give_up_after.as_secs();
                return self.lose(Disconnect::Network { detail: format!("the class could not be reached again within {secs} s") });
            }
        }
        match self.stage {
            Stage::Connecting { deadline, .. } if now >= deadline => {
                let address = self.connecting_endpoint();
                let secs = self.config.join.connect_timeout.as_secs();
                return self.server_failed(JoinError::Unreachable { address, reason: format!("no answer within {secs} s") });
            }
            Stage::Waiting { until } if now >= until => return self.start_round(),
            Stage::Claiming { attempt, retry_at: Some(at), .. } if now >= at => return self.claim_attempt(attempt + 1),
            Stage::Leaving { deadline } if now >= deadline => return self.finish(),
            _ => {}
        }
        if !self.offline() {
            self.session.handle_input(signaling::Input::Timeout(now));
        }
        if self.stage == Stage::InClass && self.retry_subscription.values().any(|&(_, at)| at <= now) {
            self.reconcile();
        }
        self.repair_ice();
    }

    /// Drains the session machine's outputs.
    fn pump_session(&mut self) {
        if self.offline() {
            return;
        }
        loop {
            match self.session.poll_output() {
                signaling::Output::Transmit(text) => {
                    // While claiming without a link, requests wait in the session machine's pending list.
                    if !matches!(self.stage, Stage::Claiming { link_open: false, .. }) {
                        self.outputs.push_back(Output::Transmit(text));
                    }
                }
                signaling::Output::Event(event) => self.session_event(event),
                signaling::Output::Timeout(_) => break,
            }
            if self.offline() {
                return;
            }
        }
    }

    fn session_event(&mut self, event: SessionEvent) {
        let outcome = match &event {
            SessionEvent::Created { request, .. }
            | SessionEvent::Attached { request, .. }
            | SessionEvent::Replied { request, .. }
            | SessionEvent::Done { request }
            | SessionEvent::Failed { request, .. } => self.requests.remove(request),
            _ => None,
        };
        match (outcome, event) {
            (Some(pending), event) => self.outcome(pending, event),
            (None, SessionEvent::PluginEvent { handle, data, .. }) if Some(handle) == self.room_handle => self.room_event(VideoRoomEvent::from_plugin_data(&data)),
            (None, SessionEvent::PluginEvent { handle, data, .. }) => debug!(handle, %data, "subscriber event"),
            (None, SessionEvent::WebrtcUp { handle }) if Some(handle) == self.room_handle => self.emit(ClassEvent::Publishing),
            (None, SessionEvent::HangUp { handle, reason }) if Some(handle) == self.room_handle => {
                self.emit(ClassEvent::MediaFailed { participant: None, reason: format!("server hung up: {reason}") })
            }
            (None, SessionEvent::SessionLost { reason }) => match self.stage {
                Stage::Leaving { .. } => self.finish(),
                Stage::Connecting { .. } => {
                    let address = self.connecting_endpoint();
                    self.server_failed(JoinError::Unreachable { address, reason })
                }
                _ => self.rejoin(reason),
            },
            (None, SessionEvent::Ignored { reason }) => self.emit(ClassEvent::Warning { message: reason }),
            (None, SessionEvent::Attached { handle, .. }) => {
                // A subscription cancelled while attaching.
                self.session.detach(self.now, handle);
            }
            (None, other) => debug!(?other, "session event"),
        }
    }

    fn outcome(&mut self, pending: Pending, event: SessionEvent) {
        match (pending, event) {
            (Pending::Create, SessionEvent::Created { .. }) => {
                let Stage::Connecting { index, .. } = self.stage else { return };
                self.endpoint = Some(self.servers[index].clone());
                self.stage = Stage::Entering;
                let attach = self.session.attach(self.now, VIDEOROOM_PLUGIN);
                self.request(attach, Pending::AttachRoom);
            }
            (Pending::Create, SessionEvent::Failed { error, .. }) => {
                let address = self.connecting_endpoint();
                let error = match error {
                    RequestError::TimedOut(_) => JoinError::Unreachable { address, reason: error.to_string() },
                    other => JoinError::Refused { reason: other.to_string() },
                };
                self.server_failed(error);
            }
            (Pending::AttachRoom, SessionEvent::Attached { handle, .. }) => {
                self.room_handle = Some(handle);
                let join = Join::Publisher { room: self.config.join.room, display: self.config.join.name.clone(), pin: self.config.join.pin.clone() };
                self.videoroom(handle, VideoRoomRequest::Join(join), None, Pending::JoinRoom);
            }
            (Pending::JoinRoom, SessionEvent::Replied { data, .. }) => self.joined_room(VideoRoomEvent::from_plugin_data(&data)),
            (Pending::AttachRoom | Pending::JoinRoom, SessionEvent::Failed { error, .. }) => self.entry_failed(call_error(error)),
            (Pending::Claim, SessionEvent::Done { .. }) => self.claimed(),
            (Pending::Claim, SessionEvent::Failed { error, .. }) => {
                if let RequestError::TimedOut(_) = error {
                    let Stage::Claiming { attempt, .. } = self.stage else { return };
                    return self.next_claim(attempt);
                }
                self.rejoin(format!("the server no longer has our session ({error})"));
            }
            (Pending::Configure, event) => self.configured(event),
            (Pending::SubAttach(id), event) => self.sub_attached(id, event),
            (Pending::SubJoin(id), event) => self.sub_joined(id, event),
            (Pending::SubStart(id), event) => self.sub_started(id, event),
            (Pending::SubRestart(id), event) => self.sub_restart_offered(id, event),
            (Pending::Leave, _) => {
                let destroy = self.session.destroy(self.now);
                self.request(destroy, Pending::Destroy);
            }
            (Pending::Destroy, _) => self.finish(),
            (pending, event) => debug!(?pending, ?event, "unexpected outcome"),
        }
    }

    /// Attaching or joining the room failed.
    fn entry_failed(&mut self, error: JoinError) {
        if self.recovery.is_none() {
            return self.join_failed(error);
        }
        match error {
            JoinError::NoSuchClass { .. } => self.lose(Disconnect::ClassEnded),
            e @ (JoinError::WrongPin { .. } | JoinError::Refused { .. } | JoinError::BadAddress { .. }) => {
                self.lose(Disconnect::Refused { detail: e.to_string() })
            }
            // Full, timed out, closed: another round may do.
            other => {
                if let Stage::Entering = self.stage {
                    let index = self.servers.iter().position(|s| Some(s) == self.endpoint.as_ref()).unwrap_or(0);
                    self.stage = Stage::Connecting { index, deadline: self.now };
                }
                self.server_failed(other);
            }
        }
    }

    fn joined_room(&mut self, event: VideoRoomEvent) {
        let (id, private_id, publishers, attendees) = match event {
            VideoRoomEvent::Joined { id, private_id, publishers, attendees, .. } => (ParticipantId(id), private_id, publishers, attendees),
            VideoRoomEvent::Error { code, reason } => return self.entry_failed(room_error(self.config.join.room, code, reason)),
            other => return self.entry_failed(JoinError::Refused { reason: format!("unexpected answer to join: {other:?}") }),
        };
        let endpoint = self.endpoint.clone().unwrap_or_default();
        info!(%id, %endpoint, "joined");
        self.private_id = private_id;
        self.stage = Stage::InClass;
        let me = Participant { id, name: self.config.join.name.clone() };
        let first = self.me.is_none();
        self.me = Some(me.clone());
        // Who is here now: those gone while we were away have left.
        let present: HashSet<ParticipantId> = publishers.iter().chain(&attendees).map(|p| ParticipantId(p.id)).collect();
        let gone: Vec<ParticipantId> = self.participants.keys().filter(|p| !present.contains(p)).copied().collect();
        for p in gone {
            self.participant_left(p);
        }
        for a in attendees {
            self.participant_seen(Participant { id: ParticipantId(a.id), name: a.display });
        }
        self.publishers_listed(publishers);
        if first {
            if self.config.audio || self.config.video || self.config.screen {
                self.jobs.push_back(Job::Publish { answers: Vec::new() });
                self.next_job();
            } else {
                self.announce_join();
            }
        } else {
            self.next_job();
            self.down.clear();
            if let Some(r) = self.recovery.take() {
                let after = self.now - r.since;
                info!(after_ms = after.as_millis() as u64, "back in class");
                self.emit(ClassEvent::Reconnected { level: ReconnectLevel::Rejoin, after, endpoint, me });
            }
        }
    }

    fn claimed(&mut self) {
        let endpoint = self.endpoint.clone().unwrap_or_default();
        self.stage = Stage::InClass;
        self.down.clear();
        if let Some(r) = self.recovery.take() {
            let after = self.now - r.since;
            info!(attempt = r.attempt, after_ms = after.as_millis() as u64, "session claimed back");
            let me = self.me.clone().expect("claims happen in class only");
            self.emit(ClassEvent::Reconnected { level: ReconnectLevel::Claim, after, endpoint, me });
        }
        // Requests lost with the old link: subscriptions under way start again.
        let stuck: Vec<SubscriptionKey> = self.subscriptions.iter().filter(|(_, s)| s.step != SubStep::Live).map(|(k, _)| *k).collect();
        for key in stuck {
            self.cancel_subscription(key);
        }
        self.reconcile();
    }

    /// Tells the driver we are in (once): after the room join and our first publication.
    fn announce_join(&mut self) {
        if self.join_announced {
            return;
        }
        let (Some(me), Some(endpoint)) = (self.me.clone(), self.endpoint.clone()) else { return };
        self.join_announced = true;
        self.outputs.push_back(Output::Joined { me, endpoint });
    }

    fn join_failed(&mut self, error: JoinError) {
        warn!(%error, "join failed");
        self.close_everything();
        self.outputs.push_back(Output::JoinFailed(error));
        self.outputs.push_back(Output::Finished);
    }

    /// The class is over: retrying cannot help, or did not.
    fn lose(&mut self, reason: Disconnect) {
        warn!(%reason, "connection lost");
        self.close_everything();
        self.emit(ClassEvent::ConnectionLost { reason });
        self.outputs.push_back(Output::Finished);
    }

    fn close_everything(&mut self) {
        self.drop_session();
        self.jobs.clear();
        self.recovery = None;
        self.stage = Stage::Over;
    }

    fn finish(&mut self) {
        if self.stage == Stage::Over {
            return;
        }
        self.close_everything();
        self.emit(ClassEvent::Left);
        self.outputs.push_back(Output::Finished);
    }

    // ----- the room -----

    fn room_event(&mut self, event: VideoRoomEvent) {
        match event {
            VideoRoomEvent::Publishers(list) => self.publishers_listed(list),
            VideoRoomEvent::Joining { id, display } => {
                self.participant_seen(Participant { id: ParticipantId(id), name: display });
            }
            VideoRoomEvent::Leaving { id } => self.participant_left(ParticipantId(id)),
            VideoRoomEvent::Unpublished { id } => {
                self.offered.remove(&ParticipantId(id));
                self.reconcile();
            }
            VideoRoomEvent::Destroyed { .. } => self.lose(Disconnect::ClassEnded),
            VideoRoomEvent::Error { code, reason } => self.emit(ClassEvent::Warning { message: format!("server error {code}: {reason}") }),
            other => debug!(?other, "videoroom event"),
        }
    }

    fn participant_seen(&mut self, p: Participant) {
        if Some(p.id) == self.me.as_ref().map(|m| m.id) || self.participants.contains_key(&p.id) {
            return;
        }
        info!(id = %p.id, name = %p.name, "participant joined");
        self.participants.insert(p.id, p.clone());
        self.emit(ClassEvent::ParticipantJoined { participant: p });
    }

    fn participant_left(&mut self, id: ParticipantId) {
        self.offered.remove(&id);
        self.reconcile();
        if let Some(participant) = self.participants.remove(&id) {
            info!(id = %participant.id, name = %participant.name, "participant left");
            self.emit(ClassEvent::ParticipantLeft { participant });
        }
    }

    /// Janus lists publishers when they start, and again whenever what they
    /// publish changes (a screen share starting or stopping).
    fn publishers_listed(&mut self, list: Vec<RoomPublisher>) {
        for p in list {
            let participant = Participant { id: ParticipantId(p.id), name: p.display };
            if Some(participant.id) == self.me.as_ref().map(|m| m.id) {
                continue;
            }
            self.participant_seen(participant.clone());
            // Janus 1.x lists each stream; a list without any (an older
            // server) means: take the whole feed, as sound and camera.
            let main = if p.streams.is_empty() {
                None
            } else {
                Some(p.streams.iter().filter(|s| s.is_main_media()).map(|s| s.mid.clone()).collect())
            };
            let screen = p.streams.iter().find(|s| s.is_screen_share()).map(|s| vec![s.mid.clone()]);
            self.offered.insert(participant.id, Offered { main, screen });
        }
        self.reconcile();
    }

    /// Brings the subscriptions (and the screen-share announcements) in line
    /// with what is offered: starts what is missing, replaces what changed,
    /// ends what is no longer offered.
    fn reconcile(&mut self) {
        if self.stage != Stage::InClass {
            return;
        }
        let mut wanted: BTreeMap<SubscriptionKey, Option<Vec<String>>> = BTreeMap::new();
        for (id, offered) in &self.offered {
            if offered.main.as_ref().is_none_or(|m| !m.is_empty()) {
                wanted.insert((*id, VideoFeed::Camera), offered.main.clone());
            }
            if let Some(mids) = &offered.screen {
                wanted.insert((*id, VideoFeed::Screen), Some(mids.clone()));
            }
        }
        // Screen shares that started or stopped.
        let sharing_now: HashSet<ParticipantId> = wanted.keys().filter(|(_, f)| *f == VideoFeed::Screen).map(|(p, _)| *p).collect();
        for id in sharing_now.difference(&self.sharing.clone()) {
            if let Some(participant) = self.participants.get(id).cloned() {
                info!(id = %participant.id, "screen share started");
                self.emit(ClassEvent::ScreenShareStarted { participant });
            }
        }
        for id in self.sharing.clone().difference(&sharing_now) {
            if let Some(participant) = self.participants.get(id).cloned() {
                info!(%id, "screen share stopped");
                self.emit(ClassEvent::ScreenShareStopped { participant });
            }
        }
        self.sharing = sharing_now;
        let unwanted: Vec<SubscriptionKey> =
            self.subscriptions.iter().filter(|(k, s)| wanted.get(k).is_none_or(|mids| *mids != s.mids)).map(|(k, _)| *k).collect();
        for key in unwanted {
            self.cancel_subscription(key);
        }
        self.retry_subscription.retain(|k, _| wanted.contains_key(k));
        for (key, mids) in wanted {
            let due = self.retry_subscription.get(&key).is_none_or(|&(_, at)| at <= self.now);
            if !self.subscriptions.contains_key(&key) && due {
                self.subscribe(key, mids);
            }
        }
    }

    // ----- subscriptions -----

    fn subscribe(&mut self, key: SubscriptionKey, mids: Option<Vec<String>>) {
        let Some(from) = self.participants.get(&key.0).cloned() else { return };
        let id = SubscriptionId(self.next_subscription);
        self.next_subscription += 1;
        debug!(participant = %from.id, feed = ?key.1, ?mids, "subscribing");
        let attach = self.session.attach(self.now, VIDEOROOM_PLUGIN);
        self.request(attach, Pending::SubAttach(id));
        let sub = Subscription { id, from, mids, handle: None, step: SubStep::Attach, requested_at: self.now, has_peer: false };
        self.subscriptions.insert(key, sub);
    }

    fn sub_key(&self, id: SubscriptionId) -> Option<SubscriptionKey> {
        self.subscriptions.iter().find(|(_, s)| s.id == id).map(|(k, _)| *k)
    }

    fn sub_attached(&mut self, id: SubscriptionId, event: SessionEvent) {
        let (Some(key), SessionEvent::Attached { handle, .. }) = (self.sub_key(id), &event) else {
            if let SessionEvent::Attached { handle, .. } = event {
                // Cancelled while attaching.
                self.session.detach(self.now, handle);
            } else if let Some(key) = self.sub_key(id) {
                self.subscription_failed(key, describe(&event));
            }
            return;
        };
        let handle = *handle;
        let (room, private_id, pin) = (self.config.join.room, self.private_id, self.config.join.pin.clone());
        let sub = self.subscriptions.get_mut(&key).expect("found above");
        sub.handle = Some(handle);
        sub.step = SubStep::Join;
        let streams = match &sub.mids {
            Some(mids) => mids.iter().map(|mid| StreamRef { feed: key.0 .0, mid: Some(mid.clone()) }).collect(),
            None => vec![StreamRef { feed: key.0 .0, mid: None }],
        };
        let join = Join::Subscriber { room, private_id, streams, pin };
        self.videoroom(handle, VideoRoomRequest::Join(join), None, Pending::SubJoin(id));
    }

    fn sub_joined(&mut self, id: SubscriptionId, event: SessionEvent) {
        let Some(key) = self.sub_key(id) else { return };
        let offer = match server_offer(event, "server refused the subscription") {
            Ok(Some(offer)) => offer,
            Ok(None) => return self.subscription_failed(key, "the server sent no SDP offer".into()),
            Err(reason) => return self.subscription_failed(key, reason),
        };
        let sub = self.subscriptions.get_mut(&key).expect("found above");
        sub.step = SubStep::Answer;
        let action = PeerAction::Subscribe { subscription: id, from: sub.from.clone(), feed: key.1, offer };
        self.op(action, Some(id));
    }

    fn sub_answered(&mut self, id: SubscriptionId, result: PeerResult) {
        let Some(key) = self.sub_key(id) else {
            // Cancelled while its connection was being made.
            if let PeerResult::Answer(_) = result {
                self.op(PeerAction::CloseSubscription { subscription: id }, None);
            }
            return;
        };
        let answer = match result {
            PeerResult::Answer(sdp) => sdp,
            PeerResult::Failed(e) => return self.subscription_failed(key, e.0),
            other => return self.subscription_failed(key, format!("unexpected peer outcome {other:?}")),
        };
        let sub = self.subscriptions.get_mut(&key).expect("found above");
        sub.has_peer = true;
        sub.step = SubStep::Start;
        let handle = sub.handle.expect("joined with a handle");
        self.videoroom(handle, VideoRoomRequest::Start, Some(Jsep { kind: JsepType::Answer, sdp: answer }), Pending::SubStart(id));
    }

    fn sub_started(&mut self, id: SubscriptionId, event: SessionEvent) {
        let Some(key) = self.sub_key(id) else { return };
        match event {
            SessionEvent::Replied { data, .. } => {
                if let VideoRoomEvent::Error { code, reason } = VideoRoomEvent::from_plugin_data(&data) {
                    return self.subscription_failed(key, format!("server refused to start: {reason} ({code})"));
                }
                self.retry_subscription.remove(&key);
                if let Some(sub) = self.subscriptions.get_mut(&key) {
                    sub.step = SubStep::Live;
                }
            }
            other => self.subscription_failed(key, describe(&other)),
        }
    }

    /// A subscription failed: say so, and try again a little later.
    fn subscription_failed(&mut self, key: SubscriptionKey, reason: String) {
        let Some(from) = self.subscriptions.get(&key).map(|s| s.from.clone()) else { return };
        warn!(participant = %from.id, feed = ?key.1, %reason, "subscription failed");
        self.cancel_subscription(key);
        let failures = self.retry_subscription.get(&key).map_or(0, |&(n, _)| n);
        let wait = REJOIN_BACKOFF.delay(failures, Duration::from_millis(500), &mut self.rng);
        self.retry_subscription.insert(key, (failures + 1, self.now + wait));
        self.emit(ClassEvent::MediaFailed { participant: Some(from), reason });
    }

    fn cancel_subscription(&mut self, key: SubscriptionKey) {
        let Some(sub) = self.subscriptions.remove(&key) else { return };
        self.path_back(Some(key));
        if sub.has_peer {
            self.op(PeerAction::CloseSubscription { subscription: sub.id }, None);
        }
        if let Some(handle) = sub.handle {
            self.session.detach(self.now, handle);
        }
    }

    // ----- our publication -----

    fn command(&mut self, command: Command) {
        match command {
            Command::ShareScreen(id) => self.queue_job(Job::Share(id)),
            Command::StopScreenShare(id) => self.queue_job(Job::StopShare(Some(id))),
            Command::Leave => self.leave(),
        }
    }

    fn queue_job(&mut self, job: Job) {
        if matches!(self.stage, Stage::Over | Stage::Leaving { .. }) {
            if let Job::Share(c) | Job::StopShare(Some(c)) = job {
                self.outputs.push_back(Output::Answer { command: c, result: Err(ShareError::NotInClass) });
            }
            return;
        }
        self.jobs.push_back(job);
        self.next_job();
    }

    /// Starts the next job on our publication, if none is under way and we are in class.
    fn next_job(&mut self) {
        if self.current_job.is_some() || self.stage != Stage::InClass {
            return;
        }
        let Some(job) = self.jobs.pop_front() else { return };
        let step = match &job {
            Job::Share(_) if !self.publisher_exists => {
                // Nothing published yet: the share is the publication.
                self.screen = true;
                JobStep::Peer { op: self.publish_op(), new_publisher: true }
            }
            Job::Publish { .. } => JobStep::Peer { op: self.publish_op(), new_publisher: true },
            // Replaced since it was asked for: the new publisher has fresh ICE.
            Job::RestartIce if !self.publisher_exists => return self.next_job(),
            Job::RestartIce => JobStep::Peer { op: self.op(PeerAction::RestartIce, None), new_publisher: false },
            Job::Share(_) => {
                self.screen = true;
                JobStep::Peer { op: self.op(PeerAction::ShareScreen, None), new_publisher: false }
            }
            Job::StopShare(command) => {
                let sharing = self.publisher_exists && self.screen;
                self.screen = false;
                if !sharing {
                    if let Some(c) = command {
                        self.outputs.push_back(Output::Answer { command: *c, result: Ok(()) });
                    }
                    return self.next_job();
                }
                JobStep::Peer { op: self.op(PeerAction::StopScreenShare, None), new_publisher: false }
            }
        };
        self.current_job = Some((job, step));
    }

    fn publish_op(&mut self) -> PeerOpId {
        // A new connection: whatever the old one's path was does not matter.
        self.path_back(None);
        self.publisher_exists = true;
        let action = PeerAction::Publish { audio: self.config.audio, video: self.config.video, screen: self.screen };
        self.op(action, None)
    }

    fn publisher_done(&mut self, op: PeerOpId, result: PeerResult) {
        let Some((job, step)) = self.current_job.clone() else { return };
        match (step, result) {
            (JobStep::Peer { op: o, new_publisher }, PeerResult::Offer(change)) if o == op => {
                let descriptions = describe_screen(change.screen_mid);
                let request = if new_publisher {
                    VideoRoomRequest::Configure { audio: Some(self.config.audio), video: Some(self.config.video || self.screen), descriptions }
                } else {
                    VideoRoomRequest::Configure { audio: None, video: None, descriptions }
                };
                let Some(handle) = self.room_handle else { return };
                let offer = Jsep { kind: JsepType::Offer, sdp: change.offer };
                let request = self.videoroom(handle, request, Some(offer), Pending::Configure);
                self.current_job = Some((job, JobStep::Configure(request)));
            }
            (JobStep::Peer { op: o, .. } | JobStep::Accept(o), PeerResult::Done) if o == op => self.job_done(Ok(())),
            (JobStep::Peer { op: o, .. } | JobStep::Accept(o), PeerResult::Failed(e)) if o == op => {
                self.job_done(Err(ShareError::Media { reason: e.0 }))
            }
            (_, result) => debug!(?op, ?result, "stale publisher outcome"),
        }
    }

    fn configured(&mut self, event: SessionEvent) {
        let Some((job, JobStep::Configure(_))) = self.current_job.clone() else { return };
        let answer = match event {
            SessionEvent::Replied { data, jsep, .. } => match VideoRoomEvent::from_plugin_data(&data) {
                VideoRoomEvent::Error { code, reason } => return self.job_done(Err(ShareError::Refused { reason: format!("{reason} ({code})") })),
                _ => match jsep.filter(|j| j.kind == JsepType::Answer) {
                    Some(answer) => answer.sdp,
                    None => return self.job_done(Err(ShareError::Refused { reason: "the server sent no SDP answer".into() })),
                },
            },
            other => return self.job_done(Err(ShareError::Refused { reason: describe(&other) })),
        };
        let op = self.op(PeerAction::AcceptAnswer { sdp: answer }, None);
        self.current_job = Some((job, JobStep::Accept(op)));
    }

    fn job_done(&mut self, result: Result<(), ShareError>) {
        let Some((job, _)) = self.current_job.take() else { return };
        if let Err(e) = &result {
            warn!(?job, error = %e, "changing what we publish failed");
        }
        match job {
            Job::Publish { answers } => {
                if let Err(e) = &result {
                    if !self.join_announced {
                        // The first publication is part of the join.
                        let error = match e {
                            ShareError::Media { reason } => JoinError::Media { reason: reason.clone() },
                            other => JoinError::Refused { reason: format!("cannot publish: {other}") },
                        };
                        return self.join_failed(error);
                    }
                    self.publisher_exists = false;
                    self.op(PeerAction::ClosePublisher, None);
                    self.emit(ClassEvent::MediaFailed { participant: None, reason: e.to_string() });
                }
                for c in answers {
                    self.outputs.push_back(Output::Answer { command: c, result: result.clone() });
                }
                self.announce_join();
            }
            Job::Share(c) => {
                if result.is_err() {
                    self.screen = false;
                } else {
                    info!("sharing our screen");
                }
                self.outputs.push_back(Output::Answer { command: c, result });
            }
            Job::StopShare(command) => {
                match command {
                    Some(c) => self.outputs.push_back(Output::Answer { command: c, result }),
                    None => {
                        let reason = "what was shared is gone (a window was closed)".to_owned();
                        self.emit(ClassEvent::SharingEnded { reason });
                    }
                }
            }
            // A failure was said above; the next round of the repair tries again.
            Job::RestartIce => {}
        }
        self.next_job();
    }

    // ----- peers -----

    fn peer_done(&mut self, op: PeerOpId, result: PeerResult) {
        match self.peer_ops.remove(&op) {
            Some(Some(subscription)) => self.sub_answered(subscription, result),
            Some(None) => self.publisher_done(op, result),
            None => {
                // From a session that is gone: a subscription's new peer must still close.
                if let PeerResult::Answer(_) = result {
                    debug!(?op, "late subscription outcome");
                }
            }
        }
    }

    fn peer_event(&mut self, event: PeerEvent) {
        let receiving = event.role.received().map(|(p, feed)| (p.id, feed));
        match (receiving, event.kind) {
            (Some(key), PeerEventKind::FirstMedia(kind)) => {
                if let Some(sub) = self.subscriptions.get(&key) {
                    let after = self.now.saturating_duration_since(sub.requested_at);
                    let participant = sub.from.clone();
                    self.emit(ClassEvent::MediaFlowing { participant, kind, after });
                }
            }
            (connection, PeerEventKind::Disconnected) => self.path_lost(connection, false),
            (connection, PeerEventKind::Failed(reason)) => {
                warn!(?connection, %reason, "media connection failed");
                self.path_lost(connection, true);
            }
            (connection, PeerEventKind::Connected) => self.path_back(connection),
            (None, PeerEventKind::SourceEnded(MediaKind::Screen)) => {
                info!("screen share ended by itself");
                self.queue_job(Job::StopShare(None));
            }
            (_, kind) => debug!(role = ?event.role, ?kind, "peer event"),
        }
    }

    // ----- ICE repair -----

    /// Whether ICE may be restarted now: in class, with the link to the server up.
    fn repairing_allowed(&self) -> bool {
        self.stage == Stage::InClass && self.recovery.is_none()
    }

    /// A media connection stopped hearing from the server (`failed`: ICE gave
    /// up on it): it joins the repair, whose first round comes soon.
    fn path_lost(&mut self, connection: Connection, failed: bool) {
        let exists = match connection {
            None => self.publisher_exists,
            Some(key) => self.subscriptions.get(&key).is_some_and(|s| s.has_peer),
        };
        if !exists || matches!(self.stage, Stage::Over | Stage::Leaving { .. }) {
            return;
        }
        let now = self.now;
        if self.ice_repair.is_none() {
            let phase = Phase::random(&mut self.rng);
            let next_round = now + ICE_RESTART_AFTER + phase.of(ICE_RESTART_SPREAD);
            self.ice_repair = Some(IceRepair { since: now, attempt: 0, next_round, troubled: BTreeSet::new() });
        }
        let Some(repair) = self.ice_repair.as_mut() else { return };
        if repair.troubled.insert(connection) {
            info!(?connection, failed, "a media connection lost its path");
        }
        if failed && repair.attempt == 0 {
            // No use waiting for it to come back by itself.
            repair.next_round = repair.next_round.min(now);
        }
    }

    /// A media connection is fine again (or gone): once none is left without
    /// a path, the class is back.
    fn path_back(&mut self, connection: Connection) {
        let Some(repair) = self.ice_repair.as_mut() else { return };
        if !repair.troubled.remove(&connection) || !repair.troubled.is_empty() {
            return;
        }
        let Some(repair) = self.ice_repair.take() else { return };
        if repair.attempt == 0 {
            return debug!("the media's path came back by itself");
        }
        let after = self.now - repair.since;
        info!(after_ms = after.as_millis() as u64, attempts = repair.attempt, "media back after ICE restarts");
        if let (Some(me), Some(endpoint)) = (self.me.clone(), self.endpoint.clone()) {
            self.emit(ClassEvent::Reconnected { level: ReconnectLevel::IceRestart, after, endpoint, me });
        }
    }

    /// A round of ICE restarts when one is due; a rejoin once they have had their window.
    fn repair_ice(&mut self) {
        if !self.repairing_allowed() {
            return;
        }
        let Some(repair) = self.ice_repair.as_mut() else { return };
        if self.now >= repair.since + ICE_REPAIR_WINDOW {
            let secs = ICE_REPAIR_WINDOW.as_secs();
            return self.rejoin(format!("media did not get through again within {secs} s of ICE restarts"));
        }
        if self.now < repair.next_round {
            return;
        }
        repair.next_round = self.now + ICE_RESTART_BACKOFF.ceiling(repair.attempt);
        repair.attempt += 1;
        let (attempt, troubled) = (repair.attempt, repair.troubled.clone());
        warn!(attempt, connections = troubled.len(), "media lost its path; restarting ICE");
        let endpoint = self.endpoint.clone().unwrap_or_default();
        self.emit(ClassEvent::Reconnecting { level: ReconnectLevel::IceRestart, attempt, endpoint });
        for connection in troubled {
            self.restart_ice(connection);
        }
    }

    /// Restarts one connection's ICE: our publication through a new offer
    /// (`configure`), a subscription through `configure {restart}` and the
    /// server's new offer.
    fn restart_ice(&mut self, connection: Connection) {
        let Some(key) = connection else {
            let queued = self.jobs.contains(&Job::RestartIce) || matches!(self.current_job, Some((Job::RestartIce, _)));
            if self.publisher_exists && !queued {
                self.queue_job(Job::RestartIce);
            }
            return;
        };
        let Some(sub) = self.subscriptions.get_mut(&key) else { return };
        // A restart under way, or a connection still being made: nothing to restart.
        let (SubStep::Live, Some(handle)) = (sub.step, sub.handle) else { return };
        sub.step = SubStep::Restart;
        let id = sub.id;
        self.videoroom(handle, VideoRoomRequest::RestartIce { restart: true }, None, Pending::SubRestart(id));
    }

    /// The server's answer to a subscription's ICE restart: its new offer.
    fn sub_restart_offered(&mut self, id: SubscriptionId, event: SessionEvent) {
        let Some(key) = self.sub_key(id) else { return };
        let offer = match server_offer(event, "server refused to restart ICE") {
            Ok(offer) => offer,
            Err(reason) => return self.subscription_failed(key, reason),
        };
        let sub = self.subscriptions.get_mut(&key).expect("found above");
        let Some(offer) = offer else {
            // Janus postpones a restart while an earlier offer is unanswered: the next round asks again.
            sub.step = SubStep::Live;
            return debug!(participant = %sub.from.id, "the server postponed an ICE restart");
        };
        sub.step = SubStep::Answer;
        self.op(PeerAction::AcceptOffer { subscription: id, offer }, Some(id));
    }

    // ----- leaving -----

    fn leave(&mut self) {
        match (self.stage, self.room_handle) {
            (Stage::InClass, Some(handle)) => {
                // A goodbye is a courtesy: don't hold the user hostage to a slow server.
                self.stage = Stage::Leaving { deadline: self.now + LEAVE_GRACE };
                self.recovery = None;
                self.videoroom(handle, VideoRoomRequest::Leave, None, Pending::Leave);
            }
            (Stage::Leaving { .. } | Stage::Over, _) => {}
            _ => self.finish(),
        }
    }
}

/// Janus's label for our screen share's stream, if we share.
fn describe_screen(screen_mid: Option<String>) -> Vec<StreamDescription> {
    screen_mid.map(|mid| vec![StreamDescription { mid, description: SCREEN_SHARE_DESCRIPTION.to_owned() }]).unwrap_or_default()
}

/// A request's failure as a join error.
fn call_error(error: RequestError) -> JoinError {
    match error {
        RequestError::TimedOut(d) => JoinError::TimedOut(d),
        other => JoinError::Refused { reason: other.to_string() },
    }
}

/// The server's SDP offer in its reply to a subscription's request (`None`:
/// a reply without one); `Err`: why there is no reply to use (a refusal,
/// `refused` and the server's reason, or a failed request).
fn server_offer(event: SessionEvent, refused: &str) -> Result<Option<String>, String> {
    match event {
        SessionEvent::Replied { data, jsep, .. } => match VideoRoomEvent::from_plugin_data(&data) {
            VideoRoomEvent::Error { code, reason } => Err(format!("{refused}: {reason} ({code})")),
            _ => Ok(jsep.filter(|j| j.kind == JsepType::Offer).map(|j| j.sdp)),
        },
        other => Err(describe(&other)),
    }
}

/// What went wrong, from an outcome that was not the one expected.
fn describe(event: &SessionEvent) -> String {
    match event {
        SessionEvent::Failed { error, .. } => error.to_string(),
        other => format!("unexpected answer from the server: {other:?}"),
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
