//! The pacer through the public API: pre-pacing, `Retry-After`, the cap
//! and the jitter.
//!
//! Checked here:
//! - every row of `TABLE`: (status, header values, now, configuration,
//!   random input) -> the whole wait and its reason;
//! - the jitter stays within [base, base + max] for any random input and
//!   from the pacer's own generator;
//! - headers walked one by one give what the values given at once give;
//! - no header bytes, status or time make the pacer panic or wait past
//!   `max_wait` plus the jitter;
//! - every second from 1970 to 9999 written as an HTTP-date, in each of
//!   its three forms, reads back as itself.
//!
//! That the core limiter's own headers pace a client is checked in
//! `integrations/tower/tests/pacing.rs`, which depends on both crates.

use std::time::Duration;

use proptest::prelude::*;
use tollgate_client::{PaceReason, Pacer, PacerBuilder, RateLimitInfo};

/// 2025-05-06T00:00:00Z, a Tuesday and a minute boundary.
const T: u64 = 1_746_489_600;
const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const HOUR: Duration = Duration::from_secs(3_600);
/// The largest jitter a shared pacer adds by default.
const JITTER: Duration = Duration::from_millis(500);

/// `ms` milliseconds after `T`, as a `now`.
const fn at(ms: u64) -> Duration {
    Duration::from_secs(T).saturating_add(Duration::from_millis(ms))
}

/// The time of the rows that do not set one: `T` + 42.5 s, so that a reset
/// at `T` + 60 is 17.5 s away, as in the original API page's example.
const NOW: Duration = at(42_500);

fn solo(b: PacerBuilder) -> PacerBuilder {
    b
}
fn shared(b: PacerBuilder) -> PacerBuilder {
    b.shared_key(true)
}
fn shared_100ms(b: PacerBuilder) -> PacerBuilder {
    b.shared_key(true).jitter(Duration::from_millis(100))
}
fn shared_capped(b: PacerBuilder) -> PacerBuilder {
    b.shared_key(true).max_wait(Duration::from_secs(10))
}
fn threshold_10(b: PacerBuilder) -> PacerBuilder {
    b.threshold(10)
}
fn threshold_0(b: PacerBuilder) -> PacerBuilder {
    b.threshold(0)
}
fn capped_10s(b: PacerBuilder) -> PacerBuilder {
    b.max_wait(Duration::from_secs(10))
}
fn uncapped(b: PacerBuilder) -> PacerBuilder {
    b.max_wait(Duration::MAX)
}
fn default_5s(b: PacerBuilder) -> PacerBuilder {
    b.default_retry_after(Duration::from_secs(5))
}

#[derive(Clone, Copy)]
struct Row {
    name: &'static str,
    status: u16,
    limit: Option<&'static [u8]>,
    remaining: Option<&'static [u8]>,
    reset: Option<&'static [u8]>,
    retry_after: Option<&'static [u8]>,
    now: Duration,
    config: fn(PacerBuilder) -> PacerBuilder,
    random: u64,
    wait: Duration,
    reason: PaceReason,
}

/// A 200 without rate-limit headers, for one worker, at `NOW`.
const OK: Row = Row {
    name: "",
    status: 200,
    limit: None,
    remaining: None,
    reset: None,
    retry_after: None,
    now: NOW,
    config: solo,
    random: u64::MAX,
    wait: Duration::ZERO,
    reason: PaceReason::Proceed,
};
/// The original API page's pre-pacing example: 3 left, reset at `T` + 60.
const LOW: Row = Row {
    limit: Some(b"60"),
    remaining: Some(b"3"),
    reset: Some(b"1746489660"),
    wait: Duration::from_millis(17_500),
    reason: PaceReason::LowRemaining,
    ..OK
};
/// A 429 that says nothing more.
const LIMITED: Row = Row {
    status: 429,
    wait: SEC,
    reason: PaceReason::DefaultRetryAfter,
    ..OK
};
/// The original API page's 429: `Retry-After: 18`.
const RETRY: Row = Row {
    retry_after: Some(b"18"),
    wait: Duration::from_secs(18),
    reason: PaceReason::RetryAfter,
    ..LIMITED
};

