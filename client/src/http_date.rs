//! HTTP-date (RFC 9110 §5.6.7), as sent in `Retry-After`.
//!
//! All three forms that RFC 9110 says a recipient must accept:
//!
//! | form | example |
//! |---|---|
//! | IMF-fixdate (preferred) | `Sun, 06 Nov 1994 08:49:37 GMT` |
//! | RFC 850 (obsolete) | `Sunday, 06-Nov-94 08:49:37 GMT` |
//! | asctime (obsolete) | `Sun Nov  6 08:49:37 1994` |
//!
//! The layout is checked exactly (single spaces, two-digit fields, `GMT`),
//! but letters are compared without regard to case, and the day name must
//! be a day name without having to match the date. The date itself must
//! exist (no 31 April, 29 February only in leap years); a second of 60 (a
//! leap second) is accepted and counts as the next second. An RFC 850
//! two-digit year `yy` is read as 19yy from 70 to 99 and as 20yy from 00 to
//! 69 (the POSIX convention), since the parser does not know the current
//! time. RFC 9110's rule (a date more than 50 years ahead means the most
//! recent past year with those digits) agrees on every year up to 2069;
//! read in 2026 it would put 70 to 76 in the 2070s, decades ahead, where a
//! pacer would wait its `max_wait` instead of not at all.
//!
//! The parser is written here rather than taken from the `httpdate` crate
//! because `httpdate` rejects dates a pacer should still honour, each of
//! which would fall back to the default wait: a day name that does not
//! match the date, letters in another case, a leap second and any date
//! before 1970.

/// Parses one HTTP-date into unix seconds; `None` if it is not one.
///
/// `value` must hold nothing but the date (trim it first). Dates before the
/// unix epoch give 0: they are in the past for any caller.
pub(crate) fn parse(value: &[u8]) -> Option<u64> {
    let name_len = value.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (name, rest) = value.split_at(name_len);
    if let Some(rest) = rest.strip_prefix(b", ") {
        if is_day(name, &SHORT_DAYS) {
            imf_fixdate(rest)
        } else if is_day(name, &LONG_DAYS) {
            rfc850(rest)
        } else {
            None
        }
    } else if let Some(rest) = rest.strip_prefix(b" ") {
        is_day(name, &SHORT_DAYS).then(|| asctime(rest)).flatten()
    } else {
        None
    }
}

const SHORT_DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Whether `name` is a day name, short or long, in any case.
pub(crate) fn is_day_name(name: &[u8]) -> bool {
    is_day(name, &SHORT_DAYS) || is_day(name, &LONG_DAYS)
}

fn is_day(name: &[u8], days: &[&[u8]]) -> bool {
    days.iter().any(|d| d.eq_ignore_ascii_case(name))
}

/// `DD SP Mon SP YYYY SP HH:MM:SS SP GMT`
fn imf_fixdate(s: &[u8]) -> Option<u64> {
    let mut c = Cursor(s);
    let day = c.digits(2)?;
    c.byte(b' ')?;
    let month = c.month()?;
    c.byte(b' ')?;
    let year = c.digits(4)?;
    c.byte(b' ')?;
    let time = c.time()?;
    c.gmt()?;
    c.end()?;
    unix(year, month, day, time)
}

/// `DD-Mon-YY SP HH:MM:SS SP GMT`
fn rfc850(s: &[u8]) -> Option<u64> {
    let mut c = Cursor(s);
    let day = c.digits(2)?;
    c.byte(b'-')?;
    let month = c.month()?;
    c.byte(b'-')?;
    let yy = c.digits(2)?;
    c.byte(b' ')?;
    let time = c.time()?;
    c.gmt()?;
    c.end()?;
    let century: u64 = if yy >= 70 { 1900 } else { 2000 };
    unix(century.checked_add(yy)?, month, day, time)
}

/// `Mon SP ( DD / SP D ) SP HH:MM:SS SP YYYY`
fn asctime(s: &[u8]) -> Option<u64> {
    let mut c = Cursor(s);
    let month = c.month()?;
    c.byte(b' ')?;
    let day = if c.byte(b' ').is_some() {
        c.digits(1)?
    } else {
        c.digits(2)?
    };
    c.byte(b' ')?;
    let time = c.time()?;
    c.byte(b' ')?;
    let year = c.digits(4)?;
    c.end()?;
    unix(year, month, day, time)
}

/// Reads a date's fields from the front of a byte string.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn byte(&mut self, b: u8) -> Option<()> {
        self.0 = self.0.strip_prefix(&[b])?;
        Some(())
    }

    /// Exactly `n` ASCII digits (`n` at most 4).
    fn digits(&mut self, n: usize) -> Option<u64> {
        let (field, rest) = self.0.split_at_checked(n)?;
        let mut value = 0u64;
        for &b in field {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(b.wrapping_sub(b'0')))?;
        }
        self.0 = rest;
        Some(value)
    }

    /// A three-letter month name: 1 for January.
    fn month(&mut self) -> Option<u64> {
        let (name, rest) = self.0.split_at_checked(3)?;
        let index = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
        self.0 = rest;
        u64::try_from(index).ok()?.checked_add(1)
    }

    /// `HH:MM:SS`, as seconds since midnight.
    fn time(&mut self) -> Option<u64> {
        let hour = self.digits(2).filter(|&h| h <= 23)?;
        self.byte(b':')?;
        let minute = self.digits(2).filter(|&m| m <= 59)?;
        self.byte(b':')?;
        let second = self.digits(2).filter(|&s| s <= 60)?;
        hour.checked_mul(3_600)?
            .checked_add(minute.checked_mul(60)?)?
            .checked_add(second)
    }

    fn gmt(&mut self) -> Option<()> {
        let (zone, rest) = self.0.split_at_checked(4)?;
        self.0 = rest;
        zone.eq_ignore_ascii_case(b" GMT").then_some(())
    }

    fn end(&self) -> Option<()> {
        self.0.is_empty().then_some(())
    }
}

fn is_leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds of a civil UTC date and time of day, after checking that
/// the date exists; 0 before the epoch.
///
/// `year` has at most four digits and `month` is 1 to 12, so no step below
/// can overflow; the checked operations only say so.
fn unix(year: u64, month: u64, day: u64, seconds_of_day: u64) -> Option<u64> {
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if year < 1970 {
        return Some(0);
    }
    // Days since 0000-03-01 of the civil date, counting years from March
    // so that the leap day ends the year (H. Hinnant, `days_from_civil`).
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let march_month = month.checked_add(9)? % 12;
    let day_of_year = march_month
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?;
    let days = y
        .checked_mul(365)?
        .checked_add(y / 4)?
        .checked_sub(y / 100)?
        .checked_add(y / 400)?
        .checked_add(day_of_year)?;
    // 0000-03-01 to 1970-01-01.
    let since_epoch = days.checked_sub(719_468)?;
    since_epoch.checked_mul(86_400)?.checked_add(seconds_of_day)
}

#[cfg(test)]
mod tests;
