//! Fetching a school's discovery document over HTTPS, and keeping the last
//! good copy on disk so that a class can still be found while the school's
//! web host is down (for as long as the document allows: `max_stale_s`).
//!
//! What the document means, how fresh a copy is and in what order to try the
//! endpoints are decided in `estrade_core::discovery`; this is the I/O.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use estrade_core::ClassServer;
use estrade_core::discovery::{
    document_url, parse_cache_control, DiscoveryDocument, DiscoveryError, FetchedDocument, Freshness, ServerDirectory, ServerList,
};
use rand::SeedableRng;
use reqwest::StatusCode;
use tracing::{info, warn};

use crate::TlsTrust;

/// A document larger than this is not a discovery document.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// How long the school's host may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// How long the whole fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(8);

/// Where the document came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Fetched just now.
    Fetched,
    /// The kept copy, still within its time to live.
    Cached,
    /// The kept copy, past its time to live: the school's host could not give
    /// a new one (`because`). Tell the user; it may list servers that moved.
    Stale {
        /// How old the copy is.
        age: Duration,
        /// Why no fresh copy could be had.
        because: DiscoveryError,
    },
}

/// A school's document, ready to use.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The document.
    pub document: DiscoveryDocument,
    /// Where it came from.
    pub source: Source,
}

/// Fetches discovery documents; keeps them under `cache_dir` if given, and
/// in memory in any case (so that a class in progress follows the same
/// rules of freshness without a folder to keep them in).
#[derive(Debug, Clone)]
pub struct DiscoveryClient {
    http: reqwest::Client,
    cache_dir: Option<PathBuf>,
    kept_in_memory: Arc<Mutex<HashMap<String, FetchedDocument>>>,
}

impl DiscoveryClient {
    /// A client verifying TLS against `trust`, keeping documents in
    /// `cache_dir/discovery/` (nothing kept if `None`).
    pub fn new(trust: &TlsTrust, cache_dir: Option<PathBuf>) -> Self {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*trust.client_config()).clone())
            .https_only(true)
            // The document lives at the school's own address; a redirect
            // elsewhere is not followed (it is reported as the status it is).
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .no_proxy()
            .user_agent(concat!("Estrade/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with a preconfigured rustls builds");
        Self { http, cache_dir, kept_in_memory: Arc::default() }
    }

    /// The document of `domain` (`host[:port]`): the kept copy while it is
    /// fresh, else a new one, else (the host failing) the kept copy within
    /// `max_stale_s`.
    pub async fn resolve(&self, domain: &str) -> Result<Resolved, DiscoveryError> {
        self.resolve_again(domain, false).await
    }

    /// As [`DiscoveryClient::resolve`]; with `refresh`, a kept copy still
    /// fresh is not enough: the school is asked (its servers all failed).
    pub async fn resolve_again(&self, domain: &str, refresh: bool) -> Result<Resolved, DiscoveryError> {
        let now = SystemTime::now();
        let kept = self.read_kept(domain);
        if let Some((copy, document)) = &kept {
            if !refresh && copy.freshness(document, now) == Freshness::Fresh {
                return Ok(Resolved { document: document.clone(), source: Source::Cached });
            }
        }
        match self.fetch(domain, now).await {
            Ok((copy, document)) => {
                self.keep(domain, &copy);
                Ok(Resolved { document, source: Source::Fetched })
            }
            Err(error) => {
                let Some((copy, document)) = kept else { return Err(error) };
                match copy.freshness(&document, now) {
                    Freshness::Stale { age } => {
                        warn!(%domain, age_s = age.as_secs(), error = %error, "using the kept discovery document");
                        Ok(Resolved { document, source: Source::Stale { age, because: error } })
                    }
                    Freshness::Expired { age } => Err(DiscoveryError::Expired { age, because: Box::new(error) }),
                    Freshness::Fresh => Err(error),
                }
            }
        }
    }

    /// Fetches and checks the document.
    pub async fn fetch(&self, domain: &str, now: SystemTime) -> Result<(FetchedDocument, DiscoveryDocument), DiscoveryError> {
        let url = document_url(domain);
        let domain_owned = || domain.to_owned();
        let mut response = self.http.get(&url).send().await.map_err(|e| describe(domain, &e))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Err(DiscoveryError::NotFound { domain: domain_owned() });
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            return Err(DiscoveryError::Unavailable { domain: domain_owned(), retry_after });
        }
        if !status.is_success() {
            return Err(DiscoveryError::Http { domain: domain_owned(), status: status.as_u16() });
        }
        let max_age_s = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_cache_control);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| describe(domain, &e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT_BYTES {
                return Err(DiscoveryError::Document {
                    domain: domain_owned(),
                    error: estrade_core::discovery::DocumentError::Malformed(format!("larger than {MAX_DOCUMENT_BYTES} bytes")),
                });
            }
        }
        let body = String::from_utf8(body).map_err(|_| DiscoveryError::Document {
            domain: domain_owned(),
            error: estrade_core::discovery::DocumentError::Malformed("not UTF-8 text".into()),
        })?;
        let document = DiscoveryDocument::parse(&body).map_err(|error| DiscoveryError::Document { domain: domain_owned(), error })?;
        let fetched_at_ms = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
        info!(%domain, endpoints = document.signaling.len(), "discovery document fetched");
        Ok((FetchedDocument { body, fetched_at_ms, max_age_s }, document))
    }

    fn kept_path(&self, domain: &str) -> Option<PathBuf> {
        // A domain is letters, digits, dots, dashes, and maybe ":port" or an
        // IPv6 literal: keep only what is safe in a file name.
        let name: String = domain.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
        self.cache_dir.as_ref().map(|dir| dir.join("discovery").join(format!("{name}.json")))
    }

    /// The kept copy, if there is one and it still parses. A damaged file is
    /// logged and ignored (the next good fetch replaces it).
    fn read_kept(&self, domain: &str) -> Option<(FetchedDocument, DiscoveryDocument)> {
        let Some(path) = self.kept_path(domain) else {
            let copy = self.kept_in_memory.lock().unwrap_or_else(PoisonError::into_inner).get(domain).cloned()?;
            return DiscoveryDocument::parse(&copy.body).ok().map(|d| (copy, d));
        };
        let text = std::fs::read_to_string(&path).ok()?;
        let parsed = serde_json::from_str::<FetchedDocument>(&text)
            .map_err(|e| e.to_string())
            .and_then(|copy| DiscoveryDocument::parse(&copy.body).map(|d| (copy, d)).map_err(|e| e.to_string()));
        match parsed {
            Ok(kept) => Some(kept),
            Err(e) => {
                warn!(path = %path.display(), error = %e, "ignoring a damaged kept discovery document");
                None
            }
        }
    }

    fn keep(&self, domain: &str, copy: &FetchedDocument) {
        self.kept_in_memory.lock().unwrap_or_else(PoisonError::into_inner).insert(domain.to_owned(), copy.clone());
        let Some(path) = self.kept_path(domain) else { return };
        if let Err(e) = write_atomically(&path, &serde_json::to_vec_pretty(copy).expect("plain data")) {
            warn!(path = %path.display(), error = %e, "cannot keep the discovery document");
        }
    }
}

