//! Files end to end: real binaries, real NATS (the blob store is JetStream's object store),
//! members signed in with two factors, HTTP as a client speaks it. A file is held by the
//! member who uploaded it and by their sites; nobody else learns it exists.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};
use testkit::{Platform, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tsunagu_tests::accounts::{Clock, START, access_token, join, site};

const PROBLEM: &str = "application/problem+json";
const LIMIT: usize = 4 << 20;

async fn start() -> anyhow::Result<(Platform, Clock)> {
    let clock = Clock {
        start: DateTime::parse_from_rfc3339(START)?.with_timezone(&Utc),
        started: Instant::now(),
    };
    let p = Platform::start_with(&[
        ("TSUNAGU_CLOCK_START", START),
        ("TSUNAGU_UPLOAD_LIMIT", &LIMIT.to_string()),
    ])
    .await?;
    Ok((p, clock))
}

/// `len` bytes behind a PDF header, varied so no two chunks are alike.
fn pdf(len: usize) -> Vec<u8> {
    let mut content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec();
    let mut x: u32 = 0x9e37_79b9;
    while content.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        content.push(x as u8);
    }
    content
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn upload(
    p: &Platform,
    token: Option<&str>,
    content: Vec<u8>,
) -> anyhow::Result<(u16, String, Value)> {
    let mut request = p
        .http
        .post(p.url("/api/v1/files"))
        // Whatever the client claims, the content decides.
        .header("content-type", "application/octet-stream")
        .body(content);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    json(request.send().await?).await
}

async fn download(p: &Platform, token: &str, sha256: &str) -> anyhow::Result<Response> {
    Ok(p.http
        .request(Method::GET, p.url(&format!("/api/v1/files/{sha256}")))
        .bearer_auth(token)
        .send()
        .await?)
}

/// Sends an upload over a bare connection: the request head, then `body` as it is, then
/// reads whatever the gateway answers. For what a client library would not do: declare a
/// size and send nothing, or stream without declaring one.
async fn raw_upload(
    p: &Platform,
    token: &str,
    head: &str,
    body: &[u8],
) -> anyhow::Result<(u16, Value)> {
    let addr = p.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST /api/v1/files HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\nConnection: close\r\n{head}\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response)).await??;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no response head in {} bytes", response.len()))?;
    let head = String::from_utf8_lossy(&response[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = serde_json::from_slice(&response[split + 4..]).unwrap_or(Value::Null);
    Ok((status, body))
}

/// `content` in HTTP/1.1 chunked encoding, without the closing empty chunk.
fn chunked(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + content.len() / 1000);
    for piece in content.chunks(64 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[tokio::test]
async fn a_nurse_shares_a_file_with_her_site_and_nobody_else_learns_it_exists() -> anyhow::Result<()>
{
    let (p, clock) = start().await?;
    let station = site(&p, "医療法人　出雲会", "出雲訪問看護ステーション").await?;
    let other_station = site(&p, "社会福祉法人　斐川会", "斐川訪問看護ステーション").await?;
    let hanako = join(&p, &clock, None, "hanako", &["professional"], &[&station]).await?;
    let taro = join(&p, &clock, None, "taro", &["professional"], &[&station]).await?;
    let jiro = join(
        &p,
        &clock,
        None,
        "jiro",
        &["professional"],
        &[&other_station],
    )
    .await?;
    let hanako = access_token(&p, &clock, &hanako).await?;
    let taro = access_token(&p, &clock, &taro).await?;
    let jiro = access_token(&p, &clock, &jiro).await?;

    // Hanako uploads a 3 MiB PDF, well past the JSON body limit.
    let content = pdf(3 << 20);
    let (status, _, stored) = upload(&p, Some(&hanako), content.clone()).await?;
    assert_eq!(status, 201, "{stored}");
    let sha256 = sha256_hex(&content);
    assert_eq!(stored["sha256"], sha256.as_str());
    assert_eq!(stored["size"], content.len());
    assert_eq!(stored["media_type"], "application/pdf");
    assert_eq!(stored["href"], format!("/api/v1/files/{sha256}"));

    // She downloads it byte for byte, typed from its content.
    let response = download(&p, &hanako, &sha256).await?;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/pdf");
    assert_eq!(
        header(&response, "content-length"),
        content.len().to_string()
    );
    assert_eq!(header(&response, "content-disposition"), "attachment");
    assert_eq!(header(&response, "etag"), format!("\"{sha256}\""));
    assert_eq!(header(&response, "cache-control"), "private, no-store");
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    assert!(response.bytes().await? == content, "byte-identical");

    // Taro works at the same station: the file is his site's too.
    let response = download(&p, &taro, &sha256).await?;
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await? == content);

    // Jiro works elsewhere: to him the file does not exist, exactly as a file that
    // really does not.
    let (status, content_type, held_elsewhere) = json(download(&p, &jiro, &sha256).await?).await?;
    assert_eq!((status, content_type.as_str()), (404, PROBLEM));
    let (status, _, missing) =
        json(download(&p, &jiro, &sha256_hex(b"no such file")).await?).await?;
    assert_eq!(status, 404);
    for field in ["type", "title", "status", "detail"] {
        assert_eq!(held_elsewhere[field], missing[field], "{field}");
    }

    // A digest is 64 lowercase hex characters; anything else is refused by name.
    let (status, _, invalid) = json(download(&p, &jiro, &sha256.to_uppercase()).await?).await?;
    assert_eq!(status, 422, "{invalid}");
    assert_eq!(invalid["errors"][0]["pointer"], "/sha256");

    // Uploading the same content proves having it: Jiro then holds it too, same digest.
    let (status, _, again) = upload(&p, Some(&jiro), content.clone()).await?;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["sha256"], sha256.as_str());
    assert_eq!(download(&p, &jiro, &sha256).await?.status(), 200);
    Ok(())
}

