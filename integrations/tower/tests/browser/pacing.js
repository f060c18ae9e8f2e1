// A page on another origin than the API's, pacing its calls the way the
// API's rate-limit documentation tells clients to: pre-pace on
// X-RateLimit-Remaining (wait until X-RateLimit-Reset when it runs low),
// and after a 429 wait Retry-After, plus 0-500 ms of jitter because the
// workers share one key. Several workers (async loops) per key call
// POST /v1/companies with fetch until the run ends; every call, the
// fields read from it and the wait that followed go back to the test, as
// JSON posted to /report on the page's own origin.
//
// GET /config (the page's origin) gives:
//   api       the API's origin, "http://127.0.0.1:PORT"
//   align_ms  the run starts at a multiple of this (unix milliseconds):
//             the longest window of the policy, so that the run sees
//             that window open and close
//   run_ms    how long the workers start new calls
//   groups    [{ key, workers, threshold }]: the workers sharing a key,
//             and the Remaining under which they pre-pace
"use strict";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worker(api, group, id, end) {
  let n = 0;
  while (Date.now() < end) {
    n += 1;
    const requestId = `${group.key}-${id}-${n}`;
    const call = { worker: id, request_id: requestId, sent: Date.now() };
    group.calls.push(call);
    let res;
    try {
      res = await fetch(`${api}/v1/companies`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${group.key}`,
          "Content-Type": "application/json",
          "X-Request-Id": requestId,
        },
        body: JSON.stringify({ name: requestId }),
      });
      call.received = Date.now();
      call.status = res.status;
      call.limit = res.headers.get("X-RateLimit-Limit");
      call.remaining = res.headers.get("X-RateLimit-Remaining");
      call.reset = res.headers.get("X-RateLimit-Reset");
      call.retry_after = res.headers.get("Retry-After");
      call.echoed_id = res.headers.get("X-Request-Id");
      const text = await res.text();
      call.body = res.status === 429 ? JSON.parse(text) : null;
    } catch (e) {
      // A refused preflight or a response CORS hides: fetch rejects.
      call.error = String(e);
      return;
    }

    // Retrying after a 429: honour Retry-After literally, with a small
    // random jitter on top, since the workers share one key.
    if (res.status === 429) {
      const retryAfter = Number(res.headers.get("Retry-After") ?? "1");
      const jitter = Math.random() * 500;
      call.wait = { kind: "retry", ms: retryAfter * 1000 + jitter };
      await sleep(retryAfter * 1000 + jitter);
      continue; // retry the same request
    }

    // Pacing strategy: pre-pace on X-RateLimit-Remaining rather than
    // wait for the 429.
    const remaining = Number(res.headers.get("X-RateLimit-Remaining") ?? "0");
    const reset = Number(res.headers.get("X-RateLimit-Reset") ?? "0");
    if (remaining < group.threshold) {
      const wait = Math.max(0, reset * 1000 - Date.now());
      call.wait = { kind: "pace", ms: wait };
      await sleep(wait);
    }
  }
}

async function run() {
  const config = await (await fetch("/config")).json();
  const start = Math.ceil(Date.now() / config.align_ms) * config.align_ms;
  await sleep(start - Date.now());
  const end = start + config.run_ms;
  const groups = config.groups.map((g) => ({ ...g, calls: [] }));
  const workers = groups.flatMap((g) =>
    Array.from({ length: g.workers }, (_, id) => worker(config.api, g, id, end)),
  );
  await Promise.all(workers);
  return { start, end, groups, error: null };
}

function report(result) {
  return fetch("/report", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(result),
  });
}

run().then(report, (e) => report({ start: 0, end: 0, groups: [], error: String(e) }));
