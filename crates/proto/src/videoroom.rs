//! The VideoRoom plugin's requests and events, as Estrade uses them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A VideoRoom request body (the `body` of a Janus `message`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "request", rename_all = "lowercase")]
pub enum VideoRoomRequest {
    /// Join a room, as publisher or subscriber.
    Join(Join),
    /// Publish (or change) media, with an SDP offer alongside.
    Configure {
        /// Send audio (first publication only; renegotiations leave it out).
        #[serde(skip_serializing_if = "Option::is_none")]
        audio: Option<bool>,
        /// Send video (first publication only; renegotiations leave it out).
        #[serde(skip_serializing_if = "Option::is_none")]
        video: Option<bool>,
        /// Labels of published streams, by mid (e.g. the screen share).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        descriptions: Vec<StreamDescription>,
    },
    /// Ask the server for a new offer on a subscription with fresh ICE
    /// credentials (an ICE restart); answer it with [`VideoRoomRequest::Start`].
    #[serde(rename = "configure")]
    RestartIce {
        /// Always true.
        restart: bool,
    },
    /// Start receiving, with the SDP answer alongside.
    Start,
    /// Leave the room.
    Leave,
}

/// The two kinds of `join`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "ptype", rename_all = "lowercase")]
pub enum Join {
    /// Join as a participant who can publish.
    Publisher {
        /// The room.
        room: u64,
        /// The name others see.
        display: String,
        /// The room PIN, if the room has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
    },
    /// Subscribe to the streams of other publishers.
    Subscriber {
        /// The room.
        room: u64,
        /// Ties the subscription to our publisher (required by `require_pvtid`).
        #[serde(skip_serializing_if = "Option::is_none")]
        private_id: Option<u64>,
        /// What to receive.
        streams: Vec<StreamRef>,
        /// The room PIN, if the room has one.
        #[serde(skip_serializing_if = "Option::is_none")]
        pin: Option<String>,
    },
}

/// A feed, or one stream of it, to subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamRef {
    /// The publisher id.
    pub feed: u64,
    /// One stream of the feed (its mid at the publisher); `None`: all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// The description Estrade gives a published screen share, and looks for in
/// others' streams. Janus shows it to every client (janus.js demos too).
pub const SCREEN_SHARE_DESCRIPTION: &str = "screen share";

/// A text label for one published stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamDescription {
    /// The stream's mid in the publisher's SDP.
    pub mid: String,
    /// What it is, e.g. [`SCREEN_SHARE_DESCRIPTION`].
    pub description: String,
}

/// A publisher in the room, as listed by Janus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Publisher {
    /// Janus's id for the participant (also the feed id).
    pub id: u64,
    /// Their display name.
    #[serde(default)]
    pub display: String,
    /// What they publish (Janus 1.x lists every stream, disabled ones too).
    #[serde(default)]
    pub streams: Vec<PublishedStream>,
}

/// One stream of a publisher, as listed by Janus.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishedStream {
    /// "audio", "video" or "data".
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Its mid at the publisher.
    #[serde(default)]
    pub mid: String,
    /// Its label, if the publisher gave one.
    #[serde(default)]
    pub description: Option<String>,
    /// Stopped (an inactive m-line): nothing flows.
    #[serde(default)]
    pub disabled: bool,
}

impl PublishedStream {
    /// A live screen share.
    pub fn is_screen_share(&self) -> bool {
        !self.disabled && self.kind == "video" && self.description.as_deref() == Some(SCREEN_SHARE_DESCRIPTION)
    }

    /// A live audio or video stream that is not a screen share (the camera, the microphone).
    pub fn is_main_media(&self) -> bool {
        !self.disabled && (self.kind == "audio" || self.kind == "video") && !self.is_screen_share()
    }
}

/// Error codes of the VideoRoom plugin that Estrade tells apart.
pub mod error_code {
    /// No such room.
    pub const NO_SUCH_ROOM: i64 = 426;
    /// A mandatory field is missing (e.g. the PIN of a protected room).
    pub const MISSING_ELEMENT: i64 = 429;
    /// No such feed (subscribing before it is published).
    pub const NO_SUCH_FEED: i64 = 428;
    /// Wrong PIN or secret.
    pub const UNAUTHORIZED: i64 = 433;
    /// Room is full.
    pub const TOO_MANY_PUBLISHERS: i64 = 432;
    /// Name already taken.
    pub const ID_EXISTS: i64 = 436;
}

