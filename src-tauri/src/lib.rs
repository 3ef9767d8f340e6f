//! Estrade's desktop app: a thin Tauri 2 shell. It wires the real adapters
//! (WebSocket, webrtc-rs, the OS keychain) into `estrade-core` and exposes a
//! few typed commands, one event (`ClassChanged`) and two channels (speaker
//! levels, video frames) to the UI in `ui/`.

mod class;
mod commands;
mod devices;
pub mod dto;
#[cfg(target_os = "linux")]
mod linux;
mod settings;
pub mod video;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use estrade_rtc::{RtcConfig, WebrtcPeers};
use estrade_secrets::{KeyringStore, Sensitive};
use estrade_net::{DiscoveryClient, TlsTrust, WsConnector};
use tauri::Manager;

use crate::class::{ClassLife, JoinContext, Levels};
use crate::dto::{AppError, ErrorCode, JoinRequest, Language, Message, Settings};
use crate::settings::SettingsFile;
use crate::video::VideoRouter;

/// The keychain service name under which PINs are filed.
pub const KEYCHAIN_SERVICE: &str = "fr.estrade.app";

/// Command-line options, for the demo and for school deployment scripts.
#[derive(Debug, Parser)]
#[command(name = "estrade", version, about = "Estrade: the virtual classroom app")]
struct Args {
    /// The school's classroom server (wss://…), instead of the remembered one.
    #[arg(long)]
    server: Option<String>,
    /// Join this class at start: a class link or a code.
    #[arg(long = "join")]
    join: Option<String>,
    /// The name to join with.
    #[arg(long)]
    name: Option<String>,
    /// The UI language, instead of the remembered one or the system's.
    #[arg(long, value_parser = ["fr", "en"])]
    lang: Option<String>,
    /// Also trust the certificate authority in this PEM file (a school's own
    /// CA), for the discovery document and wss:// servers. Verification is never off.
    #[arg(long = "ca-cert", value_name = "PATH")]
    ca_certs: Vec<PathBuf>,
    /// Keep settings in this folder instead of the user's configuration folder.
    #[arg(long, env = "ESTRADE_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Once in class, how long to keep trying to get a lost class back before
    /// saying it is lost (default 600 s).
    #[arg(long = "give-up-after", value_name = "SECONDS")]
    give_up_after: Option<f64>,
}

/// What the commands share.
pub struct AppState {
    settings_file: SettingsFile,
    settings: Mutex<Settings>,
    /// Something to tell the user at start-up (a damaged settings file); said until the next save.
    notice: Mutex<Option<Message>>,
    system_language: Language,
    auto_join: Option<JoinRequest>,
    /// The PIN for `auto_join` (from ESTRADE_PIN): it stays in Rust, never
    /// crosses into the webview.
    auto_join_pin: Option<Sensitive<String>>,
    ctx: JoinContext,
    class: tokio::sync::Mutex<ClassLife>,
    generation: AtomicU32,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("settings_file", &self.settings_file).finish_non_exhaustive()
    }
}

impl AppState {
    fn settings(&self) -> Settings {
        self.settings.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Saves `settings` as the new settings. The file is written under the
    /// settings lock, so two saves never interleave.
    fn store_settings(&self, settings: Settings) -> Result<(), AppError> {
        let mut current = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        self.settings_file.save(&settings).map_err(|e| {
            let path = self.settings_file.path().display();
            AppError::new(
                ErrorCode::Settings,
                format!("Les réglages n'ont pas pu être enregistrés dans {path} ({e}). Vérifiez l'espace disque et les droits du dossier."),
                format!("The settings could not be saved in {path} ({e}). Check the disk space and the folder's permissions."),
            )
        })?;
        if let Ok(mut notice) = self.notice.lock() {
            *notice = None;
        }
        *current = settings;
        Ok(())
    }

    /// Remembers the server and the name a class was joined with, keeping any
    /// other setting changed meanwhile.
    fn remember(&self, server: &str, name: &str) -> Result<(), AppError> {
        let mut settings = self.settings();
        settings.server = server.to_owned();
        settings.name = name.to_owned();
        self.store_settings(settings)
    }
}

/// The typed IPC surface; `ui/src/bindings.ts` is generated from it.
pub fn ipc() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::startup,
            commands::save_settings,
            commands::devices,
            commands::test_microphone,
            commands::test_connection,
            commands::join,
            commands::cancel_join,
            commands::leave,
            commands::set_microphone,
            commands::set_camera,
            commands::watch_video,
            commands::set_video_tiles,
            commands::video_frame_painted,
            commands::share_targets,
            commands::share_screen,
            commands::stop_screen_share,
        ])
        .events(tauri_specta::collect_events![dto::ClassChanged])
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), String> {
    let ts = specta_typescript::Typescript::default()
        .header("// Generated from src-tauri by `cargo test -p estrade-app --test bindings` with ESTRADE_UPDATE_BINDINGS=1. Do not edit.\n// @ts-nocheck");
    ipc().export(ts, path).map_err(|e| e.to_string())
}

