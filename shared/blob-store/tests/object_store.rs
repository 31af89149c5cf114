//! The blob store against a real nats-server: streamed round trips, content addressing,
//! refusals that leave nothing behind, and holders.

use async_nats::jetstream;
use blob_store::{BlobError, BlobStore, Refusal};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use testkit::{Nats, namespace};

struct Fixture {
    _nats: Nats,
    jetstream: jetstream::Context,
    bucket: String,
    store: BlobStore,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let nats = Nats::start().await?;
    let jetstream = jetstream::new(nats.connect().await?);
    let bucket = format!("{}_files", namespace());
    let store = BlobStore::open(jetstream.clone(), &bucket, 1).await?;
    Ok(Fixture {
        _nats: nats,
        jetstream,
        bucket,
        store,
    })
}

impl Fixture {
    /// Messages in the bucket's stream: chunks and metadata of every object put.
    async fn stored_messages(&self) -> anyhow::Result<u64> {
        let mut stream = self
            .jetstream
            .get_stream(format!("OBJ_{}", self.bucket))
            .await?;
        Ok(stream.info().await?.state.messages)
    }
}

/// `len` bytes starting with a PDF header, the rest varied so chunks differ.
fn pdf(len: usize, seed: u8) -> Vec<u8> {
    let mut content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut x = u32::from(seed) | 1;
    while content.len() < len {
        // xorshift: cheap, deterministic, incompressible enough
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        content.push(x as u8);
    }
    content
}

