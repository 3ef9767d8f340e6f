//! The school's discovery document: which signaling servers carry its classes
//! today, in what order to try them, and for how long that answer holds.
//!
//! A class link names a school's domain, never a server; the client reads
//! `https://DOMAIN/.well-known/estrade` (see `docs/discovery.md` and its JSON
//! Schema). This module is the pure part: parsing and checking the document,
//! ordering its endpoints, and deciding whether a kept copy may still be used.
//! Fetching it (HTTPS, verified TLS) and keeping it on disk are the adapter's
//! (`estrade-net`).

use std::time::{Duration, SystemTime};

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::invite::check_signaling_url;
use crate::UserMessage;

/// Where a school publishes its document, under its domain.
pub const WELL_KNOWN_PATH: &str = "/.well-known/estrade";

/// The document's address for `domain` (`host[:port]`).
pub fn document_url(domain: &str) -> String {
    format!("https://{domain}{WELL_KNOWN_PATH}")
}

/// The longest a document may ask to be trusted or kept: a week. A typo of a
/// few zeros must not pin clients to dead servers for years.
const LONGEST_TRUST: Duration = Duration::from_secs(7 * 24 * 3600);

/// One signaling server of the school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `wss://…` (or `ws://` on loopback, for demos and tests).
    pub url: String,
    /// Lower is tried first.
    #[serde(default)]
    pub priority: u32,
    /// Among endpoints of the same priority, the share of clients each gets.
    #[serde(default = "default_weight")]
    pub weight: u32,
}

fn default_weight() -> u32 {
    1
}

/// A STUN or TURN server for ICE, as WebRTC's `RTCIceServer`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:…`, `turn:…`, `turns:…` addresses.
    pub urls: Vec<String>,
    /// TURN user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password (never printed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &self.credential.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A checked discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryDocument {
    /// The version it declares (1 today; later versions only add fields).
    pub version: u32,
    /// How long the document may be trusted before fetching it again.
    pub ttl: Duration,
    /// How long a kept copy may stand in when the school's host cannot be reached.
    pub max_stale: Duration,
    /// The least time to wait before trying again once every endpoint is down.
    pub retry_after: Duration,
    /// The signaling servers, as listed.
    pub signaling: Vec<Endpoint>,
    /// ICE servers for media.
    pub ice_servers: Vec<IceServer>,
}

/// The document as written: unknown fields are ignored, so that a later
/// version can add to it without breaking older clients.
#[derive(Deserialize)]
struct Wire {
    version: u32,
    #[serde(default = "default_ttl")]
    ttl_s: u64,
    #[serde(default = "default_max_stale")]
    max_stale_s: u64,
    #[serde(default = "default_retry_after")]
    retry_after_s: u64,
    signaling: Vec<Endpoint>,
    #[serde(default)]
    ice_servers: Vec<IceServer>,
}

fn default_ttl() -> u64 {
    300
}
fn default_max_stale() -> u64 {
    86_400
}
fn default_retry_after() -> u64 {
    5
}

impl DiscoveryDocument {
    /// Parses and checks a document. Every signaling URL must be `wss://`
    /// (or `ws://` to loopback); one that is not makes the whole document
    /// wrong, since a school that lists it has made a mistake it must see.
    pub fn parse(body: &str) -> Result<Self, DocumentError> {
        let wire: Wire = serde_json::from_str(body).map_err(|e| DocumentError::Malformed(e.to_string()))?;
        if wire.version == 0 {
            return Err(DocumentError::Malformed("version must be 1 or more".into()));
        }
        if wire.signaling.is_empty() {
            return Err(DocumentError::NoEndpoint);
        }
        for endpoint in &wire.signaling {
            check_signaling_url(&endpoint.url).map_err(|e| DocumentError::Malformed(format!("signaling url: {e}")))?;
        }
        let secs = |s: u64| Duration::from_secs(s).min(LONGEST_TRUST);
        Ok(Self {
            version: wire.version,
            ttl: secs(wire.ttl_s),
            max_stale: secs(wire.max_stale_s),
            retry_after: Duration::from_secs(wire.retry_after_s.min(3600)),
            signaling: wire.signaling,
            ice_servers: wire.ice_servers,
        })
    }

