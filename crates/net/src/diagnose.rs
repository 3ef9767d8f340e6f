//! "Test my connection": from a class link to a Janus that answers, one
//! check at a time, each said in one plain sentence (French and English) with
//! what to try next. The CLI's `diagnose` and the app's button share it.
//!
//! In order: the link; for a school, its name, its TLS certificate and its
//! discovery document; then, for every signaling server it lists (or the one a
//! direct link names), its name and whether Janus answers `info` over the
//! WebSocket, with the round trip. Media over UDP and TCP, loss and bandwidth
//! are not checked yet (they need Janus's EchoTest plugin on the server).

use std::time::{Duration, Instant};

use estrade_core::discovery::DiscoveryError;
use estrade_core::link::{Connector, LinkEvent};
use estrade_core::{ClassInvite, ClassServer, UserMessage};
use rustls_pki_types::ServerName;
use serde::Serialize;
use tokio::net::TcpStream;
use url::Url;

use crate::{DiscoveryClient, TlsTrust, WsConnector};

/// How long each network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(4);

/// What a check looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The link or code itself.
    Link,
    /// Resolving a host name.
    Name,
    /// The school's host: TCP and its TLS certificate.
    Tls,
    /// The school's discovery document.
    Discovery,
    /// A signaling server: WebSocket and Janus's `info`.
    Signaling,
    /// Microphone, speakers and camera (checked by the caller).
    Devices,
}

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fine.
    Ok,
    /// Works, with something to know (one server of several is down).
    Warn,
    /// Broken: what follows cannot work.
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// What was checked.
    pub step: Step,
    /// Which host or server (empty for the link).
    pub target: String,
    /// How it went.
    pub verdict: Verdict,
    /// One sentence for a person, saying what to try next when it failed.
    pub message: UserMessage,
    /// How long it took.
    pub elapsed_ms: u64,
}

fn say(fr: impl Into<String>, en: impl Into<String>) -> UserMessage {
    UserMessage { fr: fr.into(), en: en.into() }
}

/// Runs the checks for `link`, handing each to `report` as it is done, and
/// returns them all. Stops at the first failure that leaves nothing to check.
pub async fn diagnose(link: &str, trust: &TlsTrust, mut report: impl FnMut(&Check)) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut push = |check: Check, checks: &mut Vec<Check>| {
        report(&check);
        checks.push(check);
    };
    let started = Instant::now();
    let server = match ClassInvite::parse_class_or_server(link) {
        Ok((server, room)) => {
            let what = match room {
                Some(room) => say(format!("Lien valable : la classe {room} de {server}."), format!("Valid link: class {room} at {server}.")),
                None => say(format!("Adresse valable : {server}."), format!("Valid address: {server}.")),
            };
            push(Check { step: Step::Link, target: server.to_string(), verdict: Verdict::Ok, message: what, elapsed_ms: ms(started) }, &mut checks);
            server
        }
        Err(e) => {
            push(Check { step: Step::Link, target: String::new(), verdict: Verdict::Fail, message: e.user_message(), elapsed_ms: ms(started) }, &mut checks);
            return checks;
        }
    };
    let endpoints = match &server {
        ClassServer::Direct(url) => vec![url.clone()],
        ClassServer::School(domain) => {
            let (host, port) = split_host_port(domain, 443);
            let Some(check) = resolve(&host, port).await else {
                push(name_failed(&host, started), &mut checks);
                return checks;
            };
            push(check, &mut checks);
            let tls = check_tls(&host, port, trust).await;
            let failed = tls.verdict == Verdict::Fail;
            push(tls, &mut checks);
            if failed {
                return checks;
            }
            let started = Instant::now();
            let client = DiscoveryClient::new(trust, None);
            match client.fetch(domain, std::time::SystemTime::now()).await {
                Ok((_, document)) => {
                    let n = document.signaling.len();
                    push(
                        Check {
                            step: Step::Discovery,
                            target: domain.clone(),
                            verdict: Verdict::Ok,
                            message: say(
                                format!("{domain} publie sa configuration de classes : {n} serveur(s) de classe."),
                                format!("{domain} publishes its class configuration: {n} classroom server(s)."),
                            ),
                            elapsed_ms: ms(started),
                        },
                        &mut checks,
                    );
                    document.ordered_endpoints(&mut rand::thread_rng()).into_iter().map(|e| e.url).collect()
                }
                Err(e) => {
                    push(discovery_failed(domain, &e, started), &mut checks);
                    return checks;
                }
            }
        }
    };
    let mut answering = 0;
    let mut server_checks = Vec::new();
    for endpoint in &endpoints {
        let check = check_signaling(endpoint, trust).await;
        if check.verdict == Verdict::Ok {
            answering += 1;
        }
        server_checks.push(check);
    }
    for mut check in server_checks {
        // One server down among several that answer: a warning, the class works.
        if check.verdict == Verdict::Fail && answering > 0 {
            check.verdict = Verdict::Warn;
        }
        push(check, &mut checks);
    }
    checks
}