// One row per line, so the table reads as a table.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // No rate-limit headers at all.
    Row { name: "no headers", ..OK },
    Row { name: "no headers, shared", config: shared, ..OK },
    // Pre-pacing: the original example and its threshold.
    Row { name: "origin example", ..LOW },
    Row { name: "remaining 4", remaining: Some(b"4"), ..LOW },
    Row { name: "remaining 0", remaining: Some(b"0"), ..LOW },
    Row { name: "remaining 5 is not under 5", remaining: Some(b"5"), ..OK },
    Row { name: "origin headers: 47 left", remaining: Some(b"47"), reset: Some(b"1746489660"), ..OK },
    Row { name: "threshold 10", remaining: Some(b"7"), config: threshold_10, ..LOW },
    Row { name: "threshold 0 turns it off", remaining: Some(b"0"), reset: Some(b"1746489660"), config: threshold_0, ..OK },
    Row { name: "pre-pacing on a 500 too", status: 500, ..LOW },
    Row { name: "to the nanosecond", now: Duration::new(T + 59, 999_999_999), wait: Duration::from_nanos(1), ..LOW },
    Row { name: "at the reset", now: at(60_000), wait: Duration::ZERO, ..LOW },
    Row { name: "reset in the past", reset: Some(b"1746489600"), wait: Duration::ZERO, ..LOW },
    Row { name: "reset 0", reset: Some(b"0"), wait: Duration::ZERO, ..LOW },
    Row { name: "reset as a delta is long past", reset: Some(b"30"), wait: Duration::ZERO, ..LOW },
    Row { name: "reset an hour and a bit away is capped", reset: Some(b"1746493300"), wait: HOUR, ..LOW },
    Row { name: "reset far in the future is capped", reset: Some(b"99999999999"), wait: HOUR, ..LOW },
    Row { name: "reset past u64 saturates, capped", reset: Some(b"99999999999999999999999999"), wait: HOUR, ..LOW },
    Row { name: "reset with a lower cap", config: capped_10s, wait: Duration::from_secs(10), ..LOW },
    Row { name: "reset under a lower cap", reset: Some(b"1746489650"), config: capped_10s, wait: Duration::from_millis(7_500), ..LOW },
    Row { name: "reset uncapped", reset: Some(b"1746493300"), config: uncapped, wait: Duration::from_millis(3_657_500), ..LOW },
    // Malformed or odd X-RateLimit-Reset.
    Row { name: "reset missing", remaining: Some(b"0"), reset: None, ..OK },
    Row { name: "reset empty", remaining: Some(b"0"), reset: Some(b""), ..OK },
    Row { name: "reset blank", remaining: Some(b"0"), reset: Some(b" \t "), ..OK },
    Row { name: "reset negative", remaining: Some(b"0"), reset: Some(b"-1746489660"), ..OK },
    Row { name: "reset plus sign", remaining: Some(b"0"), reset: Some(b"+1746489660"), ..OK },
    Row { name: "reset exponent", remaining: Some(b"0"), reset: Some(b"1.74648966e9"), ..OK },
    Row { name: "reset text", remaining: Some(b"0"), reset: Some(b"soon"), ..OK },
    Row { name: "reset non-UTF-8", remaining: Some(b"0"), reset: Some(b"17464\xff89660"), ..OK },
    Row { name: "reset inner space", remaining: Some(b"0"), reset: Some(b"1746 489660"), ..OK },
    Row { name: "reset spaces and tabs around", reset: Some(b" \t1746489660\t "), ..LOW },
    Row { name: "reset fraction rounds up", reset: Some(b"1746489659.2"), ..LOW },
    Row { name: "reset whole fraction", reset: Some(b"1746489660.000"), ..LOW },
    Row { name: "reset repeated", reset: Some(b"1746489660, 1746489660"), ..LOW },
    Row { name: "reset list keeps the latest", reset: Some(b"1746489650,1746489660"), ..LOW },
    Row { name: "reset list skips junk", reset: Some(b"junk, 1746489660, "), ..LOW },
    // Malformed or odd X-RateLimit-Remaining.
    Row { name: "remaining missing", remaining: None, reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining empty", remaining: Some(b""), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining negative", remaining: Some(b"-1"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining plus sign", remaining: Some(b"+1"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining non-UTF-8", remaining: Some(b"\xc3\x28"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining huge saturates", remaining: Some(b"184467440737095516160"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining fraction rounds down", remaining: Some(b"4.9"), ..LOW },
    Row { name: "remaining 5.5 is 5", remaining: Some(b"5.5"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining repeated", remaining: Some(b"5, 5"), reset: Some(b"1746489660"), ..OK },
    Row { name: "remaining list keeps the least", remaining: Some(b"5, 3"), ..LOW },
    Row { name: "remaining list skips junk", remaining: Some(b"x,3,"), ..LOW },
    Row { name: "limit is not consulted", limit: Some(b"junk"), ..LOW },
    // 429: Retry-After as sent.
    Row { name: "origin 429", ..RETRY },
    Row { name: "retry-after 0", retry_after: Some(b"0"), wait: Duration::ZERO, ..RETRY },
    Row { name: "retry-after spaces", retry_after: Some(b" 18\t"), ..RETRY },
    Row { name: "retry-after fraction rounds up", retry_after: Some(b"17.01"), ..RETRY },
    Row { name: "retry-after repeated", retry_after: Some(b"18, 18"), ..RETRY },
    Row { name: "retry-after list keeps the longest", retry_after: Some(b"3,18 ,9"), ..RETRY },
    Row { name: "retry-after list skips junk", retry_after: Some(b"-4, 18, x"), ..RETRY },
    Row { name: "retry-after over the cap", retry_after: Some(b"86400"), wait: HOUR, ..RETRY },
    Row { name: "retry-after saturates", retry_after: Some(b"99999999999999999999999"), wait: HOUR, ..RETRY },
    Row { name: "retry-after uncapped", retry_after: Some(b"86400"), config: uncapped, wait: Duration::from_secs(86_400), ..RETRY },
    Row { name: "retry-after saturated uncapped", retry_after: Some(b"99999999999999999999999"), config: uncapped, wait: Duration::from_secs(u64::MAX), ..RETRY },
    Row { name: "retry-after under a lower cap", config: capped_10s, wait: Duration::from_secs(10), ..RETRY },
    Row { name: "429 ignores the X- fields", remaining: Some(b"0"), reset: Some(b"1746489700"), ..RETRY },
    // 429: Retry-After as an HTTP-date.
    Row { name: "date ahead", retry_after: Some(b"Tue, 06 May 2025 00:01:00 GMT"), wait: Duration::from_millis(17_500), ..RETRY },
    Row { name: "date ahead, RFC 850", retry_after: Some(b"Tuesday, 06-May-25 00:01:00 GMT"), wait: Duration::from_millis(17_500), ..RETRY },
    Row { name: "date ahead, asctime", retry_after: Some(b"Tue May  6 00:01:00 2025"), wait: Duration::from_millis(17_500), ..RETRY },
    Row { name: "date now", retry_after: Some(b"Tue, 06 May 2025 00:00:42 GMT"), wait: Duration::ZERO, ..RETRY },
    Row { name: "date past", retry_after: Some(b"Wed, 21 Oct 2015 07:28:00 GMT"), wait: Duration::ZERO, ..RETRY },
    Row { name: "date before 1970", retry_after: Some(b"Wed, 31 Dec 1969 23:59:59 GMT"), wait: Duration::ZERO, ..RETRY },
    Row { name: "date far ahead is capped", retry_after: Some(b"Fri, 31 Dec 9999 23:59:59 GMT"), wait: HOUR, ..RETRY },
    Row { name: "date or delay, the later", retry_after: Some(b"Tue, 06 May 2025 00:01:00 GMT, 20"), wait: Duration::from_secs(20), ..RETRY },
    Row { name: "date repeated", retry_after: Some(b"Tue, 06 May 2025 00:01:00 GMT, Tue, 06 May 2025 00:00:50 GMT"), wait: Duration::from_millis(17_500), ..RETRY },
    // 429: Retry-After missing or malformed -> 1 s.
    Row { name: "429 alone", ..LIMITED },
    Row { name: "429 with only a reset", remaining: Some(b"0"), reset: Some(b"1746489700"), ..LIMITED },
    Row { name: "retry-after empty", retry_after: Some(b""), ..LIMITED },
    Row { name: "retry-after blank", retry_after: Some(b"  "), ..LIMITED },
    Row { name: "retry-after negative", retry_after: Some(b"-18"), ..LIMITED },
    Row { name: "retry-after plus sign", retry_after: Some(b"+18"), ..LIMITED },
    Row { name: "retry-after unit", retry_after: Some(b"18s"), ..LIMITED },
    Row { name: "retry-after text", retry_after: Some(b"later"), ..LIMITED },
    Row { name: "retry-after non-UTF-8", retry_after: Some(b"\xff\xfe18"), ..LIMITED },
    Row { name: "retry-after comma only", retry_after: Some(b" , ,"), ..LIMITED },
    Row { name: "date in UTC", retry_after: Some(b"Tue, 06 May 2025 00:01:00 UTC"), ..LIMITED },
    Row { name: "date that does not exist", retry_after: Some(b"Thu, 31 Apr 2025 00:01:00 GMT"), ..LIMITED },
    Row { name: "date with a two-digit year", retry_after: Some(b"Tue, 06 May 25 00:01:00 GMT"), ..LIMITED },
    Row { name: "default of 5 s", config: default_5s, wait: Duration::from_secs(5), ..LIMITED },
    Row { name: "default under a lower cap", config: capped_10s, ..LIMITED },
    // Retry-After is for 429s only.
    Row { name: "200 with retry-after", retry_after: Some(b"18"), ..OK },
    Row { name: "503 with retry-after", status: 503, retry_after: Some(b"18"), ..OK },
    // Jitter: only for a shared key, only on top, only when waiting.
    Row { name: "solo: no jitter", ..RETRY },
    Row { name: "shared, random 0", config: shared, random: 0, ..RETRY },
    Row { name: "shared, random max", config: shared, wait: Duration::from_millis(18_500), ..RETRY },
    Row { name: "shared, random half", config: shared, random: 1 << 63, wait: Duration::from_millis(18_250), ..RETRY },
    Row { name: "shared default", config: shared, wait: Duration::from_millis(1_500), ..LIMITED },
    Row { name: "shared zero retry-after", config: shared, retry_after: Some(b"0"), wait: JITTER, ..RETRY },
    Row { name: "shared date past", config: shared, retry_after: Some(b"Wed, 21 Oct 2015 07:28:00 GMT"), wait: JITTER, ..RETRY },
    Row { name: "shared pre-pacing", config: shared, wait: Duration::from_millis(18_000), ..LOW },
    Row { name: "shared reset past", config: shared, reset: Some(b"1746489600"), wait: JITTER, ..LOW },
    Row { name: "shared 100 ms", config: shared_100ms, wait: Duration::from_millis(18_100), ..RETRY },
    Row { name: "shared over the cap", config: shared_capped, wait: Duration::from_millis(10_500), ..RETRY },
    Row { name: "shared, nothing to wait for", config: shared, remaining: Some(b"47"), reset: Some(b"1746489660"), ..OK },
];

fn info(row: &Row) -> RateLimitInfo {
    RateLimitInfo::from_values(row.limit, row.remaining, row.reset, row.retry_after)
}

#[test]
fn every_row() {
    let mut names = std::collections::HashSet::new();
    for row in TABLE {
        assert!(names.insert(row.name), "duplicate row {:?}", row.name);
        let pacer = (row.config)(Pacer::builder()).build();
        let pace = pacer.pace_with(row.status, &info(row), row.now, row.random);
        assert_eq!(
            (pace.wait(), pace.reason()),
            (row.wait, row.reason),
            "row {:?}",
            row.name
        );
        assert_eq!(
            pacer.delay_with(row.status, &info(row), row.now, row.random),
            row.wait,
            "row {:?}",
            row.name
        );
    }
}

#[test]
fn the_cap_is_reported() {
    let pacer = Pacer::new();
    let over = Row {
        name: "",
        retry_after: Some(b"3601"),
        ..RETRY
    };
    let at_cap = Row {
        name: "",
        retry_after: Some(b"3600"),
        ..RETRY
    };
    assert!(pacer.pace_with(429, &info(&over), NOW, 0).is_capped());
    assert!(!pacer.pace_with(429, &info(&at_cap), NOW, 0).is_capped());
    assert_eq!(pacer.delay_with(429, &info(&over), NOW, 0), HOUR);
}

#[test]
fn jitter_stays_within_its_bounds() {
    let pacer = Pacer::builder().shared_key(true).build();
    for row in [RETRY, LIMITED, LOW] {
        let base = Pacer::new().delay_with(row.status, &info(&row), NOW, 0);
        let mut previous = Duration::ZERO;
        for random in [
            0,
            1,
            2,
            12_345,
            1 << 32,
            1 << 62,
            1 << 63,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let p = pacer.pace_with(row.status, &info(&row), NOW, random);
            assert_eq!(p.base(), base);
            assert!(p.wait() >= base && p.wait() <= base + JITTER, "{random}");
            assert_eq!(p.wait(), p.base() + p.jitter());
            // A larger random input never jitters less.
            assert!(p.jitter() >= previous);
            previous = p.jitter();
        }
        assert_eq!(previous, JITTER);
    }
}

#[test]
fn the_own_generator_spreads_within_bounds() {
    let pacer = Pacer::builder().shared_key(true).seed(42).build();
    let info = info(&RETRY);
    let base = Duration::from_secs(18);
    let (mut low, mut high) = (Duration::MAX, Duration::ZERO);
    for _ in 0..2_000 {
        let wait = pacer.delay(429, &info, NOW);
        assert!(wait >= base && wait <= base + JITTER);
        low = low.min(wait);
        high = high.max(wait);
    }
    // 2,000 even draws over 500 ms leave no gap of 25 ms at either end.
    assert!(low < base + 25 * MS && high > base + JITTER - 25 * MS);
    // A fixed seed repeats; another seed does not.
    let again = Pacer::builder().shared_key(true).seed(42).build();
    let other = Pacer::builder().shared_key(true).seed(43).build();
    let first = Pacer::builder()
        .shared_key(true)
        .seed(42)
        .build()
        .delay(429, &info, NOW);
    assert_eq!(again.delay(429, &info, NOW), first);
    assert_ne!(other.delay(429, &info, NOW), first);
    // A solo pacer never jitters, whatever its generator.
    assert_eq!(Pacer::new().delay(429, &info, NOW), base);
}

#[test]
fn headers_walked_one_by_one() {
    let response: [(&str, &[u8]); 7] = [
        ("Content-Type", b"application/json"),
        ("X-RateLimit-Limit", b"60"),
        ("x-ratelimit-remaining", b"9"),
        ("X-RATELIMIT-REMAINING", b"3"),
        ("X-RateLimit-Reset", b"1746489660"),
        ("Retry-After", b"soon"),
        ("Retry-After", b"18"),
    ];
    let mut walked = RateLimitInfo::new();
    let known = response
        .iter()
        .filter(|(name, value)| walked.record(name, value))
        .count();
    assert_eq!(known, 6);
    let at_once = RateLimitInfo::from_values(
        Some(b"60"),
        Some(b"9, 3"),
        Some(b"1746489660"),
        Some(b"soon, 18"),
    );
    assert_eq!(walked, at_once);
    assert_eq!(
        (walked.limit(), walked.remaining(), walked.reset()),
        (Some(60), Some(3), Some(1_746_489_660))
    );
    let retry = walked.retry_after().unwrap();
    assert_eq!((retry.delay_secs(), retry.date()), (Some(18), None));
    assert_eq!(
        Pacer::new().delay(200, &walked, NOW),
        Duration::from_millis(17_500)
    );
    assert_eq!(
        Pacer::new().delay(429, &walked, NOW),
        Duration::from_secs(18)
    );
}

/// Writes unix seconds as an HTTP-date, from a civil-date algorithm of its
/// own (H. Hinnant's `civil_from_days`), in the form `form` picks.
// Plain arithmetic: `secs` is at most the end of year 9999, and an overflow
// in a test should panic.
#[allow(clippy::arithmetic_side_effects)]
fn http_date(secs: u64, form: u8) -> String {
    let (days, time) = (secs / 86_400, secs % 86_400);
    let (hh, mm, ss) = (time / 3_600, time % 3_600 / 60, time % 60);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    // 1970-01-01 was a Thursday.
    let weekday = usize::try_from((days + 3) % 7).unwrap();
    let short = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][weekday];
    let long = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][weekday];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::try_from(month - 1).unwrap()];
    match form {
        0 => format!("{short}, {day:02} {mon} {year:04} {hh:02}:{mm:02}:{ss:02} GMT"),
        1 => format!(
            "{long}, {day:02}-{mon}-{:02} {hh:02}:{mm:02}:{ss:02} GMT",
            year % 100
        ),
        _ => format!("{short} {mon} {day:>2} {hh:02}:{mm:02}:{ss:02} {year:04}"),
    }
}

