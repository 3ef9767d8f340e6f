//! The class driver: I/O only. It runs the [`ClassMachine`] over a link, a
//! publisher worker and concurrent subscription set-ups, and answers the
//! [`ClassHandle`]'s commands.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use estrade_media::{SharedAudio, SharedVideo, VideoSource};
use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tracing::{debug, info_span, Instrument};

use crate::engine::{self, ClassConfig, ClassMachine, CommandId, Output, PeerAction, PeerOpId, PeerResult, SubscriptionId};
use crate::discovery::{DiscoveryError, ServerDirectory, ServerList};
use crate::link::{Connector, LinkEvent, SignalLink};
use crate::peer::{LocalMedia, PeerError, PeerEvent, PeerEvents, PeerFactory, Publisher, RemoteMediaSink, Renegotiation, Subscriber};
use crate::{ClassEvent, JoinError, JoinOptions, Participant, ShareError};

enum Command {
    Leave(oneshot::Sender<()>),
    ShareScreen(Box<dyn VideoSource>, oneshot::Sender<Result<(), ShareError>>),
    StopScreenShare(oneshot::Sender<Result<(), ShareError>>),
}

/// A joined class. Drop it or call [`ClassHandle::leave`] to go.
#[derive(Debug)]
pub struct ClassHandle {
    whereabouts: Whereabouts,
    commands: mpsc::UnboundedSender<Command>,
    task: JoinHandle<()>,
}

impl ClassHandle {
    /// Ourselves, as the class sees us now (a rejoin gives us a new id).
    pub fn me(&self) -> Participant {
        self.now().0
    }

    /// The signaling server the class is on now (one of the servers listed
    /// for it; another after a rejoin elsewhere).
    pub fn endpoint(&self) -> String {
        self.now().1
    }

    fn now(&self) -> (Participant, String) {
        let now = self.whereabouts.lock().unwrap_or_else(PoisonError::into_inner).clone();
        now.expect("set by the driver before the join returns")
    }

    /// Shares `source` as our screen: a second picture, labelled "screen
    /// share", next to our sound and camera (which carry on untouched).
    /// Replaces a share already under way. Returns once the server took it.
    pub async fn share_screen(&self, source: Box<dyn VideoSource>) -> Result<(), ShareError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::ShareScreen(source, tx)).map_err(|_| ShareError::NotInClass)?;
        rx.await.map_err(|_| ShareError::NotInClass)?
    }

    /// Stops our screen share: it disappears for everyone. Nothing happens if
    /// we were not sharing.
    pub async fn stop_screen_share(&self) -> Result<(), ShareError> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::StopScreenShare(tx)).map_err(|_| ShareError::NotInClass)?;
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

/// Who and where we are in the class: set when we join, and again when we
/// are back after a loss.
type Whereabouts = Arc<Mutex<Option<(Participant, String)>>>;

/// The class's own media: opened once, leased to each publisher in turn, so
/// a republish (after a rejoin) never reopens a device.
struct ClassMedia {
    audio: Option<SharedAudio>,
    video: Option<SharedVideo>,
    screen: Mutex<Option<SharedVideo>>,
}

