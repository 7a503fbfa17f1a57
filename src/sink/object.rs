//! Outputs in S3. A run's Parquet files stream straight into multipart
//! uploads of 5 MiB parts (one part in memory per file; a file under one
//! part is a single PUT), each completed only when the run has succeeded,
//! and aborted when it fails or stops, so no partial object is ever
//! visible. Partition files, of which many may be open at once, are
//! written into a local staging directory instead and uploaded the same
//! way when the run ends, as are the rejects file and the manifest.
//!
//! A directory output's manifest goes last, written only if it is still
//! the one this run saw at its start (or absent), so two concurrent runs
//! cannot both publish one; the prefix's parts of the same input that this
//! run did not write are then deleted. That manifest is staged with the
//! output before the run, so the run's own manifest adds its input to the
//! inputs it already lists.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use object_store::aws::AmazonS3;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::files::{files_under, input_id, slash_path, MANIFEST};
use super::{Stream, Streams};
use crate::error::{Error, Result};
use crate::source::object::{object_error, object_path, runtime, store, ObjectUrl};

/// Bytes per uploaded part (S3's minimum, but for the last part).
const PART_BYTES: usize = 5 << 20;

/// What a run publishes, and where it stages it first.
pub struct Publisher {
    url: ObjectUrl,
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Runtime,
    staging: PathBuf,
    /// The manifest as it was before the run (directory outputs).
    manifest_before: Option<UpdateVersion>,
    streams: Arc<ObjectStreams>,
}

/// The run's Parquet files as streams into uploads, keyed by their place
/// under the staged output.
struct ObjectStreams {
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Handle,
    bucket: String,
    /// The staged output and the key it stands for.
    staged: PathBuf,
    base: String,
    /// Keys of the streams completed.
    completed: Arc<Mutex<Vec<String>>>,
}

impl Streams for ObjectStreams {
    fn open(&self, target: &Path) -> Result<Option<Box<dyn Stream>>> {
        let Ok(relative) = target.strip_prefix(&self.staged) else { return Ok(None) };
        let key = match relative.as_os_str().is_empty() {
            true => self.base.clone(),
            false => format!("{}/{}", self.base, slash_path(relative)),
        };
        Ok(Some(Box::new(Upload {
            at: object_path(&key),
            what: format!("uploading s3://{}/{key}", self.bucket),
            key,
            store: Arc::clone(&self.store),
            runtime: self.runtime.clone(),
            completed: Arc::clone(&self.completed),
            part: Vec::new(),
            multipart: None,
        })))
    }
}

/// One file streaming into an object: its bytes gather into a part, each
/// full part is sent as the next part of a multipart upload (begun with the
/// first), and completing sends the rest and completes the upload (or, for
/// a file under one part, PUTs it whole). Dropped uncompleted, the upload
/// is aborted.
struct Upload {
    key: String,
    at: ObjectPath,
    what: String,
    store: Arc<AmazonS3>,
    runtime: tokio::runtime::Handle,
    completed: Arc<Mutex<Vec<String>>>,
    part: Vec<u8>,
    multipart: Option<Box<dyn MultipartUpload>>,
}

impl Upload {
    /// Sends the gathered bytes as the next part.
    fn send_part(&mut self) -> Result<()> {
        let part = Bytes::from(std::mem::take(&mut self.part));
        let multipart = match &mut self.multipart {
            Some(m) => m,
            None => {
                let begun = self.runtime.block_on(self.store.put_multipart(&self.at));
                self.multipart.insert(begun.map_err(|e| object_error(&self.what, e))?)
            }
        };
        self.runtime.block_on(multipart.put_part(PutPayload::from(part))).map_err(|e| object_error(&self.what, e))
    }
}

