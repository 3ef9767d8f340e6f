//! Errors of joining a class, each with a message a teacher can read.

use std::time::Duration;

/// A message for a person, in French and in English, saying what to do next.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserMessage {
    /// Français.
    pub fr: String,
    /// English.
    pub en: String,
}

/// Joining failed. Each variant says whether retrying may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The server could not be reached. Retry later, or check the address.
    #[error("cannot reach the classroom server at {address}: {reason}")]
    Unreachable {
        /// The address that was tried.
        address: String,
        /// What the network said.
        reason: String,
    },
    /// Nothing listens at the server's address (the connection was refused):
    /// the server program is not running there, and any session it held is
    /// gone with it. Retry later, or another server.
    #[error("nothing answers at {address}: the connection was refused")]
    NotListening {
        /// The address that was tried.
        address: String,
    },
    /// The address is not a WebSocket address. Retrying will not help.
    #[error("invalid server address {address:?}: {reason}")]
    BadAddress {
        /// What was given.
        address: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The class does not exist on that server. Retrying will not help.
    #[error("class {room} does not exist on this server")]
    NoSuchClass {
        /// The class number.
        room: u64,
    },
    /// The PIN is wrong or missing. Retry with the right PIN.
    #[error("wrong or missing PIN for class {room}")]
    WrongPin {
        /// The class number.
        room: u64,
    },
    /// The class is full. Retry later.
    #[error("class {room} is full")]
    ClassFull {
        /// The class number.
        room: u64,
    },
    /// The server refused for another reason.
    #[error("the server refused to join: {reason}")]
    Refused {
        /// The server's reason.
        reason: String,
    },
    /// The server stopped answering during the join. Retry.
    #[error("the server did not answer within {0:?}")]
    TimedOut(Duration),
    /// The connection closed during the join. Retry.
    #[error("the connection closed while joining: {reason}")]
    ConnectionLost {
        /// Why.
        reason: String,
    },
    /// Our own media could not be set up (codec or network). Retrying will not help.
    #[error("could not set up media: {reason}")]
    Media {
        /// Why.
        reason: String,
    },
    /// The school's list of servers could not be had again while getting
    /// the class back. Retrying may help (see [`crate::discovery::DiscoveryError::retry_may_help`]).
    #[error("{0}")]
    Discovery(crate::discovery::DiscoveryError),
}

impl JoinError {
    /// What to tell the person joining, in both languages.
    pub fn user_message(&self) -> UserMessage {
        let (fr, en) = match self {
            JoinError::Unreachable { address, .. } | JoinError::NotListening { address } => (
                format!("Impossible de joindre le serveur de classe {address}. Vérifiez votre connexion à Internet et l'adresse du serveur, puis réessayez."),
                format!("Cannot reach the classroom server {address}. Check your Internet connection and the server address, then try again."),
            ),
            JoinError::BadAddress { address, .. } => (
                format!("L'adresse du serveur « {address} » n'est pas valable. Elle doit commencer par wss:// (ou ws://). Demandez-la à votre établissement."),
                format!("The server address \"{address}\" is not valid. It must start with wss:// (or ws://). Ask your school for it."),
            ),
            JoinError::NoSuchClass { room } => (
                format!("La classe {room} n'existe pas sur ce serveur. Vérifiez le code de la classe auprès de l'enseignant."),
                format!("Class {room} does not exist on this server. Check the class code with your teacher."),
            ),
            JoinError::WrongPin { room } => (
                format!("Le code PIN de la classe {room} est incorrect. Vérifiez-le auprès de l'enseignant et réessayez."),
                format!("The PIN for class {room} is wrong. Check it with your teacher and try again."),
            ),
            JoinError::ClassFull { room } => (
                format!("La classe {room} est complète. Prévenez l'enseignant ou réessayez plus tard."),
                format!("Class {room} is full. Tell your teacher or try again later."),
            ),
            JoinError::Refused { reason } => (
                format!("Le serveur a refusé l'entrée dans la classe ({reason}). Réessayez, puis prévenez l'enseignant si cela continue."),
                format!("The server refused to let you in ({reason}). Try again, and tell your teacher if it keeps happening."),
            ),
            JoinError::TimedOut(_) | JoinError::ConnectionLost { .. } => (
                "Le serveur de classe ne répond pas. Réessayez dans un instant.".to_owned(),
                "The classroom server is not answering. Try again in a moment.".to_owned(),
            ),
            JoinError::Media { .. } => (
                "Le son ou la vidéo n'a pas pu démarrer. Redémarrez Estrade ; si cela continue, prévenez le service informatique.".to_owned(),
                "Sound or video could not start. Restart Estrade; if it keeps happening, tell your IT support.".to_owned(),
            ),
            JoinError::Discovery(e) => return e.user_message(),
        };
        UserMessage { fr, en }
    }
}

/// Starting or stopping a screen share failed. The class goes on; what we
/// sent before (sound, camera) is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// We are no longer in the class.
    #[error("not in a class any more")]
    NotInClass,
    /// The server refused the share.
    #[error("the server refused the screen share: {reason}")]
    Refused {
        /// The server's reason.
        reason: String,
    },
    /// The share's connection could not be set up or changed.
    #[error("the screen share could not start: {reason}")]
    Media {
        /// What failed.
        reason: String,
    },
}

impl ShareError {
    /// What to tell the person sharing, in French and English.
    pub fn user_message(&self) -> UserMessage {
        let (fr, en) = match self {
            ShareError::NotInClass => (
                "Vous n'êtes plus dans la classe : rejoignez-la pour partager votre écran.",
                "You are no longer in the class: join it again to share your screen.",
            ),
            ShareError::Refused { .. } => (
                "Le serveur a refusé le partage d'écran. Réessayez ; si cela continue, prévenez le service informatique.",
                "The server refused the screen share. Try again; if it keeps happening, tell your IT support.",
            ),
            ShareError::Media { .. } => (
                "Le partage d'écran n'a pas pu démarrer. Réessayez ; le son et la caméra continuent.",
                "The screen share could not start. Try again; your sound and camera carry on.",
            ),
        };
        UserMessage { fr: fr.to_owned(), en: en.to_owned() }
    }
}
