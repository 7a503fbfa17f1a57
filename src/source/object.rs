//! Objects in S3 (and S3-compatible stores) through `object_store`: the
//! `s3://bucket/key` address, the client, and a reader that fetches an
//! object in ranged GETs, a bounded number in flight.
//!
//! Endpoint, region and credentials come from the usual AWS environment
//! variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...);
//! an `http://` endpoint is allowed, with path-style requests, for local
//! S3-compatible servers.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStore};

use crate::error::{Error, Result};

/// Bytes fetched by one GET at most.
const RANGE_BYTES: u64 = 8 << 20; // 8 MiB

/// An `s3://bucket/key` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectUrl {
    pub bucket: String,
    /// The key, without a leading `/`; may be empty or end in `/` (a prefix).
    pub key: String,
}

impl ObjectUrl {
    /// Parses `s3://bucket/key`; `None` when `s` is not an `s3://` address.
    pub fn parse(s: &str) -> Option<Result<ObjectUrl>> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Some(Err(Error::spec(format!("{s:?} names no bucket (expected s3://bucket/key)"))));
        }
        Some(ObjectUrl::new(bucket, key))
    }

    /// The object `key` in `bucket`. A key the store client cannot address
    /// exactly (an empty segment, as in `a//b`, or a `.` or `..` segment)
    /// is an error naming it, not a read of some other object.
    pub fn new(bucket: &str, key: &str) -> Result<ObjectUrl> {
        let exact = key.strip_suffix('/').unwrap_or(key);
        let empty_segment = exact.starts_with('/') || exact.contains("//");
        if !exact.is_empty() && (empty_segment || ObjectPath::parse(exact).is_err()) {
            return Err(Error::spec(format!(
                "s3://{bucket}/{key}: a key with an empty segment (`//`, or a leading `/`) or a `.` or `..` \
                 segment cannot be read or written exactly by this client; rename the object"
            )));
        }
        Ok(ObjectUrl { bucket: bucket.to_string(), key: key.to_string() })
    }

    pub fn path(&self) -> ObjectPath {
        object_path(&self.key)
    }
}

impl std::fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// The object path of a key as written (unicode, spaces and `+` kept as
/// they are; the client encodes them on the wire).
pub fn object_path(key: &str) -> ObjectPath {
    let key = key.trim_matches('/');
    ObjectPath::parse(key).unwrap_or_else(|_| ObjectPath::from(key))
}

/// A client for `bucket`, configured from the environment; `endpoint`
/// overrides `AWS_ENDPOINT_URL`.
pub fn store(bucket: &str, endpoint: Option<&str>) -> Result<Arc<AmazonS3>> {
    // Conditional writes (If-Match / If-None-Match) for the manifest.
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
    let endpoint = endpoint.map(str::to_string).or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
    if let Some(e) = endpoint {
        if e.starts_with("http://") {
            b = b.with_allow_http(true);
        }
        b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
    }
    if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
        b = b.with_region("us-east-1");
    }
    b.build().map(Arc::new).map_err(|e| Error::spec(format!("S3 client for bucket {bucket:?}: {e}")))
}

/// S3 clients by bucket, each built on first use and then shared (clones
/// share them too): what a long-lived process, such as a Lambda execution
/// environment, keeps between conversions.
#[derive(Debug, Clone, Default)]
pub struct Stores {
    endpoint: Option<String>,
    by_bucket: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<AmazonS3>>>>,
}

impl Stores {
    /// Clients configured from the environment; `endpoint` overrides
    /// `AWS_ENDPOINT_URL`. Builds none yet.
    pub fn new(endpoint: Option<String>) -> Stores {
        Stores { endpoint, by_bucket: Arc::default() }
    }

    /// The client for `bucket`, built on first use.
    pub fn get(&self, bucket: &str) -> Result<Arc<AmazonS3>> {
        let mut by_bucket = self.by_bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = by_bucket.get(bucket) {
            return Ok(Arc::clone(s));
        }
        let s = store(bucket, self.endpoint.as_deref())?;
        by_bucket.insert(bucket.to_string(), Arc::clone(&s));
        Ok(s)
    }
}

/// A runtime for the object store's futures, driven from plain threads.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sluicegate-io")
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the I/O runtime", e))
}

