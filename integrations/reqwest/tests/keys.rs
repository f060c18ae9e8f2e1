//! Keys over loopback: one client calls the example API server with two
//! API keys, one of which has run out, and the middleware paces each key
//! (and each class of method) on its own.
//!
//! Checked:
//! - a call on the spent key is held (by pre-pacing, before it is sent),
//!   while calls on the other key, and reads on the spent one, go and
//!   succeed meanwhile;
//! - the key comes from `Authorization` or `X-API-Key`, or from a key
//!   function;
//! - the middleware's `Debug` output shows no key.

mod support;

use std::time::Duration;

use tollgate_client::Pacer;
use tollgate_reqwest::{Paced, PacingMiddleware};

use support::{client, Attempts, Server, TWO_A_DAY};

/// How long a call that should not be held may take.
const PROMPT: Duration = Duration::from_secs(10);

/// A write with `header` (the API key), which must be answered promptly.
async fn write(
    client: &reqwest_middleware::ClientWithMiddleware,
    server: &Server,
    header: (&'static str, &'static str),
) -> reqwest::Response {
    let send = client
        .post(server.url("/v1/companies"))
        .header(header.0, header.1)
        .header("content-type", "application/json")
        .body(r#"{"name":"Keyed"}"#)
        .send();
    tokio::time::timeout(PROMPT, send)
        .await
        .unwrap_or_else(|_| panic!("the write with {header:?} was held"))
        .expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_and_class_is_paced_on_its_own() {
    let server = Server::start(TWO_A_DAY).await;
    let pacing = PacingMiddleware::new(Pacer::builder().threshold(1).build());
    let client = client(pacing.clone(), &Attempts::default());
    let (a, b) = (("authorization", "Bearer key_a"), ("x-api-key", "key_b"));

    for _ in 0..2 {
        assert_eq!(write(&client, &server, a).await.status(), 201);
    }
    // key_a has no write left today: its next write waits for the reset
    // (cut to the pacer's max_wait, an hour), and is not sent meanwhile.
    let held = {
        let (client, server_url) = (client.clone(), server.url("/v1/companies"));
        tokio::spawn(async move {
            client
                .post(server_url)
                .header(a.0, a.1)
                .body(r#"{"name":"Held"}"#)
                .send()
                .await
        })
    };
    for _ in 0..2 {
        let response = write(&client, &server, b).await;
        assert_eq!(response.status(), 201);
        let paced = response.extensions().get::<Paced>().expect("a report");
        assert!(paced.waited() < Duration::from_secs(1), "{paced:?}");
    }
    let read = client
        .get(server.url("/v1/companies"))
        .header(a.0, a.1)
        .send();
    let read = tokio::time::timeout(PROMPT, read)
        .await
        .expect("the read was held")
        .expect("an answer");
    assert_eq!(
        read.status(),
        200,
        "reads of key_a are not held by its writes"
    );

    assert!(!held.is_finished(), "the spent key's write was not held");
    held.abort();
    let seen = server.seen();
    let count = |key: &str, method: &str| {
        seen.iter()
            .filter(|s| s.key == key && s.method == method)
            .count()
    };
    assert_eq!(count("Bearer key_a", "POST"), 2, "the held write was sent");
    assert_eq!(
        (count("key_b", "POST"), count("Bearer key_a", "GET")),
        (2, 1)
    );
    assert!(seen.iter().all(|s| s.status != 429));

    let shown = format!("{pacing:?}");
    assert!(!shown.contains("key_"), "{shown}");
    assert_eq!(pacing.tracked_keys(), 3, "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_function_chooses_what_shares_a_state() {
    let server = Server::start(TWO_A_DAY).await;
    // Every request to this server as one key, whatever its API key: the
    // writes of key_c spend the state that key_d's write then waits on.
    let pacing = PacingMiddleware::builder(Pacer::builder().threshold(1).build())
        .key_fn(|request: &reqwest::Request| request.url().port())
        .build();
    let client = client(pacing, &Attempts::default());
    for _ in 0..2 {
        assert_eq!(
            write(&client, &server, ("x-api-key", "key_c"))
                .await
                .status(),
            201
        );
    }
    let held = {
        let (client, url) = (client.clone(), server.url("/v1/companies"));
        tokio::spawn(async move { client.post(url).header("x-api-key", "key_d").send().await })
    };
    // The read shares the state too (the key function ignores methods),
    // and is held as well.
    let read = {
        let (client, url) = (client.clone(), server.url("/v1/companies"));
        tokio::spawn(async move { client.get(url).header("x-api-key", "key_d").send().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!held.is_finished() && !read.is_finished());
    held.abort();
    read.abort();
    assert_eq!(server.seen().len(), 2);
}