/// The devices check, from how many microphones, sound outputs and cameras
/// the system lists (the caller lists them: this crate knows no device).
pub fn device_check(inputs: usize, outputs: usize, cameras: usize) -> Check {
    let message = match (inputs, outputs, cameras) {
        (0, _, _) => say(
            "Aucun micro n'est détecté : la classe ne vous entendra pas. Branchez un micro ou un casque, puis relancez le test.",
            "No microphone is detected: the class will not hear you. Plug in a microphone or a headset, then run the test again.",
        ),
        (_, 0, _) => say(
            "Aucune sortie son n'est détectée : vous n'entendrez pas la classe. Branchez des écouteurs ou des haut-parleurs.",
            "No sound output is detected: you will not hear the class. Plug in headphones or speakers.",
        ),
        (_, _, 0) => say(
            format!("Micro ({inputs}) et sortie son ({outputs}) détectés ; pas de caméra : Estrade enverra la mire de test."),
            format!("Microphone ({inputs}) and sound output ({outputs}) found; no camera: Estrade will send its test pattern."),
        ),
        _ => say(
            format!("Micro ({inputs}), sortie son ({outputs}) et caméra ({cameras}) détectés."),
            format!("Microphone ({inputs}), sound output ({outputs}) and camera ({cameras}) found."),
        ),
    };
    let verdict = if inputs > 0 && outputs > 0 && cameras > 0 { Verdict::Ok } else { Verdict::Warn };
    Check { step: Step::Devices, target: String::new(), verdict, message, elapsed_ms: 0 }
}

/// The devices check when the devices could not even be listed.
pub fn devices_unlisted() -> Check {
    Check {
        step: Step::Devices,
        target: String::new(),
        verdict: Verdict::Warn,
        message: say(
            "Les appareils (micro, caméra) n'ont pas pu être listés. Vérifiez-les dans les réglages.",
            "The devices (microphone, camera) could not be listed. Check them in Settings.",
        ),
        elapsed_ms: 0,
    }
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// `host[:port]` (or `[v6]:port`) split, with `default` for a missing port.
fn split_host_port(hostport: &str, default: u16) -> (String, u16) {
    match Url::parse(&format!("https://{hostport}/")) {
        Ok(url) => (url.host_str().unwrap_or(hostport).trim_matches(['[', ']']).to_owned(), url.port().unwrap_or(default)),
        Err(_) => (hostport.to_owned(), default),
    }
}

async fn resolve(host: &str, port: u16) -> Option<Check> {
    let started = Instant::now();
    let found = tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host((host, port))).await.ok()?.ok()?.count();
    (found > 0).then(|| Check {
        step: Step::Name,
        target: host.to_owned(),
        verdict: Verdict::Ok,
        message: say(format!("Le nom {host} est trouvé."), format!("The name {host} resolves.")),
        elapsed_ms: ms(started),
    })
}

fn name_failed(host: &str, started: Instant) -> Check {
    Check {
        step: Step::Name,
        target: host.to_owned(),
        verdict: Verdict::Fail,
        message: say(
            format!("Le nom {host} est introuvable. Vérifiez son orthographe et votre connexion à Internet ; si d'autres sites s'ouvrent, prévenez le service informatique (DNS)."),
            format!("The name {host} cannot be found. Check its spelling and your Internet connection; if other sites open, tell your IT support (DNS)."),
        ),
        elapsed_ms: ms(started),
    }
}

async fn check_tls(host: &str, port: u16, trust: &TlsTrust) -> Check {
    let started = Instant::now();
    let target = format!("{host}:{port}");
    let fail = |message: UserMessage| Check { step: Step::Tls, target: target.clone(), verdict: Verdict::Fail, message, elapsed_ms: ms(started) };
    let tcp = match tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return fail(say(
                format!("{host} refuse la connexion ({e}). Le site de l'établissement est peut-être arrêté : réessayez plus tard, ou prévenez le service informatique."),
                format!("{host} refuses the connection ({e}). The school's site may be down: try again later, or tell your IT support."),
            ))
        }
        Err(_) => {
            return fail(say(
                format!("{host} ne répond pas en {} s. Un pare-feu bloque peut-être la connexion : essayez un autre réseau, ou prévenez le service informatique.", STEP_TIMEOUT.as_secs()),
                format!("{host} does not answer within {} s. A firewall may be blocking it: try another network, or tell your IT support.", STEP_TIMEOUT.as_secs()),
            ))
        }
    };
    let Ok(name) = ServerName::try_from(host.to_owned()) else {
        return fail(say(format!("{host} n'est pas un nom de serveur valable."), format!("{host} is not a valid server name.")));
    };
    let connector = tokio_rustls::TlsConnector::from(trust.client_config());
    match tokio::time::timeout(STEP_TIMEOUT, connector.connect(name, tcp)).await {
        Ok(Ok(_)) => Check {
            step: Step::Tls,
            target,
            verdict: Verdict::Ok,
            message: say(format!("Connexion chiffrée avec {host} : son certificat est valable."), format!("Encrypted connection to {host}: its certificate is valid.")),
            elapsed_ms: ms(started),
        },
        Ok(Err(e)) => fail(
            DiscoveryError::Untrusted { domain: host.to_owned(), reason: e.to_string() }.user_message(),
        ),
        Err(_) => fail(say(
            format!("{host} accepte la connexion mais ne répond plus ensuite. Réessayez plus tard, ou prévenez le service informatique."),
            format!("{host} accepts the connection, then stops answering. Try again later, or tell your IT support."),
        )),
    }
}