/// An object error as ours, naming the object.
pub(crate) fn object_error(what: impl std::fmt::Display, e: object_store::Error) -> Error {
    Error::new(crate::ErrorKind::Io(format!("{what}: {e}")))
}

/// Reads an object front to back in ranged GETs, keeping up to `ahead`
/// ranges in flight; every GET names the object's ETag, so an object that
/// changes mid-read is an error, not a mix of two versions.
pub struct ObjectReader {
    runtime: tokio::runtime::Runtime,
    store: Arc<AmazonS3>,
    path: ObjectPath,
    url: String,
    etag: Option<String>,
    size: u64,
    next: u64,
    range: u64,
    ahead: usize,
    pending: VecDeque<tokio::task::JoinHandle<object_store::Result<Bytes>>>,
    current: Bytes,
}

impl ObjectReader {
    /// Opens `url` (at the version `etag` names, when given: the object
    /// as an event saw it); each GET fetches at most `range_bytes` (at most
    /// 8 MiB), `ahead` of them in flight.
    pub fn open(
        url: &ObjectUrl,
        endpoint: Option<&str>,
        range_bytes: usize,
        ahead: usize,
        etag: Option<String>,
    ) -> Result<ObjectReader> {
        ObjectReader::open_in(store(&url.bucket, endpoint)?, url, range_bytes, ahead, etag)
    }

    /// As [`ObjectReader::open`], through a client already built for
    /// `url`'s bucket.
    pub fn open_in(
        store: Arc<AmazonS3>,
        url: &ObjectUrl,
        range_bytes: usize,
        ahead: usize,
        etag: Option<String>,
    ) -> Result<ObjectReader> {
        let runtime = runtime()?;
        let path = url.path();
        let head = GetOptions::new().with_head(true).with_if_match(etag);
        let meta = runtime
            .block_on(async { Ok::<_, object_store::Error>(store.get_opts(&path, head).await?.meta) })
            .map_err(|e| object_error(url, e))?;
        Ok(ObjectReader {
            runtime,
            store,
            path,
            url: url.to_string(),
            etag: meta.e_tag,
            size: meta.size,
            next: 0,
            range: (range_bytes as u64).clamp(64 << 10, RANGE_BYTES),
            ahead: ahead.max(1),
            pending: VecDeque::new(),
            current: Bytes::new(),
        })
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn fill(&mut self) {
        while self.pending.len() < self.ahead && self.next < self.size {
            let end = (self.next + self.range).min(self.size);
            let (store, path) = (Arc::clone(&self.store), self.path.clone());
            let options = GetOptions::new().with_range(Some(self.next..end)).with_if_match(self.etag.clone());
            self.pending
                .push_back(self.runtime.spawn(async move { store.get_opts(&path, options).await?.bytes().await }));
            self.next = end;
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.current.is_empty() {
            self.fill();
            let Some(next) = self.pending.pop_front() else { return Ok(0) };
            let got = self.runtime.block_on(next).map_err(std::io::Error::other)?;
            self.current = got.map_err(|e| std::io::Error::other(format!("{}: {e}", self.url)))?;
            self.fill();
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        let u = ObjectUrl::parse("s3://raw/in/orders 1.csv").unwrap().unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("raw", "in/orders 1.csv"));
        assert_eq!(u.to_string(), "s3://raw/in/orders 1.csv");
        assert!(ObjectUrl::parse("/tmp/x.csv").is_none());
        assert!(ObjectUrl::parse("s3:///key").unwrap().is_err());
        let prefix = ObjectUrl::parse("s3://curated/orders/").unwrap().unwrap();
        assert_eq!(prefix.path().as_ref(), "orders");
        let plus = ObjectUrl::parse("s3://raw/in/a+b ünï.csv").unwrap().unwrap();
        assert_eq!(plus.path().as_ref(), "in/a+b ünï.csv");
    }

    #[test]
    fn keys_that_would_name_another_object_are_refused() {
        for key in ["in//orders.csv", "/orders.csv", "in/../orders.csv", "in/./orders.csv"] {
            let err = ObjectUrl::parse(&format!("s3://raw/{key}")).unwrap().unwrap_err().to_string();
            assert!(err.contains(&format!("s3://raw/{key}")) && err.contains("rename the object"), "{err}");
        }
    }
}
