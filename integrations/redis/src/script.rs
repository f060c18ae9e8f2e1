//! The one script every decision runs: it reads every window of one
//! (key, class), admits only if all have room, counts in all or none, and
//! returns what the decision needs.
//!
//! The script keeps one Redis hash per (key, class), with two fields per
//! window, named by the window's length in seconds: `"<L>"` holds the
//! window's index (window `i` of length `L` covers unix seconds
//! `[i * L, (i + 1) * L)`) and `"<L>n"` the cost admitted in it. Fields of
//! a length the class no longer has are left alone, so a policy that
//! changes a class's windows starts those afresh.
//!
//! `ARGV`: the cost (0 for a peek), the surplus a lease asks for on top of
//! it (0 without leases), the time in unix milliseconds (`-1`: read Redis's
//! `TIME`), the expiry margin in milliseconds, then each window's length
//! in seconds and limit, longest first.
//!
//! Each window is read as `tollgate::store::WindowCount::at` reads it: a
//! stored index older than the current one is an empty current window; a
//! newer one (written by a server whose clock runs ahead) keeps counting.
//! The cost is admitted if and only if it is at least 1 and every window
//! has room for it; then every window counts the cost plus as much of the
//! surplus as every window has room for, and the key expires (`PEXPIRE`,
//! relative) the margin after the latest window's end. A denial, a peek
//! and a cost above a limit write nothing.
//!
//! The script is written for Redis's cost of running it, which is most of
//! a decision's: a window still current only has its count raised
//! (`HINCRBY` by the cost's own argument), and only a window that opens
//! is written whole and moves the expiry (which is otherwise already the
//! margin after the same windows' end). Formatting a Lua number as a
//! string takes about as long as a Redis command, so that happens only
//! when a window opens or a lease is granted.
//!
//! The reply is `[admitted, now_ms, granted, index_1, count_1, ...]`:
//! whether it counted, the time it used, what it counted (the cost and
//! the part of the surplus granted), and each window as found before the
//! check. Rust then makes the decision from those counts with
//! `tollgate::store::decide`, the rule the in-process limiter applies, so
//! the two never drift; a disagreement between the script's `admitted` and
//! the rule's is an error, never a decision.
//!
//! Lua numbers are doubles: exact for the integers used here as long as
//! the time is below 2^53 milliseconds (285,000 years), which the caller
//! checks, and counts stay below 2^33.

use std::time::Duration;

use redis::{Cmd, Script};
use tollgate::store::WindowCount;
use tollgate::Window;

/// The script's source.
pub(crate) const SOURCE: &str = r"
local tonumber, floor, call = tonumber, math.floor, redis.call
local cost = tonumber(ARGV[1])
local surplus = tonumber(ARGV[2])
local now_ms = tonumber(ARGV[3])
if now_ms < 0 then
  local t = call('TIME')
  now_ms = tonumber(t[1]) * 1000 + floor(tonumber(t[2]) / 1000)
end
local now = floor(now_ms / 1000)
local key = KEYS[1]
local n = (#ARGV - 4) / 2
local fields = {}
for i = 1, n do
  local len = ARGV[3 + 2 * i]
  fields[2 * i - 1] = len
  fields[2 * i] = len .. 'n'
end
local stored = call('HMGET', key, unpack(fields))
local reply = {0, now_ms, 0}
local fits = cost > 0
local room = nil
local last = 0
local fresh = {}
for i = 1, n do
  local len = tonumber(ARGV[3 + 2 * i])
  local index = floor(now / len)
  local count = 0
  local si = tonumber(stored[2 * i - 1])
  if si and si >= index then
    index = si
    count = tonumber(stored[2 * i]) or 0
  else
    fresh[i] = true
  end
  reply[2 + 2 * i] = index
  reply[3 + 2 * i] = count
  local left = tonumber(ARGV[4 + 2 * i]) - count
  if left < cost then fits = false end
  if room == nil or left < room then room = left end
  local ends = (index + 1) * len * 1000
  if ends > last then last = ends end
end
if fits then
  local grant = cost + math.min(surplus, room - cost)
  local by = ARGV[1]
  if grant ~= cost then by = string.format('%d', grant) end
  local opened = false
  for i = 1, n do
    if fresh[i] then
      opened = true
      call('HSET', key, fields[2 * i - 1], string.format('%d', reply[2 + 2 * i]), fields[2 * i], by)
    else
      call('HINCRBY', key, fields[2 * i], by)
    end
  end
  if opened then
    call('PEXPIRE', key, string.format('%d', last - now_ms + tonumber(ARGV[4])))
  end
  reply[1] = 1
  reply[3] = grant
end
return reply
";

/// The largest time the script takes, in unix milliseconds: below 2^53,
/// Lua's doubles hold every integer it computes exactly.
pub(crate) const MAX_NOW_MS: u64 = (1 << 53) - 1;

/// The script, with its SHA-1 for `EVALSHA`.
pub(crate) fn script() -> Script {
    Script::new(SOURCE)
}

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
    /// The arguments after the key, as `ARGV` reads them.
    pub(crate) fn args(&self, cmd: &mut Cmd) {
        let now = match self.now {
            Some(now) => i64::try_from(now.as_millis()).unwrap_or(i64::MAX),
            None => -1,
        };
        let margin = u64::try_from(self.margin.as_millis()).unwrap_or(u64::MAX);
        cmd.arg(self.cost).arg(self.surplus).arg(now).arg(margin);
        for w in self.windows {
            cmd.arg(w.length().as_secs()).arg(w.limit());
        }
    }
}

