//! The commands the UI may call. Each one is thin: it reads the app state,
//! calls into `class`/`settings`/`video`, and maps the outcome to DTOs.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tauri::ipc::{Channel, InvokeResponseBody, IpcResponse};
use tauri::{AppHandle, Manager, State};
use tauri_specta::Event;

use estrade_media::MediaSwitch;

use crate::class::{self, ActiveClass, ClassLife};
use crate::dto::{
    AppError, ClassChanged, ClassUpdate, ConnectionCheck, DeviceList, ErrorCode, JoinRequest, Joined, Settings, ShareTargets, SpeakerLevel, Startup, VideoTile,
};
use crate::video::PacketSink;
use crate::AppState;

/// One video frame for a tile, as bytes (layout in `video.rs`). JavaScript
/// receives it as an `ArrayBuffer`, not as JSON.
#[derive(Debug, specta::Type)]
pub struct VideoPacket(Vec<u8>);

impl IpcResponse for VideoPacket {
    fn body(self) -> tauri::Result<InvokeResponseBody> {
        Ok(InvokeResponseBody::Raw(self.0))
    }
}

struct ChannelSink(Channel<VideoPacket>);

impl PacketSink for ChannelSink {
    fn send(&self, packet: Vec<u8>) -> Result<(), String> {
        self.0.send(VideoPacket(packet)).map_err(|e| e.to_string())
    }
}

fn not_in_class() -> AppError {
    AppError::new(ErrorCode::NotInClass, "Vous n'êtes dans aucune classe.", "You are not in a class.")
}

/// The settings, the language, and whether to show the first-run screen.
#[tauri::command]
#[specta::specta]
pub fn startup(state: State<'_, AppState>) -> Startup {
    let settings = state.settings();
    let notice = state.notice.lock().map(|n| n.clone()).unwrap_or(None);
    // Joining at start skips the first-run screen.
    let first_run = state.auto_join.is_none() && crate::needs_first_run(&settings);
    Startup { settings, first_run, system_language: state.system_language, notice, auto_join: state.auto_join.clone() }
}

/// Saves the settings (never a secret). Voice processing changes apply to
/// the class in progress at once; device choices at the next join.
#[tauri::command]
#[specta::specta]
pub async fn save_settings(state: State<'_, AppState>, settings: Settings) -> Result<(), AppError> {
    let voice = settings.voice;
    state.store_settings(settings)?;
    if let Some(class) = state.class.lock().await.in_class() {
        class.voice.set_settings(voice.into());
    }
    Ok(())
}

/// The microphones, speakers and cameras present now.
#[tauri::command]
#[specta::specta]
pub async fn devices() -> DeviceList {
    tauri::async_runtime::spawn_blocking(crate::devices::list).await.unwrap_or_default()
}

/// Tries a microphone outside a class: its level, ten times a second, for
/// three seconds. Fails with a message when it will not open.
#[tauri::command]
#[specta::specta]
pub async fn test_microphone(device: Option<String>, levels: Channel<f32>) -> Result<(), AppError> {
    tauri::async_runtime::spawn_blocking(move || crate::devices::test_microphone(device.as_deref(), |level| levels.send(level).is_ok()))
        .await
        .map_err(|e| AppError::new(ErrorCode::Device, format!("Le test du micro a échoué : {e}"), format!("The microphone test failed: {e}")))?
}

/// "Test my connection": the way from `invite` (a class link or code; empty:
/// the school of the settings) to its servers, step by step, then the
/// devices. Each result is one sentence saying what to try next.
#[tauri::command]
#[specta::specta]
pub async fn test_connection(state: State<'_, AppState>, invite: String) -> Result<Vec<ConnectionCheck>, AppError> {
    let link = class::connection_test_target(&invite, &state.settings().server);
    let mut checks = estrade_net::diagnose::diagnose(&link, &state.ctx.trust, |_| {}).await;
    let devices = tauri::async_runtime::spawn_blocking(|| {
        let audio = estrade_devices::list_audio();
        estrade_net::diagnose::device_check(audio.inputs.len(), audio.outputs.len(), estrade_devices::list_cameras().len())
    });
    checks.push(devices.await.unwrap_or_else(|_| estrade_net::diagnose::devices_unlisted()));
    Ok(checks.iter().map(Into::into).collect())
}

