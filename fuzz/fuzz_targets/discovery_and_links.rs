//! A discovery document comes from the network and a class link from anyone's
//! clipboard or a web page: both must be read without panicking, and what is
//! accepted must hold what the rest of the client relies on.
#![no_main]

use estrade_core::discovery::{DiscoveryDocument, FetchedDocument};
use estrade_core::invite::check_signaling_url;
use estrade_core::{ClassInvite, ClassServer};
use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(document) = DiscoveryDocument::parse(&text) {
        assert!(!document.signaling.is_empty());
        for endpoint in &document.signaling {
            assert!(check_signaling_url(&endpoint.url).is_ok(), "{}", endpoint.url);
        }
        let ordered = document.ordered_endpoints(&mut StdRng::seed_from_u64(1));
        assert_eq!(ordered.len(), document.signaling.len());
        assert!(ordered.windows(2).all(|w| w[0].priority <= w[1].priority));
        let copy = FetchedDocument { body: text.to_string(), fetched_at_ms: 0, max_age_s: Some(60) };
        let _ = copy.freshness(&document, std::time::SystemTime::now());
    }
    for line in text.lines() {
        if let Ok(invite) = ClassInvite::parse(line, Some("ecole.example.fr")) {
            assert!(invite.room > 0);
            if let ClassServer::Direct(url) = &invite.server {
                assert!(check_signaling_url(url).is_ok(), "{url}");
            }
            // A link read back gives the same class.
            let again = ClassInvite::parse(&invite.link(), None).expect("our own link parses");
            assert_eq!(again.room, invite.room);
        }
        let _ = ClassServer::parse(line);
    }
});
