//! The blob store: files kept by their SHA-256 on JetStream's object store, replicated like
//! the event streams. Files never travel over the bus (NATS refuses messages over 1 MB);
//! commands and events carry only the digest, size and media type.
//!
//! What it promises:
//! - a body is spooled to a temporary file while it is hashed, so memory stays bounded
//!   whatever the size, and it is refused the moment it passes the size limit;
//! - the media type comes from the bytes ([`sniff`]), never from the client; executables
//!   and unrecognised types are refused before anything is stored;
//! - the same content is stored once (object `sha256-<hex>`), however often it is put;
//! - downloads are streamed, and the object store checks the digest as it reads;
//! - a digest is not a permission: who may fetch a blob is recorded separately as its
//!   *holders* ([`BlobStore::grant`], [`BlobStore::held_by_any`]).

mod sniff;

pub use sniff::{MediaType, Refusal, SNIFF_LEN, sniff};

use std::collections::HashMap;
use std::io::SeekFrom;

use async_nats::jetstream::{self, kv, object_store};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::sniff::Verdict;

/// Any error, boxed: the sources of [`BlobError`] come from the client library and the
/// caller's body stream, whose types we do not choose.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Metadata key of the sniffed media type.
const MEDIA_TYPE_KEY: &str = "media_type";
/// Metadata key of the size in bytes.
const SIZE_KEY: &str = "size";
/// Central directories larger than this are not read (a document lists a few hundred
/// entries; this is thousands).
const MAX_ZIP_DIRECTORY: u64 = 4 << 20;
/// Bytes per chunk handed to a download's reader.
const READ_CHUNK: usize = 128 * 1024;

/// Why a blob was not stored or fetched.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Blobs are named by SHA-256 as 64 lowercase hex characters; anything else never
    /// reaches the store.
    #[error("not a SHA-256 digest in lowercase hex")]
    InvalidDigest,
    /// A holder names who may fetch a blob (e.g. `member:<id>`); it cannot be empty.
    #[error("a holder must be 1 to 256 characters")]
    InvalidHolder,
    /// Nothing to store.
    #[error("the body is empty")]
    Empty,
    /// The body passed the limit; reading stopped there.
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// The content is an executable or a type the platform does not accept.
    #[error("the content is refused: {0}")]
    Refused(Refusal),
    /// The body stream failed (e.g. the client went away).
    #[error("reading the body failed")]
    Body(#[source] BoxError),
    /// The temporary file failed.
    #[error("spooling the body to a temporary file failed")]
    Spool(#[source] std::io::Error),
    /// JetStream failed.
    #[error("blob store: {operation} failed")]
    Store {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
    /// The object store computed another digest than we did: the spooled file changed
    /// under us. Nothing is answered as stored.
    #[error("the stored digest differs from the content's")]
    DigestMismatch,
}

fn store_error(operation: &'static str) -> impl FnOnce(BoxError) -> BlobError {
    move |source| BlobError::Store { operation, source }
}

/// A stored blob: what commands and events carry to refer to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The sniffed media type (see [`MediaType::as_str`]).
    pub media_type: String,
}

/// Whether `s` is a SHA-256 digest as blobs are named: 64 lowercase hex characters.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

fn object_name(sha256_hex: &str) -> String {
    format!("sha256-{sha256_hex}")
}

/// A holder as a KV key token: letters, digits and `-` stay; every other byte (`_`
/// included) becomes `_` and two hex digits, so distinct holders never share a key.
fn holder_key(holder: &str) -> Result<String, BlobError> {
    if holder.is_empty() || holder.len() > 256 {
        return Err(BlobError::InvalidHolder);
    }
    let mut key = String::with_capacity(holder.len() + 8);
    for b in holder.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            key.push(b as char);
        } else {
            key.push('_');
            key.push_str(&hex(&[b]));
        }
    }
    Ok(key)
}