/// Whether the first-run screen must ask for the server and the name: until
/// both are known (from the file, or from a deployment's --server and --name).
/// A language chosen on that screen is saved at once but does not end it.
pub(crate) fn needs_first_run(settings: &Settings) -> bool {
    settings.server.trim().is_empty() || settings.name.trim().is_empty()
}

/// French for any French locale (fr-FR, fr_CA.UTF-8, fr-BE…), English otherwise.
fn language_for(locale: Option<&str>) -> Language {
    match locale {
        Some(l) if l.to_lowercase().starts_with("fr") => Language::Fr,
        _ => Language::En,
    }
}

fn system_language() -> Language {
    language_for(sys_locale::get_locale().as_deref())
}

fn state_for(args: &Args, config_dir: PathBuf) -> AppState {
    let settings_file = SettingsFile::new(config_dir.join("settings.json"));
    let mut loaded = settings_file.load();
    let trust = args.ca_certs.iter().try_fold(TlsTrust::system(), |trust, path| trust.with_ca_file(path));
    let trust = trust.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "extra certificate authority not used");
        loaded.notice = Some(e.user_message().into());
        TlsTrust::system()
    });
    let mut settings = loaded.settings;
    if let Some(server) = &args.server {
        settings.server = server.clone();
    }
    if let Some(name) = &args.name {
        settings.name = name.clone();
    }
    if let Some(lang) = &args.lang {
        settings.language = Some(if lang == "fr" { Language::Fr } else { Language::En });
    }
    let auto_join = args.join.as_ref().map(|invite| {
        JoinRequest {
            invite: invite.clone(),
            name: settings.name.clone(),
            pin: None,
            remember_pin: false,
        }
    });
    AppState {
        settings_file,
        settings: Mutex::new(settings),
        notice: Mutex::new(loaded.notice),
        system_language: system_language(),
        auto_join,
        auto_join_pin: std::env::var("ESTRADE_PIN").ok().filter(|p| !p.is_empty()).map(Sensitive),
        ctx: JoinContext {
            connector: Arc::new(WsConnector::new(trust.clone())),
            trust: trust.clone(),
            discovery: DiscoveryClient::new(&trust, Some(config_dir.clone())),
            peers: Arc::new(WebrtcPeers::new(RtcConfig::default())),
            secrets: Arc::new(KeyringStore::new(KEYCHAIN_SERVICE)),
            video: VideoRouter::start(),
            levels: Arc::new(Levels::default()),
            give_up_after: args
                .give_up_after
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map_or(estrade_core::DEFAULT_GIVE_UP_AFTER, Duration::from_secs_f64),
        },
        class: tokio::sync::Mutex::new(ClassLife::Idle),
        generation: AtomicU32::new(0),
    }
}

/// Runs the app until its window closes.
pub fn run() -> ExitCode {
    #[cfg(target_os = "linux")]
    linux::configure_webkit();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ESTRADE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rtc_ice::agent=error,rtc_dtls=error,webrtc=warn,rtc=warn")),
        )
        .init();
    let args = Args::parse();
    let ipc = ipc();
    let result = tauri::Builder::default()
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            let config_dir = match args.config_dir.clone() {
                Some(dir) => dir,
                None => app.path().app_config_dir()?,
            };
            app.manage(state_for(&args, config_dir));
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match result {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Estrade cannot start: {e}\nEstrade ne peut pas démarrer : {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Leave the class politely when the window closes.
            let state = handle.state::<AppState>();
            // A join under way is abandoned; a class we are in is left.
            let class = state.class.try_lock().ok().and_then(|mut life| life.end());
            if let Some(class) = class {
                tauri::async_runtime::block_on(class.handle.leave());
            }
            state.ctx.video.stop();
        }
    });
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_systems_get_french() {
        for l in ["fr-FR", "fr_CA.UTF-8", "FR", "fr-BE"] {
            assert_eq!(language_for(Some(l)), Language::Fr, "{l}");
        }
        for l in [Some("en-GB"), Some("de-DE"), Some("C"), None] {
            assert_eq!(language_for(l), Language::En, "{l:?}");
        }
    }
}
