//! bench-posts: posting to a patient's timeline through the gateway, against raw conditional
//! appends of the same events in the same run; and the newest page of a timeline that holds
//! many posts.
//!
//! Starts a whole platform on the release binaries (rate limits off) with one patient whose
//! care team (a nursing station) an active consent covers, and signs its nurse in. Then:
//! (a) C clients each keep one `POST /api/v1/patients/{id}/posts` in flight for S seconds:
//!     the gateway, the messaging service, identity's decision (recorded through group
//!     commit) and sealing, and one conditional append per post;
//! (b) C tasks each keep one raw conditional append of a `PostCreated` event (expected
//!     version 0 on a new subject, as the service makes it) in flight for S seconds, straight
//!     to the event store: the floor the gateway path stands on;
//! (c) the timeline is filled to N posts (raw appends of sealed posts, the projection
//!     catching up), then C clients each keep one `GET /api/v1/patients/{id}/posts` (the
//!     newest page, 50 posts, each decided, recorded and opened) in flight for S seconds;
//! (d) the search index is filled to M posts of 1,000 patients (written straight into the
//!     timeline's tables with their keyed terms, 8 per post — only the read path is
//!     measured here: posting is (a)), 1 in 10,000 holding 褥瘡, then C clients each keep
//!     one `GET /api/v1/posts/search?q=褥瘡` (the newest 20, each patient's decided,
//!     recorded and opened) in flight for S seconds;
//! (e) read receipts: R members of the team, all at once, each marking P posts read
//!     (`POST …/receipt`, 4 in flight per member): receipts/s and p50/p99, identity
//!     recording each decision through group commit.
//!
//! Run it through `tests/bench/run posts [--clients C] [--seconds S] [--posts N]
//! [--search-posts M] [--readers R] [--reads P]`.

use std::time::{Duration, Instant};

use anyhow::bail;
use event_store::{
    Actor, EventContract, EventEnvelope, EventStore, ExpectedVersion, JetStreamStore, StoreConfig,
    Visibility,
};
use messaging_api::events::{MessagingEvent, PostAuthor};
use reqwest::Method;
use serde_json::json;
use tsunagu_tests::accounts::{IZUMO, start_with};
use tsunagu_tests::bench_args;
use tsunagu_tests::care::{
    PatientForm, add_seat, all_sites_except, consent_form, grant_consent, professional,
    register_patient, secretariat, site_of_kind, text,
};
use tsunagu_tests::http_load::percentile_ms;
use uuid::Uuid;

const USAGE: &str = "usage: bench-posts [--clients C] [--seconds S] [--posts N] [--search-posts M] [--readers R] [--reads P]   (run through tests/bench/run posts)";