impl Write for Upload {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.part.is_empty() {
            self.part.reserve_exact(PART_BYTES.max(buf.len()));
        }
        let n = buf.len().min(PART_BYTES - self.part.len());
        self.part.extend_from_slice(&buf[..n]);
        if self.part.len() == PART_BYTES {
            self.send_part().map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Stream for Upload {
    fn complete(mut self: Box<Self>) -> Result<()> {
        match self.multipart.is_some() {
            false => {
                let whole = PutPayload::from(Bytes::from(std::mem::take(&mut self.part)));
                self.runtime.block_on(self.store.put(&self.at, whole)).map_err(|e| object_error(&self.what, e))?;
            }
            true => {
                if !self.part.is_empty() {
                    self.send_part()?;
                }
                let mut multipart = self.multipart.take().expect("a multipart upload");
                if let Err(e) = self.runtime.block_on(multipart.complete()) {
                    let _ = self.runtime.block_on(multipart.abort());
                    return Err(object_error(&self.what, e));
                }
            }
        }
        self.completed.lock().unwrap_or_else(|p| p.into_inner()).push(self.key.clone());
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut multipart) = self.multipart.take() {
            let _ = self.runtime.block_on(multipart.abort());
        }
    }
}

impl Publisher {
    /// Prepares to publish to `url`: a staging directory under the system's
    /// temporary directory, and (for a directory output) the manifest's
    /// version now.
    pub fn new(url: ObjectUrl, endpoint: Option<&str>, directory: bool) -> Result<Publisher> {
        Publisher::in_store(store(&url.bucket, endpoint)?, url, directory)
    }

    /// As [`Publisher::new`], through a client already built for `url`'s
    /// bucket. A directory output's manifest, when there is one, is staged
    /// as the run's starting point.
    pub fn in_store(store: Arc<AmazonS3>, url: ObjectUrl, directory: bool) -> Result<Publisher> {
        let runtime = runtime()?;
        let staging =
            std::env::temp_dir().join(format!("sluicegate-{}-{}", std::process::id(), input_id(&url.to_string())));
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(format!("creating {}", staging.display()), e))?;
        let streams = Arc::new(ObjectStreams {
            store: Arc::clone(&store),
            runtime: runtime.handle().clone(),
            bucket: url.bucket.clone(),
            staged: staged_output(&staging, &url),
            base: url.key.trim_end_matches('/').to_string(),
            completed: Arc::default(),
        });
        let mut publisher = Publisher { url, store, runtime, staging, manifest_before: None, streams };
        if directory {
            let at = object_path(&format!("{}/{MANIFEST}", publisher.url.key.trim_end_matches('/')));
            let what = format!("reading s3://{}/{at}", publisher.url.bucket);
            let got = publisher.runtime.block_on(async {
                let got = publisher.store.get(&at).await?;
                let meta = got.meta.clone();
                Ok::<_, object_store::Error>((meta, got.bytes().await?))
            });
            match got {
                Ok((meta, text)) => {
                    let staged = publisher.staged_output();
                    std::fs::create_dir_all(&staged)
                        .and_then(|_| std::fs::write(staged.join(MANIFEST), &text))
                        .map_err(|e| Error::io(format!("{what} into {}", staged.display()), e))?;
                    publisher.manifest_before = Some(UpdateVersion { e_tag: meta.e_tag, version: meta.version });
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(object_error(&what, e)),
            }
        }
        Ok(publisher)
    }

    /// The address published to.
    pub fn url(&self) -> &ObjectUrl {
        &self.url
    }

    /// Where the run writes its output (a file or a directory): the
    /// path to give the pipeline, with [`Publisher::streams`].
    pub fn staged_output(&self) -> PathBuf {
        staged_output(&self.staging, &self.url)
    }

    /// The streams the pipeline writes its Parquet files into: each one an
    /// upload to its place under the object address, completed when the
    /// run commits its output.
    pub fn streams(&self) -> Arc<dyn Streams> {
        Arc::clone(&self.streams) as Arc<dyn Streams>
    }

    /// Uploads what the run left staged (partition files, and the rejects
    /// file when there is one) beside what it streamed, then a directory's
    /// manifest. Returns the objects written.
    pub fn publish(&self, rejects: Option<&Path>) -> Result<Vec<String>> {
        let staged = self.staged_output();
        let base = self.url.key.trim_end_matches('/').to_string();
        let mut written: Vec<String> =
            std::mem::take(&mut *self.streams.completed.lock().unwrap_or_else(|p| p.into_inner()));
        if staged.is_dir() {
            let manifest = staged.join(MANIFEST);
            let mut files = files_under(&staged)?;
            files.sort();
            for file in files.iter().filter(|f| **f != manifest) {
                let relative = file.strip_prefix(&staged).unwrap_or(file);
                let key = format!("{base}/{}", slash_path(relative));
                self.upload(file, &object_path(&key))?;
                written.push(key);
            }
            let keys: std::collections::HashSet<String> = written.iter().cloned().collect();
            written.sort();
            self.put_manifest(&manifest, &object_path(&format!("{base}/{MANIFEST}")))?;
            written.push(format!("{base}/{MANIFEST}"));
            self.remove_stale(&base, &keys)?;
        } else if staged.exists() {
            self.upload(&staged, &object_path(&base))?;
            written.push(base.clone());
        }
        if let Some(r) = rejects.filter(|r| r.exists()) {
            let key = format!("{base}.rejects.ndjson");
            self.upload(r, &object_path(&key))?;
            written.push(key);
        }
        Ok(written.into_iter().map(|k| format!("s3://{}/{k}", self.url.bucket)).collect())
    }

