//! Dates on forms and instants of requests.
//!
//! A consent form, a care level certificate and a patient's date of birth carry **dates**
//! (同意日, 有効期間): a person writes "valid until 31 March 2027" and means the whole of that
//! day in Japan. Requests, events and break-glass grants carry **instants** (UTC). The two meet
//! here, in Japan Standard Time (UTC+9, no daylight saving since 1951): a date starts at 00:00
//! JST and ends at the next day's 00:00 JST.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Utc};

/// Japan Standard Time, UTC+9.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(JST_OFFSET_SECONDS).expect("9 hours is within a day")
}

/// Japan Standard Time's offset from UTC, in seconds.
pub const JST_OFFSET_SECONDS: i32 = 9 * 3600;

/// The instant a date starts in Japan (00:00 JST).
pub fn start_of_day(date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    // A fixed offset maps every local time to exactly one instant; the first representable
    // date starts at the beginning of time.
    local
        .checked_sub_signed(Duration::seconds(i64::from(JST_OFFSET_SECONDS)))
        .map_or(DateTime::<Utc>::MIN_UTC, |utc| utc.and_utc())
}

/// The instant a date ends in Japan: the next day's 00:00 JST (exclusive). A date with no
/// next day (the last representable one) ends at the end of time.
pub fn end_of_day(date: NaiveDate) -> DateTime<Utc> {
    date.succ_opt()
        .map(start_of_day)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The date an instant falls on in Japan.
pub fn date_in_japan(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&jst()).date_naive()
}

/// Noon in Japan on a date: a convenient instant for "on that day" in tests and examples.
pub fn noon(date: NaiveDate) -> DateTime<Utc> {
    start_of_day(date) + Duration::hours(12)
}

/// Is `at` within the dates `from ..= until` (inclusive, Japan time; `until` `None`: no end)?
pub fn within_dates(at: DateTime<Utc>, from: NaiveDate, until: Option<NaiveDate>) -> bool {
    start_of_day(from) <= at && until.is_none_or(|u| at < end_of_day(u))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn instant(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_day_in_japan_starts_at_15_00_utc_the_day_before() {
        assert_eq!(
            start_of_day(date("2026-10-01")),
            instant("2026-09-30T15:00:00Z")
        );
        assert_eq!(
            end_of_day(date("2026-10-01")),
            instant("2026-10-01T15:00:00Z")
        );
        assert_eq!(
            date_in_japan(instant("2026-09-30T15:00:00Z")),
            date("2026-10-01")
        );
        assert_eq!(
            date_in_japan(instant("2026-09-30T14:59:59Z")),
            date("2026-09-30")
        );
    }

    #[test]
    fn validity_dates_include_the_whole_of_their_last_day() {
        let (from, until) = (date("2026-04-01"), Some(date("2027-03-31")));
        assert!(!within_dates(instant("2026-03-31T14:59:59Z"), from, until));
        assert!(within_dates(instant("2026-03-31T15:00:00Z"), from, until));
        assert!(within_dates(instant("2027-03-31T14:59:59Z"), from, until));
        assert!(!within_dates(instant("2027-03-31T15:00:00Z"), from, until));
        assert!(within_dates(instant("2099-01-01T00:00:00Z"), from, None));
    }
}
