//! The page's report, and what the test makes of it: every breach of the
//! expectations in the test's docs, by kind.

use std::collections::BTreeMap;
use std::fmt::{self, Display};

use serde::Deserialize;
use serde_json::{json, Value};

/// What the page reports.
#[derive(Debug, Deserialize)]
pub(crate) struct Report {
    /// When the run started, unix milliseconds.
    pub(crate) start: u64,
    pub(crate) groups: Vec<Group>,
    /// Why the page could not run, if it could not.
    pub(crate) error: Option<String>,
}

/// The workers sharing one key, and their calls.
#[derive(Debug, Deserialize)]
pub(crate) struct Group {
    pub(crate) key: String,
    /// The Remaining under which the workers pre-pace.
    pub(crate) threshold: u64,
    pub(crate) calls: Vec<Call>,
}

/// One call, as the page saw it; each field as `fetch` gave it (`None`
/// for `null`).
#[derive(Debug, Deserialize)]
pub(crate) struct Call {
    worker: u32,
    request_id: String,
    /// `Date.now()` when it was sent and answered, unix milliseconds.
    sent: u64,
    received: Option<u64>,
    status: Option<u16>,
    limit: Option<String>,
    remaining: Option<String>,
    reset: Option<String>,
    retry_after: Option<String>,
    echoed_id: Option<String>,
    body: Option<Value>,
    wait: Option<Wait>,
    /// Why `fetch` rejected, if it did.
    error: Option<String>,
}

/// The wait after a call: `pace` (until `X-RateLimit-Reset`) or `retry`
/// (`Retry-After` and jitter), in milliseconds.
#[derive(Debug, Deserialize)]
struct Wait {
    kind: String,
    ms: f64,
}

/// What the test expects of the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expect {
    /// `X-RateLimit-Limit` on every response.
    pub(crate) limit: u64,
    /// The shortest window's length: a reset further than this from a
    /// response is a longer window's.
    pub(crate) burst_ms: u64,
    /// The most jitter the page adds to `Retry-After`.
    pub(crate) jitter_ms: f64,
    /// How far apart the page's clock and the timer it sleeps on may
    /// round.
    pub(crate) slack_ms: u64,
}

/// What one group's calls show.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) admitted: u64,
    pub(crate) refused: u64,
    /// Waits until `X-RateLimit-Reset` because Remaining ran low.
    pub(crate) pace_waits: u64,
    /// Those of them for a window longer than the shortest.
    pub(crate) window_waits: u64,
    /// Breaches, by kind: request ids and details.
    pub(crate) problems: BTreeMap<&'static str, Vec<String>>,
}

/// A field as a number, or `None` when it is missing or not one.
fn number(field: Option<&String>) -> Option<u64> {
    field.and_then(|v| v.parse().ok())
}

impl Findings {
    fn problem(&mut self, kind: &'static str, call: &Call, detail: impl Display) {
        self.problems
            .entry(kind)
            .or_default()
            .push(format!("{} ({detail})", call.request_id));
    }

    /// Every call of `group`, worker by worker.
    pub(crate) fn of(group: &Group, expect: Expect) -> Self {
        let mut f = Self::default();
        let mut by_worker: BTreeMap<u32, Vec<&Call>> = BTreeMap::new();
        for call in &group.calls {
            by_worker.entry(call.worker).or_default().push(call);
        }
        // 429s per (worker, window), the window told by the 429's reset.
        let mut refusals: BTreeMap<(u32, u64), Vec<&Call>> = BTreeMap::new();
        for calls in by_worker.values() {
            for (i, call) in calls.iter().enumerate() {
                let next = calls.get(i.saturating_add(1)).copied();
                if let Some(reset) = f.call(group.threshold, expect, call, next) {
                    refusals.entry((call.worker, reset)).or_default().push(call);
                }
            }
        }
        for ((_, reset), calls) in refusals {
            if let [_, again, ..] = calls[..] {
                f.problem("a worker met two 429s in one window", again, reset);
            }
        }
        f
    }