/// Joins a class. Class changes then arrive as `ClassChanged` events, and
/// speaker levels on `levels` four times a second.
#[tauri::command]
#[specta::specta]
pub async fn join(
    app: AppHandle,
    state: State<'_, AppState>,
    mut request: JoinRequest,
    levels: Channel<Vec<SpeakerLevel>>,
) -> Result<Joined, AppError> {
    // The start-up class's PIN (ESTRADE_PIN) is added here, in Rust.
    if request.pin.as_deref().is_none_or(str::is_empty) && state.auto_join.as_ref().is_some_and(|a| a.invite == request.invite) {
        request.pin = state.auto_join_pin.as_ref().map(|p| p.expose().clone());
    }
    let generation = state.generation.fetch_add(1, Ordering::Relaxed) + 1;
    let (cancel, cancelled) = tokio::sync::oneshot::channel();
    {
        let mut life = state.class.lock().await;
        if !matches!(*life, ClassLife::Idle) {
            return Err(AppError::new(
                ErrorCode::AlreadyInClass,
                "Vous êtes déjà dans une classe : quittez-la d'abord.",
                "You are already in a class: leave it first.",
            ));
        }
        *life = ClassLife::Joining { generation, cancel };
    }
    let settings = state.settings();
    tracing::info!(?request, "joining");
    let notices: class::Notices = {
        let app = app.clone();
        Arc::new(move |message| {
            if let Err(e) = (ClassChanged { class: generation, update: ClassUpdate::Device { message } }).emit(&app) {
                tracing::warn!(error = %e, "cannot tell the window about a device");
            }
        })
    };
    // Dropping the join (cancelled) abandons it wherever it is.
    let joined = tokio::select! {
        joined = class::join(&state.ctx, &settings, request, generation, notices) => Some(joined),
        _ = cancelled => None,
    };
    let outcome = {
        let mut life = state.class.lock().await;
        let still_wanted = matches!(*life, ClassLife::Joining { generation: g, .. } if g == generation);
        match joined {
            Some(Ok(class::JoinOutcome { class, events, joined })) if still_wanted => {
                *life = ClassLife::InClass(class);
                (joined, events)
            }
            Some(Ok(outcome)) => {
                // Cancelled just as the join succeeded: out again.
                drop(life);
                outcome.class.handle.leave().await;
                return Err(join_cancelled());
            }
            Some(Err(e)) => {
                if still_wanted {
                    *life = ClassLife::Idle;
                }
                return Err(e);
            }
            None => return Err(join_cancelled()),
        }
    };
    let (joined, mut events) = outcome;
    if let Err(e) = state.remember(&joined.server, &joined.me.name) {
        tracing::warn!(error = %e, "settings not saved after joining");
    }

    // Levels, until this class ends.
    let level_state = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            let state = level_state.state::<AppState>();
            if state.generation.load(Ordering::Relaxed) != generation || state.class.lock().await.in_class().is_none() {
                break;
            }
            let mut snapshot = state.ctx.levels.snapshot();
            if let Some(level) = state.class.lock().await.in_class().and_then(|c| c.microphone_level.as_ref()) {
                snapshot.push(SpeakerLevel { participant: class::SELF_TILE.to_owned(), level: class::meter(level.rms()) });
            }
            if levels.send(snapshot).is_err() {
                break;
            }
        }
    });
    // Class events, in order, to the window.
    let forward = app.clone();
    tauri::async_runtime::spawn(async move {
        while let Some(event) = events.recv().await {
            let state = forward.state::<AppState>();
            if let estrade_core::ClassEvent::ParticipantLeft { participant } = &event {
                state.ctx.levels.forget(&participant.id.to_string());
            }
            let ends = matches!(event, estrade_core::ClassEvent::ConnectionLost { .. } | estrade_core::ClassEvent::Left);
            if ends {
                let mut life = state.class.lock().await;
                if life.in_class().is_some_and(|c| c.generation == generation) {
                    *life = ClassLife::Idle;
                    state.ctx.video.clear();
                    state.ctx.levels.clear();
                }
            }
            if let Some(update) = ClassUpdate::from_event(&event) {
                if let Err(e) = (ClassChanged { class: generation, update }).emit(&forward) {
                    tracing::warn!(error = %e, "cannot tell the window about a class change");
                }
            }
        }
    });
    Ok(joined)
}

