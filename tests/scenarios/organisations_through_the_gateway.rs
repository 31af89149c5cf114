//! Organisations (法人) and their service sites (事業所) end to end: real binaries, real NATS
//! and Postgres, HTTP to the gateway as a client would speak it.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use testkit::{Platform, json};

const PROBLEM: &str = "application/problem+json";
const IZUMO: &str = "322032";
const UNNAN: &str = "322091";
/// A made-up corporate number whose check digit holds (2 = 9 − (25 mod 9)).
const CORPORATE_NUMBER: &str = "2280005000123";

/// Sends a request; answers its status, its position header (if any) and its JSON body.
async fn send(request: RequestBuilder) -> anyhow::Result<(u16, String, Value)> {
    let response = request.send().await?;
    let position = response
        .headers()
        .get("tsunagu-position")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (status, _, body) = json(response).await?;
    Ok((status, position, body))
}

/// Registers 出雲市 with its area 平田 and 雲南市; answers the last position.
async fn two_municipalities(p: &Platform) -> anyhow::Result<String> {
    for (code, name, kana) in [
        (IZUMO, "出雲市", "イズモシ"),
        (UNNAN, "雲南市", "ウンナンシ"),
    ] {
        let (status, _, body) = send(
            p.operator(Method::POST, "/api/v1/municipalities")
                .json(&json!({ "code": code, "name": name, "name_kana": kana })),
        )
        .await?;
        assert_eq!(status, 201, "{body}");
    }
    let (status, position, body) = send(
        p.operator(Method::POST, &format!("/api/v1/municipalities/{IZUMO}/areas"))
            .json(&json!({ "area_id": "hirata", "kind": "daily_life_area", "name": "平田", "name_kana": "ヒラタ" })),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    Ok(position)
}

fn medical_corporation() -> Value {
    json!({
        "name": "医療法人　出雲会",
        "name_kana": "ｲﾘｮｳﾎｳｼﾞﾝ ｲｽﾞﾓｶｲ",
        "corporate_number": CORPORATE_NUMBER,
        "kind": "medical_corporation",
        "home_municipality": IZUMO
    })
}

fn nursing_station() -> Value {
    json!({
        "provider_number": "3260190012",
        "name": "出雲訪問看護ステーション",
        "name_kana": "いずもほうもんかんごすてーしょん",
        "kind": "home_visit_nursing_station",
        "service_types": ["13"],
        "home_municipality": IZUMO,
        "area_id": "hirata",
        "municipalities_served": [UNNAN],
        "address": "島根県出雲市平田町1",
        "phone": "0853-62-0000",
        "fax": "0853-62-0001",
        "contact_24h": "090-1234-5678"
    })
}

fn care_management_office() -> Value {
    json!({
        "provider_number": "3270190015",
        "name": "出雲居宅介護支援事業所",
        "name_kana": "イズモキョタクカイゴシエンジギョウショ",
        "kind": "care_management_office",
        "service_types": ["43"],
        "home_municipality": IZUMO,
        "address": "島根県出雲市今市町2",
        "phone": "0853210002"
    })
}

/// Registers the medical corporation; answers its id.
async fn organisation(p: &Platform) -> anyhow::Result<String> {
    let (status, _, body) = send(
        p.operator(Method::POST, "/api/v1/organisations")
            .json(&medical_corporation()),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    Ok(body["organisation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Registers a site of the organisation; answers its id and position.
async fn site(p: &Platform, org: &str, details: &Value) -> anyhow::Result<(String, String)> {
    let (status, position, body) = send(
        p.operator(Method::POST, &format!("/api/v1/organisations/{org}/sites"))
            .json(details),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["organisation_id"], org);
    assert_eq!(body["position"], position.as_str());
    Ok((
        body["site_id"].as_str().unwrap_or_default().to_owned(),
        position,
    ))
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["site_id"].as_str())
        .collect()
}

#[tokio::test]
async fn an_organisation_registers_two_sites_that_are_found_by_municipality_and_service_type()
-> anyhow::Result<()> {
    let p = Platform::start().await?;
    two_municipalities(&p).await?;
    let org = organisation(&p).await?;
    assert_eq!(uuid::Uuid::parse_str(&org)?.get_version_num(), 7, "{org}");
    let (nursing, _) = site(&p, &org, &nursing_station()).await?;
    let (office, position) = site(&p, &org, &care_management_office()).await?;

    // Read-your-writes: the organisation with both sites, in reading order.
    let (status, _, o) = send(
        p.operator(Method::GET, &format!("/api/v1/organisations/{org}"))
            .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert_eq!(status, 200, "{o}");
    assert_eq!(
        o["name"], "医療法人 出雲会",
        "the ideographic space is normalised"
    );
    assert_eq!(o["name_kana"], "イリョウホウジン イズモカイ");
    assert_eq!(o["corporate_number"], CORPORATE_NUMBER);
    assert_eq!(o["kind"], "medical_corporation");
    assert_eq!(
        o["home_municipality"],
        json!({ "code": IZUMO, "name": "出雲市" })
    );
    let sites: Vec<&str> = o["sites"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["site_id"].as_str())
        .collect();
    assert_eq!(
        sites,
        vec![office.as_str(), nursing.as_str()],
        "キョタク before ホウモン"
    );

    // The nursing station as registered: its 24-hour contact and what it serves.
    let (status, _, s) = send(
        p.operator(Method::GET, &format!("/api/v1/sites/{nursing}"))
            .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["organisation"],
        json!({ "organisation_id": org, "name": "医療法人 出雲会" })
    );
    assert_eq!(s["name_kana"], "イズモホウモンカンゴステーション");
    assert_eq!(s["kind"], "home_visit_nursing_station");
    assert_eq!(s["provider_number"], "3260190012");
    assert_eq!(
        s["service_types"],
        json!([{ "code": "13", "name": "訪問看護" }])
    );
    assert_eq!(s["area_id"], "hirata");
    assert_eq!(
        s["municipalities_served"],
        json!([{ "code": IZUMO, "name": "出雲市" }, { "code": UNNAN, "name": "雲南市" }]),
        "the home municipality is served too"
    );
    assert_eq!(s["contact_24h"], "090-1234-5678");
    assert_eq!(s["fax"], "0853-62-0001");
    assert_eq!(s["closed_at"], Value::Null);

    // Filters: the municipality served, the service type, the kind, and both together.
    let list = |query: &str| {
        p.operator(Method::GET, &format!("/api/v1/sites{query}"))
            .header("Tsunagu-Min-Position", &position)
    };
    for (query, want) in [
        ("", vec![office.as_str(), nursing.as_str()]),
        (
            &format!("?municipality={UNNAN}") as &str,
            vec![nursing.as_str()],
        ),
        (
            &format!("?municipality={IZUMO}"),
            vec![office.as_str(), nursing.as_str()],
        ),
        ("?service_type=13", vec![nursing.as_str()]),
        ("?service_type=43", vec![office.as_str()]),
        ("?service_type=15", vec![]),
        (&format!("?municipality={UNNAN}&service_type=43"), vec![]),
        ("?kind=care_management_office", vec![office.as_str()]),
        (
            &format!("?organisation_id={org}"),
            vec![office.as_str(), nursing.as_str()],
        ),
    ] {
        let (status, _, page) = send(list(query)).await?;
        assert_eq!(status, 200, "{query}: {page}");
        assert_eq!(ids(&page), want, "{query}");
    }

    // Pages by key: the key is the last site's id.
    let (_, _, page) = send(list("?limit=1")).await?;
    assert_eq!(ids(&page), vec![office.as_str()]);
    assert_eq!(page["next_after"], office.as_str());
    let (_, _, page) = send(list(&format!("?limit=1&after={office}"))).await?;
    assert_eq!(ids(&page), vec![nursing.as_str()]);
    assert!(page.get("next_after").is_none(), "{page}");

    // Renaming the organisation.
    let (status, position, body) = send(
        p.operator(Method::PATCH, &format!("/api/v1/organisations/{org}"))
            .json(&json!({ "name": "医療法人社団 出雲会", "name_kana": "イリョウホウジンシャダン イズモカイ" })),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (_, _, o) = send(
        p.operator(Method::GET, "/api/v1/organisations")
            .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert_eq!(o["items"][0]["name"], "医療法人社団 出雲会", "{o}");
    assert!(
        o["items"][0].get("sites").is_none(),
        "a list leaves sites out"
    );

    // Organisations are listed by reading: アオバ before イリョウ, a page at a time.
    let (status, position, welfare) = send(p.operator(Method::POST, "/api/v1/organisations").json(
        &json!({
            "name": "社会福祉法人あおば会", "name_kana": "あおばかい",
            "kind": "social_welfare_corporation", "home_municipality": UNNAN
        }),
    ))
    .await?;
    assert_eq!(status, 201, "{welfare}");
    let (_, _, page) = send(
        p.operator(Method::GET, "/api/v1/organisations?limit=1")
            .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert_eq!(
        page["items"][0]["organisation_id"],
        welfare["organisation_id"]
    );
    assert_eq!(page["items"][0]["corporate_number"], Value::Null);
    let after = page["next_after"].as_str().unwrap_or_default();
    let (_, _, page) =
        send(p.operator(Method::GET, &format!("/api/v1/organisations?after={after}"))).await?;
    assert_eq!(page["items"][0]["organisation_id"], org.as_str(), "{page}");
    assert!(page.get("next_after").is_none(), "{page}");

    // Replacing the office's details: it now also serves 雲南市 and holds 46.
    let mut changed = care_management_office();
    changed["service_types"] = json!(["46", "43"]);
    changed["municipalities_served"] = json!([UNNAN]);
    let (status, position, body) = send(
        p.operator(Method::PUT, &format!("/api/v1/sites/{office}"))
            .json(&changed),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    let (_, _, page) = send(
        p.operator(
            Method::GET,
            &format!("/api/v1/sites?municipality={UNNAN}&service_type=46"),
        )
        .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert_eq!(ids(&page), vec![office.as_str()]);
    assert_eq!(
        page["items"][0]["service_types"],
        json!([{ "code": "43", "name": "居宅介護支援" }, { "code": "46", "name": "介護予防支援" }])
    );

    // Another open site may not take a provider number in use.
    let mut copy = nursing_station();
    copy["name"] = json!("別の訪問看護ステーション");
    let (status, _, body) = send(
        p.operator(Method::POST, &format!("/api/v1/organisations/{org}/sites"))
            .json(&copy),
    )
    .await?;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["errors"][0]["pointer"], "/provider_number", "{body}");

    // Closing the nursing station: still readable, out of the list, closed for changes.
    let (status, position, body) =
        send(p.operator(Method::DELETE, &format!("/api/v1/sites/{nursing}"))).await?;
    assert_eq!(status, 200, "{body}");
    let (_, _, s) = send(
        p.operator(Method::GET, &format!("/api/v1/sites/{nursing}"))
            .header("Tsunagu-Min-Position", &position),
    )
    .await?;
    assert!(s["closed_at"].is_string(), "{s}");
    let (_, _, page) = send(list(&format!("?municipality={UNNAN}&service_type=13"))).await?;
    assert_eq!(ids(&page), Vec::<&str>::new());
    let (_, _, page) = send(list(&format!(
        "?municipality={UNNAN}&service_type=13&include_closed=true"
    )))
    .await?;
    assert_eq!(ids(&page), vec![nursing.as_str()]);
    let (status, _, body) = send(
        p.operator(Method::PUT, &format!("/api/v1/sites/{nursing}"))
            .json(&nursing_station()),
    )
    .await?;
    assert_eq!(status, 409, "{body}");
    let (status, again, _) =
        send(p.operator(Method::DELETE, &format!("/api/v1/sites/{nursing}"))).await?;
    assert_eq!(
        (status, again.as_str()),
        (200, position.as_str()),
        "closing twice changes nothing"
    );
    // Its provider number is free again.
    site(&p, &org, &copy).await?;

    // Sites are region-wide directory data, like the register.
    use event_store::EventStore as _;
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let (events, _) = store.read_aggregate("identity", "site", &nursing).await?;
    let types: Vec<&str> = events
        .iter()
        .map(|e| e.envelope.event_type.as_str())
        .collect();
    assert_eq!(types, vec!["SiteRegistered", "SiteClosed"]);
    for e in &events {
        assert_eq!(e.envelope.visibility, event_store::Visibility::Region);
        assert!(e.envelope.municipality.is_none());
        assert_eq!(e.envelope.aggregate_id, nursing);
    }
    Ok(())
}

#[tokio::test]
async fn bad_directory_input_is_refused_with_problem_details_naming_the_field() -> anyhow::Result<()>
{
    let p = Platform::start().await?;
    two_municipalities(&p).await?;
    let org = organisation(&p).await?;
    let sites = format!("/api/v1/organisations/{org}/sites");
    let with = |field: &str, value: Value| {
        let mut body = nursing_station();
        body[field] = value;
        p.operator(Method::POST, &sites).json(&body)
    };
    let organisation_with = |field: &str, value: Value| {
        let mut body = medical_corporation();
        body[field] = value;
        p.operator(Method::POST, "/api/v1/organisations")
            .json(&body)
    };
    let nowhere = uuid::Uuid::now_v7();
    let cases: Vec<(RequestBuilder, u16, Option<&str>)> = vec![
        // The check digit of 2280005000123 is 2, not 3.
        (
            organisation_with("corporate_number", json!("3280005000123")),
            422,
            Some("/corporate_number"),
        ),
        (
            organisation_with("corporate_number", json!("228000500012")),
            422,
            Some("/corporate_number"),
        ),
        // Another organisation already holds the number.
        (
            organisation_with("corporate_number", json!(CORPORATE_NUMBER)),
            409,
            Some("/corporate_number"),
        ),
        (
            organisation_with("home_municipality", json!("141003")),
            422,
            Some("/home_municipality"),
        ),
        (
            organisation_with("kind", json!("temple")),
            422,
            Some("/kind"),
        ),
        (
            organisation_with("name_kana", json!("出雲会")),
            422,
            Some("/name_kana"),
        ),
        (organisation_with("founded", json!("1950")), 422, Some("")),
        // 99 is no service type of the long-term care insurance.
        (
            with("service_types", json!(["13", "99"])),
            422,
            Some("/service_types/1"),
        ),
        // There is no prefecture 48.
        (
            with("provider_number", json!("4860190012")),
            422,
            Some("/provider_number"),
        ),
        // 出雲市 has no area aoba.
        (with("area_id", json!("aoba")), 422, Some("/area_id")),
        (with("phone", json!("0853-62")), 422, Some("/phone")),
        (with("fax", json!("fax please")), 422, Some("/fax")),
        (
            with("contact_24h", json!("+81 90 1234 5678")),
            422,
            Some("/contact_24h"),
        ),
        (
            with("municipalities_served", json!([UNNAN, "141003"])),
            422,
            Some("/municipalities_served/1"),
        ),
        (
            with("home_municipality", json!("322031")),
            422,
            Some("/home_municipality"),
        ),
        (with("kind", json!("castle")), 422, Some("/kind")),
        (with("opened_at", json!("2020-04-01")), 422, Some("")),
        // Nothing there.
        (
            p.operator(
                Method::POST,
                &format!("/api/v1/organisations/{nowhere}/sites"),
            )
            .json(&nursing_station()),
            404,
            None,
        ),
        (
            p.operator(Method::GET, &format!("/api/v1/sites/{nowhere}")),
            404,
            None,
        ),
        (
            p.operator(Method::DELETE, &format!("/api/v1/sites/{nowhere}")),
            404,
            None,
        ),
        (
            p.operator(Method::PUT, &format!("/api/v1/sites/{nowhere}"))
                .json(&nursing_station()),
            404,
            None,
        ),
        (
            p.operator(Method::PATCH, &format!("/api/v1/organisations/{nowhere}"))
                .json(&json!({ "name": "x", "name_kana": "エックス" })),
            404,
            None,
        ),
        // Ids that are not ids.
        (
            p.operator(Method::GET, "/api/v1/organisations/not-an-id"),
            422,
            Some("/organisation_id"),
        ),
        (
            p.operator(Method::DELETE, "/api/v1/sites/1.2"),
            422,
            Some("/site_id"),
        ),
        // Bad filters and page keys.
        (
            p.operator(Method::GET, "/api/v1/sites?service_type=99"),
            422,
            Some("/service_type"),
        ),
        (
            p.operator(Method::GET, "/api/v1/sites?municipality=322031"),
            422,
            Some("/municipality"),
        ),
        (
            p.operator(Method::GET, &format!("/api/v1/sites?after={nowhere}")),
            422,
            Some("/after"),
        ),
        (
            p.operator(Method::GET, "/api/v1/organisations?after=zzz"),
            422,
            Some("/after"),
        ),
        (
            p.operator(Method::GET, "/api/v1/sites?kind=castle"),
            400,
            Some("/kind"),
        ),
        (
            p.operator(Method::GET, "/api/v1/sites?colour=red"),
            400,
            None,
        ),
        (
            p.operator(Method::GET, "/api/v1/sites?limit=0"),
            422,
            Some("/limit"),
        ),
        // No credential.
        (p.http.get(p.url("/api/v1/sites")), 401, None),
        (
            p.http
                .post(p.url("/api/v1/organisations"))
                .json(&medical_corporation()),
            401,
            None,
        ),
    ];
    for (i, (request, want, field)) in cases.into_iter().enumerate() {
        let (status, content_type, body) = json(request.send().await?).await?;
        assert_eq!(status, want, "case {i}: {body}");
        assert!(
            content_type.starts_with(PROBLEM),
            "case {i}: content type {content_type}"
        );
        assert_eq!(body["status"], want, "case {i}: {body}");
        if let Some(field) = field {
            let pointers: Vec<&str> = body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["pointer"].as_str())
                .collect();
            assert!(!pointers.is_empty(), "case {i}: no field named in {body}");
            assert!(
                field.is_empty() || pointers.contains(&field),
                "case {i}: {pointers:?} in {body}"
            );
        }
    }
    // None of it was half-applied: one organisation, no site.
    let last = send(p.operator(Method::GET, "/api/v1/organisations"))
        .await?
        .2;
    assert_eq!(last["items"].as_array().map(Vec::len), Some(1), "{last}");
    let (_, _, page) = send(p.operator(Method::GET, "/api/v1/sites?include_closed=true")).await?;
    assert_eq!(page["items"], json!([]));
    Ok(())
}

#[tokio::test]
async fn the_directory_rebuilt_from_sequence_zero_equals_the_live_one() -> anyhow::Result<()> {
    let p = Platform::start().await?;
    two_municipalities(&p).await?;
    let org = organisation(&p).await?;
    let (nursing, _) = site(&p, &org, &nursing_station()).await?;
    site(&p, &org, &care_management_office()).await?;
    let mut changed = nursing_station();
    changed["municipalities_served"] = json!([]);
    changed["service_types"] = json!(["13", "31"]);
    p.operator(Method::PUT, &format!("/api/v1/sites/{nursing}"))
        .json(&changed)
        .send()
        .await?
        .error_for_status()?;
    let r = p
        .operator(Method::DELETE, &format!("/api/v1/sites/{nursing}"))
        .send()
        .await?
        .error_for_status()?;
    let position = r.headers()["tsunagu-position"].to_str()?.to_owned();
    p.operator(Method::GET, &format!("/api/v1/sites/{nursing}"))
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
    // 3 register events, the organisation, 2 sites, a change and a closure.
    assert!(stdout.contains("8 events applied"), "{stdout}");
    assert!(stdout.contains("0 parked"), "{stdout}");
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    for table in [
        "organisations",
        "sites",
        "site_service_types",
        "site_municipalities",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(table) && l.ends_with("identical")),
            "{table}: {stdout}"
        );
    }
    Ok(())
}