impl ClassMedia {
    fn screen(&self) -> Option<SharedVideo> {
        self.screen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_screen(&self, screen: Option<SharedVideo>) {
        *self.screen.lock().unwrap_or_else(PoisonError::into_inner) = screen;
    }
}

/// Joins a class: connects to the first server that answers, enters the
/// room, publishes `media`, and starts receiving everyone else into `sink`.
/// Returns once we are in the class; everything after that arrives as
/// [`ClassEvent`]s, and the class gets itself back after a loss. Dropping
/// the future cancels the join.
pub async fn join(
    options: JoinOptions,
    connector: Arc<dyn Connector>,
    peers: Arc<dyn PeerFactory>,
    media: LocalMedia,
    sink: Arc<dyn RemoteMediaSink>,
) -> Result<(ClassHandle, mpsc::UnboundedReceiver<ClassEvent>), JoinError> {
    let span = info_span!("class", room = options.room, name = %options.name);
    let config = ClassConfig {
        audio: media.audio.is_some(),
        video: media.video.is_some(),
        screen: media.screen.is_some(),
        seed: rand::random(),
        join: options,
    };
    let media = Arc::new(ClassMedia {
        audio: media.audio.map(SharedAudio::new),
        video: media.video.map(SharedVideo::new),
        screen: Mutex::new(media.screen.map(SharedVideo::new)),
    });
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (joined_tx, joined_rx) = oneshot::channel();
    let whereabouts = Whereabouts::default();
    let driver = Driver::new(config, connector, peers, media, sink, events_tx, Arc::clone(&whereabouts));
    let task = tokio::spawn(driver.run(commands_rx, joined_tx).instrument(span));
    match joined_rx.await {
        Ok(Ok(())) => Ok((ClassHandle { whereabouts, commands: commands_tx, task }, events_rx)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(JoinError::ConnectionLost { reason: "the class stopped while joining".into() }),
    }
}

/// Work under way for the machine, polled in the driver's `select!`.
type Underway<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Subscribed = (PeerOpId, SubscriptionId, Result<(Box<dyn Subscriber>, String), PeerError>);

/// Does what the machine says, and tells it what happened.
struct Driver {
    machine: ClassMachine,
    connector: Arc<dyn Connector>,
    connect_timeout: std::time::Duration,
    peers: Arc<dyn PeerFactory>,
    sink: Arc<dyn RemoteMediaSink>,
    media: Arc<ClassMedia>,
    events: mpsc::UnboundedSender<ClassEvent>,
    link: Option<SignalLink>,
    connecting: Option<Underway<Result<SignalLink, JoinError>>>,
    /// Where the class's servers are listed, when the join named a school.
    directory: Option<Arc<dyn ServerDirectory>>,
    resolving: Option<Underway<Result<ServerList, DiscoveryError>>>,
    /// Our publisher's operations, done one at a time by [`publisher_worker`].
    publisher_ops: mpsc::UnboundedSender<(PeerOpId, PeerAction)>,
    peer_done: mpsc::UnboundedReceiver<(PeerOpId, PeerResult)>,
    peer_events_tx: PeerEvents,
    peer_events: mpsc::UnboundedReceiver<PeerEvent>,
    /// Subscriptions' connections being made, side by side.
    subscribing: JoinSet<Subscribed>,
    subscribers: HashMap<SubscriptionId, Box<dyn Subscriber>>,
    /// Commands waiting for the machine's answer.
    answers: HashMap<CommandId, oneshot::Sender<Result<(), ShareError>>>,
    next_command: u64,
    leaving: Option<oneshot::Sender<()>>,
    joined: Option<oneshot::Sender<Result<(), JoinError>>>,
    whereabouts: Whereabouts,
}

/// What woke the driver.
enum Wake {
    Command(Option<Command>),
    Link(Option<LinkEvent>),
    Connected(Result<SignalLink, JoinError>),
    Resolved(Result<ServerList, DiscoveryError>),
    PeerDone(PeerOpId, PeerResult),
    Subscribed(Subscribed),
    Peer(PeerEvent),
    Timeout,
    JoinAbandoned,
}

fn now() -> std::time::Instant {
    // tokio's clock, so tests on paused time drive the machine too.
    Instant::now().into_std()
}

impl Driver {
    fn new(
        config: ClassConfig,
        connector: Arc<dyn Connector>,
        peers: Arc<dyn PeerFactory>,
        media: Arc<ClassMedia>,
        sink: Arc<dyn RemoteMediaSink>,
        events: mpsc::UnboundedSender<ClassEvent>,
        whereabouts: Whereabouts,
    ) -> Self {
        let (peer_events_tx, peer_events) = mpsc::unbounded_channel();
        let (publisher_ops, ops) = mpsc::unbounded_channel();
        let (done_tx, peer_done) = mpsc::unbounded_channel();
        tokio::spawn(publisher_worker(ops, Arc::clone(&media), Arc::clone(&peers), peer_events_tx.clone(), done_tx).in_current_span());
        Self {
            directory: config.join.directory.clone(),
            connect_timeout: config.join.connect_timeout,
            resolving: None,
            machine: ClassMachine::new(config, now()),
            connector,
            peers,
            sink,
            media,
            events,
            link: None,
            connecting: None,
            publisher_ops,
            peer_done,
            peer_events_tx,
            peer_events,
            subscribing: JoinSet::new(),
            subscribers: HashMap::new(),
            answers: HashMap::new(),
            next_command: 1,
            leaving: None,
            joined: None,
            whereabouts,
        }
    }

    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        joined: oneshot::Sender<Result<(), JoinError>>,
    ) {
        self.joined = Some(joined);
        loop {
            if self.act() {
                break;
            }
            let deadline = self.machine.poll_timeout().map(Instant::from_std);
            let Self { joined, link, connecting, resolving, peer_done, subscribing, peer_events, .. } = &mut self;
            let joining = joined.is_some();
            let wake = tokio::select! {
                // The join's caller went away: nobody wants this class.
                () = closed(joined) => Wake::JoinAbandoned,
                command = commands.recv(), if !joining => Wake::Command(command),
                event = incoming(link) => Wake::Link(event),
                result = underway(connecting) => Wake::Connected(result),
                result = underway(resolving) => Wake::Resolved(result),
                Some((op, result)) = peer_done.recv() => Wake::PeerDone(op, result),
                Some(Ok(done)) = subscribing.join_next(), if !subscribing.is_empty() => Wake::Subscribed(done),
                Some(event) = peer_events.recv() => Wake::Peer(event),
                () = sleep_until(deadline) => Wake::Timeout,
            };
            self.wake(wake);
        }
        self.shut_down().await;
    }

    /// Feeds what woke us to the machine.
    fn wake(&mut self, wake: Wake) {
        let input = match wake {
            Wake::Command(None) => engine::Input::Command(engine::Command::Leave),
            Wake::Command(Some(Command::Leave(done))) => {
                self.leaving = Some(done);
                engine::Input::Command(engine::Command::Leave)
            }
            Wake::Command(Some(Command::ShareScreen(source, answer))) => {
                let id = self.command_id(answer);
                self.media.set_screen(Some(SharedVideo::new(source)));
                engine::Input::Command(engine::Command::ShareScreen(id))
            }
            Wake::Command(Some(Command::StopScreenShare(answer))) => {
                let id = self.command_id(answer);
                engine::Input::Command(engine::Command::StopScreenShare(id))
            }
            Wake::Link(Some(LinkEvent::Text(text))) => return self.machine.handle_input(now(), engine::Input::Received(&text)),
            Wake::Link(Some(LinkEvent::Closed { reason })) => {
                self.link = None;
                engine::Input::LinkClosed(reason)
            }
            Wake::Link(None) => {
                self.link = None;
                engine::Input::LinkClosed("the link to the server ended".into())
            }
            Wake::Connected(result) => {
                self.connecting = None;
                match result {
                    Ok(link) => {
                        self.link = Some(link);
                        engine::Input::LinkOpened
                    }
                    Err(e) => engine::Input::LinkFailed(e),
                }
            }
            Wake::Resolved(result) => {
                self.resolving = None;
                engine::Input::Resolved(result)
            }
            Wake::PeerDone(op, result) => engine::Input::PeerDone { op, result },
            Wake::Subscribed((op, subscription, result)) => {
                let result = match result {
                    Ok((peer, answer)) => {
                        self.subscribers.insert(subscription, peer);
                        PeerResult::Answer(answer)
                    }
                    Err(e) => PeerResult::Failed(e),
                };
                engine::Input::PeerDone { op, result }
            }
            Wake::Peer(event) => engine::Input::Peer(event),
            Wake::Timeout => engine::Input::Timeout,
            Wake::JoinAbandoned => {
                self.joined = None;
                engine::Input::Command(engine::Command::Leave)
            }
        };
        self.machine.handle_input(now(), input);
    }

    fn command_id(&mut self, answer: oneshot::Sender<Result<(), ShareError>>) -> CommandId {
        let id = CommandId(self.next_command);
        self.next_command += 1;
        self.answers.insert(id, answer);
        id
    }

    /// Does everything the machine asks; `true` once the class is over.
    fn act(&mut self) -> bool {
        while let Some(output) = self.machine.poll_output() {
            match output {
                Output::Connect { endpoint } => {
                    self.link = None;
                    let (connector, timeout) = (Arc::clone(&self.connector), self.connect_timeout);
                    self.connecting = Some(Box::pin(async move {
                        match tokio::time::timeout(timeout, connector.connect(&endpoint)).await {
                            Ok(result) => result,
                            Err(_) => Err(JoinError::Unreachable { address: endpoint, reason: format!("no answer within {} s", timeout.as_secs()) }),
                        }
                    }));
                }
                Output::Resolve { refresh } => {
                    // The machine asks only when the join has a directory.
                    if let Some(directory) = self.directory.clone() {
                        self.resolving = Some(Box::pin(async move { directory.servers(refresh).await }));
                    }
                }
                Output::CloseLink => {
                    self.link = None;
                    self.connecting = None;
                }
                Output::Transmit(text) => {
                    // A closed link shows up as its incoming side ending.
                    if let Some(link) = &self.link {
                        let _ = link.outgoing.send(text);
                    }
                }
                Output::Peer { op, action } => self.peer_action(op, action),
                Output::Event(event) => {
                    if let ClassEvent::Reconnected { me, endpoint, .. } = &event {
                        self.set_whereabouts(me.clone(), endpoint.clone());
                    }
                    // The receiver may be gone (the app stopped listening); the class goes on.
                    let _ = self.events.send(event);
                }
                Output::Joined { me, endpoint } => {
                    self.set_whereabouts(me, endpoint);
                    if let Some(joined) = self.joined.take() {
                        let _ = joined.send(Ok(()));
                    }
                }
                Output::JoinFailed(error) => {
                    if let Some(joined) = self.joined.take() {
                        let _ = joined.send(Err(error));
                    }
                }
                Output::Answer { command, result } => {
                    if let Some(answer) = self.answers.remove(&command) {
                        let _ = answer.send(result);
                    }
                }
                Output::Finished => return true,
            }
        }
        false
    }

    fn set_whereabouts(&self, me: Participant, endpoint: String) {
        *self.whereabouts.lock().unwrap_or_else(PoisonError::into_inner) = Some((me, endpoint));
    }

    fn peer_action(&mut self, op: PeerOpId, action: PeerAction) {
        match action {
            PeerAction::Subscribe { subscription, from, feed, offer } => {
                let (peers, sink, events) = (Arc::clone(&self.peers), Arc::clone(&self.sink), self.peer_events_tx.clone());
                self.subscribing.spawn(
                    async move { (op, subscription, peers.subscriber(from, feed, offer, sink, events).await) }.in_current_span(),
                );
            }
            PeerAction::AcceptOffer { subscription, offer } => {
                // Out of the map while it answers; back in with the answer, as a new one comes.
                let peer = self.subscribers.remove(&subscription);
                self.subscribing.spawn(
                    async move {
                        let result = match peer {
                            Some(mut peer) => match peer.accept_offer(offer).await {
                                Ok(answer) => Ok((peer, answer)),
                                Err(e) => {
                                    peer.close().await;
                                    Err(e)
                                }
                            },
                            None => Err(PeerError("the subscription's connection is gone".into())),
                        };
                        (op, subscription, result)
                    }
                    .in_current_span(),
                );
            }
            PeerAction::CloseSubscription { subscription } => {
                if let Some(peer) = self.subscribers.remove(&subscription) {
                    tokio::spawn(peer.close());
                }
            }
            publisher => {
                let _ = self.publisher_ops.send((op, publisher));
            }
        }
    }

    async fn shut_down(mut self) {
        self.link = None;
        self.subscribing.abort_all();
        for (_, peer) in self.subscribers.drain() {
            peer.close().await;
        }
        // The worker closes the publisher once its queue ends.
        drop(self.publisher_ops);
        while self.peer_done.recv().await.is_some() {}
        for (_, answer) in self.answers.drain() {
            let _ = answer.send(Err(ShareError::NotInClass));
        }
        if let Some(done) = self.leaving.take() {
            let _ = done.send(());
        }
    }
}

/// Until the join's caller stops waiting (never, once joined).
async fn closed(joined: &mut Option<oneshot::Sender<Result<(), JoinError>>>) {
    match joined {
        Some(j) => j.closed().await,
        None => std::future::pending().await,
    }
}

/// The next event on the link (never, without one).
async fn incoming(link: &mut Option<SignalLink>) -> Option<LinkEvent> {
    match link {
        Some(l) => l.incoming.recv().await,
        None => std::future::pending().await,
    }
}

/// The outcome of the work under way (never, if there is none).
async fn underway<T>(work: &mut Option<Underway<T>>) -> T {
    match work {
        Some(w) => w.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Our publisher's operations, one at a time and in order, on a task of
/// their own (an ICE gathering here never holds up the class).
async fn publisher_worker(
    mut ops: mpsc::UnboundedReceiver<(PeerOpId, PeerAction)>,
    media: Arc<ClassMedia>,
    peers: Arc<dyn PeerFactory>,
    events: PeerEvents,
    done: mpsc::UnboundedSender<(PeerOpId, PeerResult)>,
) {
    let mut publisher: Option<Box<dyn Publisher>> = None;
    while let Some((op, action)) = ops.recv().await {
        let failed = |what: &str| PeerResult::Failed(PeerError(format!("{what}: nothing is published")));
        let result = match action {
            PeerAction::Publish { audio, video, screen } => {
                if let Some(old) = publisher.take() {
                    old.close().await;
                }
                let local = LocalMedia {
                    audio: media.audio.as_ref().filter(|_| audio).map(SharedAudio::lease),
                    video: media.video.as_ref().filter(|_| video).map(SharedVideo::lease),
                    screen: media.screen().filter(|_| screen).map(|s| s.lease()),
                };
                match peers.publisher(local, events.clone()).await {
                    Ok(p) => {
                        let offer = Renegotiation { offer: p.offer(), screen_mid: p.screen_mid() };
                        publisher = Some(p);
                        PeerResult::Offer(offer)
                    }
                    Err(e) => PeerResult::Failed(e),
                }
            }
            PeerAction::AcceptAnswer { sdp } => match publisher.as_mut() {
                Some(p) => p.accept_answer(sdp).await.map_or_else(PeerResult::Failed, |()| PeerResult::Done),
                None => failed("applying the answer"),
            },
            PeerAction::ShareScreen => match (publisher.as_mut(), media.screen()) {
                (Some(p), Some(screen)) => p.share_screen(screen.lease()).await.map_or_else(PeerResult::Failed, PeerResult::Offer),
                _ => failed("sharing the screen"),
            },
            PeerAction::StopScreenShare => {
                let result = match publisher.as_mut() {
                    Some(p) => match p.stop_screen_share().await {
                        Ok(Some(change)) => PeerResult::Offer(change),
                        Ok(None) => PeerResult::Done,
                        Err(e) => PeerResult::Failed(e),
                    },
                    None => PeerResult::Done,
                };
                media.set_screen(None);
                result
            }
            PeerAction::RestartIce => match publisher.as_mut() {
                Some(p) => p.restart_ice().await.map_or_else(PeerResult::Failed, PeerResult::Offer),
                None => failed("restarting ICE"),
            },
            PeerAction::ClosePublisher => {
                if let Some(p) = publisher.take() {
                    p.close().await;
                }
                continue;
            }
            other => {
                debug!(?other, "not a publisher operation");
                continue;
            }
        };
        if done.send((op, result)).is_err() {
            break;
        }
    }
    if let Some(p) = publisher.take() {
        p.close().await;
    }
}
