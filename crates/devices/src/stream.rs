//! An open cpal stream, shared by the microphone and the speakers: opening
//! in a format we convert, noticing failure, reopening off the media thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{DeviceError, DeviceKind, DeviceNotice, Notify};

/// How long a microphone may deliver nothing before it is taken as gone.
const SILENT_DEVICE: Duration = Duration::from_secs(2);
/// How often an open device is checked for being still plugged in.
const PRESENCE_CHECK: Duration = Duration::from_secs(1);
/// How often a lost device is tried again.
const RETRY: Duration = Duration::from_secs(1);
/// cpal's wait for a backend to start a stream.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

/// What both directions need to know about their open stream.
pub(crate) struct Health {
    failure: Mutex<Option<String>>,
    /// Callbacks so far; a counter that stops moving means a stalled device.
    callbacks: AtomicU64,
}

impl Health {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { failure: Mutex::new(None), callbacks: AtomicU64::new(0) })
    }

    /// Watches, on a thread of its own, that device `id` is still plugged in.
    /// Some sound servers move a stream elsewhere when its device goes away,
    /// without telling the stream: this is how Estrade notices. The thread ends
    /// with the stream.
    pub(crate) fn watch_presence(self: &Arc<Self>, kind: DeviceKind, id: String) {
        let health = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("estrade-device-watch".into()).spawn(move || {
            let host = cpal::default_host();
            loop {
                std::thread::sleep(PRESENCE_CHECK);
                let Some(health) = health.upgrade() else { return };
                if !crate::audio::present(&host, kind, &id) {
                    health.failure.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| "the device was unplugged".to_owned());
                    return;
                }
            }
        });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "cannot watch the device; a failure will still be noticed by its stream");
        }
    }

    pub(crate) fn on_callback(&self) {
        self.callbacks.fetch_add(1, Ordering::Relaxed);
    }

    /// cpal's error callback. Some errors are only warnings: the stream goes on.
    pub(crate) fn on_error(&self, e: &cpal::Error) {
        use cpal::ErrorKind::{DeviceChanged, RealtimeDenied, Xrun};
        if matches!(e.kind(), Xrun | DeviceChanged | RealtimeDenied) {
            tracing::debug!(error = %e, "audio stream warning");
            return;
        }
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert_with(|| e.to_string());
    }
}

/// A device stream that is open, with what is needed to keep an eye on it.
pub(crate) trait OpenStream: Send + 'static {
    fn health(&self) -> &Arc<Health>;
    fn device_name(&self) -> &str;
}

/// Opens a device by name (`None`: the default one).
pub(crate) type Opener<S> = Arc<dyn Fn(Option<&str>) -> Result<S, DeviceError> + Send + Sync>;

/// Why the stream was lost, until a retry settles what to tell the person.
struct Loss {
    device: String,
    reason: String,
    told: bool,
}

/// Keeps one stream open: notices when it fails or stalls, falls back to the
/// default device, retries every second, and tells the person.
pub(crate) struct Keeper<S: OpenStream> {
    kind: DeviceKind,
    wanted: Option<String>,
    open: Opener<S>,
    live: Option<S>,
    reopening: Option<mpsc::Receiver<Result<S, DeviceError>>>,
    next_attempt: Instant,
    loss: Option<Loss>,
    seen_callbacks: u64,
    seen_at: Instant,
    notify: Notify,
}

/// Opens `wanted`, or the default device if that fails.
fn open_or_default<S>(open: &Opener<S>, wanted: Option<&str>) -> Result<S, DeviceError> {
    match open(wanted) {
        Ok(s) => Ok(s),
        Err(first) if wanted.is_some() => open(None).map_err(|_| first),
        Err(e) => Err(e),
    }
}

impl<S: OpenStream> Keeper<S> {
    /// Opens `wanted` (or the default), falling back to the default if `wanted` fails.
    pub(crate) fn start(kind: DeviceKind, wanted: Option<String>, open: Opener<S>, notify: Notify) -> Result<Self, DeviceError> {
        let live = match open(wanted.as_deref()) {
            Ok(s) => s,
            Err(first) if wanted.is_some() => {
                let fallback = open(None).map_err(|_| first.clone())?;
                notify(DeviceNotice::FellBack {
                    kind,
                    from: wanted.clone().unwrap_or_default(),
                    to: fallback.device_name().to_owned(),
                    reason: first.to_string(),
                });
                fallback
            }
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        Ok(Self { kind, wanted, open, live: Some(live), reopening: None, next_attempt: now, loss: None, seen_callbacks: 0, seen_at: now, notify })
    }

    /// The open stream, if the device is working.
    pub(crate) fn live(&mut self) -> Option<&mut S> {
        self.live.as_mut()
    }

    /// Checks the stream; call it on every frame. Never blocks: reopening
    /// happens on a helper thread.
    pub(crate) fn poll(&mut self) {
        let now = Instant::now();
        if let Some(live) = &self.live {
            let failure = live.health().failure.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let callbacks = live.health().callbacks.load(Ordering::Relaxed);
            if callbacks != self.seen_callbacks {
                self.seen_callbacks = callbacks;
                self.seen_at = now;
            }
            // Only a microphone is watched for stalls: PulseAudio may pause
            // asking an output for sound for seconds (seen with a second
            // client in the same process), which is not a failure.
            let stalled = self.kind == DeviceKind::Microphone && now.duration_since(self.seen_at) > SILENT_DEVICE;
            if let Some(reason) = failure.or_else(|| stalled.then(|| "the device stopped delivering sound".to_owned())) {
                let device = live.device_name().to_owned();
                tracing::warn!(%device, %reason, "audio device failed");
                self.live = None;
                self.loss = Some(Loss { device, reason, told: false });
                self.next_attempt = now;
            }
        }
        if self.live.is_some() {
            return;
        }
        if let Some(rx) = &self.reopening {
            match rx.try_recv() {
                Ok(result) => {
                    self.reopening = None;
                    self.settle(result, now);
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => self.reopening = None,
            }
        } else if now >= self.next_attempt {
            let (tx, rx) = mpsc::channel();
            let open = Arc::clone(&self.open);
            let wanted = self.wanted.clone();
            let spawned = std::thread::Builder::new().name("estrade-audio-reopen".into()).spawn(move || {
                let _ = tx.send(open_or_default(&open, wanted.as_deref()));
            });
            match spawned {
                Ok(_) => self.reopening = Some(rx),
                Err(e) => tracing::warn!(error = %e, "cannot start a thread to reopen the device"),
            }
            self.next_attempt = now + RETRY;
        }
    }

    fn settle(&mut self, result: Result<S, DeviceError>, now: Instant) {
        let kind = self.kind;
        match result {
            Ok(stream) => {
                let to = stream.device_name().to_owned();
                if let Some(loss) = self.loss.take() {
                    let notice = if loss.device == to {
                        DeviceNotice::Restored { kind, device: to }
                    } else {
                        DeviceNotice::FellBack { kind, from: loss.device, to, reason: loss.reason }
                    };
                    (self.notify)(notice);
                }
                self.seen_callbacks = 0;
                self.seen_at = now;
                self.live = Some(stream);
            }
            Err(e) => {
                tracing::debug!(error = %e, "device still unavailable");
                if let Some(loss) = &mut self.loss {
                    if !loss.told {
                        loss.told = true;
                        (self.notify)(DeviceNotice::Lost { kind, device: loss.device.clone(), reason: loss.reason.clone() });
                    }
                }
            }
        }
    }
}
