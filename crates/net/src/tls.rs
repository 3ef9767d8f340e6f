//! Which certificate authorities Estrade trusts: the operating system's, and
//! any the user adds (a school's own CA, or a test's). Verification is never
//! switched off: there is no option for it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use estrade_core::UserMessage;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The authorities to trust. Cheap to clone: the rustls configuration is
/// built once (reading the system's store takes a while) and shared.
#[derive(Debug, Clone, Default)]
pub struct TlsTrust {
    extra: Vec<CertificateDer<'static>>,
    config: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
}

/// A CA file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the certificate authority {}: {reason}", path.display())]
pub struct TrustError {
    /// The file given.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl TrustError {
    /// What to tell the person, in French and English.
    pub fn user_message(&self) -> UserMessage {
        let path = self.path.display();
        UserMessage {
            fr: format!("Le certificat d'autorité {path} est illisible ou n'est pas un certificat PEM. Vérifiez le fichier donné par le service informatique."),
            en: format!("The certificate authority file {path} cannot be read or is not a PEM certificate. Check the file your IT support gave you."),
        }
    }
}

impl TlsTrust {
    /// The system's authorities only.
    pub fn system() -> Self {
        Self::default()
    }

    /// Also trusts the authorities in the PEM file `path`.
    pub fn with_ca_file(mut self, path: &Path) -> Result<Self, TrustError> {
        let fail = |reason: String| TrustError { path: path.to_owned(), reason };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(&bytes).collect::<Result<_, _>>().map_err(|e| fail(format!("{e:?}")))?;
        if certs.is_empty() {
            return Err(fail("no certificate in it".into()));
        }
        let mut store = RootCertStore::empty();
        for cert in &certs {
            store.add(cert.clone()).map_err(|e| fail(e.to_string()))?;
        }
        self.extra.extend(certs);
        // Another set of authorities: another configuration.
        self.config = Arc::default();
        Ok(self)
    }

    /// A rustls client configuration that verifies against these authorities.
    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        Arc::clone(self.config.get_or_init(|| self.build_config()))
    }

    fn build_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "a system certificate could not be read");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(added, ignored, extra = self.extra.len(), "TLS trust");
        for cert in &self.extra {
            // Checked when the file was read.
            let _ = roots.add(cert.clone());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_built_once_and_shared_by_clones() {
        let trust = TlsTrust::system();
        let copy = trust.clone();
        assert!(Arc::ptr_eq(&trust.client_config(), &copy.client_config()));
    }

    #[test]
    fn a_file_that_is_not_a_certificate_is_refused_and_named() {
        let dir = std::env::temp_dir().join(format!("estrade-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let err = TlsTrust::system().with_ca_file(&junk).expect_err("junk");
        assert!(err.user_message().fr.contains("junk.pem"));
        let err = TlsTrust::system().with_ca_file(&dir.join("missing.pem")).expect_err("missing");
        assert!(err.to_string().contains("missing.pem"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