#[tokio::test]
async fn executables_oversized_empty_and_anonymous_uploads_are_refused_with_problem_details()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let station = site(&p, "医療法人　出雲会", "出雲訪問看護ステーション").await?;
    let hanako = join(&p, &clock, None, "hanako", &["professional"], &[&station]).await?;
    let hanako = access_token(&p, &clock, &hanako).await?;

    // An ELF binary, whatever it calls itself.
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    elf.resize(20_000, 0x90);
    let (status, content_type, refused) = upload(&p, Some(&hanako), elf).await?;
    assert_eq!((status, content_type.as_str()), (415, PROBLEM), "{refused}");
    assert!(
        refused["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/executable-elf")),
        "the type names the reason: {refused}"
    );
    // Something that is no accepted type at all is refused too, under another name.
    let (status, _, unknown) = upload(&p, Some(&hanako), vec![0x8c, 0x00, 0x12, 0xfe]).await?;
    assert_eq!(status, 415, "{unknown}");
    assert!(
        unknown["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/unrecognised-file-type")),
        "{unknown}"
    );

    // Declared larger than the limit: refused before a byte of the body is read.
    let (status, too_large) = raw_upload(
        &p,
        &hanako,
        &format!("Content-Length: {}\r\n", LIMIT + 1),
        b"",
    )
    .await?;
    assert_eq!(status, 413, "{too_large}");
    assert!(
        too_large["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/payload-too-large"))
    );

    // Streamed without a declared size: refused as it passes the limit.
    let (status, too_large) = raw_upload(
        &p,
        &hanako,
        "Transfer-Encoding: chunked\r\n",
        &chunked(&pdf(LIMIT + 1)),
    )
    .await?;
    assert_eq!(status, 413, "{too_large}");

    // An empty body names the body.
    let (status, _, empty) = upload(&p, Some(&hanako), Vec::new()).await?;
    assert_eq!(status, 422, "{empty}");
    assert_eq!(empty["errors"][0]["pointer"], "/body");

    // No credential, no upload.
    let (status, content_type, anonymous) = upload(&p, None, b"%PDF-1.7\nhello".to_vec()).await?;
    assert_eq!(
        (status, content_type.as_str()),
        (401, PROBLEM),
        "{anonymous}"
    );
    Ok(())
}
