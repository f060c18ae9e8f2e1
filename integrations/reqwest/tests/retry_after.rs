//! 429s over loopback: the example API server (short windows, system
//! clock) refuses what several tasks on one key send with pre-pacing
//! off, and the middleware waits out each `Retry-After` and retries.
//!
//! Checked:
//! - every call ends in a 201 and no 429 reaches a caller, though the
//!   server sent several;
//! - each retry went no sooner than its 429's `Retry-After` after the
//!   429 arrived; and while a 429's wait ran, no other task sent on the
//!   key;
//! - counted at the server, no window admitted more than its limit;
//! - jitter only for a pacer built with `shared_key(true)`;
//! - the 429 itself comes back to the caller, body and all, when the
//!   request's body cannot be sent twice, when the retries are spent,
//!   and when `Retry-After` asks for longer than `max_wait`.

#![expect(
    clippy::arithmetic_side_effects,
    reason = "instants and waits of a few seconds"
)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use tollgate_client::Pacer;
use tollgate_reqwest::{Paced, PacingMiddleware};

use support::{client, spend, start_of_window, Attempts, Server, SHORT_WINDOWS};

const WORKERS: usize = 4;
const WRITES_EACH: usize = 3;
/// Slack for the order of two clock reads in different tasks: a request
/// let through just before a 429 arrived may log its send just after.
const SLACK: Duration = Duration::from_millis(100);

/// `WORKERS` tasks on one client write `WRITES_EACH` times each on one
/// key, with pre-pacing off so that the server refuses some; returns what
/// each call reported, after the checks every run passes.
async fn run(shared: bool) -> Vec<Paced> {
    let server = Server::start(SHORT_WINDOWS).await;
    let attempts = Attempts::default();
    let pacer = Pacer::builder().threshold(0).shared_key(shared).build();
    let pacing = PacingMiddleware::builder(pacer).max_retries(10).build();
    let client = client(pacing, &attempts);

    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let (client, url) = (client.clone(), server.url("/v1/companies"));
        tasks.push(tokio::spawn(async move {
            let mut reports = Vec::new();
            for i in 0..WRITES_EACH {
                let response = client
                    .post(&url)
                    .header("x-api-key", "key_retry")
                    .header("x-call", format!("{worker}.{i}"))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"name":"Company {worker}.{i}"}}"#))
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(response.status(), 201, "call {worker}.{i}");
                reports.push(*response.extensions().get::<Paced>().expect("a report"));
            }
            reports
        }));
    }
    let mut reports = Vec::new();
    for task in tasks {
        reports.extend(task.await.expect("a worker"));
    }

    let log = attempts.all();
    let refused: Vec<_> = log.iter().filter(|a| a.status == 429).collect();
    assert!(
        !refused.is_empty(),
        "the server refused nothing: no 429 to wait out"
    );
    assert_eq!(
        server.seen().iter().filter(|s| s.status == 429).count(),
        refused.len()
    );
    for no in &refused {
        let wait = Duration::from_secs(no.retry_after.expect("a Retry-After on a 429"));
        let ends = no.answered + wait;
        let retry = log
            .iter()
            .filter(|a| a.call == no.call && a.sent > no.answered)
            .map(|a| a.sent)
            .min()
            .expect("the call was retried");
        assert!(
            retry >= ends,
            "call {} retried {:?} early",
            no.call,
            ends - retry
        );
        for other in &log {
            assert!(
                other.sent <= no.answered + SLACK || other.sent >= ends,
                "call {} went {:?} into call {}'s Retry-After of {wait:?}",
                other.call,
                other.sent - no.answered,
                no.call
            );
        }
    }
    let retried: u32 = reports.iter().map(|p| p.attempts() - 1).sum();
    assert_eq!(retried as usize, refused.len());
    server.assert_windows_held("key_retry", "POST");
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_out_without_jitter_for_one_worker_s_key() {
    let reports = run(false).await;
    assert!(reports.iter().all(|p| p.jitter().is_zero()), "{reports:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_key_adds_jitter_on_top_of_retry_after() {
    let reports = run(true).await;
    let jittered = reports.iter().filter(|p| !p.jitter().is_zero()).count();
    assert!(jittered > 0, "{reports:?}");
    // The jitter is on top of the wait, never instead of part of it.
    assert!(reports.iter().all(|p| p.waited() >= p.jitter()));
}

/// A write on `key` with a body that reqwest cannot copy (a stream).
fn streaming(
    client: &reqwest_middleware::ClientWithMiddleware,
    server: &Server,
    key: &str,
) -> reqwest_middleware::RequestBuilder {
    let body = http_body_util::Full::new(Bytes::from_static(br#"{"name":"Streamed"}"#));
    client
        .post(server.url("/v1/companies"))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap(body))
}

/// A write on `key` with a body held in memory, which can be sent again.
fn in_memory(
    client: &reqwest_middleware::ClientWithMiddleware,
    server: &Server,
    key: &str,
) -> reqwest_middleware::RequestBuilder {
    client
        .post(server.url("/v1/companies"))
        .header("x-api-key", key)
        .header("content-type", "application/json")
        .body(r#"{"name":"Copied"}"#)
}

/// Checks that `response` is the server's 429, sent once, body and all.
async fn assert_given_back(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let paced = *response.extensions().get::<Paced>().expect("a report");
    assert_eq!(paced.attempts(), 1);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value =
        serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_429_comes_back_when_it_cannot_or_may_not_be_retried() {
    let server = Server::start(SHORT_WINDOWS).await;
    // The burst of a fresh 2 s window, spent by another client: the next
    // write on the key gets a 429 until the 1 s burst window ends.
    start_of_window(Duration::from_secs(2)).await;
    assert_eq!(spend(&server, "key_spent").await, 4);
    let fresh = |pacer: Pacer, retries: u32| {
        let pacing = PacingMiddleware::builder(pacer)
            .max_retries(retries)
            .build();
        client(pacing, &Attempts::default())
    };

    // A stream cannot be sent twice.
    let c = fresh(Pacer::new(), 3);
    assert_given_back(
        streaming(&c, &server, "key_spent")
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    // No retries allowed.
    let c = fresh(Pacer::new(), 0);
    assert_given_back(
        in_memory(&c, &server, "key_spent")
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    // A wait past max_wait (Retry-After is at least 1 s).
    let c = fresh(
        Pacer::builder()
            .max_wait(Duration::from_millis(500))
            .build(),
        3,
    );
    assert_given_back(
        in_memory(&c, &server, "key_spent")
            .send()
            .await
            .expect("an answer"),
    )
    .await;

    // The same write with a body in memory is retried once the window
    // has ended.
    let c = fresh(Pacer::new(), 3);
    let response = in_memory(&c, &server, "key_spent")
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), 201);
    assert_eq!(
        response
            .extensions()
            .get::<Paced>()
            .expect("a report")
            .attempts(),
        2
    );
}
