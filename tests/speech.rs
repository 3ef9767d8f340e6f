//! Real audio, end to end: French speech played into a virtual microphone is
//! captured by one estrade-cli through cpal, sent through a real Janus, played
//! by another estrade-cli through cpal into a virtual speaker, and recorded
//! there. What is heard must be as intelligible as what was said.

use std::time::Duration;

use estrade_tests::pulse::{compare_speech, french_speech, LocalPulse};
use estrade_tests::{scratch, LocalJanus};

const ROOM: u64 = 1234;

const PHRASE: &str = "Bonjour à toutes et à tous. Aujourd'hui, nous étudions la Révolution française. \
                      Ouvrez vos cahiers à la page quarante-deux, et lisez le premier paragraphe.";

#[test]
fn french_speech_goes_from_one_microphone_to_another_speaker_intelligibly() {
    let dir = scratch("speech");
    let said = dir.join("said.wav");
    french_speech(PHRASE, "fr", &said);
    let pulse = LocalPulse::start(&["vmic", "vspk"]);
    let env = pulse.env();
    let janus = LocalJanus::start();
    let listener = janus.join_with_env("Bruno", ROOM, &["--send-audio", "none", "--send-video", "none", "--play", "vspk", "--duration", "16"], &env);
    let speaker = janus.join_with_env("Alice", ROOM, &["--send-audio", "mic:vmic.monitor", "--send-video", "none", "--duration", "15"], &env);
    // Both joined, subscribed, and the playout buffers settled.
    std::thread::sleep(Duration::from_secs(4));
    // Record both ends at once: what the microphone hears, what the speaker plays.
    let (at_mouth, heard) = (dir.join("mouth.wav"), dir.join("heard.wav"));
    let mouth = pulse.record("vmic.monitor", &at_mouth);
    let ear = pulse.record("vspk.monitor", &heard);
    std::thread::sleep(Duration::from_millis(500));
    pulse.play("vmic", &said);
    std::thread::sleep(Duration::from_millis(1500));
    mouth.stop();
    ear.stop();
    let speaker = speaker.wait(Duration::from_secs(30));
    let listener = listener.wait(Duration::from_secs(30));
    for o in [&speaker, &listener] {
        assert!(o.status.success(), "{} failed: {:?}\n{}", o.name, o.status, o.stderr);
        assert!(o.event("device").is_none(), "{} had a device problem: {:?}", o.name, o.event("device"));
    }
    let playback = listener.lines.iter().find_map(|l| l.get("playback")).expect("the listener reports its playback");
    eprintln!("playback: {playback}");
    assert_eq!(playback["device"], "vspk", "played through the chosen output");
    let result = compare_speech(&said, &heard);
    eprintln!("speech through microphone, Janus and speakers: {result}");
    let stoi = result["stoi"].as_f64().expect("a STOI");
    assert!(stoi >= 0.9, "speech came through with STOI {stoi:.3} (< 0.9): {result}");
    let spoken = compare_speech(&said, &at_mouth);
    let delay = result["delay_ms"].as_f64().expect("a delay") - spoken["delay_ms"].as_f64().expect("a delay");
    eprintln!("mouth-to-ear delay: {delay:.0} ms");
    // Capture, 20 ms frames, Opus, Janus, playout buffer, device queues: about 100 ms here.
    assert!((20.0..1000.0).contains(&delay), "implausible mouth-to-ear delay {delay} ms");
}