fn join_cancelled() -> AppError {
    AppError::new(ErrorCode::Cancelled, "Connexion à la classe annulée.", "Joining the class was cancelled.")
}

/// Abandons the join under way, if any: the join screen comes back at once.
#[tauri::command]
#[specta::specta]
pub async fn cancel_join(state: State<'_, AppState>) -> Result<(), AppError> {
    let mut life = state.class.lock().await;
    if matches!(*life, ClassLife::Joining { .. }) {
        tracing::info!("join cancelled");
        life.end();
    }
    Ok(())
}

/// Leaves the class: says goodbye to the server and closes media.
#[tauri::command]
#[specta::specta]
pub async fn leave(state: State<'_, AppState>) -> Result<(), AppError> {
    let mut life = state.class.lock().await;
    let joining = matches!(*life, ClassLife::Joining { .. });
    let Some(class) = life.end() else {
        // Leaving during a join abandons it.
        return if joining { Ok(()) } else { Err(not_in_class()) };
    };
    class.handle.leave().await;
    // Still under the lock, so a new class cannot have started its tiles yet.
    state.ctx.video.clear();
    state.ctx.levels.clear();
    Ok(())
}

/// Sets one of the current class's media switches.
async fn set_switch(state: &AppState, which: fn(&ActiveClass) -> &MediaSwitch, on: bool) -> Result<(), AppError> {
    let life = state.class.lock().await;
    which(life.in_class().ok_or_else(not_in_class)?).set(on);
    Ok(())
}

/// Turns our sound on or off.
#[tauri::command]
#[specta::specta]
pub async fn set_microphone(state: State<'_, AppState>, on: bool) -> Result<(), AppError> {
    set_switch(&state, |c| &c.microphone, on).await
}

/// Turns our picture on or off.
#[tauri::command]
#[specta::specta]
pub async fn set_camera(state: State<'_, AppState>, on: bool) -> Result<(), AppError> {
    set_switch(&state, |c| &c.camera, on).await
}

/// The monitors and windows that can be shared now.
#[tauri::command]
#[specta::specta]
pub async fn share_targets() -> ShareTargets {
    tauri::async_runtime::spawn_blocking(crate::devices::share_targets).await.unwrap_or_default()
}

/// Shares a monitor or window (`screen:ID`, `window:ID`; none: the primary
/// monitor) as our screen share, next to our sound and camera. Replaces a
/// share under way.
#[tauri::command]
#[specta::specta]
pub async fn share_screen(state: State<'_, AppState>, target: Option<String>) -> Result<(), AppError> {
    let source = tauri::async_runtime::spawn_blocking(move || estrade_devices::Screen::open(target.as_deref(), estrade_devices::SCREEN_FPS))
        .await
        .map_err(|e| AppError::new(ErrorCode::ScreenShare, format!("Le partage d'écran a échoué : {e}"), format!("The screen share failed: {e}")))?
        .map_err(|e| AppError { code: ErrorCode::ScreenShare, message: e.user_message().into() })?;
    let life = state.class.lock().await;
    let class = life.in_class().ok_or_else(not_in_class)?;
    Ok(class.handle.share_screen(Box::new(source)).await?)
}

/// Stops our screen share; nothing happens if we were not sharing.
#[tauri::command]
#[specta::specta]
pub async fn stop_screen_share(state: State<'_, AppState>) -> Result<(), AppError> {
    let life = state.class.lock().await;
    let class = life.in_class().ok_or_else(not_in_class)?;
    Ok(class.handle.stop_screen_share().await?)
}

/// Where this window wants its video frames.
#[tauri::command]
#[specta::specta]
pub fn watch_video(state: State<'_, AppState>, frames: Channel<VideoPacket>) {
    state.ctx.video.set_sink(Arc::new(ChannelSink(frames)));
}

/// The tiles now visible, with their sizes in device pixels.
#[tauri::command]
#[specta::specta]
pub fn set_video_tiles(state: State<'_, AppState>, tiles: Vec<VideoTile>) {
    state.ctx.video.set_tiles(&tiles);
}

/// A frame of `participant` was painted: the next one may come.
#[tauri::command]
#[specta::specta]
pub fn video_frame_painted(state: State<'_, AppState>, participant: String) {
    state.ctx.video.painted(&participant);
}
