//! Class links and codes, as a teacher shares them.
//!
//! A pupil may paste either:
//! - a bare class code (`1234`), meaning that class on the school's server
//!   set up at first run;
//! - a class link: the server's WebSocket address with the class in the query,
//!   `wss://classe.example.fr/janus?class=1234` (also `classe=`), or the same
//!   with the `estrade://` scheme, which means `wss://`.

use crate::UserMessage;

/// Where a link points: a server and a class on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInvite {
    /// The server's WebSocket address.
    pub server: String,
    /// The class (VideoRoom) number.
    pub room: u64,
}

/// What is wrong with a link or a code. Retrying with the same text will not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InviteError {
    /// Nothing was typed.
    #[error("no class link or code was given")]
    Empty,
    /// A bare code was given but no server is set up.
    #[error("a class code needs a server address")]
    NoServer,
    /// The text is neither a code nor a link we understand.
    #[error("not a class link or code: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
}

impl InviteError {
    /// What to tell the person joining, in both languages.
    pub fn user_message(&self) -> UserMessage {
        let (fr, en) = match self {
            InviteError::Empty => (
                "Saisissez le lien ou le code de la classe donné par l'enseignant.",
                "Enter the class link or code your teacher gave you.",
            ),
            InviteError::NoServer => (
                "Ce code de classe a besoin de l'adresse du serveur de l'établissement. Renseignez-la dans les réglages, ou collez le lien complet de la classe.",
                "This class code needs your school's server address. Set it in Settings, or paste the full class link.",
            ),
            InviteError::Malformed { .. } => (
                "Ce lien de classe n'est pas valable. Copiez à nouveau le lien complet envoyé par l'enseignant, ou saisissez seulement le code de la classe (des chiffres).",
                "This class link is not valid. Copy the whole link your teacher sent again, or type just the class code (digits).",
            ),
        };
        UserMessage { fr: fr.to_owned(), en: en.to_owned() }
    }
}

/// The longest class number Janus accepts fits in a u64; codes are digits only.
fn parse_code(text: &str) -> Result<u64, InviteError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InviteError::Malformed { reason: format!("class code {text:?} is not a number") });
    }
    match text.parse::<u64>() {
        Ok(0) => Err(InviteError::Malformed { reason: "class 0 does not exist".into() }),
        Ok(n) => Ok(n),
        Err(_) => Err(InviteError::Malformed { reason: "class code too long".into() }),
    }
}

impl ClassInvite {
    /// Reads what a pupil pasted. `default_server` is the school's server from
    /// the first-run screen, used for a bare code.
    pub fn parse(input: &str, default_server: Option<&str>) -> Result<Self, InviteError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(InviteError::Empty);
        }
        if !text.contains(':') && !text.contains('/') {
            let room = parse_code(text)?;
            let server = default_server.map(str::trim).filter(|s| !s.is_empty()).ok_or(InviteError::NoServer)?;
            return Ok(Self { server: server.to_owned(), room });
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| InviteError::Malformed { reason: "a link must start with wss://, ws:// or estrade://".into() })?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "wss" | "estrade" => "wss",
            "ws" => "ws",
            other => return Err(InviteError::Malformed { reason: format!("unsupported scheme {other:?}") }),
        };
        let (address, query) = match rest.split_once('?') {
            Some((a, q)) => (a, q),
            None => return Err(InviteError::Malformed { reason: "the link names no class (?class=…)".into() }),
        };
        let host = address.split('/').next().unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains('@') {
            return Err(InviteError::Malformed { reason: "the link names no server".into() });
        }
        let query = query.split('#').next().unwrap_or_default();
        let room = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| matches!(*k, "class" | "classe" | "room"))
            .map(|(_, v)| parse_code(v))
            .ok_or_else(|| InviteError::Malformed { reason: "the link names no class (?class=…)".into() })??;
        Ok(Self { server: format!("{scheme}://{address}"), room })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHOOL: Option<&str> = Some("wss://classe.example.fr/janus");

    #[test]
    fn bare_code_uses_the_school_server() {
        assert_eq!(
            ClassInvite::parse(" 1234 ", SCHOOL),
            Ok(ClassInvite { server: "wss://classe.example.fr/janus".into(), room: 1234 })
        );
        assert_eq!(ClassInvite::parse("1234", None), Err(InviteError::NoServer));
        assert_eq!(ClassInvite::parse("1234", Some("  ")), Err(InviteError::NoServer));
    }

    #[test]
    fn links_name_server_and_class() {
        let i = ClassInvite::parse("wss://a.fr/janus?class=42", None).unwrap();
        assert_eq!(i, ClassInvite { server: "wss://a.fr/janus".into(), room: 42 });
        let i = ClassInvite::parse("estrade://a.fr:8989/janus?x=1&classe=7#top", SCHOOL).unwrap();
        assert_eq!(i, ClassInvite { server: "wss://a.fr:8989/janus".into(), room: 7 });
        let i = ClassInvite::parse("ws://198.18.0.1:8188/?room=1234", None).unwrap();
        assert_eq!(i.server, "ws://198.18.0.1:8188/");
    }

    #[test]
    fn malformed_input_is_refused_plainly() {
        for bad in [
            "abc",
            "12a4",
            "0",
            "99999999999999999999999",
            "https://a.fr/janus?class=1",
            "wss://a.fr/janus",
            "wss://?class=1",
            "wss://a.fr/janus?class=",
            "wss://a.fr/janus?class=x",
            "wss//a.fr?class=1",
            "wss://user@a.fr/?class=1",
        ] {
            let err = ClassInvite::parse(bad, SCHOOL).unwrap_err();
            assert!(matches!(err, InviteError::Malformed { .. }), "{bad}: {err:?}");
            assert!(!err.user_message().fr.is_empty());
        }
        assert_eq!(ClassInvite::parse("   ", SCHOOL), Err(InviteError::Empty));
    }
}
