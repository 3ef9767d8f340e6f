//! A sans-IO Janus session: transactions with timeouts, keepalive, and events
//! routed to the handle they concern.
//!
//! The machine never reads a clock and never touches a socket. Drive it like
//! str0m: feed [`Input`]s with the current time, then drain [`Session::poll_output`]
//! until it returns [`Output::Timeout`], and call `handle_input(Input::Timeout(t))`
//! when that instant comes.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use estrade_signaling::{Input, Output, Session, SessionConfig};
//! let t0 = Instant::now();
//! let mut s = Session::new(SessionConfig::default());
//! let req = s.create(t0);
//! let Output::Transmit(text) = s.poll_output() else { panic!() };
//! assert!(text.contains("\"create\""));
//! ```

#![warn(missing_docs)]

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use estrade_proto::{Incoming, Jsep, Request, TransactionId};
use serde_json::Value;

/// Tuning of the session machine.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// A request with no final answer after this long fails with [`RequestError::TimedOut`].
    pub request_timeout: Duration,
    /// Idle time after which a keepalive is sent. Janus drops sessions idle for
    /// `session_timeout` (60 s by default), so this must stay well below it.
    pub keepalive_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { request_timeout: Duration::from_secs(10), keepalive_interval: Duration::from_secs(25) }
    }
}

/// Names one request made through the machine, to match its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// Why a request failed. Retrying makes sense for `TimedOut` only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The Janus core refused the request.
    #[error("server refused the request ({code}): {reason}")]
    Janus {
        /// Janus core error code.
        code: i64,
        /// Janus's explanation.
        reason: String,
    },
    /// No answer within [`SessionConfig::request_timeout`].
    #[error("no answer from the server within {0:?}")]
    TimedOut(Duration),
    /// The reply did not carry what the request needs (e.g. no id after create).
    #[error("malformed reply: {0}")]
    Malformed(String),
}

/// Something the driver must act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session exists on the server.
    Created {
        /// The `create` request.
        request: RequestId,
        /// Janus session id.
        session_id: u64,
    },
    /// A plugin handle was attached.
    Attached {
        /// The `attach` request.
        request: RequestId,
        /// The new handle.
        handle: u64,
    },
    /// A plugin answered a message (synchronously or through its event).
    Replied {
        /// The message request.
        request: RequestId,
        /// The handle it was sent on.
        handle: u64,
        /// The plugin's data object.
        data: Value,
        /// An SDP, if the plugin sent one.
        jsep: Option<Jsep>,
    },
    /// A request with no payload (detach, destroy) succeeded.
    Done {
        /// The request.
        request: RequestId,
    },
    /// A request failed.
    Failed {
        /// The request.
        request: RequestId,
        /// Why.
        error: RequestError,
    },
    /// A plugin event nobody asked for (someone joined, left, …).
    PluginEvent {
        /// The handle it concerns.
        handle: u64,
        /// The plugin's data object.
        data: Value,
        /// An SDP, if the plugin sent one.
        jsep: Option<Jsep>,
    },
    /// The handle's PeerConnection is up on the server side.
    WebrtcUp {
        /// The handle.
        handle: u64,
    },
    /// Media started or stopped arriving at the server on a handle.
    Media {
        /// The handle.
        handle: u64,
        /// "audio" or "video".
        kind: String,
        /// Flowing or not.
        receiving: bool,
    },
    /// The server reports losses on a handle.
    SlowLink {
        /// The handle.
        handle: u64,
        /// Packets lost in the last second.
        lost: u64,
    },
    /// The server closed a handle's PeerConnection.
    HangUp {
        /// The handle.
        handle: u64,
        /// The server's reason.
        reason: String,
    },
    /// The server detached a handle.
    Detached {
        /// The handle.
        handle: u64,
    },
    /// The server no longer knows our session (it timed out, or keepalives go unanswered).
    SessionLost {
        /// Why, for the user and the log.
        reason: String,
    },
    /// A message from the server was malformed or unexpected and was ignored.
    Ignored {
        /// What was wrong with it.
        reason: String,
    },
}

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this text over the WebSocket.
    Transmit(String),
    /// Act on this event.
    Event(SessionEvent),
    /// Nothing more to do before this instant (or ever, if `None`).
    Timeout(Option<Instant>),
}

/// What happened outside the machine.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// A text message arrived from the server at this instant.
    Receive(Instant, &'a str),
    /// Time has advanced to this instant.
    Timeout(Instant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Create,
    Attach,
    Message { handle: u64 },
    Keepalive,
    Plain,
}

#[derive(Debug)]
struct Pending {
    request: RequestId,
    kind: Kind,
    deadline: Instant,
}

/// The session machine. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    session_id: Option<u64>,
    next_request: u64,
    pending: HashMap<TransactionId, Pending>,
    outputs: VecDeque<Output>,
    keepalive_at: Option<Instant>,
    lost: bool,
}