/// An event from the VideoRoom plugin (the `plugindata.data` object).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VideoRoomEvent {
    /// We joined as a publisher.
    Joined {
        /// The room.
        room: u64,
        /// Our participant id.
        id: u64,
        /// Our private id, for subscriptions.
        private_id: Option<u64>,
        /// Who is already publishing.
        publishers: Vec<Publisher>,
        /// Who is already in the room without publishing (listed when the
        /// room has `notify_joining`).
        attendees: Vec<Publisher>,
    },
    /// A subscriber handle is attached; an SDP offer comes alongside.
    Attached {
        /// The room.
        room: u64,
    },
    /// A plugin-level error.
    Error {
        /// VideoRoom error code, see [`error_code`].
        code: i64,
        /// Janus's explanation.
        reason: String,
    },
    /// New publishers appeared.
    Publishers(Vec<Publisher>),
    /// A participant left the room.
    Leaving {
        /// Their id.
        id: u64,
    },
    /// A participant stopped publishing.
    Unpublished {
        /// Their id.
        id: u64,
    },
    /// A participant joined (without publishing yet), with `notify_joining`.
    Joining {
        /// Their id.
        id: u64,
        /// Their name.
        display: String,
    },
    /// The room was destroyed.
    Destroyed {
        /// The room.
        room: u64,
    },
    /// A request was acknowledged with no other news (`configured`, `started`,
    /// `left`, …); the key names which.
    Ok(String),
    /// Talking / stopped-talking, with `audiolevel_event`.
    Talking {
        /// Who.
        id: u64,
        /// Talking now or not.
        talking: bool,
    },
    /// Anything else, kept whole for logging.
    Other(Value),
}

fn id_of(v: &Value) -> Option<u64> {
    // `leaving` is "ok" when the participant itself left; only numeric ids name someone else.
    v.as_u64()
}

fn publishers_of(v: &Value) -> Vec<Publisher> {
    v.as_array()
        .map(|list| list.iter().filter_map(|p| serde_json::from_value(p.clone()).ok()).collect())
        .unwrap_or_default()
}

