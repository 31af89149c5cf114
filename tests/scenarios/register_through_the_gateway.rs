//! The register of municipalities end to end: real binaries, real NATS and Postgres,
//! HTTP to the gateway as a client would speak it.

use reqwest::Method;
use serde_json::json;
use testkit::{Platform, json};

const PROBLEM: &str = "application/problem+json";

#[tokio::test]
async fn the_operator_registers_a_municipality_with_areas_and_reads_it_back_at_once()
-> anyhow::Result<()> {
    let p = Platform::start().await?;
    let created = p
        .operator(Method::POST, "/api/v1/municipalities")
        .json(&json!({ "code": "141003", "name": "横浜市", "name_kana": "ﾖｺﾊﾏｼ" }))
        .send()
        .await?;
    let (status, _, body) = json(created).await?;
    assert_eq!(status, 201, "{body}");
    assert!(body["position"].as_str().is_some_and(|s| s.contains(':')));

    let mut position = String::new();
    for (id, name, kana) in [
        ("aoba", "青葉区", "アオバク"),
        ("tsuzuki", "都筑区", "つづきく"),
    ] {
        let r = p
            .operator(Method::POST, "/api/v1/municipalities/141003/areas")
            .json(&json!({ "area_id": id, "kind": "ward", "name": name, "name_kana": kana }))
            .send()
            .await?;
        position = r.headers()["tsunagu-position"].to_str()?.to_owned();
        assert_eq!(r.status(), 201);
    }

    // Read-your-writes: the read waits until the projection has applied our last event.
    let r = p
        .operator(Method::GET, "/api/v1/municipalities/141003")
        .header("Tsunagu-Min-Position", &position)
        .send()
        .await?;
    let (status, _, m) = json(r).await?;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["name"], "横浜市");
    assert_eq!(
        m["name_kana"], "ヨコハマシ",
        "half-width kana is normalised"
    );
    assert_eq!(m["prefecture"], json!({ "code": "14", "name": "神奈川県" }));
    assert_eq!(m["areas"][0]["area_id"], "aoba");
    assert_eq!(
        m["areas"][1]["name_kana"], "ツヅキク",
        "hiragana becomes katakana"
    );

    // Groups of municipalities.
    p.operator(Method::POST, "/api/v1/municipalities")
        .json(&json!({ "code": "472107", "name": "糸満市", "name_kana": "イトマンシ" }))
        .send()
        .await?
        .error_for_status()?;
    let r = p
        .operator(Method::POST, "/api/v1/municipality-groups")
        .json(&json!({ "group_id": "demo", "kind": "wide_area_union", "name": "連合", "name_kana": "レンゴウ", "members": ["141003", "472107"] }))
        .send()
        .await?;
    let position = r.headers()["tsunagu-position"].to_str()?.to_owned();
    assert_eq!(r.status(), 201);
    let r = p
        .operator(Method::GET, "/api/v1/municipality-groups/demo")
        .header("Tsunagu-Min-Position", &position)
        .send()
        .await?;
    let (_, _, g) = json(r).await?;
    assert_eq!(g["members"].as_array().map(Vec::len), Some(2), "{g}");

    // Pages by key.
    let r = p
        .operator(Method::GET, "/api/v1/municipalities?limit=1")
        .header("Tsunagu-Min-Position", &position)
        .send()
        .await?;
    let (_, _, page) = json(r).await?;
    assert_eq!(page["items"][0]["code"], "141003");
    assert_eq!(page["next_after"], "141003");
    let (_, _, page) = json(
        p.operator(Method::GET, "/api/v1/municipalities?limit=1&after=141003")
            .send()
            .await?,
    )
    .await?;
    assert_eq!(page["items"][0]["code"], "472107");
    assert!(page.get("next_after").is_none());
    Ok(())
}

