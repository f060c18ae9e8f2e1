//! One key's pacing state, and the two decisions made from it: whether a
//! request may go now, and what an answer changes.
//!
//! Sans-I/O: both take the time as an argument ([`Now`]), neither sleeps
//! nor locks; [`keys`](crate::keys) puts a state behind a lock and does
//! the waiting. What the state holds:
//!
//! - **the key's window**, from the latest answer that carried
//!   `X-RateLimit-Remaining` and `X-RateLimit-Reset`. A request may go
//!   while the [`Pacer`] would not pre-pace on that answer with the
//!   requests still in flight taken off `Remaining` (each of them may
//!   already have been counted). When it would, the request waits until
//!   the window ends: `Reset`, plus the reset margin, at most the pacer's
//!   `max_wait` — the pacer's own wait, measured from the answer. Once
//!   the window has ended nothing is known of the next one, so one
//!   request goes alone and the others wait for its answer: several
//!   tasks, or a window that binds after the one that was known, cannot
//!   then overrun a fresh window that has less room than they are many.
//!   Answers for an older window (an earlier `Reset`, arriving late) are
//!   ignored; answers for the same one keep the least `Remaining`.
//! - **a 429's gate**: after a 429, no request on the key goes before the
//!   wait its `Retry-After` asks for has passed, counted from when the
//!   429 arrived; with the pacer's jitter on top for a shared key, drawn
//!   afresh by each waiting request so that they spread out.
//! - **the requests in flight**.
//!
//! An answer without `Remaining` and `Reset` leaves a known window alone;
//! on a key where nothing is known it marks the key as one the server
//! sends no fields for, whose requests go without waiting. With the
//! pacer's threshold at 0 (pre-pacing off) only the gate applies.

use std::time::{Duration, Instant};

use tollgate_client::{Pace, PaceReason, Pacer, RateLimitInfo};

use crate::clock::{self, Now};
use crate::fields;

/// What the state needs of the middleware's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Whether the pacer ever pre-paces (its threshold is not 0).
    pub(crate) pre_pacing: bool,
    /// Added to the end of a window before a paced request goes.
    pub(crate) reset_margin: Duration,
}

impl Settings {
    pub(crate) fn new(pacer: &Pacer, reset_margin: Duration) -> Self {
        // Any threshold above 0 pre-paces on an empty window that resets
        // in the far future.
        let empty = fields::window(0, u64::MAX);
        let pre_pacing =
            pacer.pace_with(200, &empty, Duration::ZERO, 0).reason() != PaceReason::Proceed;
        Self {
            pre_pacing,
            reset_margin,
        }
    }
}

/// Whether a request may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit {
    /// Send it now; it is counted in flight until its answer.
    Go,
    /// Ask again at `until`, of which `jitter` is the random part.
    Sleep { until: Instant, jitter: Duration },
    /// Ask again when a request in flight has its answer.
    AwaitAnswer,
}

/// What is known of the key's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// Nothing: before the key's first answer, and once the window that
    /// was known has ended.
    Unknown,
    /// The server sends no `Remaining` and `Reset` for this key.
    Silent,
    /// The latest window seen: `remaining` requests left when it was
    /// answered, resetting at `reset` (unix seconds); paced requests wait
    /// until `ends`.
    Known {
        remaining: u64,
        reset: u64,
        ends: Instant,
    },
}

/// After a 429: no request goes before `until`. The answer's fields and
/// wall time are kept so that each waiting request draws its own jitter
/// from the pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gate {
    until: Instant,
    info: RateLimitInfo,
    wall: Duration,
}

/// One key's pacing state.
#[derive(Debug)]
pub(crate) struct KeyState {
    window: Window,
    gate: Option<Gate>,
    in_flight: u64,
}

impl KeyState {
    pub(crate) fn new() -> Self {
        Self {
            window: Window::Unknown,
            gate: None,
            in_flight: 0,
        }
    }