/// The signaling servers of a class, in the order to try them.
#[derive(Debug, Clone)]
pub struct ClassServers {
    /// Signaling URLs, best first.
    pub endpoints: Vec<String>,
    /// The school's document they come from (`None` for a direct link).
    pub document: Option<Resolved>,
}

impl DiscoveryClient {
    /// Where `server`'s classes are held: the direct link's one server, or
    /// the school's endpoints from its document, ordered (priority, then a
    /// weighted draw from `rng`, so that clients spread across equal servers).
    pub async fn servers_for(&self, server: &ClassServer, rng: &mut (impl rand::Rng + Send)) -> Result<ClassServers, DiscoveryError> {
        match server {
            ClassServer::Direct(url) => Ok(ClassServers { endpoints: vec![url.clone()], document: None }),
            ClassServer::School(domain) => {
                let resolved = self.resolve(domain).await?;
                let endpoints = resolved.document.ordered_endpoints(rng).into_iter().map(|e| e.url).collect();
                Ok(ClassServers { endpoints, document: Some(resolved) })
            }
        }
    }
}

impl DiscoveryClient {
    /// Where to ask for `server`'s servers again while a class is being
    /// got back: the school's document for a school link, nothing for a
    /// direct link (its one server is all there is).
    pub fn directory(&self, server: &ClassServer) -> Option<Arc<dyn ServerDirectory>> {
        match server {
            ClassServer::Direct(_) => None,
            ClassServer::School(domain) => Some(Arc::new(SchoolDirectory {
                client: self.clone(),
                domain: domain.clone(),
                rng: Mutex::new(rand::rngs::StdRng::from_entropy()),
            })),
        }
    }
}

/// One school's servers, from its discovery document (see [`DiscoveryClient::directory`]).
struct SchoolDirectory {
    client: DiscoveryClient,
    domain: String,
    rng: Mutex<rand::rngs::StdRng>,
}

#[async_trait::async_trait]
impl ServerDirectory for SchoolDirectory {
    async fn servers(&self, refresh: bool) -> Result<ServerList, DiscoveryError> {
        // A stale copy standing in is logged by resolve_again.
        let resolved = self.client.resolve_again(&self.domain, refresh).await?;
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        let endpoints = resolved.document.ordered_endpoints(&mut *rng).into_iter().map(|e| e.url).collect();
        Ok(ServerList { endpoints, retry_after: resolved.document.retry_after })
    }
}

/// Writes through a temporary file and a rename, so that a crash never
/// leaves half a document.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for 503 and is
/// treated as absent: the document's `retry_after_s` then applies).
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|s| Duration::from_secs(s.min(3600)))
}

/// Sorts a transport failure into what a person can act on.
fn describe(domain: &str, e: &reqwest::Error) -> DiscoveryError {
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut untrusted = false;
    while let Some(err) = source {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&err.to_string());
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            untrusted |= matches!(tls, rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented);
        }
        source = err.source();
    }
    if untrusted || chain.contains("invalid peer certificate") {
        return DiscoveryError::Untrusted { domain: domain.to_owned(), reason: chain };
    }
    DiscoveryError::Unreachable { domain: domain.to_owned(), reason: chain }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("99999999"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[tokio::test]
    async fn a_damaged_kept_copy_is_ignored_and_a_dead_host_is_unreachable() {
        let dir = std::env::temp_dir().join(format!("estrade-discovery-{}", std::process::id()));
        let client = DiscoveryClient::new(&TlsTrust::system(), Some(dir.clone()));
        // Nothing listens on this loopback port.
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let domain = format!("127.0.0.1:{port}");
        let path = client.kept_path(&domain).expect("a cache dir");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, "{ half a docu").expect("write");
        let err = client.resolve(&domain).await.expect_err("nothing listens");
        assert!(matches!(err, DiscoveryError::Unreachable { .. }), "{err:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
