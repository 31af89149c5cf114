//! The gateway as the one door, with the real binaries: every route the OpenAPI document
//! lists is served and asks for what the document says; bodies with fields a route does not
//! know, and bodies over the limit, are refused on every route; the permission rules and
//! object-level checks hold; rates are limited with `Retry-After`; no municipality reads
//! another's members; browsers get strict CORS and security headers; a client that never
//! finishes its headers is disconnected.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tsunagu_tests::accounts::{
    Clock, IZUMO, YOKOHAMA, access_token, join_as, send, site_in, start, start_with,
};

/// Every operation of the served document: (method, path template, operation).
async fn documented(p: &Platform) -> anyhow::Result<Vec<(Method, String, Value)>> {
    let (status, doc) = send(p.http.get(p.url("/api/v1/openapi.json"))).await?;
    anyhow::ensure!(status == 200, "the document: {doc}");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap_or(&Default::default()) {
        for (method, op) in item.as_object().unwrap_or(&Default::default()) {
            if let Ok(m) = Method::from_bytes(method.to_uppercase().as_bytes())
                && [
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ]
                .contains(&m)
            {
                ops.push((m, path.clone(), op.clone()));
            }
        }
    }
    anyhow::ensure!(
        ops.len() > 30,
        "the document lists every route: {}",
        ops.len()
    );
    Ok(ops)
}

/// A path with a well-formed value in each parameter.
fn concrete(template: &str) -> String {
    template
        .replace("{code}", IZUMO)
        .replace("{area_id}", "north")
        .replace("{group_id}", "izumo-area")
        .replace("{sha256}", &"ab".repeat(32))
        .replace("{member_id}", "0190a000-0000-7000-8000-000000000001")
        .replace("{organisation_id}", "0190a000-0000-7000-8000-000000000002")
        .replace("{site_id}", "0190a000-0000-7000-8000-000000000003")
}

fn secured(op: &Value) -> bool {
    op["security"].as_array().is_some_and(|s| !s.is_empty())
}

fn takes_json(op: &Value) -> bool {
    op["requestBody"]["content"]["application/json"].is_object()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_route_is_served_and_a_secured_one_refuses_a_caller_without_a_token()
-> anyhow::Result<()> {
    let p = Platform::start().await?;
    for (method, template, op) in documented(&p).await? {
        let path = concrete(&template);
        let response = p.http.request(method.clone(), p.url(&path)).send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            status < 500,
            "{method} {template} answered {status}: {body}"
        );
        assert!(
            !(status == 404 && body["detail"] == "no such resource") && status != 405,
            "{method} {template} is documented but not served ({status})"
        );
        assert_ne!(
            body["detail"], "this route has no access rule",
            "{method} {template}"
        );
        if secured(&op) {
            assert_eq!(status, 401, "{method} {template} without a token: {body}");
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {template}"
            );
            assert_eq!(body["status"], 401, "{method} {template}");
        }
    }
    Ok(())
}