#[tokio::test]
async fn bad_input_is_refused_with_problem_details_naming_the_field() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    let cases: Vec<(reqwest::RequestBuilder, u16, Option<&str>)> = vec![
        // A wrong check digit: 322031 instead of 322032.
        (
            p.operator(Method::POST, "/api/v1/municipalities")
                .json(&json!({ "code": "322031", "name": "出雲市", "name_kana": "イズモシ" })),
            422,
            Some("/code"),
        ),
        // A reading that is not kana.
        (
            p.operator(Method::POST, "/api/v1/municipalities")
                .json(&json!({ "code": "322032", "name": "出雲市", "name_kana": "出雲" })),
            422,
            Some("/name_kana"),
        ),
        // A field the API does not have (mass assignment is refused, not ignored).
        (
            p.operator(Method::POST, "/api/v1/municipalities")
                .json(&json!({ "code": "322032", "name": "出雲市", "name_kana": "イズモシ", "registered_at": "2020-01-01" })),
            422,
            Some(""),
        ),
        // A wrong type.
        (
            p.operator(Method::POST, "/api/v1/municipalities")
                .json(&json!({ "code": 322032, "name": "出雲市", "name_kana": "イズモシ" })),
            422,
            Some("/code"),
        ),
        // An unknown enum value, deep in the body.
        (
            p.operator(Method::POST, "/api/v1/municipalities/141003/areas")
                .json(&json!({ "area_id": "x", "kind": "village", "name": "x", "name_kana": "エックス" })),
            422,
            Some("/kind"),
        ),
        // Malformed JSON.
        (
            p.operator(Method::POST, "/api/v1/municipalities").header("content-type", "application/json").body("{\"code\":"),
            400,
            None,
        ),
        // Not JSON at all.
        (p.operator(Method::POST, "/api/v1/municipalities").body("code=1"), 415, None),
        // An oversized body. The gateway answers before reading it and closes that
        // connection, so it goes on a client of its own.
        (
            reqwest::Client::new()
                .post(p.url("/api/v1/municipalities"))
                .bearer_auth(&p.token)
                .json(&json!({ "code": "322032", "name": "x".repeat(200_000), "name_kana": "イズモシ" })),
            413,
            None,
        ),
        // A bad page size.
        (p.operator(Method::GET, "/api/v1/municipalities?limit=100000"), 422, Some("/limit")),
        (p.operator(Method::GET, "/api/v1/municipalities?limit=abc"), 400, Some("/limit")),
        (p.operator(Method::GET, "/api/v1/municipalities?colour=red"), 400, None),
        // A bad read-your-writes position, and one the stream has not reached.
        (p.operator(Method::GET, "/api/v1/municipalities").header("Tsunagu-Min-Position", "soon"), 400, None),
        (
            p.operator(Method::GET, "/api/v1/municipalities")
                .header("Tsunagu-Min-Position", format!("{}_IDENTITY:999999", p.namespace.to_uppercase())),
            422,
            Some("/headers/Tsunagu-Min-Position"),
        ),
        (p.operator(Method::GET, "/api/v1/municipalities?after=%00"), 422, Some("/after")),
        (p.operator(Method::GET, "/api/v1/municipality-groups?after=A.B"), 422, Some("/after")),
        // Nothing there.
        (p.operator(Method::GET, "/api/v1/municipalities/322032"), 404, None),
        (p.operator(Method::GET, "/api/v1/nowhere"), 404, None),
        (p.operator(Method::PUT, "/api/v1/municipalities"), 405, None),
        // No credential, a wrong one.
        (p.http.get(p.url("/api/v1/municipalities")), 401, None),
        (p.http.get(p.url("/api/v1/municipalities")).bearer_auth("x".repeat(64)), 401, None),
    ];
    for (i, (request, want, field)) in cases.into_iter().enumerate() {
        let (status, content_type, body) = json(request.send().await?).await?;
        assert_eq!(status, want, "case {i}: {body}");
        assert!(
            content_type.starts_with(PROBLEM),
            "case {i}: content type {content_type}"
        );
        assert_eq!(body["status"], want, "case {i}: {body}");
        assert!(
            body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://")),
            "case {i}: {body}"
        );
        assert!(body["title"].is_string(), "case {i}");
        if let Some(field) = field {
            let pointers: Vec<&str> = body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["pointer"].as_str())
                .collect();
            assert!(
                pointers
                    .iter()
                    .any(|p| p.starts_with(field) || field.is_empty()),
                "case {i}: {pointers:?} in {body}"
            );
            assert!(!pointers.is_empty(), "case {i}: no field named in {body}");
        }
    }
    // None of it was half-applied.
    let (_, _, page) = json(
        p.operator(Method::GET, "/api/v1/municipalities")
            .send()
            .await?,
    )
    .await?;
    assert_eq!(page["items"], json!([]));
    Ok(())
}