fn discovery_failed(domain: &str, e: &DiscoveryError, started: Instant) -> Check {
    Check { step: Step::Discovery, target: domain.to_owned(), verdict: Verdict::Fail, message: e.user_message(), elapsed_ms: ms(started) }
}

/// WebSocket to `endpoint`, then Janus's `info`: its version and plugins.
async fn check_signaling(endpoint: &str, trust: &TlsTrust) -> Check {
    let started = Instant::now();
    let fail = |message: UserMessage| Check { step: Step::Signaling, target: endpoint.to_owned(), verdict: Verdict::Fail, message, elapsed_ms: ms(started) };
    let unreachable = || {
        say(
            format!("Le serveur de classe {endpoint} ne répond pas. S'il est le seul, la classe ne peut pas s'ouvrir : prévenez le service informatique."),
            format!("The classroom server {endpoint} is not answering. If it is the only one, the class cannot open: tell your IT support."),
        )
    };
    let connector = WsConnector::new(trust.clone());
    let mut link = match tokio::time::timeout(STEP_TIMEOUT, connector.connect(endpoint)).await {
        Ok(Ok(link)) => link,
        Ok(Err(_)) | Err(_) => return fail(unreachable()),
    };
    let asked = Instant::now();
    if link.outgoing.send(r#"{"janus":"info","transaction":"estrade-diagnose"}"#.to_owned()).is_err() {
        return fail(unreachable());
    }
    let reply = loop {
        match tokio::time::timeout(STEP_TIMEOUT, link.incoming.recv()).await {
            Ok(Some(LinkEvent::Text(text))) => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) if v["transaction"] == "estrade-diagnose" => break v,
                _ => continue,
            },
            _ => return fail(unreachable()),
        }
    };
    let rtt = format!("{:.1}", asked.elapsed().as_secs_f64() * 1000.0);
    let version = reply["version_string"].as_str().unwrap_or("?").to_owned();
    let has = |plugin: &str| reply["plugins"].get(plugin).is_some();
    if reply["janus"] != "server_info" || !has(estrade_proto::VIDEOROOM_PLUGIN) {
        return fail(say(
            format!("{endpoint} répond, mais ce n'est pas un serveur de classe utilisable (pas de VideoRoom). Prévenez le service informatique."),
            format!("{endpoint} answers, but is not a usable classroom server (no VideoRoom). Tell your IT support."),
        ));
    }
    Check {
        step: Step::Signaling,
        target: endpoint.to_owned(),
        verdict: Verdict::Ok,
        message: say(
            format!("Le serveur de classe {endpoint} répond (Janus {version}, aller-retour {rtt} ms)."),
            format!("The classroom server {endpoint} answers (Janus {version}, round trip {rtt} ms)."),
        ),
        elapsed_ms: ms(started),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_ports_are_split() {
        assert_eq!(split_host_port("ecole.test", 443), ("ecole.test".into(), 443));
        assert_eq!(split_host_port("ecole.test:8443", 443), ("ecole.test".into(), 8443));
        assert_eq!(split_host_port("[::1]:8443", 443), ("::1".into(), 8443));
    }

    #[test]
    fn devices_are_said_for_what_is_missing() {
        assert_eq!(device_check(1, 1, 1).verdict, Verdict::Ok);
        assert!(device_check(0, 1, 1).message.en.contains("No microphone"));
        assert!(device_check(1, 0, 1).message.fr.contains("Aucune sortie son"));
        let no_camera = device_check(2, 1, 0);
        assert_eq!(no_camera.verdict, Verdict::Warn);
        assert!(no_camera.message.en.contains("test pattern"));
    }

    #[tokio::test]
    async fn a_bad_link_stops_at_the_first_check() {
        let checks = diagnose("https://ecole.test/autre/1", &TlsTrust::system(), |_| {}).await;
        assert_eq!(checks.len(), 1);
        assert_eq!((checks[0].step, checks[0].verdict), (Step::Link, Verdict::Fail));
        assert!(checks[0].message.en.contains("not valid"));
    }
}
