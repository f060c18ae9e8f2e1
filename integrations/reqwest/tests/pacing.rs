//! Pre-pacing over loopback: several tasks share one client and one API
//! key against the example API server (short windows, system clock), and
//! the middleware keeps them under the limit by itself.
//!
//! Checked:
//! - every call succeeds, and the server never had to refuse one (no 429
//!   at all: pre-pacing, not retries, kept the tasks under the limit);
//! - counted at the server, no window admitted more than its limit, and
//!   the calls spread over several windows;
//! - reads and writes of one key are paced apart (each class has its own
//!   `Remaining`);
//! - a call held by pre-pacing reports the wait, without jitter for a key
//!   that is not shared.

mod support;

use std::time::Duration;

use tollgate_client::Pacer;
use tollgate_reqwest::{Paced, PacingMiddleware};

use support::{client, Attempts, Server, SHORT_WINDOWS};

const WORKERS: usize = 4;
const WRITES_EACH: usize = 3;
const READS_EACH: usize = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_sharing_a_key_stay_under_the_limit_without_a_429() {
    let server = Server::start(SHORT_WINDOWS).await;
    let attempts = Attempts::default();
    // Threshold 1: use every request of a window, and wait only when none
    // is left. One pacer, one middleware, one client cloned per task.
    let pacing = PacingMiddleware::new(Pacer::builder().threshold(1).build());
    let client = client(pacing, &attempts);

    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let (client, url) = (client.clone(), server.url("/v1/companies"));
        tasks.push(tokio::spawn(async move {
            let mut paced = Vec::new();
            for i in 0..WRITES_EACH {
                let response = client
                    .post(&url)
                    .header("x-api-key", "key_paced")
                    .header("x-call", format!("w{worker}.{i}"))
                    .header("content-type", "application/json")
                    .body(format!(r#"{{"name":"Company {worker}.{i}"}}"#))
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(response.status(), 201, "write {worker}.{i}");
                paced.push(*response.extensions().get::<Paced>().expect("a report"));
            }
            for i in 0..READS_EACH {
                let response = client
                    .get(&url)
                    .header("x-api-key", "key_paced")
                    .header("x-call", format!("r{worker}.{i}"))
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(response.status(), 200, "read {worker}.{i}");
                paced.push(*response.extensions().get::<Paced>().expect("a report"));
            }
            paced
        }));
    }
    let mut reports = Vec::new();
    for task in tasks {
        reports.extend(task.await.expect("a worker"));
    }

    let seen = server.seen();
    let refused: Vec<_> = seen.iter().filter(|s| s.status == 429).collect();
    assert!(refused.is_empty(), "the server refused {refused:?}");
    assert_eq!(seen.len(), WORKERS * (WRITES_EACH + READS_EACH));
    assert_eq!(attempts.all().len(), seen.len(), "no call was sent twice");

    // 12 writes at 6 per 2 s and 24 reads at 12 per 2 s need at least
    // two long windows each.
    for method in ["POST", "GET"] {
        let windows = server.assert_windows_held("key_paced", method);
        assert!(windows.len() >= 2, "{method}: {windows:?}");
    }

    // Calls waited, and only by pre-pacing: one attempt each, no jitter.
    assert!(reports
        .iter()
        .all(|p| p.attempts() == 1 && p.jitter().is_zero()));
    let held = reports
        .iter()
        .filter(|p| p.waited() > Duration::from_millis(100))
        .count();
    assert!(held > 0, "no call was held: {reports:?}");
}
