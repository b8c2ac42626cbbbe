//! NCRONTAB schedules as the Functions timer trigger reads them: six fields
//! (`second minute hour day month day-of-week`), or five without seconds.
//! Day-of-week runs 0–6 from Sunday (7 is Sunday too); names like `MON`, `JAN` work.

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    seconds: Vec<bool>,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
}

/// Why a schedule does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad NCRONTAB schedule `{schedule}`: {reason}")]
pub struct ScheduleError {
    schedule: String,
    reason: String,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    /// Parses a five- or six-field expression.
    ///
    /// # Errors
    /// [`ScheduleError`] saying which field is wrong.
    pub fn parse(expr: &str) -> Result<Self, ScheduleError> {
        let err = |reason: String| ScheduleError {
            schedule: expr.to_owned(),
            reason,
        };
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let fields: Vec<&str> = match fields.len() {
            6 => fields,
            5 => std::iter::once("0").chain(fields).collect(),
            n => return Err(err(format!("expected 6 fields (or 5), found {n}"))),
        };
        let field = |i: usize, min: u32, max: u32, names: &[&str], name: &str| {
            parse_field(fields[i], min, max, names).map_err(|r| err(format!("{name}: {r}")))
        };
        let mut weekdays = field(5, 0, 7, &WEEKDAYS, "day of week")?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        weekdays.truncate(7);
        Ok(Self {
            seconds: field(0, 0, 59, &[], "second")?,
            minutes: field(1, 0, 59, &[], "minute")?,
            hours: field(2, 0, 23, &[], "hour")?,
            days: field(3, 1, 31, &[], "day")?,
            months: field(4, 1, 12, &MONTHS, "month")?,
            weekdays,
        })
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut t = after.duration_trunc(Duration::seconds(1)).ok()? + Duration::seconds(1);
        let limit = after + Duration::days(366 * 5);
        while t <= limit {
            if !self.months[t.month() as usize] {
                let (y, m) = if t.month() == 12 {
                    (t.year() + 1, 1)
                } else {
                    (t.year(), t.month() + 1)
                };
                t = chrono::NaiveDate::from_ymd_opt(y, m, 1)?
                    .and_hms_opt(0, 0, 0)?
                    .and_utc();
            } else if !self.days[t.day() as usize]
                || !self.weekdays[t.weekday().num_days_from_sunday() as usize]
            {
                t = (t.date_naive() + Duration::days(1))
                    .and_hms_opt(0, 0, 0)?
                    .and_utc();
            } else if !self.hours[t.hour() as usize] {
                t = t.with_minute(0)?.with_second(0)? + Duration::hours(1);
            } else if !self.minutes[t.minute() as usize] {
                t = t.with_second(0)? + Duration::minutes(1);
            } else if !self.seconds[t.second() as usize] {
                t += Duration::seconds(1);
            } else {
                return Some(t);
            }
        }
        None
    }
}

/// Parses one field into a table of allowed values indexed by value.
fn parse_field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; max as usize + 1];
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().map_err(|_| format!("bad step `{s}`"))?),
            None => (item, 1),
        };
        if step == 0 {
            return Err("step 0".into());
        }
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, names)?, value(b, min, names)?)
        } else {
            let v = value(range, min, names)?;
            (v, if item.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("`{item}` is outside {min}-{max}"));
        }
        for v in (lo..=hi).step_by(step as usize) {
            allowed[v as usize] = true;
        }
    }
    Ok(allowed)
}

fn value(text: &str, min: u32, names: &[&str]) -> Result<u32, String> {
    if let Ok(n) = text.parse() {
        return Ok(n);
    }
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
        .map(|i| i as u32 + min)
        .ok_or_else(|| format!("bad value `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_five_minutes() {
        let s = Schedule::parse("0 */5 * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T13:08:00Z")),
            Some(at("2026-11-25T13:10:00Z"))
        );
        assert_eq!(
            s.next_after(at("2026-11-25T13:10:00Z")),
            Some(at("2026-11-25T13:15:00Z"))
        );
    }

    #[test]
    fn every_ten_seconds_and_every_second() {
        let s = Schedule::parse("*/10 * * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T13:08:03.5Z")),
            Some(at("2026-11-25T13:08:10Z"))
        );
        let s = Schedule::parse("* * * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T23:59:59Z")),
            Some(at("2026-11-26T00:00:00Z"))
        );
    }

    #[test]
    fn weekdays_count_from_sunday() {
        // 2026-11-25 is a Wednesday; MON-FRI at 09:30 → Thursday 09:30.
        let s = Schedule::parse("0 30 9 * * MON-FRI").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T10:00:00Z")),
            Some(at("2026-11-26T09:30:00Z"))
        );
        let sunday = Schedule::parse("0 0 0 * * 0").unwrap();
        assert_eq!(
            sunday.next_after(at("2026-11-25T10:00:00Z")),
            Some(at("2026-11-29T00:00:00Z"))
        );
        assert_eq!(Schedule::parse("0 0 0 * * 7").unwrap(), sunday);
    }

    #[test]
    fn five_fields_mean_second_zero() {
        let s = Schedule::parse("*/5 * * * *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T13:08:20Z")),
            Some(at("2026-11-25T13:10:00Z"))
        );
    }

    #[test]
    fn month_rollover_and_leap_day() {
        let s = Schedule::parse("0 0 12 29 FEB *").unwrap();
        assert_eq!(
            s.next_after(at("2026-11-25T10:00:00Z")),
            Some(at("2028-02-29T12:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_say_why() {
        assert!(Schedule::parse("* * * *")
            .unwrap_err()
            .to_string()
            .contains("expected 6 fields"));
        assert!(Schedule::parse("0 61 * * * *")
            .unwrap_err()
            .to_string()
            .contains("minute"));
        assert!(Schedule::parse("0 */0 * * * *").is_err());
    }
}