    /// The endpoints in the order to try them: by priority, lowest first;
    /// within a priority, a weighted random order (as DNS SRV, RFC 2782), so
    /// that clients spread across equal servers in proportion to their weight.
    pub fn ordered_endpoints(&self, rng: &mut impl Rng) -> Vec<Endpoint> {
        let mut rest = self.signaling.clone();
        rest.sort_by_key(|e| e.priority);
        let mut ordered = Vec::with_capacity(rest.len());
        while !rest.is_empty() {
            let priority = rest[0].priority;
            let same = rest.iter().take_while(|e| e.priority == priority).count();
            let mut group: Vec<Endpoint> = rest.drain(..same).collect();
            while !group.is_empty() {
                let total: u64 = group.iter().map(|e| u64::from(e.weight)).sum();
                let index = if total == 0 {
                    rng.gen_range(0..group.len())
                } else {
                    let mut pick = rng.gen_range(0..total);
                    group
                        .iter()
                        .position(|e| {
                            let w = u64::from(e.weight);
                            if pick < w {
                                true
                            } else {
                                pick -= w;
                                false
                            }
                        })
                        .expect("pick < total, the sum of the weights")
                };
                ordered.push(group.remove(index));
            }
        }
        ordered
    }
}

/// What is wrong with a document's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON, or a required field is missing or of the wrong type.
    #[error("malformed discovery document: {0}")]
    Malformed(String),
    /// The document lists no signaling server.
    #[error("the discovery document lists no signaling server")]
    NoEndpoint,
}

/// A document as fetched, with what is needed to judge its age later. This
/// is what is kept on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchedDocument {
    /// The body, exactly as served (parsed again when read back).
    pub body: String,
    /// When it was fetched, in milliseconds since the Unix epoch.
    pub fetched_at_ms: u64,
    /// The HTTP `Cache-Control: max-age`, if the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_s: Option<u64>,
}

/// How much a document may be trusted at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Within its `ttl_s` (or `max-age`, whichever is shorter): use it as is.
    Fresh,
    /// Past that, within `max_stale_s`: fetch again, and use this one only
    /// if the school's host cannot be reached (and say so).
    Stale {
        /// How old it is.
        age: Duration,
    },
    /// Too old to use at all.
    Expired {
        /// How old it is.
        age: Duration,
    },
}

impl FetchedDocument {
    /// How long this copy may be trusted without asking again.
    pub fn trusted_for(&self, document: &DiscoveryDocument) -> Duration {
        match self.max_age_s {
            Some(max_age) => document.ttl.min(Duration::from_secs(max_age)),
            None => document.ttl,
        }
    }

    /// How far `document` (this copy, parsed) may be trusted at `now`.
    pub fn freshness(&self, document: &DiscoveryDocument, now: SystemTime) -> Freshness {
        let fetched = SystemTime::UNIX_EPOCH + Duration::from_millis(self.fetched_at_ms);
        // A clock set back before the fetch: the copy's age is unknown, so it is not fresh.
        let Ok(age) = now.duration_since(fetched) else { return Freshness::Stale { age: Duration::ZERO } };
        if age < self.trusted_for(document) {
            Freshness::Fresh
        } else if age < document.max_stale.max(self.trusted_for(document)) {
            Freshness::Stale { age }
        } else {
            Freshness::Expired { age }
        }
    }
}

/// Reads `Cache-Control: max-age=N` (`no-store` and `no-cache` mean 0).
pub fn parse_cache_control(value: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse().ok();
        }
    }
    max_age
}

/// A class's servers as its school lists them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerList {
    /// Signaling URLs, best first.
    pub endpoints: Vec<String>,
    /// The least wait between two rounds over every server when all are
    /// down (the document's `retry_after_s`).
    pub retry_after: Duration,
}

/// Where a class's servers are listed: asked again before each round of a
/// rejoin, so that a class whose server moved follows it, and never goes
/// back to one the school no longer lists.
#[async_trait::async_trait]
pub trait ServerDirectory: Send + Sync {
    /// The servers to try. With `refresh`, every server of the last list
    /// failed: ask the school again even if its document is still within its
    /// time to live (the kept copy stands in, within its `max_stale_s`, only
    /// if the school cannot answer).
    async fn servers(&self, refresh: bool) -> Result<ServerList, DiscoveryError>;
}

