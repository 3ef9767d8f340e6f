//! What can go wrong with a device, in words a teacher reads.

use std::sync::Arc;

use estrade_core::UserMessage;

/// Which kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A microphone or other audio input.
    Microphone,
    /// Speakers, headphones or other audio output.
    Speakers,
    /// A camera.
    Camera,
    /// A screen or window to share.
    Screen,
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.words().1)
    }
}

impl DeviceKind {
    fn words(self) -> (&'static str, &'static str) {
        match self {
            DeviceKind::Microphone => ("le micro", "the microphone"),
            DeviceKind::Speakers => ("la sortie son", "the speakers"),
            DeviceKind::Camera => ("la caméra", "the camera"),
            DeviceKind::Screen => ("le partage d'écran", "screen sharing"),
        }
    }
}

/// A device could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The system has no device of this kind at all.
    #[error("no device for {kind} on this computer")]
    NoneFound {
        /// Which kind.
        kind: DeviceKind,
    },
    /// No device of that name.
    #[error("no device for {kind} named {wanted:?}; available: {available:?}")]
    NotFound {
        /// Which kind.
        kind: DeviceKind,
        /// The name asked for.
        wanted: String,
        /// What there is.
        available: Vec<String>,
    },
    /// The device exists but would not open (busy, unplugged, refused, no usable format).
    #[error("cannot open {device:?} for {kind}: {reason}")]
    CannotOpen {
        /// Which kind.
        kind: DeviceKind,
        /// Its name.
        device: String,
        /// What the system said.
        reason: String,
    },
    /// The operating system refused access (privacy settings).
    #[error("access to {kind} was refused: {reason}")]
    PermissionDenied {
        /// Which kind.
        kind: DeviceKind,
        /// What the system said.
        reason: String,
    },
}

impl DeviceError {
    /// The sentence shown to the person, saying what to do next.
    pub fn user_message(&self) -> UserMessage {
        if let Some(message) = self.screen_message() {
            return message;
        }
        match self {
            DeviceError::NoneFound { kind } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("Aucun appareil pour {fr} sur cet ordinateur. Branchez-en un ; la classe continue sans."),
                    en: format!("No device for {en} on this computer. Plug one in; the class goes on without it."),
                }
            }
            DeviceError::NotFound { kind, wanted, .. } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("« {wanted} » n'est pas branché. Choisissez un autre appareil pour {fr} dans les réglages."),
                    en: format!("\"{wanted}\" is not plugged in. Choose another device for {en} in the settings."),
                }
            }
            DeviceError::CannotOpen { kind, device, .. } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("« {device} » ne s'ouvre pas pour {fr}. Vérifiez qu'il est branché et qu'aucune autre application ne le garde, ou choisissez-en un autre dans les réglages."),
                    en: format!("\"{device}\" will not open for {en}. Check that it is plugged in and that no other application holds it, or choose another one in the settings."),
                }
            }
            DeviceError::PermissionDenied { kind, .. } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("L'accès à {fr} est refusé. Autorisez Estrade dans les réglages de confidentialité du système (macOS : Réglages Système > Confidentialité et sécurité), puis relancez Estrade."),
                    en: format!("Access to {en} is refused. Allow Estrade in the system's privacy settings (macOS: System Settings > Privacy & Security), then restart Estrade."),
                }
            }
        }
    }
}

impl DeviceError {
    /// Screens and windows are not plugged in: their own words.
    fn screen_message(&self) -> Option<UserMessage> {
        let (fr, en) = match self {
            DeviceError::NoneFound { kind: DeviceKind::Screen } => (
                "Aucun écran à partager : Estrade ne voit pas d'affichage. Lancez Estrade dans une session graphique.".to_owned(),
                "No screen to share: Estrade sees no display. Run Estrade in a graphical session.".to_owned(),
            ),
            DeviceError::NotFound { kind: DeviceKind::Screen, wanted, .. } => (
                format!("« {wanted} » n'est pas là pour le partage d'écran (fenêtre fermée ?). Choisissez un autre écran ou une autre fenêtre."),
                format!("\"{wanted}\" is not there to share (a closed window?). Choose another screen or window."),
            ),
            DeviceError::CannotOpen { kind: DeviceKind::Screen, device, .. } => (
                format!("« {device} » ne peut pas être capturé pour le partage d'écran. Choisissez un autre écran ou une autre fenêtre ; sur macOS, autorisez l'enregistrement de l'écran (Réglages Système > Confidentialité et sécurité)."),
                format!("\"{device}\" cannot be captured for screen sharing. Choose another screen or window; on macOS, allow screen recording (System Settings > Privacy & Security)."),
            ),
            _ => return None,
        };
        Some(UserMessage { fr, en })
    }
}

/// Something about a device the person should hear of, while the class goes on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum DeviceNotice {
    /// The chosen device failed or went away; another one is used instead.
    FellBack {
        /// Which kind.
        kind: DeviceKind,
        /// The device that failed.
        from: String,
        /// The device now in use.
        to: String,
        /// Why.
        reason: String,
    },
    /// The device failed and there is nothing to fall back on; retrying.
    Lost {
        /// Which kind.
        kind: DeviceKind,
        /// The device that failed.
        device: String,
        /// Why.
        reason: String,
    },
    /// A device is working again after being lost.
    Restored {
        /// Which kind.
        kind: DeviceKind,
        /// The device now in use.
        device: String,
    },
}

impl DeviceNotice {
    /// The sentence shown to the person.
    pub fn user_message(&self) -> UserMessage {
        match self {
            DeviceNotice::FellBack { kind, from, to, .. } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("« {from} » ne répond plus : Estrade utilise « {to} » pour {fr}."),
                    en: format!("\"{from}\" stopped working: Estrade now uses \"{to}\" for {en}."),
                }
            }
            DeviceNotice::Lost { kind, device, .. } => {
                let (fr, en) = kind.words();
                UserMessage {
                    fr: format!("« {device} » ne répond plus et aucun autre appareil n'est disponible pour {fr}. Rebranchez-le : Estrade le reprendra."),
                    en: format!("\"{device}\" stopped working and no other device is available for {en}. Plug it back in: Estrade will pick it up."),
                }
            }
            DeviceNotice::Restored { kind, device } => {
                let (fr, en) = kind.words();
                UserMessage { fr: format!("« {device} » fonctionne de nouveau pour {fr}."), en: format!("\"{device}\" works again for {en}.") }
            }
        }
    }
}

/// Where devices report their notices. Called from device threads: keep it quick.
pub type Notify = Arc<dyn Fn(DeviceNotice) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screen_is_never_said_to_be_unplugged() {
        let kind = DeviceKind::Screen;
        for e in [
            DeviceError::NoneFound { kind },
            DeviceError::NotFound { kind, wanted: "Diaporama".into(), available: vec![] },
            DeviceError::CannotOpen { kind, device: "screen".into(), reason: "Connection error".into() },
        ] {
            let m = e.user_message();
            assert!(!m.fr.contains("branch") && !m.en.contains("plug"), "{m:?}");
            assert!(m.en.contains("screen") && m.fr.contains("écran"), "{m:?}");
        }
        let mic = DeviceError::NoneFound { kind: DeviceKind::Microphone }.user_message();
        assert!(mic.en.contains("Plug one in"), "other devices keep their words: {mic:?}");
    }
}