#[tokio::test]
async fn registering_twice_and_concurrent_registrations_give_one_municipality() -> anyhow::Result<()>
{
    let p = Platform::start().await?;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let req = p
            .operator(Method::POST, "/api/v1/municipalities")
            .json(&json!({ "code": "012211", "name": "名寄市", "name_kana": "ナヨロシ" }));
        tasks.push(tokio::spawn(async move {
            req.send().await.map(|r| r.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await??);
    }
    statuses.sort();
    assert_eq!(statuses, vec![201, 409, 409, 409, 409, 409]);
    Ok(())
}

#[tokio::test]
async fn the_gateway_describes_its_api_and_services_answer_the_nats_service_api()
-> anyhow::Result<()> {
    let p = Platform::start().await?;
    let (status, _, doc) = json(p.http.get(p.url("/api/v1/openapi.json")).send().await?).await?;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/api/v1/municipalities",
        "/api/v1/municipalities/{code}",
        "/api/v1/municipality-groups",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    let nats = p.nats.connect().await?;
    let ping = nats.request("$SRV.PING.identity", "".into()).await?;
    let ping: serde_json::Value = serde_json::from_slice(&ping.payload)?;
    assert_eq!(ping["name"], "identity");
    let info = nats.request("$SRV.INFO.identity", "".into()).await?;
    let info: serde_json::Value = serde_json::from_slice(&info.payload)?;
    let endpoints = info["endpoints"].as_array().map(Vec::len).unwrap_or(0);
    assert!(endpoints >= 10, "{info}");
    Ok(())
}

#[tokio::test]
async fn the_register_rebuilt_from_sequence_zero_equals_the_live_one() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    for (code, name, kana) in [
        ("322032", "出雲市", "イズモシ"),
        ("382141", "西予市", "セイヨシ"),
    ] {
        p.operator(Method::POST, "/api/v1/municipalities")
            .json(&json!({ "code": code, "name": name, "name_kana": kana }))
            .send()
            .await?
            .error_for_status()?;
    }
    let r = p
        .operator(Method::PATCH, "/api/v1/municipalities/382141")
        .json(&json!({ "name": "西予市", "name_kana": "セイヨ シ" }))
        .send()
        .await?
        .error_for_status()?;
    let position = r.headers()["tsunagu-position"].to_str()?.to_owned();
    p.operator(Method::GET, "/api/v1/municipalities/382141")
        .header("Tsunagu-Min-Position", &position)
        .send()
        .await?
        .error_for_status()?;

    let out = tokio::process::Command::new(testkit::binary("tsunagu-identity")?)
        .arg("rebuild")
        .env_clear()
        .envs(p.identity_env())
        .env("RUST_LOG", "warn")
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 events applied"), "{stdout}");
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    let tables: Vec<&str> = stdout.lines().filter(|l| l.contains(" rows")).collect();
    assert!(
        tables.len() >= 4,
        "every table of the register is compared: {stdout}"
    );
    assert!(tables.iter().all(|l| l.ends_with("identical")), "{stdout}");
    Ok(())
}

#[tokio::test]
async fn one_trace_follows_a_request_from_the_client_into_the_stored_event() -> anyhow::Result<()> {
    use event_store::EventStore as _;
    let p = Platform::start().await?;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    p.operator(Method::POST, "/api/v1/municipalities")
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "code": "082201", "name": "つくば市", "name_kana": "ツクバシ" }))
        .send()
        .await?
        .error_for_status()?;
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let (events, _) = store
        .read_aggregate("identity", "municipality", "082201")
        .await?;
    let stored = events[0].envelope.traceparent.clone().unwrap_or_default();
    assert!(
        stored.starts_with(&format!("00-{trace_id}-")),
        "the event carries the client's trace: {stored}"
    );
    assert_eq!(events[0].envelope.actor.0, "operator:bootstrap");
    assert!(
        events[0].envelope.municipality.is_none(),
        "the register is region-wide data"
    );
    Ok(())
}

#[tokio::test]
async fn two_replicas_of_a_service_share_the_work() -> anyhow::Result<()> {
    use futures::StreamExt;
    let p = Platform::start().await?;
    let mut env = p.identity_env();
    env.push((
        "TSUNAGU_HEALTH_ADDR".to_owned(),
        format!("127.0.0.1:{}", testkit::free_port()),
    ));
    let _second = testkit::ServiceProcess::start(
        &testkit::binary("tsunagu-identity")?,
        &["serve"],
        &env,
        p.dir.path().join("identity-2.log"),
    )?;
    let nats = p.nats.connect().await?;
    // Wait until both replicas answer PING.
    let instances = |nats: async_nats::Client, verb: &'static str| async move {
        let inbox = nats.new_inbox();
        let mut replies = nats.subscribe(inbox.clone()).await?;
        nats.publish_with_reply(format!("$SRV.{verb}.identity"), inbox, "".into())
            .await?;
        let mut found = Vec::new();
        while let Ok(Some(m)) =
            tokio::time::timeout(std::time::Duration::from_millis(300), replies.next()).await
        {
            found.push(serde_json::from_slice::<serde_json::Value>(&m.payload)?);
        }
        anyhow::Ok(found)
    };
    for _ in 0..100 {
        if instances(nats.clone(), "PING").await?.len() == 2 {
            break;
        }
    }
    for _ in 0..60 {
        p.operator(Method::GET, "/api/v1/municipalities")
            .send()
            .await?
            .error_for_status()?;
    }
    let stats = instances(nats, "STATS").await?;
    assert_eq!(stats.len(), 2, "two replicas answer");
    for s in &stats {
        let handled: u64 = s["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["num_requests"].as_u64())
            .sum();
        assert!(handled > 0, "each replica took part of the work: {s}");
    }
    Ok(())
}
