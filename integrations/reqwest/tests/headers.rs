//! Hostile and malformed rate-limit fields over loopback: a server that
//! answers with whatever bytes a row of `ROWS` gives, and a middleware
//! that must neither panic nor wait past what its pacer allows.
//!
//! Checked, for each row, on a key of its own: two calls each get the
//! server's answer back (a 429 included, once the middleware may not
//! retry it), and each wait stays within the pacer's `max_wait` plus its
//! jitter and the reset margin, however long the fields ask for.

mod support;

use std::future::IntoFuture;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tollgate_client::Pacer;
use tollgate_reqwest::{Paced, PacingMiddleware};

use support::{client, Attempts};

/// A status and the fields sent with it, in order.
type Row = (u16, &'static [(&'static str, &'static [u8])]);

/// (status, fields) per row. Values are raw bytes: non-ASCII, signs,
/// exponents, numbers past `u64::MAX`, dates far in the future, lists.
const ROWS: &[Row] = &[
    (
        200,
        &[
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-reset", b"99999999999999999999999"),
        ],
    ),
    (
        200,
        &[
            ("x-ratelimit-remaining", b"-1"),
            ("x-ratelimit-reset", b"-5"),
        ],
    ),
    (
        200,
        &[
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-reset", b"\xff\xfe"),
        ],
    ),
    (
        200,
        &[
            ("x-ratelimit-remaining", b"0, 7,,x"),
            ("x-ratelimit-reset", b"1e3"),
        ],
    ),
    (
        200,
        &[("x-ratelimit-remaining", b""), ("x-ratelimit-reset", b"")],
    ),
    (
        200,
        &[
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-reset", b"0x10"),
        ],
    ),
    (
        200,
        &[
            ("x-ratelimit-remaining", b"0.5"),
            ("x-ratelimit-reset", b"18446744073709551615"),
        ],
    ),
    (503, &[("retry-after", b"18446744073709551615")]),
    (429, &[("retry-after", b"18446744073709551616")]),
    (429, &[("retry-after", b"Fri, 31 Dec 9999 23:59:59 GMT")]),
    (429, &[("retry-after", b"Thu, 01 Jan 1970 00:00:00 GMT")]),
    (429, &[("retry-after", b"Wed, 31 Apr 2015 07:28:00 GMT")]),
    (429, &[("retry-after", b"\x80\x81 soon")]),
    (429, &[("retry-after", b"-1"), ("retry-after", b"0.001")]),
    (
        429,
        &[
            ("x-ratelimit-remaining", b"0"),
            ("x-ratelimit-reset", b"4102444800"),
        ],
    ),
    (429, &[]),
];

async fn answer(Path(row): Path<usize>) -> Response {
    let Some((status, fields)) = ROWS.get(row) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = StatusCode::from_u16(*status)
        .expect("a status")
        .into_response();
    for (name, value) in *fields {
        response.headers_mut().append(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).expect("a header value"),
        );
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_fields_neither_panic_nor_hold_past_max_wait() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(axum::serve(listener, Router::new().route("/{row}", get(answer))).into_future());

    let max_wait = Duration::from_millis(300);
    let jitter = Duration::from_millis(50);
    let pacer = Pacer::builder()
        .shared_key(true)
        .jitter(jitter)
        .max_wait(max_wait)
        .build();
    let most = max_wait + jitter + PacingMiddleware::DEFAULT_RESET_MARGIN;
    let client = client(
        PacingMiddleware::builder(pacer).max_retries(1).build(),
        &Attempts::default(),
    );

    let mut calls = Vec::new();
    for (row, (status, _)) in ROWS.iter().enumerate() {
        let client = client.clone();
        let url = format!("http://{addr}/{row}");
        calls.push(tokio::spawn(async move {
            for call in 0..2 {
                let send = client
                    .get(&url)
                    .header("x-api-key", format!("row {row}"))
                    .send();
                let response = tokio::time::timeout(Duration::from_secs(10), send)
                    .await
                    .unwrap_or_else(|_| {
                        panic!("row {row}, call {call}: held for what the fields ask")
                    })
                    .expect("an answer");
                assert_eq!(response.status(), *status, "row {row}, call {call}");
                let paced = *response.extensions().get::<Paced>().expect("a report");
                // At most two waits per attempt (the gate or window it
                // found, then a 429's Retry-After), each within `most`;
                // with a second for the timers of a loaded machine.
                let bound = most * paced.attempts() * 2 + Duration::from_secs(1);
                assert!(paced.waited() <= bound, "row {row}, call {call}: {paced:?}");
            }
        }));
    }
    for (row, call) in calls.into_iter().enumerate() {
        call.await.unwrap_or_else(|e| panic!("row {row}: {e}"));
    }
}
