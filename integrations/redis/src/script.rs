//! The script every decision runs: it reads every window of one
//! (key, class), admits only if all have room, counts in all or none, and
//! answers with what it read.
//!
//! # The state
//!
//! One Redis string per (key, class), written whole by each admission,
//! as the core's state word is (`src/stamp.rs`): the time of the latest
//! admission and one count per window, big-endian:
//!
//! ```text
//! +-------------+-------------+-------------+-----+
//! | stamp       | length 1    | count 1     | ... |
//! | u64, unix s | u32, s      | u32         |     |
//! +-------------+-------------+-------------+-----+
//! ```
//!
//! Every admission counts in every window at once, so every count is of
//! the window that contains the stamp (window `i` of length `L` covers
//! unix seconds `[i * L, (i + 1) * L)`): one time names every window. Read
//! at `now` as `tollgate::store::WindowCount::at` reads a count, a window
//! that contained the stamp but has ended is empty; a stamp ahead of `now`
//! (written by a server whose clock runs ahead) keeps its windows and
//! their counts. An admission moves the stamp to `max(stamp, now)`, resets
//! the windows that ended and adds what it counts to every count.
//!
//! Windows are found by length, so a policy that changes a class's
//! windows starts the new ones afresh, and servers that disagree on a
//! class's windows (a rolling deploy) share those of the same length:
//! an admission keeps the stored windows of other lengths that are still
//! current with their counts, after its own. Lengths fit `u32` (at most
//! 100 years); counts stay at or below a `u32` limit; stamps are below
//! 2^53 / 1000 seconds (see [`MAX_NOW_MS`]).
//!
//! # A run
//!
//! `ARGV[1]` holds the numbers, big-endian, so that the script reads them
//! with one `struct.unpack`: the cost (`u32`, 0 for a peek), the surplus a
//! lease asks for on top of it (`u32`, 0 without leases), the time in
//! unix milliseconds (`i64`, `-1` to read Redis's `TIME`), the expiry
//! margin in milliseconds (`u64`), then each window's length in seconds
//! and limit (`u32` each), longest first. `ARGV[2]` is the key's time to
//! live in milliseconds (decimal) for an admission that moves the stamp
//! to the time given, as the caller computes it; empty with `TIME`.
//!
//! The cost is admitted if and only if it is at least 1 and every window
//! has room for it; then every window counts the cost plus as much of the
//! surplus as every window has room for, and the key expires (relative
//! `PX`) the margin after the latest window's end. A denial, a peek and a
//! cost above a limit write nothing.
//!
//! The script is written for Redis's cost of running it, which is most of
//! a decision's, and in which every Redis call, every Lua table and every
//! number converted to or from a string counts. There is one script per
//! number of windows, with a local per number, so that a run makes no
//! table unless the state holds other windows than the class's. It reads
//! with `GET`, and writes the new state over the old with `SETRANGE`
//! (which keeps the expiry) while no window opens that ends later;
//! otherwise with `SET ... PX`, with the caller's time to live when the
//! stamp moves to its time (Lua then formats no number).
//!
//! # The reply
//!
//! One string: a byte of flags (1: admitted; 2: the time follows), with
//! `TIME` the time used (`u64`, unix milliseconds), then the state as the
//! script found it (empty for none). Rust reads the counts from it as the
//! script did ([`Reply::parse`](crate::reply::Reply::parse)) and makes the
//! decision with `tollgate::store::decide`, the rule the in-process
//! limiter applies, so the two never drift; a disagreement between the
//! script's admission and the rule's is an error, never a decision.
//!
//! Lua numbers are doubles: exact for the integers used here as long as
//! the time is below 2^53 milliseconds (285,000 years), which the caller
//! checks.

use std::io::Write as _;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Cmd;
use tollgate::policy::ClassPolicy;
use tollgate::Window;