/// Blobs on one JetStream object store bucket, and who holds them in a KV bucket beside it.
#[derive(Clone)]
pub struct BlobStore {
    bucket: String,
    objects: object_store::ObjectStore,
    holders: kv::Store,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl BlobStore {
    /// Opens the object store `bucket` and the KV bucket `<bucket>_holders`, creating them
    /// with file storage and `replicas` if they do not exist (and setting `replicas` on
    /// existing ones, as the event store does with its streams).
    pub async fn open(
        jetstream: jetstream::Context,
        bucket: &str,
        replicas: usize,
    ) -> Result<Self, BlobError> {
        let objects = match jetstream.get_object_store(bucket).await {
            Ok(objects) => objects,
            Err(_) => {
                let created = jetstream
                    .create_object_store(object_store::Config {
                        bucket: bucket.to_owned(),
                        description: Some("tsunagu blobs by SHA-256 (sha256-<hex>)".to_owned()),
                        storage: jetstream::stream::StorageType::File,
                        num_replicas: replicas,
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(objects) => objects,
                    // Another replica of the gateway created it meanwhile.
                    Err(e) => jetstream
                        .get_object_store(bucket)
                        .await
                        .map_err(|_| store_error("creating the bucket")(e.into()))?,
                }
            }
        };
        let mut stream = jetstream
            .get_stream(format!("OBJ_{bucket}"))
            .await
            .map_err(|e| store_error("reading the bucket's stream")(e.into()))?;
        let info = stream
            .info()
            .await
            .map_err(|e| store_error("reading the bucket's stream")(e.into()))?;
        if info.config.num_replicas != replicas {
            let mut config = info.config.clone();
            config.num_replicas = replicas;
            jetstream
                .update_stream(config)
                .await
                .map_err(|e| store_error("setting the bucket's replicas")(e.into()))?;
        }
        let holders = jetstream
            .create_or_update_key_value(kv::Config {
                bucket: format!("{bucket}_holders"),
                description: "who holds each blob (<sha256>.<holder>)".to_owned(),
                history: 1,
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas,
                ..Default::default()
            })
            .await
            .map_err(|e| store_error("opening the holders bucket")(e.into()))?;
        Ok(Self {
            bucket: bucket.to_owned(),
            objects,
            holders,
        })
    }

    /// Stores a body of at most `limit` bytes and answers its digest, size and media type.
    /// The body is spooled to a temporary file as it arrives, hashed, and sniffed from its
    /// first [`SNIFF_LEN`] bytes; an executable is refused as soon as the head shows it, a
    /// body over `limit` as soon as it passes it, and content already stored is not
    /// uploaded again.
    pub async fn put<S, E>(&self, body: S, limit: u64) -> Result<StoredBlob, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: Into<BoxError>,
    {
        let Spooled {
            mut file,
            digest,
            size,
            media_type,
        } = spool(body, limit).await?;
        let sha256 = hex(&digest);
        let blob = StoredBlob {
            sha256: sha256.clone(),
            size,
            media_type: media_type.as_str().to_owned(),
        };
        let name = object_name(&sha256);
        match self.objects.info(&name).await {
            Ok(info) if !info.deleted => {
                tracing::debug!(size, "blob already stored");
                return Ok(blob);
            }
            Ok(_) => {}
            Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => {}
            Err(e) => return Err(store_error("looking the blob up")(e.into())),
        }
        file.seek(SeekFrom::Start(0))
            .await
            .map_err(BlobError::Spool)?;
        let meta = object_store::ObjectMetadata {
            name,
            metadata: HashMap::from([
                (MEDIA_TYPE_KEY.to_owned(), blob.media_type.clone()),
                (SIZE_KEY.to_owned(), size.to_string()),
            ]),
            ..Default::default()
        };
        let info = self
            .objects
            .put(meta, &mut file)
            .await
            .map_err(|e| store_error("uploading the blob")(e.into()))?;
        let expected = format!("SHA-256={}", base64_url(&digest));
        if info.digest.as_deref() != Some(expected.as_str()) || info.size as u64 != size {
            return Err(BlobError::DigestMismatch);
        }
        tracing::info!(size, media_type = %blob.media_type, "blob stored");
        Ok(blob)
    }

    /// The blob with this digest and a stream of its content, or `None` if there is no
    /// such blob. The content is read from the store as the stream is polled; a stream
    /// error means the download must be abandoned (the digest did not match, or the store
    /// went away).
    pub async fn get(
        &self,
        sha256_hex: &str,
    ) -> Result<
        Option<(
            StoredBlob,
            impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
        )>,
        BlobError,
    > {
        if !is_sha256_hex(sha256_hex) {
            return Err(BlobError::InvalidDigest);
        }
        let object = match self.objects.get(object_name(sha256_hex)).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_error("fetching the blob")(e.into())),
        };
        let info = object.info();
        let blob = StoredBlob {
            sha256: sha256_hex.to_owned(),
            size: info.size as u64,
            // Only this crate writes the bucket; an object without a type is served as
            // opaque bytes rather than guessed.
            media_type: info
                .metadata
                .get(MEDIA_TYPE_KEY)
                .cloned()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
        };
        let content = futures::stream::unfold(Some(object), |object| async move {
            let mut object = object?;
            let mut buf = BytesMut::with_capacity(READ_CHUNK);
            match object.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(object))),
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(Some((blob, content)))
    }

