//! Parquet output options.

use std::str::FromStr;

use crate::error::Error;

/// Page compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Snappy,
    /// zstd at a level from 1 to 22.
    Zstd(i32),
    Lz4,
    /// gzip at a level from 0 to 10.
    Gzip(u32),
}

impl FromStr for Compression {
    type Err = Error;

    /// `snappy`, `zstd`, `zstd:LEVEL`, `lz4`, `gzip`, `gzip:LEVEL`, `none`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let (name, level) = match s.split_once([':', '=']) {
            Some((n, l)) => (n, Some(l)),
            None => (s, None),
        };
        let bad_level = || Error::spec(format!("compression level in {s:?} is not a number"));
        let c = match (name.to_ascii_lowercase().as_str(), level) {
            ("none" | "uncompressed", None) => Compression::None,
            ("snappy", None) => Compression::Snappy,
            ("lz4", None) => Compression::Lz4,
            ("zstd", None) => Compression::Zstd(3),
            ("zstd", Some(l)) => Compression::Zstd(l.parse().map_err(|_| bad_level())?),
            ("gzip", None) => Compression::Gzip(6),
            ("gzip", Some(l)) => Compression::Gzip(l.parse().map_err(|_| bad_level())?),
            _ => {
                return Err(Error::spec(format!(
                    "unknown compression {s:?} (expected snappy, zstd[:LEVEL], lz4, gzip[:LEVEL] or none)"
                )))
            }
        };
        Ok(c)
    }
}

/// How the Parquet file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Default snappy.
    pub compression: Compression,
    /// Dictionary encoding (falls back to plain per column when the
    /// dictionary grows past 1 MiB). Default on.
    pub dictionary: bool,
    /// Delta encoding (DELTA_BINARY_PACKED) for integer, date, timestamp
    /// and small decimal columns whose neighbouring values are close.
    /// Default on; off for readers that lack it.
    pub delta: bool,
    /// Min/max/null-count statistics per column chunk and page. Default on.
    pub statistics: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions { compression: Compression::Snappy, dictionary: true, delta: true, statistics: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compression_names() {
        assert_eq!("snappy".parse::<Compression>().unwrap(), Compression::Snappy);
        assert_eq!("zstd:9".parse::<Compression>().unwrap(), Compression::Zstd(9));
        assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip(6));
        assert_eq!("NONE".parse::<Compression>().unwrap(), Compression::None);
        assert!("brotli".parse::<Compression>().is_err());
        assert!("zstd:x".parse::<Compression>().is_err());
    }
}
