//! HTTP clients of the example API, shared by the `pacing_client` and
//! `demo` examples: a naive one that fires as fast as it can, and one that
//! paces itself with tollgate-client's [`Pacer`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tollgate::{Clock, SystemClock};
use tollgate_client::{PaceReason, Pacer, RateLimitInfo};

/// Added to every pre-pacing wait (until `X-RateLimit-Reset`): the
/// server's clock may run a few milliseconds behind ours (the limiter's
/// default clock ticks every 1–10 ms), and a call that lands just before
/// the reset on the server's clock would be refused. `Retry-After` is
/// honoured literally: it is rounded up, so it already covers this.
pub(crate) const CLOCK_ALLOWANCE: Duration = Duration::from_millis(50);

/// What one client saw.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub(crate) requests: u64,
    pub(crate) success: u64,
    pub(crate) limited: u64,
    pub(crate) other: u64,
    pub(crate) transport_errors: u64,
    /// Waits the pacer asked for, by reason: pre-pacing, after a 429.
    pub(crate) low_remaining_waits: u64,
    pub(crate) retry_after_waits: u64,
    /// The rate-limit fields of the first admitted response.
    pub(crate) sample_success: Option<String>,
    /// The fields and body of the first 429.
    pub(crate) sample_limited: Option<String>,
    /// When each 429 came, and what Retry-After said.
    pub(crate) limited_log: Vec<String>,
}

impl Tally {
    fn record(&mut self, status: StatusCode, headers: &HeaderMap, body: &Bytes) {
        bump(&mut self.requests);
        if status.is_success() {
            bump(&mut self.success);
            if self.sample_success.is_none() {
                self.sample_success = Some(describe(status, headers, None));
            }
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            bump(&mut self.limited);
            if self.sample_limited.is_none() {
                self.sample_limited = Some(describe(status, headers, Some(body)));
            }
        } else {
            bump(&mut self.other);
        }
    }
}

/// The status line, the rate-limit fields and, if given, the body.
fn describe(status: StatusCode, headers: &HeaderMap, body: Option<&Bytes>) -> String {
    let mut out = format!("HTTP/1.1 {status}\n");
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
        "content-type",
        "x-request-id",
    ] {
        if let Some(value) = headers.get(name) {
            let value = String::from_utf8_lossy(value.as_bytes());
            let _ = writeln!(out, "{name}: {value}");
        }
    }
    if let Some(body) = body {
        let _ = writeln!(out, "\n{}", String::from_utf8_lossy(body));
    }
    out
}

/// A response as received.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// An HTTP/1.1 connection to the API, opened again when the server
/// closes it (as it does after refusing a request whose body it did not
/// read, saying `Connection: close`).
pub(crate) struct Connection {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
    /// The last response said `Connection: close`.
    closing: bool,
}

/// One call of the API.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
}

/// `POST /v1/companies`: a write.
pub(crate) const CREATE: Call = Call {
    method: "POST",
    path: "/v1/companies",
};

