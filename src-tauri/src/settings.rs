//! The settings file: the school's server, the name, the language, the media
//! choice. Never a secret. Written atomically (temporary file, then rename) so
//! a crash never leaves half a file; a damaged file is set aside, not lost.

use std::path::{Path, PathBuf};

use crate::dto::{Message, Settings};

/// Where settings live, and what happened when they were read.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

/// The outcome of reading the settings at start-up.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    /// Something the user should know (the file was damaged and set aside).
    pub notice: Option<Message>,
}

impl SettingsFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Loaded {
        let text = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Loaded { settings: Settings::default(), notice: None }
            }
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot read settings");
                return Loaded {
                    settings: Settings::default(),
                    notice: Some(Message::new(
                        format!("Les réglages n'ont pas pu être lus ({e}). Saisissez-les à nouveau ; ils seront enregistrés dans {}.", self.path.display()),
                        format!("The settings could not be read ({e}). Enter them again; they will be saved in {}.", self.path.display()),
                    )),
                };
            }
        };
        match serde_json::from_slice::<Settings>(&text) {
            Ok(settings) => Loaded { settings, notice: None },
            Err(e) => {
                // Keep the damaged file for whoever wants to look: never delete user data.
                let aside = self.path.with_extension("json.damaged");
                let kept = std::fs::rename(&self.path, &aside).is_ok();
                tracing::warn!(path = %self.path.display(), error = %e, kept, "damaged settings file set aside");
                let (fr_where, en_where) = if kept {
                    (format!(" Une copie est gardée dans {}.", aside.display()), format!(" A copy was kept in {}.", aside.display()))
                } else {
                    (String::new(), String::new())
                };
                Loaded {
                    settings: Settings::default(),
                    notice: Some(Message::new(
                        format!("Le fichier de réglages était endommagé : saisissez à nouveau l'adresse du serveur et votre nom.{fr_where}"),
                        format!("The settings file was damaged: enter the server address and your name again.{en_where}"),
                    )),
                }
            }
        }
    }

    /// Writes `settings` to a fresh temporary file beside the real one, then
    /// renames it into place: readers see the old file or the new, never half.
    pub fn save(&self, settings: &Settings) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        let text = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &text)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::{Language, VideoChoice};

    #[test]
    fn round_trip_and_first_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path().join("sub/settings.json"));
        let first = file.load();
        assert!(first.notice.is_none());
        assert_eq!(first.settings, Settings::default());
        let s = Settings {
            server: "wss://a/janus".into(),
            name: "Zoé".into(),
            language: Some(Language::Fr),
            video: VideoChoice::None,
            ..Settings::default()
        };
        file.save(&s).unwrap();
        assert_eq!(file.load().settings, s);
    }

    #[test]
    fn a_damaged_file_is_set_aside_with_a_notice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{\"server\": \"wss://a\", \"name\": ").unwrap();
        let loaded = SettingsFile::new(path.clone()).load();
        assert_eq!(loaded.settings, Settings::default());
        let notice = loaded.notice.unwrap();
        assert!(notice.en.contains("damaged") && notice.fr.contains("endommagé"));
        let aside = std::fs::read(dir.path().join("settings.json.damaged")).unwrap();
        assert!(aside.starts_with(b"{\"server\""));
        assert!(!path.exists());
    }

    #[test]
    fn unknown_and_missing_fields_are_tolerated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, br#"{"server":"wss://b","future":1}"#).unwrap();
        let loaded = SettingsFile::new(path).load();
        assert_eq!(loaded.settings.server, "wss://b");
        assert!(loaded.notice.is_none());
    }
}
