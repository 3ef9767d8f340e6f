//! Class links and codes, as a teacher shares them.
//!
//! A link names the school and the class, never a media server: the school's
//! discovery document (see [`crate::discovery`]) says which servers carry its
//! classes today, so a server that moves never strands a class. A pupil may
//! paste:
//! - `https://ecole.example.fr/classe/1234` (also `/class/1234`), the link a
//!   teacher shares;
//! - `estrade://ecole.example.fr/classe/1234`, the same, opening the app;
//! - a bare code, `1234`: that class at the school set up at first run;
//! - for development and tests, a direct link to a signaling server:
//!   `wss://classe.example.fr/janus?class=1234` (also `classe=`, `room=`, and
//!   `estrade://…?class=` meaning `wss://`); `ws://` only to this machine.

use url::{Host, Url};

use crate::UserMessage;

/// Where a class's signaling servers are found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClassServer {
    /// A school's domain (with a port, if not 443): its discovery document
    /// lists the servers.
    School(String),
    /// A signaling server named directly (`wss://…`, or `ws://` on loopback).
    Direct(String),
}

impl ClassServer {
    /// Reads the school a person gave at first run or in settings: a domain
    /// (`ecole.example.fr`), its `https://` address, any class link of that
    /// school, or a direct `wss://` server address.
    pub fn parse(input: &str) -> Result<Self, InviteError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(InviteError::NoServer);
        }
        if !text.contains("://") {
            let url = Url::parse(&format!("https://{text}")).map_err(|e| malformed(format!("not a domain: {e}")))?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(malformed("a school is named by its domain only (ecole.example.fr)"));
            }
            return school(&url);
        }
        if let Ok(invite) = ClassInvite::parse(text, None) {
            return Ok(invite.server);
        }
        let url = parse_url(text)?;
        match url.scheme() {
            "https" if url.path() == "/" && url.query().is_none() => school(&url),
            // As typed: it keys the keychain, so it must not change under the user.
            "ws" | "wss" => check_signaling_url(text).map(|()| ClassServer::Direct(text.to_owned())),
            _ => Err(malformed("give the school's domain, e.g. ecole.example.fr")),
        }
    }

    /// The text that names this server (a domain, or a signaling URL), as
    /// kept in settings and used to key the keychain.
    pub fn as_str(&self) -> &str {
        match self {
            ClassServer::School(domain) => domain,
            ClassServer::Direct(url) => url,
        }
    }
}

impl std::fmt::Display for ClassServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a link points: a class, and where its servers are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassInvite {
    /// The school (or, for development, the server).
    pub server: ClassServer,
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
    /// A bare code was given but no school is set up.
    #[error("a class code needs the school's domain")]
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
                "Ce code de classe a besoin du domaine de l'établissement (par exemple ecole.example.fr). Renseignez-le dans les réglages, ou collez le lien complet de la classe.",
                "This class code needs your school's domain (for example ecole.example.fr). Set it in Settings, or paste the full class link.",
            ),
            InviteError::Malformed { .. } => (
                "Ce lien de classe n'est pas valable. Copiez à nouveau le lien complet envoyé par l'enseignant, ou saisissez seulement le code de la classe (des chiffres).",
                "This class link is not valid. Copy the whole link your teacher sent again, or type just the class code (digits).",
            ),
        };
        UserMessage { fr: fr.to_owned(), en: en.to_owned() }
    }
}

fn malformed(reason: impl Into<String>) -> InviteError {
    InviteError::Malformed { reason: reason.into() }
}

/// Class numbers are digits only and fit in a u64 (as Janus's room ids).
fn parse_code(text: &str) -> Result<u64, InviteError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!("class code {text:?} is not a number")));
    }
    match text.parse::<u64>() {
        Ok(0) => Err(malformed("class 0 does not exist")),
        Ok(n) => Ok(n),
        Err(_) => Err(malformed("class code too long")),
    }
}

/// Parses with the `url` crate (WHATWG rules: hosts lowercased, IDNA, ports),
/// reading `estrade://` as `https://` so that its host is a real host.
fn parse_url(text: &str) -> Result<Url, InviteError> {
    let (scheme, rest) = text.split_once("://").ok_or_else(|| malformed("a link must start with https:// or estrade://"))?;
    let scheme = scheme.to_ascii_lowercase();
    let normalised = match scheme.as_str() {
        "estrade" => format!("https://{rest}"),
        "https" | "wss" | "ws" => format!("{scheme}://{rest}"),
        "http" => return Err(malformed("a class link is https://, never http://")),
        other => return Err(malformed(format!("unsupported scheme {other:?}"))),
    };
    let url = Url::parse(&normalised).map_err(|e| malformed(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(malformed("a class link carries no user name or password"));
    }
    if url.host().is_none() {
        return Err(malformed("the link names no school or server"));
    }
    Ok(url)
}

/// `host[:port]` of an https URL, as a school.
fn school(url: &Url) -> Result<ClassServer, InviteError> {
    let host = match url.host() {
        Some(Host::Domain(d)) if d.contains('.') || d == "localhost" => d.to_owned(),
        Some(Host::Domain(d)) => return Err(malformed(format!("{d:?} is not a domain (ecole.example.fr)"))),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err(malformed("the link names no school")),
    };
    Ok(ClassServer::School(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    }))
}