impl Connection {
    pub(crate) async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self {
            addr,
            sender: Self::handshake(addr).await?,
            closing: false,
        })
    }

    async fn handshake(addr: SocketAddr) -> std::io::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends `method path` with `fields` (and a small JSON company for a
    /// `POST` or `PATCH`), and reads the whole response.
    ///
    /// # Errors
    ///
    /// The connection's, or [`http::Error`]s of a method, path or field
    /// that cannot be sent.
    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<Reply, Box<dyn std::error::Error + Send + Sync>> {
        let method = Method::from_bytes(method.as_bytes())?;
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("host", "127.0.0.1");
        let body = if method == Method::POST || method == Method::PATCH {
            request = request.header("content-type", "application/json");
            Bytes::from_static(br#"{"name":"Initech"}"#)
        } else {
            Bytes::new()
        };
        for (name, value) in fields {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        if self.closing || self.sender.is_closed() {
            self.sender = Self::handshake(self.addr).await?;
        }
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let (parts, body) = response.into_parts();
        self.closing = parts
            .headers
            .get(http::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// Shared results of a client's workers.
pub(crate) type Shared = Arc<Mutex<Tally>>;

fn bump(n: &mut u64) {
    *n = n.saturating_add(1);
}

fn tally(shared: &Shared) -> std::sync::MutexGuard<'_, Tally> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Calls as fast as one connection allows, ignoring every rate-limit
/// field, until `until`.
pub(crate) async fn naive(addr: SocketAddr, key: &str, call: Call, until: Instant, out: Shared) {
    let Some(mut conn) = KeyedConnection::open(addr, key, &out).await else {
        return;
    };
    while Instant::now() < until {
        let Some(r) = conn.send(call, &out).await else {
            return;
        };
        tally(&out).record(r.status, &r.headers, &r.body);
    }
}

/// A connection whose every call carries one key as a bearer token; a
/// transport error is counted in the client's tally.
struct KeyedConnection {
    conn: Connection,
    auth: String,
}

impl KeyedConnection {
    async fn open(addr: SocketAddr, key: &str, out: &Shared) -> Option<Self> {
        match Connection::open(addr).await {
            Ok(conn) => Some(Self {
                conn,
                auth: format!("Bearer {key}"),
            }),
            Err(_) => {
                bump(&mut tally(out).transport_errors);
                None
            }
        }
    }

    async fn send(&mut self, call: Call, out: &Shared) -> Option<Reply> {
        let fields = [("authorization", self.auth.as_str())];
        match self.conn.send(call.method, call.path, &fields).await {
            Ok(reply) => Some(reply),
            Err(_) => {
                bump(&mut tally(out).transport_errors);
                None
            }
        }
    }
}

/// The pacer for `workers` workers sharing one key: pre-pace when
/// `X-RateLimit-Remaining` is under the number of workers, so that the
/// calls the other workers may have in flight still fit (no 429 while
/// every slot of a window gets used), with jitter when they are several.
pub(crate) fn pacer(workers: u64) -> Pacer {
    Pacer::builder()
        .threshold(workers.max(1))
        .shared_key(workers > 1)
        .build()
}

/// One worker of the pacing client: calls, then waits as `pacer` says,
/// until `until`.
pub(crate) async fn paced(
    addr: SocketAddr,
    key: &str,
    call: Call,
    pacer: &Pacer,
    until: Instant,
    out: Shared,
) {
    let Some(mut conn) = KeyedConnection::open(addr, key, &out).await else {
        return;
    };
    while Instant::now() < until {
        let Some(Reply {
            status,
            headers,
            body,
        }) = conn.send(call, &out).await
        else {
            return;
        };
        let mut info = RateLimitInfo::new();
        for (name, value) in &headers {
            info.record(name, value);
        }
        let pace = pacer.pace(status.as_u16(), &info, SystemClock.now());
        let wait = {
            let mut t = tally(&out);
            t.record(status, &headers, &body);
            match pace.reason() {
                PaceReason::LowRemaining => {
                    bump(&mut t.low_remaining_waits);
                    pace.wait().saturating_add(CLOCK_ALLOWANCE)
                }
                PaceReason::Proceed => pace.wait(),
                _ => {
                    bump(&mut t.retry_after_waits);
                    let retry = headers
                        .get("retry-after")
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .unwrap_or_default();
                    let at = SystemClock.now().as_secs_f64();
                    t.limited_log
                        .push(format!("429 at unix {at:.3}, Retry-After: {retry}"));
                    pace.wait()
                }
            }
        };
        if !wait.is_zero() {
            let wake = Instant::now().checked_add(wait).unwrap_or(until).min(until);
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// Runs `workers` paced workers on one key (sharing one pacer) until
/// `until`.
pub(crate) async fn paced_workers(
    addr: SocketAddr,
    key: &str,
    call: Call,
    workers: u64,
    until: Instant,
    out: Shared,
) {
    let pacer = Arc::new(pacer(workers));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (key, pacer, out) = (key.to_owned(), Arc::clone(&pacer), Arc::clone(&out));
            tokio::spawn(async move { paced(addr, &key, call, &pacer, until, out).await })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
}

/// Per minute, from a count over `elapsed`.
pub(crate) fn per_minute(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        count as f64 * 60.0 / secs
    } else {
        0.0
    }
}