struct Args {
    clients: usize,
    seconds: u64,
    posts: u64,
    search_posts: u64,
    readers: usize,
    reads: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        clients: 64,
        seconds: 10,
        posts: 10_000,
        search_posts: 1_000_000,
        readers: 30,
        reads: 100,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--clients" => parsed.clients = bench_args::number(&name, &value, 1)? as usize,
            "--seconds" => parsed.seconds = bench_args::number(&name, &value, 1)?,
            "--posts" => parsed.posts = bench_args::number(&name, &value, 1)?,
            "--search-posts" => parsed.search_posts = bench_args::number(&name, &value, 1)?,
            "--readers" => parsed.readers = bench_args::number(&name, &value, 1)? as usize,
            "--reads" => parsed.reads = bench_args::number(&name, &value, 1)? as usize,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

struct Row {
    case: &'static str,
    wall: Duration,
    latencies: Vec<Duration>,
    errors: usize,
    shown: Vec<String>,
}

impl Row {
    fn per_s(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }
}

/// `clients` loops, each running `once` back to back until `length` is over.
async fn closed_loop<F, Fut>(case: &'static str, clients: usize, length: Duration, once: F) -> Row
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let started = Instant::now();
    let deadline = started + length;
    let workers: Vec<_> = (0..clients)
        .map(|worker| {
            let once = once.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match once(worker as u64 * 1_000_000 + n).await {
                        Ok(()) => latencies.push(sent.elapsed()),
                        Err(e) => errors.push(e),
                    }
                    n += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut row = Row {
        case,
        wall: Duration::ZERO,
        latencies: Vec::new(),
        errors: 0,
        shown: Vec::new(),
    };
    for w in workers {
        if let Ok((latencies, errors)) = w.await {
            row.latencies.extend(latencies);
            row.errors += errors.len();
            row.shown.extend(errors.into_iter().take(3));
        }
    }
    row.wall = started.elapsed();
    row.latencies.sort();
    row
}

fn post_event(patient: &str, sealed: &str) -> (String, EventEnvelope) {
    let post_id = Uuid::now_v7().to_string();
    let event = MessagingEvent::PostCreated {
        post_id: post_id.clone(),
        patient_id: patient.to_owned(),
        author: PostAuthor {
            member_id: "bench".into(),
            name: "計測 花子".into(),
            profession: Some("nurse".into()),
            site_id: None,
            site_name: Some("計測訪問看護".into()),
        },
        category: consent::DataCategory::CareRecords,
        urgent: false,
        reply_requested: false,
        text_sealed: sealed.to_owned(),
        reply_to: None,
        terms: Vec::new(),
        mentions: Vec::new(),
        attachments: Vec::new(),
    };
    let envelope = EventEnvelope {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: 1,
        visibility: Visibility::Patient,
        municipality: Some(IZUMO.to_owned()),
        aggregate_type: messaging_api::aggregates::POST.to_owned(),
        aggregate_id: post_id.clone(),
        occurred_at: chrono::Utc::now(),
        actor: Actor("member:bench".into()),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        traceparent: None,
        payload: event.to_payload(),
    };
    (post_id, envelope)
}

async fn run(args: Args) -> anyhow::Result<()> {
    let Args {
        clients,
        seconds,
        posts,
        search_posts,
        readers,
        reads,
    } = args;
    let profile = std::env::var("TSUNAGU_TEST_PROFILE").unwrap_or_else(|_| "debug".to_owned());
    if profile != "release" {
        bail!(
            "TSUNAGU_TEST_PROFILE is {profile:?}, not \"release\": run through tests/bench/run posts"
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "0"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
    ])
    .await?;
    let office = site_of_kind(
        &p,
        IZUMO,
        "計測居宅介護支援",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "計測訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "bench.cm", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "bench.nurse", "nurse", &nursing, IZUMO).await?;
    let secretariat = secretariat(&p, &clock, "bench.secretariat", IZUMO).await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("計測", IZUMO),
        Some(&office),
    )
    .await?;
    add_seat(
        &p,
        &care_manager,
        &patient,
        &nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let form = consent_form(
        all_sites_except(&[]),
        &["care_records"],
        &nursing,
        "2026-10-01",
    );
    grant_consent(&p, &nurse, &secretariat, &patient, &form).await?;
    // One real post, for its sealed text (the raw appends carry it, so the pages open).
    let http = tsunagu_tests::http_load::client(clients)?;
    let posts_url = p.url(&format!("/api/v1/patients/{patient}/posts"));
    let first = http
        .post(&posts_url)
        .bearer_auth(&nurse.token)
        .json(&json!({ "text": "計測のための投稿です。褥瘡の処置を変更しました。" }))
        .send()
        .await?;
    let first: serde_json::Value = first.json().await?;
    let _ = text(&first, "post_id")?;
    let client = p.nats.connect().await?;
    let store = JetStreamStore::new(
        client,
        StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let sealed: String = {
        let db = p.messaging_db.pool()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let row = db
                .get()
                .await?
                .query_opt("SELECT text_sealed FROM timeline.posts LIMIT 1", &[])
                .await?;
            if let Some(row) = row {
                break row.get(0);
            }
            if Instant::now() > deadline {
                bail!("the first post never reached the timeline");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };

    println!(
        "messaging + identity + gateway: {profile} binaries; {cpus} CPUs shared by the load generator, \
         the gateway, the services, nats-server (sync_interval: always) and PostgreSQL (fsync on)"
    );
    println!(
        "{clients} clients, one request in flight each; 2 s warm-up, then {seconds} s per case"
    );
    let length = Duration::from_secs(seconds);

    // (a) posts through the gateway.
    let post = {
        let (http, url, token) = (http.clone(), posts_url.clone(), nurse.token.clone());
        move |n: u64| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let r = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "text": format!("本日訪問、変わりなし。({n})"), "urgent": n.is_multiple_of(10) }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let body = r.bytes().await.map_err(|e| e.to_string())?;
                if status == 201 {
                    Ok(())
                } else {
                    Err(format!("{status} {}", String::from_utf8_lossy(&body)))
                }
            }
        }
    };
    let _ = closed_loop("warm-up", clients, Duration::from_secs(2), post.clone()).await;
    let through = closed_loop("POST posts (gateway)", clients, length, post).await;

    // (b) raw conditional appends of the same events.
    let append = {
        let (store, patient, sealed) = (store.clone(), patient.clone(), sealed.clone());
        move |_: u64| {
            let (store, patient, sealed) = (store.clone(), patient.clone(), sealed.clone());
            async move {
                let (_, envelope) = post_event(&patient, &sealed);
                store
                    .append(messaging_api::CONTEXT, ExpectedVersion::NoStream, envelope)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    };
    let raw = closed_loop("raw conditional append", clients, length, append.clone()).await;

    // (c) the newest page of a timeline holding `posts` posts.
    let have: i64 = p
        .messaging_db
        .pool()?
        .get()
        .await?
        .query_one("SELECT count(*) FROM timeline.posts", &[])
        .await?
        .get(0);
    let missing = (posts as i64 - have).max(0) as u64;
    let fill_started = Instant::now();
    let per = missing.div_ceil(clients as u64);
    let fills: Vec<_> = (0..clients)
        .map(|_| {
            let append = append.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    let _ = append(i).await;
                }
            })
        })
        .collect();
    for f in fills {
        let _ = f.await;
    }
    let db = p.messaging_db.pool()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let total: i64 = loop {
        let n: i64 = db
            .get()
            .await?
            .query_one("SELECT count(*) FROM timeline.posts", &[])
            .await?
            .get(0);
        if n >= posts as i64 || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "timeline filled to {total} posts in {:.1} s",
        fill_started.elapsed().as_secs_f64()
    );
    let page = {
        let (http, url, token) = (http.clone(), posts_url.clone(), nurse.token.clone());
        move |_: u64| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let r = http
                    .request(Method::GET, format!("{url}?limit=50"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let body = r.bytes().await.map_err(|e| e.to_string())?;
                if status == 200 {
                    Ok(())
                } else {
                    Err(format!("{status} {}", String::from_utf8_lossy(&body)))
                }
            }
        }
    };
    let _ = closed_loop("warm-up", clients, Duration::from_secs(2), page.clone()).await;
    let newest = closed_loop("GET newest page of 50", clients, length, page).await;

    // (d) a search over `search_posts` posts.
    let seeded = seed_search_index(&p, &http, &nurse.token, &patient, search_posts).await?;
    let search = {
        let (http, token) = (http.clone(), nurse.token.clone());
        let url = p.url("/api/v1/posts/search");
        move |_: u64| {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            async move {
                let r = http
                    .request(Method::GET, &url)
                    .query(&[("q", "褥瘡"), ("limit", "20")])
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
                let found = body["items"].as_array().map_or(0, Vec::len);
                if status == 200 && found == 20 {
                    Ok(())
                } else {
                    Err(format!("{status}, {found} found: {body}"))
                }
            }
        }
    };
    let _ = closed_loop("warm-up", clients, Duration::from_secs(2), search.clone()).await;
    let searched = closed_loop("GET search 褥瘡 (20 newest)", clients, length, search).await;

    // (e) read receipts: every reader at once, each through the posts.
    let receipts = read_receipts(&p, &http, &clock, &nursing, &patient, readers, reads).await?;

    println!();
    println!(
        "{:<28} {:>7} {:>9} {:>9} {:>8} {:>8} {:>7}",
        "case", "clients", "done", "per s", "p50 ms", "p99 ms", "errors"
    );
    println!(
        "search index: {seeded} posts of 1,001 patients, {} keyed terms",
        seeded * 8
    );
    let rows = [&through, &raw, &newest, &searched, &receipts];
    for r in rows {
        println!(
            "{:<28} {:>7} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>7}",
            r.case,
            clients,
            r.latencies.len(),
            r.per_s(),
            percentile_ms(&r.latencies, 0.50),
            percentile_ms(&r.latencies, 0.99),
            r.errors
        );
    }
    println!(
        "\nposts through the gateway: {:.0}% of the raw append rate; newest page measured on a timeline of {total} posts",
        100.0 * through.per_s() / raw.per_s().max(f64::MIN_POSITIVE)
    );
    let json = json!({
        "bench": "posts",
        "clients": clients,
        "seconds": seconds,
        "timeline_posts": total,
        "search_posts": seeded,
        "readers": readers,
        "reads_each": reads,
        "cases": rows.iter().map(|r| json!({
            "case": r.case,
            "done": r.latencies.len(),
            "per_s": (r.per_s() * 10.0).round() / 10.0,
            "p50_ms": (percentile_ms(&r.latencies, 0.50) * 1000.0).round() / 1000.0,
            "p99_ms": (percentile_ms(&r.latencies, 0.99) * 1000.0).round() / 1000.0,
            "errors": r.errors,
        })).collect::<Vec<_>>(),
    });
    println!("{json}");
    let errors: usize = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        for r in rows.iter().filter(|r| r.errors > 0) {
            println!("{}: {} errors, e.g. {:?}", r.case, r.errors, r.shown);
        }
        bail!(
            "{errors} requests failed\n--- messaging ---\n{}",
            p.messaging.log_tail(20)
        );
    }
    Ok(())
}

/// Fills the timeline's tables to `n` posts for the search: 1,000 other patients' posts with
/// 8 random keyed terms each, and every 100th post the bench patient's, of which every
/// 100th holds 褥瘡 — its real keyed term and real sealed text, taken from a post of
/// exactly "褥瘡" made through the gateway. Written in one statement per table by
/// PostgreSQL itself; the projection's checkpoint is not touched (only reads follow).
async fn seed_search_index(
    p: &testkit::Platform,
    http: &reqwest::Client,
    token: &str,
    patient: &str,
    n: u64,
) -> anyhow::Result<u64> {
    let r = http
        .post(p.url(&format!("/api/v1/patients/{patient}/posts")))
        .bearer_auth(token)
        .json(&json!({ "text": "褥瘡" }))
        .send()
        .await?;
    let posted: serde_json::Value = r.json().await?;
    let post_id = text(&posted, "post_id")?;
    let db = p.messaging_db.pool()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (term, sealed): (i64, String) = loop {
        let row = db
            .get()
            .await?
            .query_opt(
                "SELECT t.term, p.text_sealed FROM timeline.post_terms t
                   JOIN timeline.posts p USING (post_id) WHERE post_id = $1",
                &[&post_id],
            )
            .await?;
        if let Some(row) = row {
            break (row.get(0), row.get(1));
        }
        if Instant::now() > deadline {
            bail!("the 褥瘡 post never reached the search index");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let started = Instant::now();
    let client = db.get().await?;
    let n = i64::try_from(n)?;
    // Ids below every real UUIDv7 (those start 01…), in the same text order.
    client
        .execute(
            "INSERT INTO timeline.posts (post_id, patient_id, author_member_id, author_name,
                                         author_profession, author_site_name, category, urgent,
                                         reply_requested, text_sealed, posted_at, sequence)
             SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
                    CASE WHEN i % 100 = 0 THEN $1 ELSE 'other-' || (i % 1000)::text END,
                    'bench', '計測 花子', 'nurse', '計測訪問看護', 'care_records', false, false,
                    CASE WHEN i % 10000 = 0 THEN $2 ELSE 'not-sealed' END, now(), 0
               FROM generate_series(1, $3::bigint) i",
            &[&patient, &sealed, &n],
        )
        .await?;
    client
        .execute(
            "INSERT INTO timeline.post_terms (term, post_id)
             SELECT CASE WHEN k = 0 AND i % 10000 = 0 THEN $1
                         ELSE (random() * 9.2e18 - 4.6e18)::bigint END,
                    lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0')
               FROM generate_series(1, $2::bigint) i, generate_series(0, 7) k
             ON CONFLICT DO NOTHING",
            &[&term, &n],
        )
        .await?;
    client.execute("ANALYZE timeline.posts", &[]).await?;
    client.execute("ANALYZE timeline.post_terms", &[]).await?;
    println!(
        "search index filled with {n} posts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(n as u64)
}

/// `readers` members of the patient's nursing station sign in; then all at once, each marks
/// the newest `reads` posts read, four receipts in flight per member.
async fn read_receipts(
    p: &testkit::Platform,
    http: &reqwest::Client,
    clock: &tsunagu_tests::accounts::Clock,
    site: &str,
    patient: &str,
    readers: usize,
    reads: usize,
) -> anyhow::Result<Row> {
    let posts: Vec<String> = p
        .messaging_db
        .pool()?
        .get()
        .await?
        .query(
            "SELECT post_id FROM timeline.posts WHERE patient_id = $1
              ORDER BY post_id DESC LIMIT $2",
            &[&patient, &i64::try_from(reads)?],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut members = Vec::new();
    for i in 0..readers {
        members
            .push(professional(p, clock, &format!("bench.reader{i}"), "nurse", site, IZUMO).await?);
    }
    let started = Instant::now();
    let tasks: Vec<_> = members
        .into_iter()
        .map(|member| {
            let (http, posts) = (http.clone(), posts.clone());
            let base = p.url(&format!("/api/v1/patients/{patient}/posts"));
            tokio::spawn(async move {
                use futures::StreamExt;
                futures::stream::iter(posts)
                    .map(|post| {
                        let (http, url, token) = (
                            http.clone(),
                            format!("{base}/{post}/receipt"),
                            member.token.clone(),
                        );
                        async move {
                            let t = Instant::now();
                            let r = http
                                .post(&url)
                                .bearer_auth(&token)
                                .json(&json!({ "acknowledged": false }))
                                .send()
                                .await
                                .map_err(|e| e.to_string())?;
                            let status = r.status().as_u16();
                            let body = r.bytes().await.map_err(|e| e.to_string())?;
                            if status == 200 {
                                Ok(t.elapsed())
                            } else {
                                Err(format!("{status} {}", String::from_utf8_lossy(&body)))
                            }
                        }
                    })
                    .buffer_unordered(4)
                    .collect::<Vec<Result<Duration, String>>>()
                    .await
            })
        })
        .collect();
    let mut row = Row {
        case: Box::leak(format!("POST receipt ({readers}×{reads} at once)").into_boxed_str()),
        latencies: Vec::new(),
        errors: 0,
        shown: Vec::new(),
        wall: Duration::ZERO,
    };
    for task in tasks {
        for result in task.await? {
            match result {
                Ok(latency) => row.latencies.push(latency),
                Err(e) => {
                    row.errors += 1;
                    if row.shown.len() < 3 {
                        row.shown.push(e);
                    }
                }
            }
        }
    }
    row.wall = started.elapsed();
    row.latencies.sort();
    Ok(row)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    if std::env::var_os("TSUNAGU_NATS_SERVER").is_none() {
        bail!("TSUNAGU_NATS_SERVER is not set: run through tests/bench/run posts");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = run(args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        _ = term.recv() => bail!("terminated"),
    }
}