/// What a run of the script answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    /// Whether it counted.
    pub(crate) admitted: bool,
    /// The time it used.
    pub(crate) now: Duration,
    /// What it counted in every window: the cost and the surplus granted.
    pub(crate) granted: u32,
    /// Each window before the check, longest first.
    pub(crate) counts: Vec<WindowCount>,
}

impl Reply {
    /// Reads the script's reply for `windows` windows; `None` for a reply
    /// of another shape.
    pub(crate) fn parse(values: &[i64], windows: usize) -> Option<Self> {
        let (head, rest) = values.split_at_checked(3)?;
        if rest.len() != windows.checked_mul(2)? {
            return None;
        }
        let counts = rest
            .chunks_exact(2)
            .map(|pair| {
                Some(WindowCount {
                    index: u64::try_from(pair[0]).ok()?,
                    count: u32::try_from(pair[1]).ok()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            admitted: match head[0] {
                0 => false,
                1 => true,
                _ => return None,
            },
            now: Duration::from_millis(u64::try_from(head[1]).ok()?),
            granted: u32::try_from(head[2]).ok()?,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_of_every_shape() {
        let r = Reply::parse(&[1, 1_500, 3, 25, 7, 150, 2], 2).unwrap();
        assert_eq!(
            r,
            Reply {
                admitted: true,
                now: Duration::from_millis(1_500),
                granted: 3,
                counts: vec![
                    WindowCount {
                        index: 25,
                        count: 7
                    },
                    WindowCount {
                        index: 150,
                        count: 2
                    }
                ],
            }
        );
        // Too short, too long, a window missing, bad flags and numbers.
        assert_eq!(Reply::parse(&[1, 1], 0), None);
        assert_eq!(Reply::parse(&[1, 1, 1, 2, 3], 2), None);
        assert_eq!(Reply::parse(&[1, 1, 1, 2, 3, 4], 1), None);
        assert_eq!(Reply::parse(&[2, 1, 1, 2, 3], 1), None);
        assert_eq!(Reply::parse(&[0, -1, 1, 2, 3], 1), None);
        assert_eq!(Reply::parse(&[0, 1, 1, -2, 3], 1), None);
        assert_eq!(Reply::parse(&[0, 1, 1, 2, 1 << 40], 1), None);
    }

    #[test]
    fn arguments_in_order() {
        let windows = [
            Window::new(60, tollgate::WindowLength::from_secs(60).unwrap()),
            Window::new(20, tollgate::WindowLength::from_secs(10).unwrap()),
        ];
        let mut cmd = redis::cmd("EVALSHA");
        Ask {
            windows: &windows,
            cost: 2,
            surplus: 5,
            now: Some(Duration::from_millis(1_746_489_600_250)),
            margin: Duration::from_secs(30),
        }
        .args(&mut cmd);
        let args: Vec<String> = cmd
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(
            args,
            [
                "EVALSHA",
                "2",
                "5",
                "1746489600250",
                "30000",
                "60",
                "60",
                "10",
                "20"
            ]
        );
    }
}