/// The source, with `$NAME` lists filled in for the class's windows and
/// each line that starts with `@` once per window, `@` its number.
const TEMPLATE: &str = r"
local call, sunpack, pack = redis.call, struct.unpack, struct.pack
local cost, surplus, now_ms, margin, $LIMITS = sunpack('$ARGS', ARGV[1])
local timed = now_ms < 0
if timed then
  local t = call('TIME')
  now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local now = (now_ms - now_ms % 1000) / 1000
local key = KEYS[1]
local v = call('GET', key)
local stamp, $COUNTS = 0, $ZEROS
local same, f, m = false, nil, 0
if v then
  if #v == $SIZE then
    local s, $STORED = sunpack('$STATE', v)
    if $SAME then
      same, stamp, $COUNTS = true, s, $FOUND
    end
  end
  if not same then
    m = (#v - 8) / 8
    if m < 0 or m % 1 ~= 0 then
      return redis.error_reply('tollgate: not a window state')
    end
    f = {sunpack('>I8' .. string.rep('I4', 2 * m), v)}
    stamp = f[1]
    for j = 1, m do
      local len, c = f[2 * j], f[2 * j + 1]
      $MATCH
    end
  end
end
@if stamp - stamp % L@ < now - now % L@ then C@ = 0 end
local room, r = 4294967296, 0
@r = M@ - C@ if r < room then room = r end
if cost < 1 or room < cost then
  if timed then return pack('>BI8', 2, now_ms) .. (v or '') end
  return v and '\0' .. v or '\0'
end
local extra = room - cost
if surplus < extra then extra = surplus end
local grant = cost + extra
local t = stamp
if now > t then t = now end
local last, was, e = 0, 0, 0
@e = t - t % L@ + L@ if e > last then last = e end
@e = stamp - stamp % L@ + L@ if e > was then was = e end
local state = pack('$STATE', t, $PACK)
if f then
  for j = 1, m do
    local len, c = f[2 * j], f[2 * j + 1]
    if $OTHER and c > 0 and stamp - stamp % len == t - t % len then
      state = state .. pack('>I4I4', len, c)
      e = t - t % len + len
      if e > last then last = e end
    end
  end
end
if same and last == was then
  call('SETRANGE', key, '0', state)
elseif t == now and not timed and not f then
  call('SET', key, state, 'PX', ARGV[2])
else
  call('SET', key, state, 'PX', last * 1000 - now_ms + margin)
end
if timed then return pack('>BI8', 3, now_ms) .. (v or '') end
return v and '\1' .. v or '\1'
";

/// `pattern` for each window, `@` its number, joined by `sep`.
fn each(windows: usize, pattern: &str, sep: &str) -> String {
    (1..=windows)
        .map(|i| pattern.replace('@', &i.to_string()))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The script's source for a class of `windows` windows.
pub(crate) fn source(windows: usize) -> String {
    let pairs = "I4".repeat(windows.saturating_mul(2));
    let size = windows.saturating_mul(8).saturating_add(8).to_string();
    let lists = [
        ("$ARGS", format!(">I4I4i8I8{pairs}")),
        ("$STATE", format!(">I8{pairs}")),
        ("$SIZE", size),
        ("$LIMITS", each(windows, "L@, M@", ", ")),
        ("$COUNTS", each(windows, "C@", ", ")),
        ("$ZEROS", each(windows, "0", ", ")),
        ("$STORED", each(windows, "l@, c@", ", ")),
        ("$SAME", each(windows, "l@ == L@", " and ")),
        ("$FOUND", each(windows, "c@", ", ")),
        (
            "$MATCH",
            format!(
                "if {} end",
                each(windows, "len == L@ then C@ = c", " elseif ")
            ),
        ),
        ("$OTHER", each(windows, "len ~= L@", " and ")),
        ("$PACK", each(windows, "L@, C@ + grant", ", ")),
    ];
    let mut out = String::with_capacity(TEMPLATE.len().saturating_mul(2));
    for line in TEMPLATE.lines() {
        let line = match line.strip_prefix('@') {
            Some(per_window) => each(windows, per_window, "\n"),
            None => line.to_owned(),
        };
        let line = lists
            .iter()
            .fold(line, |line, (name, list)| line.replace(name, list));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// One script: its source, and its SHA-1 for `EVALSHA`.
#[derive(Debug)]
pub(crate) struct Script {
    pub(crate) code: String,
    pub(crate) sha: String,
}

impl Script {
    fn new(code: String) -> Self {
        let sha = redis::Script::new(&code).get_hash().to_owned();
        Self { code, sha }
    }
}

/// The scripts for 1 to [`ClassPolicy::MAX_WINDOWS`] windows.
static SCRIPTS: LazyLock<Vec<Script>> = LazyLock::new(|| {
    (1..=ClassPolicy::MAX_WINDOWS)
        .map(|n| Script::new(source(n)))
        .collect()
});

/// Every script, for loading.
pub(crate) fn all() -> &'static [Script] {
    &SCRIPTS
}

/// The script for a class of `windows` windows; `None` for none or more
/// than a class may have.
pub(crate) fn for_windows(windows: usize) -> Option<&'static Script> {
    SCRIPTS.get(windows.checked_sub(1)?)
}

/// The largest time the script takes, in unix milliseconds: below 2^53,
/// Lua's doubles hold every integer it computes exactly.
pub(crate) const MAX_NOW_MS: u64 = (1 << 53) - 1;

/// The most bytes of numbers a run is given: 24, and 8 per window.
const MAX_NUMBERS: usize = 24 + 8 * ClassPolicy::MAX_WINDOWS;

/// What one run of the script is asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// The class's windows with the key's limits, longest first.
    pub(crate) windows: &'a [Window],
    /// The cost; 0 for a peek.
    pub(crate) cost: u32,
    /// What a lease asks for on top of the cost.
    pub(crate) surplus: u32,
    /// The time, or `None` for Redis's `TIME`.
    pub(crate) now: Option<Duration>,
    /// How long past its latest window's end a key is kept.
    pub(crate) margin: Duration,
}

impl Ask<'_> {
    /// The arguments after the key, as `ARGV` reads them, written
    /// straight into `cmd`'s buffer.
    pub(crate) fn args(&self, cmd: &mut Cmd) {
        let now_ms = self.now.map(|now| u64::try_from(now.as_millis()));
        let margin = u64::try_from(self.margin.as_millis()).unwrap_or(u64::MAX);
        let time = match now_ms {
            Some(ms) => i64::try_from(ms.unwrap_or(u64::MAX)).unwrap_or(i64::MAX),
            None => -1,
        };
        // Assembled on the stack and written in one piece: the largest
        // class's numbers fill the buffer.
        let mut numbers = [0u8; MAX_NUMBERS];
        let mut free = &mut numbers[..];
        let mut put = |bytes: &[u8]| {
            // Never fails: the buffer holds every class's numbers.
            let _ = free.write_all(bytes);
        };
        put(&self.cost.to_be_bytes());
        put(&self.surplus.to_be_bytes());
        put(&time.to_be_bytes());
        put(&margin.to_be_bytes());
        for w in self.windows {
            let length = u32::try_from(w.length().as_secs()).unwrap_or(u32::MAX);
            put(&length.to_be_bytes());
            put(&w.limit().to_be_bytes());
        }
        let written = MAX_NUMBERS.saturating_sub(free.len());
        cmd.arg(numbers.get(..written).unwrap_or_default());
        match self.now.and_then(|now| self.time_to_live(now, margin)) {
            Some(ttl) => cmd.arg(ttl),
            None => cmd.arg(""),
        };
    }

    /// How many bytes [`args`](Self::args) writes, at most: for sizing
    /// the command.
    pub(crate) fn max_len(&self) -> usize {
        // The numbers (24 bytes, and 8 per window), and the time to live
        // (a u64 has at most 20 digits).
        self.windows.len().saturating_mul(8).saturating_add(44)
    }

    /// The key's time to live in milliseconds after an admission that
    /// moves the stamp to `now`: from `now` to the margin after the
    /// latest end of a window that contains `now`.
    fn time_to_live(&self, now: Duration, margin: u64) -> Option<u64> {
        let secs = now.as_secs();
        let mut ends = None;
        for w in self.windows {
            let length = w.length().as_secs();
            let end = secs
                .checked_div(length)?
                .checked_add(1)?
                .checked_mul(length)?;
            ends = ends.max(Some(end));
        }
        let ends = ends?;
        ends.checked_mul(1000)?
            .checked_sub(u64::try_from(now.as_millis()).ok()?)?
            .checked_add(margin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate::WindowLength;

    fn write() -> [Window; 2] {
        [
            Window::new(60, WindowLength::from_secs(60).unwrap()),
            Window::new(20, WindowLength::from_secs(10).unwrap()),
        ]
    }

    fn args(ask: &Ask<'_>) -> Vec<Vec<u8>> {
        let mut cmd = redis::cmd("EVALSHA");
        ask.args(&mut cmd);
        cmd.args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => b.to_vec(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn arguments_in_order() {
        let windows = write();
        let ask = Ask {
            windows: &windows,
            cost: 2,
            surplus: 5,
            now: Some(Duration::from_millis(1_746_489_600_250)),
            margin: Duration::from_secs(30),
        };
        let mut numbers = Vec::new();
        numbers.extend_from_slice(&2u32.to_be_bytes());
        numbers.extend_from_slice(&5u32.to_be_bytes());
        numbers.extend_from_slice(&1_746_489_600_250i64.to_be_bytes());
        numbers.extend_from_slice(&30_000u64.to_be_bytes());
        for n in [60u32, 60, 10, 20] {
            numbers.extend_from_slice(&n.to_be_bytes());
        }
        // The minute ends 59.75 s later; then the margin.
        assert_eq!(
            args(&ask),
            [b"EVALSHA".to_vec(), numbers, b"89750".to_vec()]
        );
        // Redis's time: -1, and no time to live.
        let a = args(&Ask { now: None, ..ask });
        assert_eq!(a[1][8..16], (-1i64).to_be_bytes());
        assert_eq!(a[2], b"");
    }

    #[test]
    fn the_latest_end_sets_the_time_to_live() {
        // 7 s windows end after the minute at 59 s past it.
        let windows = [
            Window::new(60, WindowLength::from_secs(60).unwrap()),
            Window::new(4, WindowLength::from_secs(7).unwrap()),
        ];
        let ask = Ask {
            windows: &windows,
            cost: 1,
            surplus: 0,
            now: None,
            margin: Duration::from_secs(60),
        };
        let now = Duration::from_secs(1_746_489_600 + 59);
        // 1_746_489_659 / 7 = 249_498_522 r 5: the 7 s window ends 2 s on.
        assert_eq!(ask.time_to_live(now, 60_000), Some(62_000));
    }

    #[test]
    fn one_script_per_window_count() {
        for n in 1..=ClassPolicy::MAX_WINDOWS {
            let s = source(n);
            assert!(!s.contains(['$', '@']), "{n}: {s}");
            assert!(s.contains(&format!("L{n}, M{n}")));
            assert!(!s.contains(&format!("L{}", n + 1)));
            let script = for_windows(n).unwrap();
            assert_eq!(script.code, s);
            assert_eq!(script.sha, redis::Script::new(&s).get_hash());
        }
        assert!(for_windows(0).is_none());
        assert!(for_windows(ClassPolicy::MAX_WINDOWS + 1).is_none());
        let two = source(2);
        assert!(
            two.contains("sunpack('>I4I4i8I8I4I4I4I4', ARGV[1])"),
            "{two}"
        );
        assert!(two.contains("if l1 == L1 and l2 == L2 then"), "{two}");
        assert!(two.contains("pack('>I8I4I4I4I4', t, L1, C1 + grant, L2, C2 + grant)"));
    }
}
