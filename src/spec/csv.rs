//! CSV dialect options.

use crate::error::{Error, Result};

/// How a CSV input is written. Defaults are RFC 4180 with a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Field separator. Default `,`.
    pub delimiter: u8,
    /// Quote character. Default `"`. A quote inside a quoted field is doubled.
    pub quote: u8,
    /// An escape character inside quoted fields (e.g. `\`), where the data
    /// uses one instead of doubled quotes. Default: none.
    pub escape: Option<u8>,
    /// Whether the first record is a header. Default `true`.
    pub has_header: bool,
    /// Field texts read as null. Default: the empty field only. Outside text
    /// columns the empty field is null whatever the markers.
    pub null_markers: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions { delimiter: b',', quote: b'"', escape: None, has_header: true, null_markers: vec![String::new()] }
    }
}

impl CsvOptions {
    /// Checks that the special characters are distinct and not line breaks.
    pub fn validate(&self) -> Result<()> {
        let mut specials = vec![("delimiter", self.delimiter), ("quote", self.quote)];
        if let Some(e) = self.escape {
            specials.push(("escape", e));
        }
        for (i, (name, b)) in specials.iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                return Err(Error::spec(format!("the CSV {name} cannot be a line break")));
            }
            if let Some((other, _)) = specials[..i].iter().find(|(_, o)| o == b) {
                return Err(Error::spec(format!("the CSV {name} and {other} are the same character")));
            }
        }
        Ok(())
    }
}