impl VideoRoomEvent {
    /// Reads a VideoRoom `plugindata.data` object. Unknown shapes become [`VideoRoomEvent::Other`].
    pub fn from_plugin_data(data: &Value) -> Self {
        let kind = data.get("videoroom").and_then(Value::as_str).unwrap_or_default();
        let room = data.get("room").and_then(Value::as_u64).unwrap_or_default();
        if let Some(code) = data.get("error_code").and_then(Value::as_i64) {
            let reason = data.get("error").and_then(Value::as_str).unwrap_or_default().to_owned();
            return VideoRoomEvent::Error { code, reason };
        }
        match kind {
            "joined" => match data.get("id").and_then(Value::as_u64) {
                Some(id) => VideoRoomEvent::Joined {
                    room,
                    id,
                    private_id: data.get("private_id").and_then(Value::as_u64),
                    publishers: data.get("publishers").map(publishers_of).unwrap_or_default(),
                    attendees: data.get("attendees").map(publishers_of).unwrap_or_default(),
                },
                None => VideoRoomEvent::Other(data.clone()),
            },
            "attached" => VideoRoomEvent::Attached { room },
            "destroyed" => VideoRoomEvent::Destroyed { room },
            "talking" | "stopped-talking" => match data.get("id").and_then(Value::as_u64) {
                Some(id) => VideoRoomEvent::Talking { id, talking: kind == "talking" },
                None => VideoRoomEvent::Other(data.clone()),
            },
            "event" | "updated" => {
                if let Some(list) = data.get("publishers") {
                    return VideoRoomEvent::Publishers(publishers_of(list));
                }
                if let Some(id) = data.get("leaving").and_then(id_of) {
                    return VideoRoomEvent::Leaving { id };
                }
                if let Some(id) = data.get("unpublished").and_then(id_of) {
                    return VideoRoomEvent::Unpublished { id };
                }
                if let Some(j) = data.get("joining") {
                    if let Some(id) = j.get("id").and_then(Value::as_u64) {
                        let display = j.get("display").and_then(Value::as_str).unwrap_or_default().to_owned();
                        return VideoRoomEvent::Joining { id, display };
                    }
                }
                for key in ["configured", "started", "left", "leaving", "unpublished", "paused", "switched", "updated"] {
                    if data.get(key).is_some() {
                        return VideoRoomEvent::Ok(key.to_owned());
                    }
                }
                VideoRoomEvent::Other(data.clone())
            }
            _ => VideoRoomEvent::Other(data.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn join_bodies_match_the_plugin_api() {
        let body = serde_json::to_value(VideoRoomRequest::Join(Join::Publisher {
            room: 1234,
            display: "Mme Durand".into(),
            pin: None,
        }))
        .expect("serialise");
        assert_eq!(body, json!({"request":"join","ptype":"publisher","room":1234,"display":"Mme Durand"}));
        let body = serde_json::to_value(VideoRoomRequest::Join(Join::Subscriber {
            room: 1,
            private_id: Some(9),
            streams: vec![StreamRef { feed: 5, mid: None }],
            pin: Some("42".into()),
        }))
        .expect("serialise");
        assert_eq!(body["streams"][0]["feed"], 5);
        assert_eq!(body["ptype"], "subscriber");
        let c = serde_json::to_value(VideoRoomRequest::Configure { audio: Some(true), video: Some(false), descriptions: vec![] }).expect("ser");
        assert_eq!(c, json!({"request":"configure","audio":true,"video":false}));
        let share = VideoRoomRequest::Configure {
            audio: None,
            video: None,
            descriptions: vec![StreamDescription { mid: "2".into(), description: SCREEN_SHARE_DESCRIPTION.into() }],
        };
        let c = serde_json::to_value(share).expect("ser");
        assert_eq!(c, json!({"request":"configure","descriptions":[{"mid":"2","description":"screen share"}]}));
        let restart = serde_json::to_value(VideoRoomRequest::RestartIce { restart: true }).expect("ser");
        assert_eq!(restart, json!({"request":"configure","restart":true}));
    }

    #[test]
    fn reads_events() {
        let joined = json!({"videoroom":"joined","room":1,"id":10,"private_id":99,
            "publishers":[{"id":11,"display":"Léa","streams":[]},{"bogus":true}],
            "attendees":[{"id":12,"display":"Hugo"}]});
        assert_eq!(
            VideoRoomEvent::from_plugin_data(&joined),
            VideoRoomEvent::Joined {
                room: 1,
                id: 10,
                private_id: Some(99),
                publishers: vec![Publisher { id: 11, display: "Léa".into(), streams: vec![] }],
                attendees: vec![Publisher { id: 12, display: "Hugo".into(), streams: vec![] }],
            }
        );
        let err = json!({"videoroom":"event","error_code":426,"error":"No such room (9)"});
        assert!(matches!(VideoRoomEvent::from_plugin_data(&err), VideoRoomEvent::Error { code: 426, .. }));
        assert_eq!(VideoRoomEvent::from_plugin_data(&json!({"videoroom":"event","room":1,"leaving":11})), VideoRoomEvent::Leaving { id: 11 });
        assert_eq!(VideoRoomEvent::from_plugin_data(&json!({"videoroom":"event","room":1,"leaving":"ok"})), VideoRoomEvent::Ok("leaving".into()));
        assert_eq!(VideoRoomEvent::from_plugin_data(&json!({"videoroom":"event","configured":"ok"})), VideoRoomEvent::Ok("configured".into()));
        assert!(matches!(VideoRoomEvent::from_plugin_data(&json!(42)), VideoRoomEvent::Other(_)));
    }

    #[test]
    fn tells_a_screen_share_from_the_camera() {
        let update = json!({"videoroom":"event","room":1,"publishers":[{"id":11,"display":"Léa","streams":[
            {"type":"audio","mindex":0,"mid":"0","codec":"opus"},
            {"type":"video","mindex":1,"mid":"1","codec":"vp8"},
            {"type":"video","mindex":2,"mid":"2","codec":"vp8","description":"screen share"},
            {"type":"video","mindex":3,"mid":"3","disabled":true},
            {"type":"data","mindex":4,"mid":"4"}]}]});
        let VideoRoomEvent::Publishers(list) = VideoRoomEvent::from_plugin_data(&update) else { panic!("publishers") };
        let streams = &list[0].streams;
        let main: Vec<&str> = streams.iter().filter(|s| s.is_main_media()).map(|s| s.mid.as_str()).collect();
        let shares: Vec<&str> = streams.iter().filter(|s| s.is_screen_share()).map(|s| s.mid.as_str()).collect();
        assert_eq!(main, ["0", "1"]);
        assert_eq!(shares, ["2"]);
        // A stopped share loses its description in Janus's list: it is neither.
        let stopped = json!({"type":"video","mindex":2,"mid":"2","disabled":true});
        let stopped: PublishedStream = serde_json::from_value(stopped).expect("stream");
        assert!(!stopped.is_screen_share() && !stopped.is_main_media());
    }
}