/// Waits (at most a minute) until the gateway says every service is ready.
async fn ready(p: &Platform) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while p.http.get(p.url("/readyz")).send().await?.status() != 200 {
        anyhow::ensure!(std::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_get_route_answers_head_as_it_answers_get_without_a_body() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    let mut checked = 0;
    for (method, template, op) in documented(&p).await? {
        if method != Method::GET {
            continue;
        }
        let path = concrete(&template);
        if template == "/readyz" {
            // Ready is a moment, not a property: compare once every service has said so (the
            // services migrate their projections as they start).
            ready(&p).await?;
        }
        let get = p.http.get(p.url(&path)).send().await?;
        let head = p.http.head(p.url(&path)).send().await?;
        assert_eq!(
            head.status(),
            get.status(),
            "HEAD {template} answers as GET does"
        );
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "HEAD {template}"
        );
        assert!(head.bytes().await?.is_empty(), "HEAD {template}: no body");
        if secured(&op) {
            assert_eq!(get.status().as_u16(), 401, "GET {template} without a token");
        }
        checked += 1;
    }
    assert!(checked > 25, "GET routes: {checked}");
    // The document itself, which a client may probe before fetching.
    let head = p.http.head(p.url("/api/v1/openapi.json")).send().await?;
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(
        head.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    // And with a token, a read behind a door.
    let (status, _) = send(p.operator(Method::HEAD, "/api/v1/municipalities")).await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_naming_a_field_the_route_does_not_know_is_refused_on_every_route()
-> anyhow::Result<()> {
    let p = Platform::start().await?;
    let mut checked = 0;
    for (method, template, op) in documented(&p).await? {
        if !takes_json(&op) {
            continue;
        }
        let path = concrete(&template);
        // Read-only facts a client might try to set: the event's position and an id.
        for field in ["position", "member_id", "status"] {
            let mut request = p.http.request(method.clone(), p.url(&path));
            if secured(&op) {
                request = request.bearer_auth(&p.token);
            }
            let (status, body) = send(request.json(&json!({ field: "x" }))).await?;
            assert_eq!(status, 422, "{method} {template} with {field}: {body}");
            let pointers: Vec<&str> = body["errors"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e["pointer"].as_str()).collect())
                .unwrap_or_default();
            assert!(
                pointers.contains(&format!("/{field}").as_str()),
                "{method} {template}: names /{field}: {body}"
            );
        }
        checked += 1;
    }
    assert!(checked > 15, "routes with a JSON body: {checked}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_refused_on_every_route_that_takes_one() -> anyhow::Result<()> {
    let p = Platform::start_with(&[("TSUNAGU_BODY_LIMIT", "4096")]).await?;
    let big = json!({ "name": "あ".repeat(4096) });
    for (method, template, op) in documented(&p).await? {
        if !takes_json(&op) {
            continue;
        }
        let mut request = p.http.request(method.clone(), p.url(&concrete(&template)));
        if secured(&op) {
            request = request.bearer_auth(&p.token);
        }
        let (status, body) = send(request.json(&big)).await?;
        assert_eq!(status, 413, "{method} {template}: {body}");
        assert_eq!(body["status"], 413, "{method} {template}: problem details");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_that_tries_to_set_a_read_only_field_changes_nothing() -> anyhow::Result<()> {
    let (p, _clock) = start().await?;
    let site = site_in(&p, IZUMO, "医療法人 読取", "読取訪問看護").await?;
    // The directory answers once its projection has the new site.
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let (status, body) =
            send(p.operator(Method::GET, &format!("/api/v1/sites/{site}"))).await?;
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "the new site: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let organisation = before["organisation"]["organisation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, body) = send(
        p.operator(Method::PATCH, &format!("/api/v1/organisations/{organisation}"))
            .json(&json!({ "name": "医療法人 書換", "name_kana": "カキカエ", "organisation_id": "someone-else" })),
    )
    .await?;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/organisation_id", "{body}");
    let (_, after) = send(p.operator(
        Method::GET,
        &format!("/api/v1/organisations/{organisation}"),
    ))
    .await?;
    assert_ne!(
        after["name"], "医療法人 書換",
        "nothing was applied: {after}"
    );
    Ok(())
}

struct Municipality {
    secretariat: String,
    staff: Vec<String>,
}

/// A municipality with a site, three nurses and a secretariat member, all signed in.
async fn municipality(
    p: &Platform,
    clock: &Clock,
    code: &str,
    prefix: &str,
) -> anyhow::Result<(Municipality, Vec<String>)> {
    let site = site_in(
        p,
        code,
        &format!("医療法人 {prefix}"),
        &format!("{prefix}訪問看護"),
    )
    .await?;
    let mut staff = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let nurse = join_as(
            p,
            clock,
            None,
            &format!("{prefix}.nurse{i}"),
            &["professional"],
            &[&site],
            code,
            "nurse",
        )
        .await?;
        staff.push(nurse.member_id.clone());
        tokens.push(access_token(p, clock, &nurse).await?);
    }
    let secretariat = join_as(
        p,
        clock,
        None,
        &format!("{prefix}.secretariat"),
        &["municipal_secretariat"],
        &[],
        code,
        "municipal_staff",
    )
    .await?;
    staff.push(secretariat.member_id.clone());
    let token = access_token(p, clock, &secretariat).await?;
    Ok((
        Municipality {
            secretariat: token,
            staff,
        },
        tokens,
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn no_municipality_reads_anothers_members_over_a_thousand_alternating_requests()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let (izumo, _) = municipality(&p, &clock, IZUMO, "izumo").await?;
    let (yokohama, _) = municipality(&p, &clock, YOKOHAMA, "yokohama").await?;
    let sides = [
        (IZUMO, &izumo, YOKOHAMA, &yokohama),
        (YOKOHAMA, &yokohama, IZUMO, &izumo),
    ];
    let mut seen_own = [0usize; 2];
    for i in 0..1000 {
        let (own_code, own, other_code, other) = sides[i % 2];
        let get = |path: String| p.http.get(p.url(&path)).bearer_auth(&own.secretariat);
        match (i / 2) % 4 {
            0 => {
                let (status, page) =
                    send(get(format!("/api/v1/municipalities/{own_code}/members"))).await?;
                assert_eq!(status, 200, "request {i}: {page}");
                let items = page["items"].as_array().cloned().unwrap_or_default();
                assert_eq!(items.len(), own.staff.len(), "request {i}: {page}");
                for item in &items {
                    assert_eq!(item["municipality"], own_code, "request {i}: {item}");
                    let id = item["member_id"].as_str().unwrap_or_default();
                    assert!(
                        !other.staff.iter().any(|s| s == id),
                        "request {i} leaked {id}"
                    );
                }
                seen_own[i % 2] += items.len();
            }
            1 => {
                let (status, body) =
                    send(get(format!("/api/v1/municipalities/{other_code}/members"))).await?;
                assert_eq!(status, 403, "request {i}: {body}");
                assert!(body.get("items").is_none(), "request {i}: {body}");
            }
            2 => {
                let theirs = &other.staff[i % other.staff.len()];
                let (status, body) = send(get(format!("/api/v1/members/{theirs}"))).await?;
                assert!(
                    status == 403 || status == 404,
                    "request {i}: {status} {body}"
                );
                assert!(body.get("name").is_none(), "request {i}: {body}");
            }
            _ => {
                let mine = &own.staff[i % own.staff.len()];
                let (status, body) = send(get(format!("/api/v1/members/{mine}"))).await?;
                assert_eq!(status, 200, "request {i}: {body}");
                assert_eq!(body["municipality"], own_code, "request {i}: {body}");
            }
        }
    }
    assert_eq!(
        seen_own,
        [125 * 4, 125 * 4],
        "each side listed its own four, 125 times"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn object_level_checks_refuse_another_ones_objects_by_id() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let (izumo, izumo_nurses) = municipality(&p, &clock, IZUMO, "izumo").await?;
    let (yokohama, _) = municipality(&p, &clock, YOKOHAMA, "yokohama").await?;
    let nurse = &izumo_nurses[0];
    // A nurse reads their own account by id, not a colleague's.
    let (status, body) = send(
        p.http
            .get(p.url(&format!("/api/v1/members/{}", izumo.staff[0])))
            .bearer_auth(nurse),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        p.http
            .get(p.url(&format!("/api/v1/members/{}", izumo.staff[1])))
            .bearer_auth(nurse),
    )
    .await?;
    assert_eq!(status, 403, "{body}");
    // 出雲市's secretariat may not deactivate 横浜市's nurse, nor list or reset them.
    let theirs = &yokohama.staff[0];
    let (status, body) = send(
        p.http
            .post(p.url(&format!("/api/v1/members/{theirs}/deactivation")))
            .bearer_auth(&izumo.secretariat)
            .json(&json!({ "reason": "試し" })),
    )
    .await?;
    assert!(status == 403 || status == 404, "{status} {body}");
    let (status, body) = send(
        p.http
            .post(p.url(&format!("/api/v1/members/{theirs}/credential-reset")))
            .bearer_auth(&izumo.secretariat)
            .json(&json!({})),
    )
    .await?;
    assert!(
        status == 403 || status == 404 || status == 422,
        "{status} {body}"
    );
    assert_ne!(status, 200, "{body}");
    let (status, member) = send(
        p.http
            .get(p.url(&format!("/api/v1/members/{theirs}")))
            .bearer_auth(&yokohama.secretariat),
    )
    .await?;
    assert_eq!(status, 200, "{member}");
    assert_eq!(member["status"], "active", "untouched: {member}");
    // A nurse cannot rotate the signing keys or register an integrator.
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/signing-keys/rotation"))
            .bearer_auth(nurse),
    )
    .await?;
    assert_eq!(status, 403);
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/integrators"))
            .bearer_auth(nurse)
            .json(&json!({ "name": "連携システム", "municipality": IZUMO })),
    )
    .await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_over_their_rate_waits_as_retry_after_says_and_others_go_on() -> anyhow::Result<()>
{
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "5"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "60"),
    ])
    .await?;
    let site = site_in(&p, IZUMO, "医療法人 速度", "速度訪問看護").await?;
    let first = join_as(
        &p,
        &clock,
        None,
        "rate.one",
        &["professional"],
        &[&site],
        IZUMO,
        "nurse",
    )
    .await?;
    let second = join_as(
        &p,
        &clock,
        None,
        "rate.two",
        &["professional"],
        &[&site],
        IZUMO,
        "nurse",
    )
    .await?;
    let first = access_token(&p, &clock, &first).await?;
    let second = access_token(&p, &clock, &second).await?;
    for n in 0..5 {
        let (status, body) = send(p.http.get(p.url("/api/v1/me")).bearer_auth(&first)).await?;
        assert_eq!(status, 200, "request {n}: {body}");
    }
    let response = p
        .http
        .get(p.url("/api/v1/me"))
        .bearer_auth(&first)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 429);
    let wait: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        (1..=12).contains(&wait),
        "one request every 12 s at 5 a minute: {wait}"
    );
    let body: Value = response.json().await?;
    assert_eq!(body["status"], 429, "{body}");
    let (status, _) = send(p.http.get(p.url("/api/v1/me")).bearer_auth(&second)).await?;
    assert_eq!(status, 200, "another member has a bucket of their own");

    // The address: 60 a minute in all from 127.0.0.1, whoever asks.
    let mut refused = None;
    for n in 0..120 {
        let response = p.http.get(p.url("/healthz")).send().await?;
        if response.status().as_u16() == 429 {
            assert!(response.headers().contains_key("retry-after"));
            refused = Some(n);
            break;
        }
    }
    assert!(
        refused.is_some(),
        "the address limit answers 429 within 120 requests"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_get_strict_cors_and_security_headers() -> anyhow::Result<()> {
    let app = "https://app.tsunagu.example.jp";
    let p = Platform::start_with(&[("TSUNAGU_CORS_ORIGINS", app)]).await?;
    let preflight = |origin: &str| {
        p.http
            .request(Method::OPTIONS, p.url("/api/v1/me"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
    };
    let allowed = preflight(app).send().await?;
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(app)
    );
    let foreign = preflight("https://evil.example.com").send().await?;
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let response = p
        .http
        .get(p.url("/api/v1/municipalities"))
        .header("origin", "https://evil.example.com")
        .bearer_auth(&p.token)
        .send()
        .await?;
    let headers = response.headers();
    assert!(headers.get("access-control-allow-origin").is_none());
    for (name, expected) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(expected),
            "{name}"
        );
    }
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(headers.contains_key("strict-transport-security"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_finishes_its_headers_is_disconnected_while_others_are_served()
-> anyhow::Result<()> {
    let p = Platform::start_with(&[("TSUNAGU_HEADER_READ_TIMEOUT_MS", "300")]).await?;
    let addr = p.base_url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr).await?;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let (status, _) = send(p.http.get(p.url("/healthz"))).await?;
    assert_eq!(status, 200, "served while the slow client dawdles");
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok(),
        "the slow client was disconnected (waited {:?})",
        started.elapsed()
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_route_and_a_wrong_method_answer_problem_details() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    let (status, body) = send(p.operator(Method::GET, "/api/v1/nothing-here")).await?;
    assert_eq!(
        (status, body["status"].clone()),
        (404, json!(404)),
        "{body}"
    );
    let (status, body) = send(p.operator(Method::PUT, "/api/v1/municipalities")).await?;
    assert_eq!(
        (status, body["status"].clone()),
        (405, json!(405)),
        "{body}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_holds_at_most_two_hundred_items() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    for path in [
        "/api/v1/sites?limit=201",
        "/api/v1/organisations?limit=100000",
        "/api/v1/municipalities?limit=201",
        &format!("/api/v1/municipalities/{IZUMO}/members?limit=201"),
    ] {
        let (status, body) = send(p.operator(Method::GET, path)).await?;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["errors"][0]["pointer"], "/limit", "{path}: {body}");
    }
    let (status, body) = send(p.operator(Method::GET, "/api/v1/sites?limit=200")).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_that_is_gone_is_answered_in_bounded_time_with_problem_details()
-> anyhow::Result<()> {
    let mut p = Platform::start_with(&[("TSUNAGU_BUS_TIMEOUT_MS", "1000")]).await?;
    p.identity.kill();
    let started = Instant::now();
    let (status, body) = send(p.operator(Method::GET, "/api/v1/municipalities")).await?;
    assert!(status == 503 || status == 504, "{status} {body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered within the bus timeout, not the client's patience: {:?}",
        started.elapsed()
    );
    Ok(())
}
