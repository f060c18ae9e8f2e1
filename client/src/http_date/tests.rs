use super::parse;

#[test]
fn the_three_forms_of_rfc_9110() {
    // RFC 9110 §5.6.7's own example: 1994-11-06T08:49:37Z.
    for text in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(parse(text.as_bytes()), Some(784_111_777), "{text}");
    }
    assert_eq!(parse(b"Wed, 21 Oct 2015 07:28:00 GMT"), Some(1_445_412_480));
    assert_eq!(parse(b"Thu Oct 21 07:28:00 2015"), Some(1_445_412_480));
}

#[test]
fn epoch_and_calendar_edges() {
    assert_eq!(parse(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    assert_eq!(parse(b"Wed, 31 Dec 1969 23:59:59 GMT"), Some(0));
    assert_eq!(parse(b"Mon, 01 Jan 0001 00:00:00 GMT"), Some(0));
    assert_eq!(parse(b"Tue, 29 Feb 2000 00:00:00 GMT"), Some(951_782_400));
    assert_eq!(
        parse(b"Fri, 31 Dec 9999 23:59:59 GMT"),
        Some(253_402_300_799)
    );
    // A leap second counts as the next second.
    assert_eq!(parse(b"Sat, 31 Dec 2016 23:59:60 GMT"), Some(1_483_228_800));
    // RFC 850 years: 69 is 2069, 70 is 1970.
    assert_eq!(
        parse(b"Monday, 01-Jan-69 00:00:00 GMT"),
        Some(3_124_224_000)
    );
    assert_eq!(parse(b"Thursday, 01-Jan-70 00:00:00 GMT"), Some(0));
}

#[test]
fn letters_ignore_case_and_the_day_name_is_not_checked() {
    assert_eq!(parse(b"wed, 21 OCT 2015 07:28:00 gmt"), Some(1_445_412_480));
    assert_eq!(parse(b"Mon, 21 Oct 2015 07:28:00 GMT"), Some(1_445_412_480));
}

#[test]
fn malformed_dates() {
    for text in [
        "",
        "Wed",
        "Wed,",
        "Wed, 21 Oct 2015 07:28:00",
        "Wed, 21 Oct 2015 07:28:00 UTC",
        "Wed, 21 Oct 2015 07:28:00 GMT ",
        " Wed, 21 Oct 2015 07:28:00 GMT",
        "Wed,  21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 15 07:28:00 GMT",
        "Wed, 1 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 7:28:00 GMT",
        "Wed, 21 Oct 2015 24:00:00 GMT",
        "Wed, 21 Oct 2015 07:60:00 GMT",
        "Wed, 21 Oct 2015 07:28:61 GMT",
        "Wed, 31 Apr 2015 07:28:00 GMT",
        "Wed, 29 Feb 1900 07:28:00 GMT",
        "Wed, 00 Oct 2015 07:28:00 GMT",
        "Wed, 21 Okt 2015 07:28:00 GMT",
        "Xyz, 21 Oct 2015 07:28:00 GMT",
        "Wednesday, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21-Oct-15 07:28:00 GMT",
        "Wed Oct 21 07:28:00 2015 GMT",
        "Wed Oct 21 07:28:00 15",
        "Wed, +1 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00 GMT\0",
        "Wed, 21 Oct 2015 07:28:00 GM",
        "Wed, 21 Oct 2015 07:28:00 GMTx",
        "Wed, 21 Oct 2\u{e9}15 07:28:00 GMT",
    ] {
        assert_eq!(parse(text.as_bytes()), None, "{text:?}");
    }
    assert_eq!(parse(b"Wed, 21 Oct 2015 07:28:00 \xffGMT"), None);
}
