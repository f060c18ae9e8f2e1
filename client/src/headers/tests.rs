use super::*;

#[test]
fn numbers() {
    assert_eq!(number(b"0"), Some((0, false)));
    assert_eq!(number(b"007"), Some((7, false)));
    assert_eq!(number(b"1.5"), Some((1, true)));
    assert_eq!(number(b"1.000"), Some((1, false)));
    assert_eq!(number(b"1."), Some((1, false)));
    assert_eq!(number(b"18446744073709551615"), Some((u64::MAX, false)));
    assert_eq!(number(b"18446744073709551616"), Some((u64::MAX, false)));
    assert_eq!(number(&[b'9'; 400]), Some((u64::MAX, false)));
    for bad in [
        "", "+1", "-1", ".5", "1.5.", "1e3", "0x10", "1 2", "1,", "\u{661}",
    ] {
        assert_eq!(number(bad.as_bytes()), None, "{bad:?}");
    }
}

#[test]
fn lists_keep_the_cautious_element() {
    assert_eq!(counts(b"5, 5"), Some(5));
    assert_eq!(counts(b"9,3, 7"), Some(3));
    assert_eq!(counts(b" , x, 4.9 ,"), Some(4));
    assert_eq!(counts(b" , "), None);
    assert_eq!(seconds(b"10, 20.1, junk"), Some(21));
    assert_eq!(seconds(b"\t"), None);
}

#[test]
fn record_matches_names_in_any_case_and_merges() {
    let mut info = RateLimitInfo::new();
    assert!(info.record("X-RATELIMIT-REMAINING", "9"));
    assert!(info.record(b"x-ratelimit-remaining".as_slice(), b"3".as_slice()));
    assert!(info.record("x-ratelimit-remaining", "junk"));
    assert!(info.record("X-RateLimit-Reset", "100"));
    assert!(info.record("X-RateLimit-Reset", "90"));
    assert!(info.record("Retry-After", "2"));
    assert!(info.record("retry-after", "1"));
    assert!(!info.record("X-RateLimit-Remaining ", "0"));
    assert!(!info.record("RateLimit-Remaining", "0"));
    assert_eq!(info.remaining(), Some(3));
    assert_eq!(info.reset(), Some(100));
    assert_eq!(info.retry_after().and_then(|r| r.delay_secs()), Some(2));
    assert_eq!(info.limit(), None);
}

#[test]
fn non_utf8_bytes_are_malformed() {
    let info = RateLimitInfo::from_values(
        Some(b"\xff\xfe"),
        Some(b"4\xc3"),
        Some(b"\x80"),
        Some(b"\xffWed, 21 Oct 2015 07:28:00 GMT"),
    );
    assert_eq!(info, RateLimitInfo::new());
}