    /// The blob with this digest as stored (its size and type), without its content, or
    /// `None` if there is no such blob: what a command referring to a file records of it.
    pub async fn describe(&self, sha256_hex: &str) -> Result<Option<StoredBlob>, BlobError> {
        if !is_sha256_hex(sha256_hex) {
            return Err(BlobError::InvalidDigest);
        }
        let info = match self.objects.info(object_name(sha256_hex)).await {
            Ok(info) if !info.deleted => info,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(store_error("looking the blob up")(e.into())),
        };
        Ok(Some(StoredBlob {
            sha256: sha256_hex.to_owned(),
            size: info.size as u64,
            media_type: info
                .metadata
                .get(MEDIA_TYPE_KEY)
                .cloned()
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
        }))
    }

    /// Records that `holder` (e.g. `member:<id>`, `site:<id>`) may fetch the blob.
    pub async fn grant(&self, sha256_hex: &str, holder: &str) -> Result<(), BlobError> {
        let key = holding_key(sha256_hex, holder)?;
        self.holders
            .put(key, Bytes::from_static(b"1"))
            .await
            .map_err(|e| store_error("granting the blob")(e.into()))?;
        Ok(())
    }

    /// Whether any of `holders` holds the blob.
    pub async fn held_by_any(
        &self,
        sha256_hex: &str,
        holders: &[String],
    ) -> Result<bool, BlobError> {
        if !is_sha256_hex(sha256_hex) {
            return Err(BlobError::InvalidDigest);
        }
        for holder in holders {
            let key = holding_key(sha256_hex, holder)?;
            let held = self
                .holders
                .get(key)
                .await
                .map_err(|e| store_error("reading the blob's holders")(e.into()))?;
            if held.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn holding_key(sha256_hex: &str, holder: &str) -> Result<String, BlobError> {
    if !is_sha256_hex(sha256_hex) {
        return Err(BlobError::InvalidDigest);
    }
    Ok(format!("{sha256_hex}.{}", holder_key(holder)?))
}

/// URL-safe base64 with padding, as the object store writes its digests.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A body on disk, hashed and typed.
struct Spooled {
    file: tokio::fs::File,
    digest: [u8; 32],
    size: u64,
    media_type: MediaType,
}

async fn spool<S, E>(body: S, limit: u64) -> Result<Spooled, BlobError>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    // An unnamed file: the system deletes it when it is closed, however we end.
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(|e| BlobError::Spool(std::io::Error::other(e)))?
        .map_err(BlobError::Spool)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut verdict = None;
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| BlobError::Body(e.into()))?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(BlobError::TooLarge { limit });
        }
        if verdict.is_none() {
            let take = (SNIFF_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == SNIFF_LEN {
                let v = sniff::verdict(&head, false);
                if let Verdict::Refuse(refusal) = v {
                    return Err(BlobError::Refused(refusal));
                }
                verdict = Some(v);
                head = Vec::new();
            }
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(BlobError::Spool)?;
    }
    if size == 0 {
        return Err(BlobError::Empty);
    }
    file.flush().await.map_err(BlobError::Spool)?;
    let media_type = match verdict.unwrap_or_else(|| sniff::verdict(&head, true)) {
        Verdict::Accept(m) => m,
        Verdict::Refuse(refusal) => return Err(BlobError::Refused(refusal)),
        Verdict::Zip => zip_media_type(&mut file, size)
            .await?
            .map_err(BlobError::Refused)?,
    };
    Ok(Spooled {
        file,
        digest: hasher.finalize().into(),
        size,
        media_type,
    })
}

/// A zip's type from its central directory (the authoritative list of its entries).
async fn zip_media_type(
    file: &mut tokio::fs::File,
    size: u64,
) -> Result<Result<MediaType, Refusal>, BlobError> {
    let tail_len = size.min(22 + 65_535);
    let tail = read_at(file, size - tail_len, tail_len).await?;
    let Some((offset, len)) = sniff::central_directory(&tail, size) else {
        return Ok(Err(Refusal::Unrecognised));
    };
    if len > MAX_ZIP_DIRECTORY {
        return Ok(Err(Refusal::Unrecognised));
    }
    let directory = read_at(file, offset, len).await?;
    Ok(sniff::office(
        sniff::directory_entry_names(&directory).into_iter(),
    ))
}

async fn read_at(file: &mut tokio::fs::File, at: u64, len: u64) -> Result<Vec<u8>, BlobError> {
    file.seek(SeekFrom::Start(at))
        .await
        .map_err(BlobError::Spool)?;
    let mut buf = vec![0; len as usize];
    file.read_exact(&mut buf).await.map_err(BlobError::Spool)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lowercase_hex_of_64_characters() {
        let digest = hex(&Sha256::digest(b"abc"));
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&digest));
        assert!(!is_sha256_hex(&digest.to_uppercase()));
        assert!(!is_sha256_hex(&digest[1..]));
        assert!(!is_sha256_hex(&format!("{}g", &digest[1..])));
        assert!(!is_sha256_hex("../../etc/passwd"));
    }

    #[test]
    fn holders_become_distinct_key_safe_tokens() {
        assert_eq!(holder_key("member:0192-ab").unwrap(), "member_3a0192-ab");
        assert_ne!(
            holder_key("member:x").unwrap(),
            holder_key("member_3ax").unwrap()
        );
        assert_eq!(holder_key("a.b>c*").unwrap(), "a_2eb_3ec_2a");
        assert!(matches!(holder_key(""), Err(BlobError::InvalidHolder)));
    }

    #[test]
    fn base64_matches_the_object_stores_digest_encoding() {
        assert_eq!(base64_url(b""), "");
        assert_eq!(base64_url(b"f"), "Zg==");
        assert_eq!(base64_url(b"fo"), "Zm8=");
        assert_eq!(base64_url(b"foo"), "Zm9v");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8=");
    }

    fn body(chunks: Vec<Vec<u8>>) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
    }

    #[tokio::test]
    async fn spooling_hashes_sizes_and_types_a_body_in_many_chunks() {
        let mut content = b"%PDF-1.7\n".to_vec();
        content.resize(300_000, b'x');
        let chunks = content.chunks(7_001).map(<[u8]>::to_vec).collect();
        let spooled = spool(body(chunks), 1 << 20).await.unwrap();
        assert_eq!(spooled.size, 300_000);
        assert_eq!(spooled.media_type, MediaType::Pdf);
        assert_eq!(spooled.digest, <[u8; 32]>::from(Sha256::digest(&content)));
    }

    #[tokio::test]
    async fn spooling_stops_at_the_limit_an_executable_head_and_an_empty_body() {
        let big = vec![vec![b'a'; 1000]; 10];
        assert!(matches!(
            spool(body(big), 9_999).await,
            Err(BlobError::TooLarge { limit: 9_999 })
        ));
        assert!(matches!(
            spool(body(vec![]), 10).await,
            Err(BlobError::Empty)
        ));
        let mut elf = b"\x7fELF".to_vec();
        elf.resize(SNIFF_LEN, 0);
        // The rest of the body is never read: the second chunk would fail.
        let refused = spool(
            futures::stream::iter([Ok(Bytes::from(elf)), Err(std::io::Error::other("not read"))]),
            u64::MAX,
        )
        .await;
        assert!(matches!(refused, Err(BlobError::Refused(Refusal::Elf))));
    }
}
