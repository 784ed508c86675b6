//! The client session dialogue as (plan, replies) -> requests and outcome tables.

use nut_core::proto::ErrCode;
use nut_core::session::{
    ClientSession, Established, Next, Refusal, Reply, SessionError, SessionPlan, Stage, TlsMode,
};

/// Runs a dialogue; `replies` answer each request in turn (`"<TLS>"` marks the handshake
/// step, answered by `tls_ok`). Returns the requests sent and the outcome.
fn dialogue(
    plan: SessionPlan,
    replies: &[&str],
    tls_ok: bool,
) -> (Vec<String>, Result<Established, SessionError>) {
    let mut session = ClientSession::new(plan);
    let mut sent = Vec::new();
    let mut replies = replies.iter();
    let mut next = session.start();
    loop {
        next = match next {
            Next::Send(line) => {
                sent.push(line.trim_end().to_string());
                let reply = replies.next().expect("a reply for every request");
                session.reply(reply)
            }
            Next::UpgradeTls => {
                sent.push("<TLS>".to_string());
                session.tls_ready(tls_ok)
            }
            Next::Done(result) => {
                assert!(session.is_done());
                return (sent, result);
            }
        };
    }
}

fn upsmon_plan(tls: TlsMode, primary: bool) -> SessionPlan {
    SessionPlan {
        tls,
        username: Some("mon".into()),
        password: Some("secret pass".into()),
        login: Some("ups1".into()),
        primary: primary.then(|| "ups1".into()),
    }
}

#[test]
fn upsmon_logs_in_and_asks_for_primary_in_nut_order() {
    let (sent, result) = dialogue(upsmon_plan(TlsMode::Off, true), &["OK"; 4], true);
    assert_eq!(
        sent,
        [
            "USERNAME mon",
            "PASSWORD \"secret pass\"",
            "LOGIN ups1",
            "PRIMARY ups1"
        ]
    );
    let done = result.unwrap();
    assert!(done.primary && !done.tls && done.refused.is_none());
}

#[test]
fn primary_falls_back_to_master_for_old_upsd_and_reports_when_both_are_refused() {
    let old = ["OK", "OK", "OK", "ERR UNKNOWN-COMMAND", "OK MASTER-GRANTED"];
    let (sent, result) = dialogue(upsmon_plan(TlsMode::Off, true), &old, true);
    assert_eq!(sent.last().unwrap(), "MASTER ups1");
    assert!(result.unwrap().primary);

    let refused = ["OK", "OK", "OK", "ERR ACCESS-DENIED", "ERR ACCESS-DENIED"];
    let (_, result) = dialogue(upsmon_plan(TlsMode::Off, true), &refused, true);
    let done = result.unwrap();
    assert!(!done.primary);
    assert_eq!(
        done.refused,
        Some(Refusal {
            stage: Stage::Master,
            reply: "ERR ACCESS-DENIED".into(),
            typed: Reply::Err(ErrCode::AccessDenied),
        })
    );
}

#[test]
fn a_refused_step_stops_the_dialogue_there() {
    let (sent, result) = dialogue(
        upsmon_plan(TlsMode::Off, true),
        &["OK", "OK", "ERR UNKNOWN-UPS"],
        true,
    );
    assert_eq!(sent.len(), 3, "{sent:?}");
    let refusal = result.unwrap().refused.unwrap();
    assert_eq!(refusal.stage, Stage::Login);
    assert_eq!(refusal.typed, Reply::Err(ErrCode::UnknownUps));
}

#[test]
fn starttls_policies() {
    // Try: upsd without TLS -> plain text, credentials follow.
    let (sent, result) = dialogue(
        upsmon_plan(TlsMode::Try, false),
        &["ERR FEATURE-NOT-CONFIGURED", "OK", "OK", "OK"],
        true,
    );
    assert_eq!(sent[0], "STARTTLS");
    assert_eq!(sent[1], "USERNAME mon");
    assert!(!result.unwrap().tls);
    // Try: upsd with TLS -> handshake before any credential.
    let (sent, result) = dialogue(
        upsmon_plan(TlsMode::Try, false),
        &["OK STARTTLS", "OK", "OK", "OK"],
        true,
    );
    assert_eq!(&sent[..3], ["STARTTLS", "<TLS>", "USERNAME mon"]);
    assert!(result.unwrap().tls);
    // Require: no TLS offered -> nothing else is sent.
    let (sent, result) = dialogue(
        upsmon_plan(TlsMode::Require, false),
        &["ERR FEATURE-NOT-CONFIGURED"],
        true,
    );
    assert_eq!(sent, ["STARTTLS"]);
    assert_eq!(
        result.unwrap_err(),
        SessionError::TlsRequired {
            reply: "ERR FEATURE-NOT-CONFIGURED".into()
        }
    );
    // A failed handshake ends the session.
    let (_, result) = dialogue(upsmon_plan(TlsMode::Try, false), &["OK STARTTLS"], false);
    assert_eq!(result.unwrap_err(), SessionError::TlsFailed);
}

#[test]
fn a_plain_client_sends_nothing_at_all() {
    let (sent, result) = dialogue(SessionPlan::default(), &[], true);
    assert!(sent.is_empty());
    assert!(result.unwrap().refused.is_none());
}

#[test]
fn replies_are_typed() {
    assert_eq!(Reply::parse("OK"), Reply::Ok(String::new()));
    assert_eq!(Reply::parse("OK STARTTLS"), Reply::Ok("STARTTLS".into()));
    assert_eq!(
        Reply::parse("ERR DATA-STALE"),
        Reply::Err(ErrCode::DataStale)
    );
    assert_eq!(Reply::parse("ERR"), Reply::Err(ErrCode::Unknown));
    assert_eq!(
        Reply::parse("VAR ups1 ups.status \"OL\""),
        Reply::Other("VAR ups1 ups.status \"OL\"".into())
    );
}
