//! `RecordBatch` to encoded Parquet column chunks, in the worker, so that the
//! single ordered writer only appends bytes.

use std::sync::Arc;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::basic::{Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use crate::error::{Error, Result};
use crate::spec::{Compression, ParquetOptions};

/// One row group, encoded and ready to append.
pub struct EncodedRowGroup {
    pub rows: usize,
    pub columns: Vec<ArrowColumnChunk>,
}

/// Encodes batches into row groups for one file's schema and properties.
pub struct Encoder {
    factory: Arc<ArrowRowGroupWriterFactory>,
    row_group_rows: usize,
}

impl Encoder {
    pub(crate) fn new(factory: ArrowRowGroupWriterFactory, row_group_rows: usize) -> Self {
        Encoder { factory: Arc::new(factory), row_group_rows: row_group_rows.max(1) }
    }

    /// Encodes a batch as one row group, or several when it has more rows
    /// than a row group may hold.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Vec<EncodedRowGroup>> {
        let mut groups = Vec::with_capacity(batch.num_rows().div_ceil(self.row_group_rows).max(1));
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = self.row_group_rows.min(batch.num_rows() - offset);
            groups.push(self.encode_group(&batch.slice(offset, len))?);
            offset += len;
        }
        Ok(groups)
    }

    fn encode_group(&self, batch: &RecordBatch) -> Result<EncodedRowGroup> {
        // The row-group index only matters to encryption, which is not used.
        let mut writers = self.factory.create_column_writers(0).map_err(Error::encode)?;
        let schema = batch.schema();
        let mut leaves = writers.iter_mut();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            for leaf in compute_leaves(field, array).map_err(Error::encode)? {
                let writer = leaves.next().ok_or_else(|| Error::encode("more leaves than column writers"))?;
                writer.write(&leaf).map_err(Error::encode)?;
            }
        }
        let columns = writers.into_iter().map(|w| w.close().map_err(Error::encode)).collect::<Result<_>>()?;
        Ok(EncodedRowGroup { rows: batch.num_rows(), columns })
    }
}

/// Parquet writer properties for the options.
pub fn writer_properties(options: &ParquetOptions) -> Result<WriterProperties> {
    let compression = match options.compression {
        Compression::None => PqCompression::UNCOMPRESSED,
        Compression::Snappy => PqCompression::SNAPPY,
        Compression::Lz4 => PqCompression::LZ4_RAW,
        Compression::Zstd(level) => {
            PqCompression::ZSTD(ZstdLevel::try_new(level).map_err(|e| Error::spec(format!("zstd level {level}: {e}")))?)
        }
        Compression::Gzip(level) => {
            PqCompression::GZIP(GzipLevel::try_new(level).map_err(|e| Error::spec(format!("gzip level {level}: {e}")))?)
        }
    };
    let statistics = if options.statistics { EnabledStatistics::Page } else { EnabledStatistics::None };
    Ok(WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(compression)
        .set_dictionary_enabled(options.dictionary)
        .set_statistics_enabled(statistics)
        .set_created_by(concat!("sluicegate version ", env!("CARGO_PKG_VERSION")).to_string())
        .build())
}