/// Why the school's servers could not be found. Each says whether retrying helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The school's host could not be reached (name, network, time-out) and
    /// no usable copy is kept. Retrying may help.
    #[error("cannot reach {domain}: {reason}")]
    Unreachable {
        /// The school's domain.
        domain: String,
        /// What the network said.
        reason: String,
    },
    /// The host's certificate is not trusted. Retrying will not help.
    #[error("the certificate of {domain} is not trusted: {reason}")]
    Untrusted {
        /// The school's domain.
        domain: String,
        /// What the TLS check said.
        reason: String,
    },
    /// The host has no discovery document (404). Retrying will not help.
    #[error("{domain} has no Estrade discovery document")]
    NotFound {
        /// The school's domain.
        domain: String,
    },
    /// The host is busy or down for maintenance (503). Retry after the wait.
    #[error("{domain} is unavailable for now")]
    Unavailable {
        /// The school's domain.
        domain: String,
        /// The host's `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// Another HTTP status. Retrying may help.
    #[error("{domain} answered HTTP {status}")]
    Http {
        /// The school's domain.
        domain: String,
        /// The status code.
        status: u16,
    },
    /// The document is wrong. Retrying will not help until the school fixes it.
    #[error("{domain}: {error}")]
    Document {
        /// The school's domain.
        domain: String,
        /// What is wrong.
        error: DocumentError,
    },
    /// No new document could be had (`because`), and the kept copy is older
    /// than its `max_stale_s`. Retrying may help.
    #[error("{because}; the kept document is {} s old, too old to use", age.as_secs())]
    Expired {
        /// The kept copy's age.
        age: Duration,
        /// Why no new document could be had.
        because: Box<DiscoveryError>,
    },
}

impl DiscoveryError {
    /// Whether trying again later may succeed without anyone changing anything.
    pub fn retry_may_help(&self) -> bool {
        matches!(
            self,
            DiscoveryError::Unreachable { .. } | DiscoveryError::Unavailable { .. } | DiscoveryError::Http { .. } | DiscoveryError::Expired { .. }
        )
    }

    /// What to tell a teacher or a pupil, in French and English.
    pub fn user_message(&self) -> UserMessage {
        let (fr, en) = match self {
            DiscoveryError::Unreachable { domain, .. } => (
                format!("Impossible de joindre {domain}. Vérifiez votre connexion à Internet et le domaine de l'établissement, puis réessayez."),
                format!("Cannot reach {domain}. Check your Internet connection and the school's domain, then try again."),
            ),
            DiscoveryError::Untrusted { domain, .. } => (
                format!("Le certificat de sécurité de {domain} n'est pas reconnu : Estrade refuse de s'y connecter. Vérifiez la date et l'heure de l'ordinateur, puis prévenez le service informatique de l'établissement."),
                format!("The security certificate of {domain} is not recognised, so Estrade will not connect to it. Check this computer's date and time, then tell your school's IT support."),
            ),
            DiscoveryError::NotFound { domain } => (
                format!("{domain} ne propose pas de classes Estrade. Vérifiez le domaine de l'établissement (dans les réglages) ou le lien de la classe."),
                format!("{domain} does not offer Estrade classes. Check the school's domain (in Settings) or the class link."),
            ),
            DiscoveryError::Unavailable { domain, .. } => (
                format!("Le service de classe de {domain} est momentanément indisponible. Estrade réessaiera ; vous pouvez aussi réessayer dans un instant."),
                format!("The class service of {domain} is unavailable for a moment. Estrade will try again; you can also try again shortly."),
            ),
            DiscoveryError::Http { domain, status } => (
                format!("{domain} a répondu par une erreur ({status}). Réessayez dans un instant ; si cela continue, prévenez le service informatique."),
                format!("{domain} answered with an error ({status}). Try again shortly; if it keeps happening, tell your IT support."),
            ),
            DiscoveryError::Document { domain, .. } => (
                format!("La configuration des classes publiée par {domain} est incorrecte. Prévenez le service informatique de l'établissement."),
                format!("The class configuration published by {domain} is wrong. Tell your school's IT support."),
            ),
            DiscoveryError::Expired { age, because } => {
                let said = because.user_message();
                let (fr_age, en_age) = how_long(*age);
                (
                    format!("{} La dernière liste de serveurs connue date de {fr_age} : elle est trop ancienne pour être utilisée.", said.fr),
                    format!("{} The last known list of servers is {en_age} old: too old to use.", said.en),
                )
            }
        };
        UserMessage { fr, en }
    }
}