/// Whether `url` may carry signaling: `wss://`, or `ws://` to this machine
/// only (a local demo or test; anywhere else it would send the PIN in clear).
pub fn check_signaling_url(url: &str) -> Result<(), InviteError> {
    let parsed = Url::parse(url).map_err(|e| malformed(format!("{url:?} is not an address: {e}")))?;
    match parsed.scheme() {
        "wss" => Ok(()),
        "ws" if is_loopback(&parsed) => Ok(()),
        "ws" => Err(malformed(format!("{url:?}: ws:// (unencrypted) is allowed only to this machine; use wss://"))),
        other => Err(malformed(format!("{url:?}: a signaling server is wss://, not {other}://"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl ClassInvite {
    /// Reads what a pupil pasted. `default_school` is the school from the
    /// first-run screen (a domain, or a direct server address), used for a
    /// bare code.
    pub fn parse(input: &str, default_school: Option<&str>) -> Result<Self, InviteError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(InviteError::Empty);
        }
        if !text.contains(':') && !text.contains('/') {
            let room = parse_code(text)?;
            let school = default_school.map(str::trim).filter(|s| !s.is_empty()).ok_or(InviteError::NoServer)?;
            return Ok(Self { server: ClassServer::parse(school)?, room });
        }
        let url = parse_url(text)?;
        let named_room = url
            .query_pairs()
            .find(|(k, _)| matches!(k.as_ref(), "class" | "classe" | "room"))
            .map(|(_, v)| parse_code(&v));
        match (url.scheme(), named_room) {
            // A direct link: the server, with the class in the query.
            (_, Some(room)) => {
                let room = room?;
                let mut server = url.clone();
                server.set_query(None);
                server.set_fragment(None);
                let server = match server.scheme() {
                    "https" => server.as_str().replacen("https://", "wss://", 1),
                    _ => server.to_string(),
                };
                if !text.to_ascii_lowercase().starts_with("estrade://") && url.scheme() == "https" {
                    return Err(malformed("a direct link to a server is wss://; a school's link is https://DOMAIN/classe/CODE"));
                }
                check_signaling_url(&server)?;
                Ok(Self { server: ClassServer::Direct(server), room })
            }
            // A school's link: https://DOMAIN/classe/CODE.
            ("https", None) => {
                let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
                match segments.as_slice() {
                    ["classe" | "class", code] => Ok(Self { server: school(&url)?, room: parse_code(code)? }),
                    _ => Err(malformed("a school's class link is https://DOMAIN/classe/CODE")),
                }
            }
            _ => Err(malformed("the link names no class (?class=…)")),
        }
    }

    /// Reads what is given where a class or a server is asked for (a command
    /// line, a connection test): a class link, or a school or a server alone.
    /// Returns the server, and the class if the text names one.
    pub fn parse_class_or_server(input: &str) -> Result<(ClassServer, Option<u64>), InviteError> {
        match Self::parse(input, None) {
            Ok(invite) => Ok((invite.server, Some(invite.room))),
            Err(InviteError::Empty) => Err(InviteError::Empty),
            Err(_) => ClassServer::parse(input).map(|server| (server, None)),
        }
    }

    /// The link a teacher shares for this class: `https://DOMAIN/classe/CODE`
    /// (for a direct server, the `wss://…?class=` form).
    pub fn link(&self) -> String {
        match &self.server {
            ClassServer::School(domain) => format!("https://{domain}/classe/{}", self.room),
            ClassServer::Direct(url) => format!("{url}?class={}", self.room),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHOOL: Option<&str> = Some("ecole.example.fr");

    fn school(domain: &str, room: u64) -> ClassInvite {
        ClassInvite { server: ClassServer::School(domain.into()), room }
    }

    #[test]
    fn school_links_name_the_domain_and_the_class() {
        for link in [
            "https://ecole.example.fr/classe/1234",
            "https://ECOLE.example.fr/classe/1234/",
            "estrade://ecole.example.fr/classe/1234",
            "Estrade://ecole.example.fr/class/1234?from=mail#top",
            " https://ecole.example.fr/classe/1234 ",
        ] {
            assert_eq!(ClassInvite::parse(link, None), Ok(school("ecole.example.fr", 1234)), "{link}");
        }
        assert_eq!(ClassInvite::parse("https://ecole.test:8443/classe/7", None), Ok(school("ecole.test:8443", 7)));
        assert_eq!(ClassInvite::parse("https://ecole.test:443/classe/7", None), Ok(school("ecole.test", 7)), "the default port is dropped");
        assert_eq!(school("ecole.example.fr", 1234).link(), "https://ecole.example.fr/classe/1234");
    }

    #[test]
    fn a_bare_code_uses_the_school_of_the_first_run() {
        assert_eq!(ClassInvite::parse(" 1234 ", SCHOOL), Ok(school("ecole.example.fr", 1234)));
        assert_eq!(
            ClassInvite::parse("1234", Some("wss://classe.example.fr/janus")),
            Ok(ClassInvite { server: ClassServer::Direct("wss://classe.example.fr/janus".into()), room: 1234 })
        );
        assert_eq!(ClassInvite::parse("1234", None), Err(InviteError::NoServer));
        assert_eq!(ClassInvite::parse("1234", Some("  ")), Err(InviteError::NoServer));
    }

    #[test]
    fn direct_links_name_a_server_for_development() {
        let i = ClassInvite::parse("wss://a.fr/janus?class=42", None).unwrap();
        assert_eq!(i.server, ClassServer::Direct("wss://a.fr/janus".into()));
        assert_eq!(i.room, 42);
        let i = ClassInvite::parse("estrade://a.fr:8989/janus?x=1&classe=7#top", SCHOOL).unwrap();
        assert_eq!(i, ClassInvite { server: ClassServer::Direct("wss://a.fr:8989/janus".into()), room: 7 });
        let i = ClassInvite::parse("ws://127.0.0.1:8188/?room=1234", None).unwrap();
        assert_eq!(i.server, ClassServer::Direct("ws://127.0.0.1:8188/".into()));
        assert_eq!(i.link(), "ws://127.0.0.1:8188/?class=1234");
    }

    #[test]
    fn the_school_of_the_first_run_is_a_domain_or_any_of_its_links() {
        for text in ["ecole.example.fr", "https://ecole.example.fr", "https://ecole.example.fr/", "https://ecole.example.fr/classe/12", "ECOLE.example.fr "] {
            assert_eq!(ClassServer::parse(text), Ok(ClassServer::School("ecole.example.fr".into())), "{text}");
        }
        assert_eq!(ClassServer::parse("ecole.test:8443"), Ok(ClassServer::School("ecole.test:8443".into())));
        assert_eq!(ClassServer::parse("wss://janus.example.fr/janus"), Ok(ClassServer::Direct("wss://janus.example.fr/janus".into())));
        for bad in ["", "ecole", "ecole.fr/janus", "http://ecole.fr", "ws://janus.example.fr/janus", "ftp://x.fr", "a b.fr"] {
            assert!(ClassServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_class_or_a_server_alone() {
        assert_eq!(ClassInvite::parse_class_or_server("https://ecole.test/classe/7"), Ok((ClassServer::School("ecole.test".into()), Some(7))));
        assert_eq!(ClassInvite::parse_class_or_server("ecole.test"), Ok((ClassServer::School("ecole.test".into()), None)));
        assert_eq!(ClassInvite::parse_class_or_server("ws://127.0.0.1:8188"), Ok((ClassServer::Direct("ws://127.0.0.1:8188".into()), None)));
        assert_eq!(ClassInvite::parse_class_or_server(" "), Err(InviteError::Empty));
        assert!(matches!(ClassInvite::parse_class_or_server("https://ecole.test/autre/1"), Err(InviteError::Malformed { .. })));
    }

    #[test]
    fn signaling_is_encrypted_except_on_this_machine() {
        assert!(check_signaling_url("wss://janus-a.ecole.example.fr/janus").is_ok());
        for local in ["ws://127.0.0.1:8188", "ws://localhost:8188/janus", "ws://[::1]:8188/"] {
            assert!(check_signaling_url(local).is_ok(), "{local}");
        }
        for bad in ["ws://198.18.0.1:8188", "ws://janus.example.fr/janus", "https://janus.example.fr", "janus.example.fr", "ws://127.0.0.1.example.fr/"] {
            assert!(check_signaling_url(bad).is_err(), "{bad}");
        }
        assert!(ClassInvite::parse("ws://192.0.2.1:8188/?class=1", None).is_err());
    }

    #[test]
    fn malformed_input_is_refused_plainly() {
        for bad in [
            "abc",
            "12a4",
            "0",
            "99999999999999999999999",
            "https://a.fr/janus?class=1",
            "http://ecole.fr/classe/1",
            "https://ecole.fr/",
            "https://ecole.fr/classe/",
            "https://ecole.fr/classe/x",
            "https://ecole.fr/classe/1/2",
            "https://ecole.fr/autre/1",
            "estrade://ecole/classe/1",
            "wss://a.fr/janus",
            "wss://?class=1",
            "wss://a.fr/janus?class=",
            "wss://a.fr/janus?class=x",
            "wss//a.fr?class=1",
            "wss://user@a.fr/?class=1",
            "https://user:pw@ecole.fr/classe/1",
            "javascript://alert(1)",
            "estrade://%00/classe/1",
        ] {
            let err = ClassInvite::parse(bad, SCHOOL).unwrap_err();
            assert!(matches!(err, InviteError::Malformed { .. }), "{bad}: {err:?}");
            assert!(!err.user_message().fr.is_empty());
        }
        assert_eq!(ClassInvite::parse("   ", SCHOOL), Err(InviteError::Empty));
    }
}