    /// One call and the wait after it, `next` the worker's next call;
    /// the reset of a 429.
    fn call(
        &mut self,
        threshold: u64,
        expect: Expect,
        call: &Call,
        next: Option<&Call>,
    ) -> Option<u64> {
        if let Some(error) = &call.error {
            self.problem("fetch failed", call, error);
            return None;
        }
        match call.status {
            Some(201) => self.admitted = self.admitted.saturating_add(1),
            Some(429) => self.refused = self.refused.saturating_add(1),
            other => self.problem("a status other than 201 or 429", call, fmt_option(other)),
        }
        let fields = (
            number(call.limit.as_ref()),
            number(call.remaining.as_ref()),
            number(call.reset.as_ref()),
        );
        let (Some(limit), Some(remaining), Some(reset)) = fields else {
            let detail = format!(
                "X-RateLimit-Limit {:?}, -Remaining {:?}, -Reset {:?}",
                call.limit, call.remaining, call.reset
            );
            self.problem("X-RateLimit fields not read", call, detail);
            return None;
        };
        if limit != expect.limit {
            self.problem("a wrong X-RateLimit-Limit", call, limit);
        }
        let received = call.received.unwrap_or(call.sent);
        if call.status == Some(429) {
            if remaining != 0 {
                self.problem("a 429 with room left", call, remaining);
            }
            self.refusal(expect, call, next, received);
            return Some(reset);
        }
        if remaining >= threshold {
            if call.wait.is_some() {
                self.problem("a wait with room left", call, remaining);
            }
            return None;
        }
        // Remaining ran low: the worker waits until the reset.
        let reset_ms = reset.saturating_mul(1_000);
        match &call.wait {
            Some(w) if w.kind == "pace" => {
                self.pace_waits = self.pace_waits.saturating_add(1);
                if reset_ms > received.saturating_add(expect.burst_ms) {
                    self.window_waits = self.window_waits.saturating_add(1);
                }
                if let Some(next) = next {
                    if next.sent.saturating_add(expect.slack_ms) < reset_ms {
                        self.problem("a call before the reset it waited for", next, reset);
                    }
                }
            }
            other => self.problem("no wait with Remaining low", call, format!("{other:?}")),
        }
        None
    }

    /// A 429: every field read, the body the layer's, and `Retry-After`
    /// honoured before the worker's next call.
    fn refusal(&mut self, expect: Expect, call: &Call, next: Option<&Call>, received: u64) {
        let Some(retry_after) = number(call.retry_after.as_ref()) else {
            self.problem(
                "Retry-After not read",
                call,
                fmt_option(call.retry_after.as_ref()),
            );
            return;
        };
        if call.echoed_id.as_deref() != Some(call.request_id.as_str()) {
            self.problem(
                "X-Request-Id not read",
                call,
                fmt_option(call.echoed_id.as_ref()),
            );
        }
        let windows = [
            json!({"limit": 20, "window": "1s"}),
            json!({"limit": 60, "window": "6s"}),
        ];
        let error = call.body.as_ref().map(|b| &b["error"]);
        let expected = error.is_some_and(|e| {
            e["code"] == "rate_limited"
                && e["request_id"] == call.request_id.as_str()
                && windows.contains(&e["details"])
        });
        if !expected {
            self.problem(
                "a 429 body not the layer's",
                call,
                fmt_option(call.body.as_ref()),
            );
        }
        let wait_ms = retry_after.saturating_mul(1_000);
        #[expect(clippy::cast_precision_loss, reason = "seconds of a short run")]
        let jitter = call.wait.as_ref().map(|w| w.ms - wait_ms as f64);
        match (&call.wait, jitter) {
            (Some(w), Some(jitter))
                if w.kind == "retry" && (0.0..expect.jitter_ms).contains(&jitter) => {}
            (other, _) => self.problem(
                "Retry-After not honoured",
                call,
                format!("Retry-After {retry_after}, wait {other:?}"),
            ),
        }
        if let Some(next) = next {
            if next.sent.saturating_add(expect.slack_ms) < received.saturating_add(wait_ms) {
                let after = next.sent.saturating_sub(received);
                self.problem(
                    "a call before Retry-After",
                    next,
                    format!("{after} ms after a Retry-After of {retry_after}"),
                );
            }
        }
    }
}

fn fmt_option(value: Option<impl fmt::Debug>) -> String {
    value.map_or_else(|| "null".to_owned(), |v| format!("{v:?}"))
}
