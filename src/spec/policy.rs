//! What happens to a bad row: the error policy and its limit.

use std::str::FromStr;

use crate::error::Error;

/// What a bad row does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// The row goes to the rejects output with its problems; the run goes on.
    #[default]
    Reject,
    /// The first bad row stops the run.
    Fail,
    /// A value that does not fit becomes null where its column is nullable
    /// (counted as a warning); a row that cannot be mended is rejected.
    Null,
}

impl FromStr for OnError {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "reject" => Ok(OnError::Reject),
            "fail" => Ok(OnError::Fail),
            "null" => Ok(OnError::Null),
            _ => Err(Error::spec(format!("unknown error policy {s:?} (expected reject, fail or null)"))),
        }
    }
}

/// How many rejects a run may have before it fails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    /// At most this many rows.
    Rows(u64),
    /// At most this share of the rows read (0.05 for `5%`), judged at the end.
    Fraction(f64),
}

impl FromStr for MaxRejects {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let bad = || Error::spec(format!("max rejects {s:?} is neither a row count (100) nor a percentage (5%)"));
        match t.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad());
                }
                Ok(MaxRejects::Fraction(p / 100.0))
            }
            None => t.parse().map(MaxRejects::Rows).map_err(|_| bad()),
        }
    }
}

impl MaxRejects {
    /// Whether `rejected` of `read` rows passes the limit.
    pub fn exceeded(&self, rejected: u64, read: u64) -> bool {
        match *self {
            MaxRejects::Rows(n) => rejected > n,
            MaxRejects::Fraction(f) => read > 0 && rejected as f64 > f * read as f64,
        }
    }
}

impl std::fmt::Display for MaxRejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaxRejects::Rows(n) => write!(f, "{n} rows"),
            MaxRejects::Fraction(x) => write!(f, "{}% of the rows read", x * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_limits_parse() {
        assert_eq!("NULL".parse::<OnError>().unwrap(), OnError::Null);
        assert!("skip".parse::<OnError>().is_err());
        assert_eq!("12".parse::<MaxRejects>().unwrap(), MaxRejects::Rows(12));
        assert_eq!("5%".parse::<MaxRejects>().unwrap(), MaxRejects::Fraction(0.05));
        assert!("150%".parse::<MaxRejects>().is_err());
        assert!("-1".parse::<MaxRejects>().is_err());
        assert!(MaxRejects::Rows(2).exceeded(3, 10) && !MaxRejects::Rows(2).exceeded(2, 10));
        assert!(MaxRejects::Fraction(0.1).exceeded(2, 10) && !MaxRejects::Fraction(0.1).exceeded(1, 10));
    }
}