/// The last second of 9999, the largest IMF-fixdate.
const MAX_DATE: u64 = 253_402_300_799;
/// 2070-01-01: RFC 850 years run from 1970 to 2069.
const RFC850_END: u64 = 3_155_760_000;

proptest! {
    // Miri interprets every instruction: a handful of cases there.
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 10_000 }))]

    #[test]
    fn dates_read_back(secs in 0..=MAX_DATE, form in 0u8..3) {
        let secs = if form == 1 { secs % RFC850_END } else { secs };
        let text = http_date(secs, form);
        let parsed = RateLimitInfo::from_values(None, None, None, Some(text.as_bytes()));
        prop_assert_eq!(parsed.retry_after().and_then(|r| r.date()), Some(secs), "{}", text);
    }

    #[test]
    fn no_input_panics_or_overstays(
        limit in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        remaining in proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            "[0-9 ,.+-]{0,12}".prop_map(String::into_bytes),
        ]),
        reset in proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            "17464896[0-9]{2}(\\.[0-9])?".prop_map(String::into_bytes),
            "[0-9]{0,30}".prop_map(String::into_bytes),
        ]),
        retry_after in proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..60),
            "[0-9 ,.]{0,12}".prop_map(String::into_bytes),
            (0..=MAX_DATE, 0u8..3).prop_map(|(s, f)| http_date(s, f).into_bytes()),
        ]),
        status in prop_oneof![Just(429u16), Just(200u16), any::<u16>()],
        now_secs in prop_oneof![Just(T), any::<u64>()],
        now_nanos in 0u32..1_000_000_000,
        random in any::<u64>(),
        max_wait_secs in prop_oneof![Just(3_600u64), any::<u64>()],
        shared_key in any::<bool>(),
    ) {
        let info = RateLimitInfo::from_values(
            limit.as_deref(),
            remaining.as_deref(),
            reset.as_deref(),
            retry_after.as_deref(),
        );
        let max_wait = Duration::from_secs(max_wait_secs);
        let pacer = Pacer::builder().shared_key(shared_key).max_wait(max_wait).build();
        let now = Duration::new(now_secs, now_nanos);
        let p = pacer.pace_with(status, &info, now, random);
        prop_assert!(p.base() <= max_wait);
        let most_jitter = if shared_key { JITTER } else { Duration::ZERO };
        prop_assert!(p.jitter() <= most_jitter);
        prop_assert_eq!(p.wait(), p.base().saturating_add(p.jitter()));
        if status == 429 {
            let asked = info.retry_after().map_or(SEC, |r| r.wait_at(now));
            prop_assert_eq!(p.base(), asked.min(max_wait));
            prop_assert_eq!(p.is_capped(), asked > max_wait);
        }
        let _ = pacer.pace(status, &info, now);
    }
}