    /// Uploads one file: one PUT under a part, else a multipart upload that
    /// is aborted when any part fails.
    fn upload(&self, file: &Path, at: &ObjectPath) -> Result<()> {
        let what = format!("uploading {} to s3://{}/{at}", file.display(), self.url.bucket);
        let mut f = std::fs::File::open(file).map_err(|e| Error::io(&what, e))?;
        let mut part = read_part(&mut f).map_err(|e| Error::io(&what, e))?;
        if part.len() < PART_BYTES {
            self.runtime.block_on(self.store.put(at, PutPayload::from(part))).map_err(|e| object_error(&what, e))?;
            return Ok(());
        }
        self.runtime.block_on(async {
            let mut upload = self.store.put_multipart(at).await.map_err(|e| object_error(&what, e))?;
            let result: Result<()> = async {
                while !part.is_empty() {
                    upload.put_part(PutPayload::from(part)).await.map_err(|e| object_error(&what, e))?;
                    part = read_part(&mut f).map_err(|e| Error::io(&what, e))?;
                }
                upload.complete().await.map_err(|e| object_error(&what, e))?;
                Ok(())
            }
            .await;
            if result.is_err() {
                let _ = upload.abort().await;
            }
            result
        })
    }

    /// Writes the manifest if it is still the one seen at the start.
    fn put_manifest(&self, file: &Path, at: &ObjectPath) -> Result<()> {
        let what = format!("writing s3://{}/{at}", self.url.bucket);
        let text = std::fs::read(file).map_err(|e| Error::io(&what, e))?;
        let mode = match &self.manifest_before {
            None => PutMode::Create,
            Some(v) => PutMode::Update(v.clone()),
        };
        let options = PutOptions { mode, ..PutOptions::default() };
        match self.runtime.block_on(self.store.put_opts(at, PutPayload::from(text.clone()), options)) {
            Ok(_) => Ok(()),
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                Err(Error::new(crate::ErrorKind::Io(format!(
                    "{what}: another run changed the manifest since this one started; its files are uploaded, \
                     run again to publish a consistent manifest"
                ))))
            }
            // A store without conditional writes: write it plainly.
            Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => self
                .runtime
                .block_on(self.store.put(at, PutPayload::from(text)))
                .map(|_| ())
                .map_err(|e| object_error(&what, e)),
            Err(e) => Err(object_error(&what, e)),
        }
    }

    /// Deletes `part-<input id>-*` objects under `base` this run did not write.
    fn remove_stale(&self, base: &str, keep: &std::collections::HashSet<String>) -> Result<()> {
        use futures_util::TryStreamExt;
        let prefixes: std::collections::HashSet<String> = keep
            .iter()
            .filter_map(|k| k.rsplit('/').next())
            .filter_map(|name| name.strip_prefix("part-").and_then(|r| r.split('-').next()))
            .map(|id| format!("part-{id}-"))
            .collect();
        if prefixes.is_empty() {
            return Ok(());
        }
        let what = format!("listing s3://{}/{base}", self.url.bucket);
        let listed: Vec<_> = self
            .runtime
            .block_on(self.store.list(Some(&object_path(base))).try_collect::<Vec<_>>())
            .map_err(|e| object_error(&what, e))?;
        for meta in listed {
            let key = meta.location.to_string();
            let name = key.rsplit('/').next().unwrap_or("");
            if prefixes.iter().any(|p| name.starts_with(p.as_str()))
                && name.ends_with(".parquet")
                && !keep.contains(&key)
            {
                self.runtime.block_on(self.store.delete(&meta.location)).map_err(|e| object_error(&key, e))?;
            }
        }
        Ok(())
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// The staged output's place under `staging`: named as the key's last part.
fn staged_output(staging: &Path, url: &ObjectUrl) -> PathBuf {
    let name = url.key.trim_end_matches('/').rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("output");
    staging.join(name)
}

/// Up to one part's bytes from `f`.
fn read_part(f: &mut std::fs::File) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(PART_BYTES);
    Read::by_ref(f).take(PART_BYTES as u64).read_to_end(&mut buf)?;
    Ok(Bytes::from(buf))
}