    /// Whether a request may go at `now`; if so it is counted in flight.
    pub(crate) fn admit(&mut self, pacer: &Pacer, settings: Settings, now: Now) -> Admit {
        if let Some(gate) = self.gate {
            if gate.until > now.instant {
                let jitter = pacer.pace(429, &gate.info, gate.wall).jitter();
                let until = clock::after(gate.until, jitter);
                return Admit::Sleep { until, jitter };
            }
            self.gate = None;
        }
        self.expire(now.instant);
        match self.window {
            Window::Silent => self.go(),
            Window::Unknown if !settings.pre_pacing || self.in_flight == 0 => self.go(),
            Window::Unknown => Admit::AwaitAnswer,
            Window::Known {
                remaining,
                reset,
                ends,
            } => {
                let left = remaining.saturating_sub(self.in_flight);
                let pace = pacer.pace(200, &fields::window(left, reset), now.wall);
                if pace.reason() == PaceReason::Proceed {
                    self.go()
                } else {
                    let until = clock::after(ends, pace.jitter());
                    Admit::Sleep {
                        until,
                        jitter: pace.jitter(),
                    }
                }
            }
        }
    }

    fn go(&mut self) -> Admit {
        self.in_flight = self.in_flight.saturating_add(1);
        Admit::Go
    }

    /// Forgets a window that has ended.
    fn expire(&mut self, now: Instant) {
        if let Window::Known { ends, .. } = self.window {
            if ends <= now {
                self.window = Window::Unknown;
            }
        }
    }

    /// Takes in the answer to a request that went: its HTTP `status` and
    /// rate-limit fields, at `now`. Returns the pacer's pace for it (a
    /// 429's wait before a retry). The request stays in flight until
    /// [`finished`](Self::finished).
    pub(crate) fn answer(
        &mut self,
        status: u16,
        info: &RateLimitInfo,
        pacer: &Pacer,
        settings: Settings,
        now: Now,
    ) -> Pace {
        let pace = pacer.pace(status, info, now.wall);
        if status == 429 {
            let until = clock::after(now.instant, pace.base());
            if self.gate.is_none_or(|g| g.until < until) {
                self.gate = Some(Gate {
                    until,
                    info: *info,
                    wall: now.wall,
                });
            }
        }
        self.expire(now.instant);
        match (info.remaining(), info.reset()) {
            (Some(remaining), Some(reset)) => self.learn(remaining, reset, pacer, settings, now),
            _ if status != 429 && self.window == Window::Unknown => self.window = Window::Silent,
            _ => {}
        }
        pace
    }

    /// Takes in a window's `remaining` and `reset` from an answer.
    fn learn(&mut self, remaining: u64, reset: u64, pacer: &Pacer, settings: Settings, now: Now) {
        // How long the pacer would hold a request on this window once it
        // runs out: until its reset, at most max_wait; none if it is over.
        let empty = pacer.pace_with(200, &fields::window(0, reset), now.wall, 0);
        if empty.base().is_zero() {
            return;
        }
        let ends = clock::after(
            now.instant,
            empty.base().saturating_add(settings.reset_margin),
        );
        self.window = match self.window {
            Window::Known { reset: known, .. } if known > reset => return,
            Window::Known {
                reset: known,
                remaining: r,
                ends: e,
            } if known == reset => Window::Known {
                remaining: r.min(remaining),
                reset,
                ends: e.max(ends),
            },
            _ => Window::Known {
                remaining,
                reset,
                ends,
            },
        };
    }

    /// A request that went is no longer in flight: answered, failed or
    /// dropped.
    pub(crate) fn finished(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Whether the state holds nothing that a new state would not: no
    /// request in flight, no gate and no window still running at `now`.
    pub(crate) fn is_idle(&self, now: Instant) -> bool {
        let window_over = match self.window {
            Window::Known { ends, .. } => ends <= now,
            Window::Unknown | Window::Silent => true,
        };
        self.in_flight == 0 && self.gate.is_none_or(|g| g.until <= now) && window_over
    }
}

#[cfg(test)]
mod tests;