impl Session {
    /// A machine with no session yet; call [`Session::create`] first.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            config,
            session_id: None,
            next_request: 1,
            pending: HashMap::new(),
            outputs: VecDeque::new(),
            keepalive_at: None,
            lost: false,
        }
    }

    /// The Janus session id, once created.
    pub fn session_id(&self) -> Option<u64> {
        self.session_id
    }

    /// Asks the server for a new session.
    pub fn create(&mut self, now: Instant) -> RequestId {
        self.send(now, Kind::Create, |transaction| Request::Create { transaction })
    }

    /// Attaches a handle to `plugin`. Requires a created session.
    pub fn attach(&mut self, now: Instant, plugin: &str) -> RequestId {
        let session_id = self.session_id.unwrap_or_default();
        self.send(now, Kind::Attach, |transaction| Request::Attach { transaction, session_id, plugin: plugin.to_owned() })
    }

    /// Sends a plugin message on `handle`.
    pub fn message(&mut self, now: Instant, handle: u64, body: Value, jsep: Option<Jsep>) -> RequestId {
        let session_id = self.session_id.unwrap_or_default();
        self.send(now, Kind::Message { handle }, |transaction| Request::Message {
            transaction,
            session_id,
            handle_id: handle,
            body,
            jsep,
        })
    }

    /// Detaches `handle`.
    pub fn detach(&mut self, now: Instant, handle: u64) -> RequestId {
        let session_id = self.session_id.unwrap_or_default();
        self.send(now, Kind::Plain, |transaction| Request::Detach { transaction, session_id, handle_id: handle })
    }

    /// The link to the server went away: keepalives wait (one sent into a
    /// dead link would time out and end the session), and the ones pending
    /// are forgotten. Requests pending keep their deadlines.
    pub fn link_lost(&mut self) {
        self.keepalive_at = None;
        self.pending.retain(|_, p| p.kind != Kind::Keepalive);
    }

    /// Asks the server, on a new link, for our session back (Janus `claim`):
    /// [`SessionEvent::Done`] when it is ours again (keepalives resume), or
    /// [`SessionEvent::Failed`] when the server no longer has it.
    pub fn claim(&mut self, now: Instant) -> RequestId {
        let session_id = self.session_id.unwrap_or_default();
        self.send(now, Kind::Plain, |transaction| Request::Claim { transaction, session_id })
    }

    /// Destroys the session. Keepalives stop.
    pub fn destroy(&mut self, now: Instant) -> RequestId {
        let session_id = self.session_id.unwrap_or_default();
        let id = self.send(now, Kind::Plain, |transaction| Request::Destroy { transaction, session_id });
        self.keepalive_at = None;
        id
    }

    fn send(&mut self, now: Instant, kind: Kind, build: impl FnOnce(TransactionId) -> Request) -> RequestId {
        let request = RequestId(self.next_request);
        self.next_request += 1;
        let transaction = TransactionId(format!("estrade-{}", request.0));
        let req = build(transaction.clone());
        self.outputs.push_back(Output::Transmit(req.to_json()));
        self.pending.insert(transaction, Pending { request, kind, deadline: now + self.config.request_timeout });
        if self.session_id.is_some() && !matches!(req, Request::Destroy { .. }) {
            // Any request refreshes the server's idle timer.
            self.keepalive_at = Some(now + self.config.keepalive_interval);
        }
        request
    }

    /// Feeds what happened; then drain [`Session::poll_output`].
    pub fn handle_input(&mut self, input: Input<'_>) {
        match input {
            Input::Receive(now, text) => self.receive(now, text),
            Input::Timeout(now) => self.expire(now),
        }
    }

    /// The next thing to do. Returns `Output::Timeout` when drained.
    pub fn poll_output(&mut self) -> Output {
        if let Some(out) = self.outputs.pop_front() {
            return out;
        }
        let next_deadline = self.pending.values().map(|p| p.deadline).min();
        Output::Timeout(match (next_deadline, self.keepalive_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    fn emit(&mut self, event: SessionEvent) {
        self.outputs.push_back(Output::Event(event));
    }

    fn expire(&mut self, now: Instant) {
        let mut expired: Vec<(TransactionId, Pending)> = Vec::new();
        let due: Vec<TransactionId> =
            self.pending.iter().filter(|(_, p)| p.deadline <= now).map(|(t, _)| t.clone()).collect();
        for tx in due {
            if let Some(p) = self.pending.remove(&tx) {
                expired.push((tx, p));
            }
        }
        expired.sort_by_key(|(_, p)| p.request);
        for (_, p) in expired {
            if p.kind == Kind::Keepalive {
                self.session_lost("the server stopped answering keepalives".into());
            } else {
                self.emit(SessionEvent::Failed { request: p.request, error: RequestError::TimedOut(self.config.request_timeout) });
            }
        }
        if self.keepalive_at.is_some_and(|at| at <= now) && !self.lost {
            if let Some(session_id) = self.session_id {
                self.send(now, Kind::Keepalive, |transaction| Request::Keepalive { transaction, session_id });
            }
        }
    }

    fn session_lost(&mut self, reason: String) {
        if !self.lost {
            self.lost = true;
            self.keepalive_at = None;
            self.emit(SessionEvent::SessionLost { reason });
        }
    }

    fn take(&mut self, tx: &TransactionId) -> Option<Pending> {
        self.pending.remove(tx)
    }

    fn receive(&mut self, now: Instant, text: &str) {
        let msg = match Incoming::parse(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a malformed message from the server");
                self.emit(SessionEvent::Ignored { reason: e.to_string() });
                return;
            }
        };
        match msg {
            Incoming::Ack { transaction } => {
                // Keepalives end with their ack; plugin messages wait for their event.
                if self.pending.get(&transaction).is_some_and(|p| p.kind == Kind::Keepalive) {
                    self.pending.remove(&transaction);
                }
            }
            Incoming::Success { transaction, sender, data, plugin_data } => {
                let Some(p) = self.take(&transaction) else {
                    return self.emit(SessionEvent::Ignored { reason: format!("success for unknown transaction {transaction}") });
                };
                let id = data.as_ref().and_then(|d| d.get("id")).and_then(Value::as_u64);
                match (p.kind, id) {
                    (Kind::Create, Some(session_id)) => {
                        self.session_id = Some(session_id);
                        self.keepalive_at = Some(now + self.config.keepalive_interval);
                        self.emit(SessionEvent::Created { request: p.request, session_id });
                    }
                    (Kind::Attach, Some(handle)) => self.emit(SessionEvent::Attached { request: p.request, handle }),
                    (Kind::Create | Kind::Attach, None) => self.emit(SessionEvent::Failed {
                        request: p.request,
                        error: RequestError::Malformed("success without an id".into()),
                    }),
                    (Kind::Message { handle }, _) => self.emit(SessionEvent::Replied {
                        request: p.request,
                        handle: sender.unwrap_or(handle),
                        data: plugin_data.unwrap_or(Value::Null),
                        jsep: None,
                    }),
                    (Kind::Keepalive | Kind::Plain, _) => self.emit(SessionEvent::Done { request: p.request }),
                }
            }
            Incoming::Error { transaction, error } => {
                let pending = transaction.as_ref().and_then(|t| self.take(t));
                match pending {
                    Some(p) if p.kind == Kind::Keepalive => {
                        self.session_lost(format!("the server no longer knows this session ({}: {})", error.code, error.reason))
                    }
                    Some(p) => self.emit(SessionEvent::Failed {
                        request: p.request,
                        error: RequestError::Janus { code: error.code, reason: error.reason },
                    }),
                    None => self.emit(SessionEvent::Ignored { reason: format!("server error {}: {}", error.code, error.reason) }),
                }
            }
            Incoming::Event { sender, transaction, plugin_data, jsep } => {
                let pending = transaction
                    .as_ref()
                    .filter(|t| self.pending.get(*t).is_some_and(|p| matches!(p.kind, Kind::Message { .. })))
                    .and_then(|t| self.take(t));
                match pending {
                    Some(p) => self.emit(SessionEvent::Replied { request: p.request, handle: sender, data: plugin_data, jsep }),
                    None => self.emit(SessionEvent::PluginEvent { handle: sender, data: plugin_data, jsep }),
                }
            }
            Incoming::WebrtcUp { sender } => self.emit(SessionEvent::WebrtcUp { handle: sender }),
            Incoming::Media { sender, kind, receiving } => self.emit(SessionEvent::Media { handle: sender, kind, receiving }),
            Incoming::SlowLink { sender, lost, .. } => self.emit(SessionEvent::SlowLink { handle: sender, lost }),
            Incoming::HangUp { sender, reason } => self.emit(SessionEvent::HangUp { handle: sender, reason }),
            Incoming::Detached { sender } => self.emit(SessionEvent::Detached { handle: sender }),
            Incoming::Timeout { session_id } if Some(session_id) == self.session_id => {
                self.session_lost("the server timed out the session".into())
            }
            Incoming::Timeout { .. } | Incoming::Trickle { .. } => {}
            other => self.emit(SessionEvent::Ignored { reason: format!("unhandled message {other:?}") }),
        }
    }
}

#[cfg(test)]
mod tests;