/// A body as the gateway hands it over: many chunks.
fn chunked(content: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let chunks: Vec<_> = content
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(chunks)
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn a_multi_chunk_pdf_streams_in_and_back_out_byte_identical() -> anyhow::Result<()> {
    let f = fixture().await?;
    let content = pdf(1_500_000, 7);
    let stored = f.store.put(chunked(&content, 60_000), 2 << 20).await?;
    assert_eq!(stored.sha256, sha256_hex(&content));
    assert_eq!(stored.size, content.len() as u64);
    assert_eq!(stored.media_type, "application/pdf");

    let (blob, body) = f.store.get(&stored.sha256).await?.expect("stored");
    assert_eq!(blob, stored);
    assert_eq!(
        f.store.describe(&stored.sha256).await?,
        Some(stored.clone())
    );
    assert_eq!(f.store.describe(&sha256_hex(b"never stored")).await?, None);
    let chunks: Vec<Bytes> = body.try_collect().await?;
    assert!(chunks.len() > 1, "streamed in pieces, not one buffer");
    assert!(chunks.iter().all(|c| c.len() <= 128 * 1024));
    assert_eq!(chunks.concat(), content);
    Ok(())
}

#[tokio::test]
async fn the_same_content_put_twice_is_stored_once_under_the_same_digest() -> anyhow::Result<()> {
    let f = fixture().await?;
    let content = pdf(400_000, 3);
    let first = f.store.put(chunked(&content, 10_000), 1 << 20).await?;
    let after_first = f.stored_messages().await?;
    let second = f.store.put(chunked(&content, 33_333), 1 << 20).await?;
    assert_eq!(first, second);
    assert_eq!(
        f.stored_messages().await?,
        after_first,
        "nothing uploaded again"
    );
    let other = f
        .store
        .put(chunked(&pdf(400_000, 4), 10_000), 1 << 20)
        .await?;
    assert_ne!(other.sha256, first.sha256);
    Ok(())
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_and_nothing_is_stored() -> anyhow::Result<()> {
    let f = fixture().await?;
    let content = pdf(300_000, 5);
    let refused = f.store.put(chunked(&content, 16_384), 299_999).await;
    assert!(
        matches!(refused, Err(BlobError::TooLarge { limit: 299_999 })),
        "{refused:?}"
    );
    assert_eq!(f.stored_messages().await?, 0);
    assert!(f.store.get(&sha256_hex(&content)).await?.is_none());
    // Exactly at the limit is fine.
    f.store.put(chunked(&content, 16_384), 300_000).await?;
    Ok(())
}

#[tokio::test]
async fn an_elf_executable_and_an_empty_body_are_refused_and_nothing_is_stored()
-> anyhow::Result<()> {
    let f = fixture().await?;
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
    elf.resize(200_000, 0x90);
    let refused = f.store.put(chunked(&elf, 8_192), 1 << 20).await;
    assert!(
        matches!(refused, Err(BlobError::Refused(Refusal::Elf))),
        "{refused:?}"
    );
    let script = f
        .store
        .put(chunked(b"#!/bin/sh\necho hi\n", 4), 1 << 20)
        .await;
    assert!(matches!(script, Err(BlobError::Refused(Refusal::Script))));
    let empty = f.store.put(chunked(b"", 1), 1 << 20).await;
    assert!(matches!(empty, Err(BlobError::Empty)), "{empty:?}");
    assert_eq!(f.stored_messages().await?, 0);
    Ok(())
}

#[tokio::test]
async fn a_blob_is_fetched_only_by_name_and_held_only_by_those_granted() -> anyhow::Result<()> {
    let f = fixture().await?;
    let text = "申し送り: 14時 訪問、血圧 128/76\n".repeat(100);
    let stored = f
        .store
        .put(chunked(text.as_bytes(), 1_000), 1 << 20)
        .await?;
    assert_eq!(stored.media_type, "text/plain; charset=utf-8");

    f.store
        .grant(&stored.sha256, "member:0192a0b0-aaaa")
        .await?;
    f.store.grant(&stored.sha256, "site:izumo-1").await?;
    let holders = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(
        f.store
            .held_by_any(
                &stored.sha256,
                &holders(&["member:someone-else", "site:izumo-1"])
            )
            .await?
    );
    assert!(
        f.store
            .held_by_any(&stored.sha256, &holders(&["member:0192a0b0-aaaa"]))
            .await?
    );
    assert!(
        !f.store
            .held_by_any(
                &stored.sha256,
                &holders(&["member:0192a0b0-bbbb", "site:unnan-1"])
            )
            .await?
    );
    // Look-alike holders do not collide after being made key-safe.
    assert!(
        !f.store
            .held_by_any(
                &stored.sha256,
                &holders(&["site_3aizumo-1", "site.izumo-1"])
            )
            .await?
    );
    assert!(!f.store.held_by_any(&stored.sha256, &[]).await?);
    let other = sha256_hex(b"something else");
    assert!(
        !f.store
            .held_by_any(&other, &holders(&["site:izumo-1"]))
            .await?
    );

    assert!(f.store.get(&other).await?.is_none());
    for bad in [
        "../sha256-x",
        &stored.sha256.to_uppercase(),
        &stored.sha256[..63],
    ] {
        assert!(matches!(
            f.store.get(bad).await,
            Err(BlobError::InvalidDigest)
        ));
        assert!(matches!(
            f.store.held_by_any(bad, &holders(&["site:izumo-1"])).await,
            Err(BlobError::InvalidDigest)
        ));
    }
    Ok(())
}

#[tokio::test]
async fn opening_an_existing_bucket_finds_what_is_stored() -> anyhow::Result<()> {
    let f = fixture().await?;
    let content = pdf(10_000, 9);
    let stored = f.store.put(chunked(&content, 4_096), 1 << 20).await?;
    f.store.grant(&stored.sha256, "member:a").await?;
    let reopened = BlobStore::open(f.jetstream.clone(), &f.bucket, 1).await?;
    let (_, body) = reopened.get(&stored.sha256).await?.expect("stored");
    let read: Vec<Bytes> = body
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    assert_eq!(read.concat(), content);
    assert!(
        reopened
            .held_by_any(&stored.sha256, &["member:a".to_owned()])
            .await?
    );
    Ok(())
}