/// What to tell a person when the school's host did not answer and the kept
/// copy of its document (`age` old) is used instead.
pub fn stale_notice(domain: &str, age: Duration) -> UserMessage {
    let (fr_age, en_age) = how_long(age);
    UserMessage {
        fr: format!("{domain} ne répond pas : Estrade utilise la dernière liste de serveurs connue (d'il y a {fr_age}). Si la classe ne s'ouvre pas, réessayez dans un instant."),
        en: format!("{domain} is not answering: Estrade uses the last known list of servers (from {en_age} ago). If the class does not open, try again shortly."),
    }
}

/// A duration as a person says it: minutes under two hours, then hours, then days.
pub fn how_long(d: Duration) -> (String, String) {
    let minutes = d.as_secs() / 60;
    if minutes < 120 {
        (format!("{minutes} min"), format!("{minutes} min"))
    } else if minutes < 48 * 60 {
        (format!("{} h", minutes / 60), format!("{} h", minutes / 60))
    } else {
        (format!("{} jours", minutes / 1440), format!("{} days", minutes / 1440))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const EXAMPLE: &str = r#"{"version": 1, "ttl_s": 300, "max_stale_s": 86400, "retry_after_s": 5,
        "signaling": [{"url": "wss://janus-a.ecole.example.fr/janus", "priority": 10, "weight": 100}],
        "ice_servers": [{"urls": ["stun:stun.ecole.example.fr:3478"]}]}"#;

    fn endpoint(url: &str, priority: u32, weight: u32) -> Endpoint {
        Endpoint { url: url.into(), priority, weight }
    }

    #[test]
    fn the_example_of_the_docs_parses() {
        let d = DiscoveryDocument::parse(EXAMPLE).unwrap();
        assert_eq!(d.version, 1);
        assert_eq!((d.ttl, d.max_stale, d.retry_after), (Duration::from_secs(300), Duration::from_secs(86400), Duration::from_secs(5)));
        assert_eq!(d.signaling, vec![endpoint("wss://janus-a.ecole.example.fr/janus", 10, 100)]);
        assert_eq!(d.ice_servers[0].urls, vec!["stun:stun.ecole.example.fr:3478"]);
        // The shipped example is the same document.
        let shipped = include_str!("../../../deploy/discovery/estrade.json");
        assert!(DiscoveryDocument::parse(shipped).is_ok());
    }

    #[test]
    fn unknown_fields_and_later_versions_are_read_for_what_they_share() {
        let d = DiscoveryDocument::parse(
            r#"{"version": 2, "lecture_edges": [{"url": "wss://edge"}], "signaling": [{"url": "wss://a/janus", "extra": true}]}"#,
        )
        .unwrap();
        assert_eq!(d.version, 2);
        assert_eq!(d.signaling, vec![endpoint("wss://a/janus", 0, 1)]);
        assert_eq!(d.ttl, Duration::from_secs(300), "defaults fill what is left out");
    }

    #[test]
    fn bad_documents_are_refused_with_the_reason() {
        for (body, want_no_endpoint) in [
            ("", false),
            ("<html>maintenance</html>", false),
            ("[]", false),
            (r#"{"signaling": [{"url": "wss://a"}]}"#, false),
            (r#"{"version": 0, "signaling": [{"url": "wss://a"}]}"#, false),
            (r#"{"version": "1", "signaling": [{"url": "wss://a"}]}"#, false),
            (r#"{"version": 1, "signaling": [{"url": "ws://janus.example.fr/janus"}]}"#, false),
            (r#"{"version": 1, "signaling": [{"url": "https://janus.example.fr/janus"}]}"#, false),
            (r#"{"version": 1, "signaling": [{"url": "wss://a", "priority": -1}]}"#, false),
            (r#"{"version": 1, "signaling": [{"uri": "wss://a"}]}"#, false),
            (r#"{"version": 1, "ttl_s": 1e99, "signaling": [{"url": "wss://a"}]}"#, false),
            (r#"{"version": 1, "signaling": []}"#, true),
        ] {
            let err = DiscoveryDocument::parse(body).unwrap_err();
            assert_eq!(matches!(err, DocumentError::NoEndpoint), want_no_endpoint, "{body}: {err}");
        }
    }

    #[test]
    fn a_huge_ttl_is_cut_to_a_week() {
        let d = DiscoveryDocument::parse(r#"{"version": 1, "ttl_s": 999999999999, "max_stale_s": 18446744073709551615, "signaling": [{"url": "wss://a"}]}"#).unwrap();
        assert_eq!(d.ttl, LONGEST_TRUST);
        assert_eq!(d.max_stale, LONGEST_TRUST);
    }

    #[test]
    fn lower_priority_comes_first_and_weight_shares_the_rest() {
        let d = DiscoveryDocument {
            signaling: vec![endpoint("wss://backup", 20, 1), endpoint("wss://a", 10, 300), endpoint("wss://b", 10, 100)],
            ..DiscoveryDocument::parse(EXAMPLE).unwrap()
        };
        let mut rng = StdRng::seed_from_u64(1);
        let mut a_first = 0;
        for _ in 0..4000 {
            let order: Vec<String> = d.ordered_endpoints(&mut rng).into_iter().map(|e| e.url).collect();
            assert_eq!(order.len(), 3);
            assert_eq!(order[2], "wss://backup", "{order:?}");
            if order[0] == "wss://a" {
                a_first += 1;
            }
        }
        // a has 3/4 of the weight: about 3000 of 4000 clients try it first.
        assert!((2850..=3150).contains(&a_first), "{a_first}");
    }

    #[test]
    fn zero_weights_still_give_every_endpoint_a_turn() {
        let d = DiscoveryDocument {
            signaling: vec![endpoint("wss://a", 0, 0), endpoint("wss://b", 0, 0)],
            ..DiscoveryDocument::parse(EXAMPLE).unwrap()
        };
        let mut rng = StdRng::seed_from_u64(3);
        let firsts: std::collections::HashSet<String> = (0..50).map(|_| d.ordered_endpoints(&mut rng)[0].url.clone()).collect();
        assert_eq!(firsts.len(), 2);
    }

    #[test]
    fn a_copy_is_fresh_for_the_shorter_of_ttl_and_max_age_then_stale_then_expired() {
        let d = DiscoveryDocument::parse(EXAMPLE).unwrap(); // ttl 300 s, max_stale 1 day
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let copy = FetchedDocument { body: EXAMPLE.into(), fetched_at_ms: 1_000_000_000, max_age_s: None };
        assert_eq!(copy.freshness(&d, at(1_000_000)), Freshness::Fresh);
        assert_eq!(copy.freshness(&d, at(1_000_299)), Freshness::Fresh);
        assert_eq!(copy.freshness(&d, at(1_000_300)), Freshness::Stale { age: Duration::from_secs(300) });
        assert_eq!(copy.freshness(&d, at(1_086_399)), Freshness::Stale { age: Duration::from_secs(86_399) });
        assert_eq!(copy.freshness(&d, at(1_086_400)), Freshness::Expired { age: Duration::from_secs(86_400) });
        let short = FetchedDocument { max_age_s: Some(60), ..copy.clone() };
        assert_eq!(short.freshness(&d, at(1_000_060)), Freshness::Stale { age: Duration::from_secs(60) });
        let long = FetchedDocument { max_age_s: Some(3600), ..copy.clone() };
        assert_eq!(long.freshness(&d, at(1_000_300)), Freshness::Stale { age: Duration::from_secs(300) }, "the ttl still bounds it");
        assert!(matches!(copy.freshness(&d, at(10)), Freshness::Stale { .. }), "a clock set back never makes a copy fresh");
    }

    #[test]
    fn cache_control_is_read() {
        assert_eq!(parse_cache_control("public, max-age=60"), Some(60));
        assert_eq!(parse_cache_control("Max-Age=\"30\""), Some(30));
        assert_eq!(parse_cache_control("no-store"), Some(0));
        assert_eq!(parse_cache_control("public"), None);
        assert_eq!(parse_cache_control("max-age=soon"), None);
    }

    #[test]
    fn every_error_says_what_to_do_in_both_languages() {
        let domain = "ecole.test".to_owned();
        for e in [
            DiscoveryError::Unreachable { domain: domain.clone(), reason: "x".into() },
            DiscoveryError::Untrusted { domain: domain.clone(), reason: "x".into() },
            DiscoveryError::NotFound { domain: domain.clone() },
            DiscoveryError::Unavailable { domain: domain.clone(), retry_after: None },
            DiscoveryError::Http { domain: domain.clone(), status: 500 },
            DiscoveryError::Document { domain: domain.clone(), error: DocumentError::NoEndpoint },
            DiscoveryError::Expired { age: Duration::from_secs(100_000), because: Box::new(DiscoveryError::NotFound { domain: domain.clone() }) },
        ] {
            let m = e.user_message();
            assert!(m.fr.contains("ecole.test") && m.en.contains("ecole.test"), "{m:?}");
        }
    }
}
