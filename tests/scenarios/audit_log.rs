//! The audit log, end to end with the real binaries: every request that touched a patient's
//! data has exactly one audit record; only audit readers pass, each seeing their share
//! (auditors the region, the secretariat its municipality without clinical content, a site
//! admin their own staff); every read is itself recorded; the log is append-only for the
//! service's role and for its owner; verification names the first record altered, deleted,
//! inserted, reordered or duplicated, across 1,000 random mutations; inclusion and
//! consistency proofs hold for the honest log and fail for each kind of mutation; and a
//! rebuild from sequence 0 into a fresh database gives the same hashes and byte-identical
//! patient reports.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use audit_chain::{Digest, SignedCheckpoint, leaf_hash, verify_consistency, verify_inclusion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tokio_postgres::GenericClient;
use tsunagu_tests::accounts::{IZUMO, YOKOHAMA, municipality_named, send, start_with};
use tsunagu_tests::care::{
    Member, PatientForm, access_records, add_seat, auditor, consent_form, grant_consent,
    listed_sites, member, professional, read_record, register_patient, registration, secretariat,
    site_of_kind,
};

const ALL: &[&str] = &[
    "care_records",
    "medication",
    "lab_results",
    "documents",
    "care_plan",
    "photos_video",
];

/// 出雲市 with a patient whose consent covers the care management office and the nursing
/// station (not the pharmacy), a team of all three, the secretariat, an auditor and the
/// nursing station's site admin.
struct Region {
    p: Platform,
    clock: tsunagu_tests::accounts::Clock,
    nursing: String,
    patient: String,
    care_manager: Member,
    nurse: Member,
    pharmacist: Member,
    secretariat: Member,
    auditor: Member,
    site_admin: Member,
}

async fn region(extra: &[(&str, &str)]) -> anyhow::Result<Region> {
    let (p, clock) = start_with(extra).await?;
    let office = site_of_kind(
        &p,
        IZUMO,
        "みずうみ居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let pharmacy = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let care_manager = professional(&p, &clock, "cm.audit", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "nurse.audit", "nurse", &nursing, IZUMO).await?;
    let pharmacist = professional(&p, &clock, "rx.audit", "pharmacist", &pharmacy, IZUMO).await?;
    let secretariat = secretariat(&p, &clock, "sec.audit", IZUMO).await?;
    let auditor = auditor(&p, &clock, "auditor.audit", IZUMO).await?;
    let site_admin = member(
        &p,
        &clock,
        "admin.audit",
        &["site_admin"],
        "other",
        Some(&nursing),
        IZUMO,
    )
    .await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("audit", IZUMO),
        Some(&office),
    )
    .await?;
    grant_consent(
        &p,
        &care_manager,
        &secretariat,
        &patient,
        &consent_form(
            listed_sites(&[&office, &nursing]),
            ALL,
            &office,
            "2026-10-01",
        ),
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
    add_seat(&p, &care_manager, &patient, &pharmacy, None, "pharmacy").await?;
    Ok(Region {
        p,
        clock,
        nursing,
        patient,
        care_manager,
        nurse,
        pharmacist,
        secretariat,
        auditor,
        site_admin,
    })
}

/// Every record `who` may see that matches `query`, all pages.
async fn records(
    p: &Platform,
    who: &Member,
    query: &[(&str, String)],
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("limit", "1000".into()));
        if let Some(a) = after {
            q.push(("after", a.to_string()));
        }
        let (status, body) = send(
            who.request(p, Method::GET, "/api/v1/audit/records")
                .query(&q),
        )
        .await?;
        anyhow::ensure!(status == 200, "records: {status} {body}");
        out.extend(body["records"].as_array().cloned().unwrap_or_default());
        match body["next_after"].as_u64() {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// Polls until `count` records of `query` are in the log (the log follows the streams).
async fn wait_for(
    p: &Platform,
    who: &Member,
    query: &[(&str, String)],
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = records(p, who, query).await?;
        if found.len() >= count {
            return Ok(found);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {count} records arrived\n--- audit ---\n{}",
            found.len(),
            p.audit.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn kind(q: &str) -> Vec<(&'static str, String)> {
    vec![("kind", q.to_owned())]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_that_touched_a_patient_has_exactly_one_audit_record() -> anyhow::Result<()> {
    let r = region(&[]).await?;
    let p = &r.p;
    // A random day of allowed and refused requests: the nurse reads (allowed), the
    // pharmacist's site is not covered (refused), the secretariat reads registration data
    // (allowed) and clinical content (refused).
    let mut rng = StdRng::seed_from_u64(20261001);
    let mut answered: BTreeMap<u16, usize> = BTreeMap::new();
    for _ in 0..40 {
        let (status, _) = match rng.random_range(0..5) {
            0 | 1 => read_record(p, &r.nurse, &r.patient, &["care_records"], "care").await?,
            2 => read_record(p, &r.pharmacist, &r.patient, &["medication"], "care").await?,
            3 => registration(p, &r.secretariat, &r.patient).await?,
            _ => read_record(p, &r.secretariat, &r.patient, &["care_records"], "care").await?,
        };
        *answered.entry(status).or_default() += 1;
    }
    let allowed = answered.get(&200).copied().unwrap_or(0);
    let refused = answered.get(&403).copied().unwrap_or(0);
    assert_eq!(
        allowed + refused,
        40,
        "every answer is 200 or 403: {answered:?}"
    );
    assert!(allowed > 0 && refused > 0, "{answered:?}");

    let accesses = access_records(p).await?;
    let logged = wait_for(p, &r.auditor, &kind("patient_access"), accesses.len()).await?;
    let mut by_source: HashMap<String, usize> = HashMap::new();
    for record in &logged {
        *by_source
            .entry(
                record["record"]["source"]["event_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    for access in &accesses {
        assert_eq!(
            by_source.get(&access.event_id.to_string()),
            Some(&1),
            "access {} must have exactly one audit record",
            access.event_id
        );
    }
    assert_eq!(
        logged.len(),
        accesses.len(),
        "no audit record without its access"
    );
    let outcome = |o: &str| {
        logged
            .iter()
            .filter(|r| r["record"]["outcome"] == o)
            .count()
    };
    assert_eq!(
        outcome("denied"),
        accesses.iter().filter(|a| !a.allowed).count()
    );
    assert!(
        outcome("allowed") >= allowed,
        "every 200 was allowed in the log"
    );
    // Patients appear by pseudonym; the reader who may see ids gets them beside.
    let one = &logged[0];
    assert!(
        one["record"]["patient"]
            .as_str()
            .unwrap_or_default()
            .starts_with("p_")
    );
    assert_eq!(one["patient_id"], r.patient.as_str());
    assert!(
        !one["record"].to_string().contains(&r.patient),
        "the hashed record holds no patient id"
    );

    // Security events of identity are in the same log: sign-ins, the consent and the team.
    for k in ["sign_in", "consent_change", "team_change", "patient_change"] {
        assert!(
            !wait_for(p, &r.auditor, &kind(k), 1).await?.is_empty(),
            "{k}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn only_audit_readers_pass_and_each_sees_only_their_share() -> anyhow::Result<()> {
    let r = region(&[]).await?;
    let p = &r.p;
    read_record(p, &r.nurse, &r.patient, &["care_records"], "care").await?;
    read_record(p, &r.pharmacist, &r.patient, &["medication"], "care").await?;
    registration(p, &r.secretariat, &r.patient).await?;
    wait_for(p, &r.auditor, &kind("patient_access"), 3).await?;

    // Every audit route of the served document refuses a nurse, a care manager and the
    // pharmacist with 403 problem details.
    let (_, doc) = send(p.http.get(p.url("/api/v1/openapi.json"))).await?;
    let paths: Vec<String> = doc["paths"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| k.starts_with("/api/v1/audit"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(paths.len(), 9, "{paths:?}");
    let concrete = |path: &str| {
        path.replace("{patient_id}", &r.patient)
            .replace("{code}", IZUMO)
            .replace("{month}", "2026-10")
    };
    for who in [&r.nurse, &r.care_manager, &r.pharmacist] {
        for path in &paths {
            let response = who.request(p, Method::GET, &concrete(path)).send().await?;
            assert_eq!(
                response.status().as_u16(),
                403,
                "{} on {path}",
                who.account.username
            );
            assert_eq!(
                response.headers()["content-type"].to_str()?,
                "application/problem+json",
                "{path}"
            );
        }
    }

    // The auditor sees the region, with patient ids, and may run a leak response.
    let everything = records(p, &r.auditor, &[]).await?;
    assert!(everything.iter().any(|x| x["record"]["kind"] == "sign_in"));
    let (status, leak) = send(
        r.auditor
            .request(p, Method::GET, "/api/v1/audit/leaks")
            .query(&[("member_id", r.nurse.id())]),
    )
    .await?;
    assert_eq!(status, 200, "{leak}");
    let touched = leak["patients"].as_array().cloned().unwrap_or_default();
    assert_eq!(touched.len(), 1, "{leak}");
    assert_eq!(touched[0]["patient_id"], r.patient.as_str());
    assert!(
        touched[0]["seen"]
            .as_array()
            .is_some_and(|s| s.iter().any(|c| c == "care_records")),
        "{leak}"
    );

    // The site admin sees their own staff only, and no leak response or patient report.
    let staff = records(p, &r.site_admin, &[]).await?;
    assert!(!staff.is_empty());
    for x in &staff {
        let sites: Vec<&str> = x["record"]["sites"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            sites.contains(&r.nursing.as_str()),
            "a record of someone else's staff: {x}"
        );
        assert!(
            x["patient_id"].is_null(),
            "a site admin sees pseudonyms only"
        );
    }
    assert!(
        staff
            .iter()
            .any(|x| x["record"]["member_id"] == r.nurse.id())
    );
    assert!(
        !staff
            .iter()
            .any(|x| x["record"]["member_id"] == r.pharmacist.id())
    );
    for path in [
        "/api/v1/audit/leaks",
        "/api/v1/audit/verification",
        "/api/v1/audit/replay",
    ] {
        let (status, _) = send(r.site_admin.request(p, Method::GET, path)).await?;
        assert_eq!(status, 403, "{path}");
    }

    // The secretariat sees its municipality, without clinical content.
    let city = records(p, &r.secretariat, &kind("patient_access")).await?;
    assert!(city.len() >= 3);
    for x in &city {
        assert_eq!(x["record"]["municipality"], IZUMO);
        assert_eq!(x["record"]["categories"], json!([]), "{x}");
        assert_eq!(x["record"]["resources"], json!([]), "{x}");
    }
    let (status, review) = send(r.secretariat.request(
        p,
        Method::GET,
        &format!("/api/v1/audit/reviews/{IZUMO}/2026-10"),
    ))
    .await?;
    assert_eq!(status, 200, "{review}");
    assert!(review["accesses"].as_u64().unwrap_or(0) >= 3, "{review}");
    assert!(review["denied"].as_u64().unwrap_or(0) >= 1, "{review}");
    let (status, _) = send(r.secretariat.request(
        p,
        Method::GET,
        &format!("/api/v1/audit/reviews/{YOKOHAMA}/2026-10"),
    ))
    .await?;
    assert_eq!(status, 403, "another municipality's review");
    let csv = r
        .secretariat
        .request(
            p,
            Method::GET,
            &format!("/api/v1/audit/reviews/{IZUMO}/2026-10"),
        )
        .query(&[("format", "csv")])
        .send()
        .await?;
    assert_eq!(
        csv.headers()["content-type"].to_str()?,
        "text/csv; charset=utf-8"
    );
    assert!(csv.text().await?.starts_with("municipality,month,accesses"));

    // Every read above is in the log itself, as the reader's: one by the site admin, three by
    // the secretariat (the refusals at the gateway never reached the log's service).
    for (reader, reads) in [(&r.site_admin, 1), (&r.secretariat, 3)] {
        let mine = vec![
            ("kind", "audit_read".to_owned()),
            ("member_id", reader.id().to_owned()),
        ];
        wait_for(p, &r.auditor, &mine, reads).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_the_permission_rules_refuse_is_in_the_log() -> anyhow::Result<()> {
    let r = region(&[]).await?;
    let p = &r.p;

    // Refused at the gateway: a nurse asks for the audit log and tries to invite someone.
    let (status, _) = send(r.nurse.request(p, Method::GET, "/api/v1/audit/records")).await?;
    assert_eq!(status, 403);
    let (status, _) = send(
        r.nurse
            .request(p, Method::POST, "/api/v1/invitations")
            .json(&json!({})),
    )
    .await?;
    assert_eq!(status, 403);
    // Refused by the service that owns the patient: the nurse is on the team, but only the
    // care manager and the registering site manage it.
    let (status, problem) = send(
        r.nurse
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{}/team", r.patient),
            )
            .json(&json!({ "site": r.nursing, "member": null, "part": "visiting_nurse" })),
    )
    .await?;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(
        problem["status"], 403,
        "the answer is still problem details"
    );
    // Not a refusal: an answer the caller may have is not recorded as one.
    let (status, _) = send(r.care_manager.request(p, Method::GET, "/api/v1/me")).await?;
    assert_eq!(status, 200);

    let nurse_refusals = vec![
        ("kind", "permission_denied".to_owned()),
        ("member_id", r.nurse.id().to_owned()),
    ];
    let found = wait_for(p, &r.auditor, &nurse_refusals, 3).await?;
    assert_eq!(found.len(), 3, "exactly one record a refusal: {found:#?}");
    let by_route: HashMap<&str, &Value> = found
        .iter()
        .map(|x| {
            (
                x["record"]["route"].as_str().unwrap_or_default(),
                &x["record"],
            )
        })
        .collect();
    let audit_read = by_route["GET /api/v1/audit/records"];
    assert_eq!(audit_read["outcome"], "denied");
    assert_eq!(audit_read["reason"], "your roles do not allow this");
    assert_eq!(audit_read["detail"]["refused_by"], "gateway");
    assert_eq!(audit_read["municipality"], IZUMO);
    assert!(
        audit_read["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(audit_read["patient"].is_null());
    assert!(by_route.contains_key("POST /api/v1/invitations"));
    let team = by_route["POST /api/v1/patients/{patient_id}/team"];
    assert_eq!(team["detail"]["refused_by"], "service");
    assert!(
        team["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("manage_care_team")),
        "{team}"
    );
    // The patient is in the chain by pseudonym; the auditor's view names them.
    assert!(
        team["patient"]
            .as_str()
            .is_some_and(|x| x.starts_with("p_"))
    );
    let team_view = found
        .iter()
        .find(|x| x["record"]["route"] == "POST /api/v1/patients/{patient_id}/team")
        .unwrap();
    assert_eq!(team_view["patient_id"], r.patient.as_str());
    assert!(
        records(
            p,
            &r.auditor,
            &[
                ("kind", "permission_denied".to_owned()),
                ("member_id", r.care_manager.id().to_owned()),
            ],
        )
        .await?
        .is_empty(),
        "nobody refused the care manager"
    );

    // The municipality's review counts its members' refusals, in JSON and CSV.
    let month = r.clock.start.format("%Y-%m").to_string();
    let (status, review) = send(r.secretariat.request(
        p,
        Method::GET,
        &format!("/api/v1/audit/reviews/{IZUMO}/{month}"),
    ))
    .await?;
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["permission_denials"], 3, "{review}");

    // And the FHIR export calls them refused security alerts.
    let (status, bundle) = send(
        r.auditor
            .request(p, Method::GET, "/api/v1/audit/records")
            .query(&[
                ("kind", "permission_denied"),
                ("member_id", r.nurse.id()),
                ("format", "fhir"),
            ]),
    )
    .await?;
    assert_eq!(status, 200, "{bundle}");
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 3, "{bundle}");
    for e in &entries {
        assert_eq!(e["resource"]["outcome"], "4", "{e}");
        assert_eq!(e["resource"]["type"]["code"], "110113", "{e}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_reports_and_replay_come_in_their_formats() -> anyhow::Result<()> {
    let r = region(&[]).await?;
    let p = &r.p;
    read_record(
        p,
        &r.nurse,
        &r.patient,
        &["care_records", "medication"],
        "care",
    )
    .await?;
    read_record(p, &r.pharmacist, &r.patient, &["medication"], "care").await?;
    wait_for(p, &r.auditor, &kind("patient_access"), 2).await?;
    let get =
        |path: &str, q: Vec<(&str, &str)>| r.auditor.request(p, Method::GET, path).query(&q).send();

    let fhir = get(
        "/api/v1/audit/records",
        vec![
            ("patient_id", r.patient.as_str()),
            ("kind", "patient_access"),
            ("format", "fhir"),
        ],
    )
    .await?;
    assert_eq!(
        fhir.headers()["content-type"].to_str()?,
        "application/fhir+json"
    );
    let bundle: Value = fhir.json().await?;
    assert_eq!(bundle["resourceType"], "Bundle");
    let events = bundle["entry"].as_array().cloned().unwrap_or_default();
    assert!(events.len() >= 2);
    for e in &events {
        let e = &e["resource"];
        assert_eq!(e["resourceType"], "AuditEvent");
        assert_eq!(e["type"]["code"], "110110");
        assert_eq!(
            e["entity"][0]["what"]["identifier"]["value"],
            r.patient.as_str()
        );
        assert!(e["outcome"] == "0" || e["outcome"] == "4");
    }
    assert!(
        events.iter().any(|e| e["resource"]["outcome"] == "4"),
        "the refusal is a failure outcome"
    );

    let csv = get(
        "/api/v1/audit/records",
        vec![("patient_id", r.patient.as_str()), ("format", "csv")],
    )
    .await?
    .text()
    .await?;
    assert!(csv.starts_with("seq,at,kind,"), "{csv}");
    assert!(csv.lines().count() >= 3);
    let ndjson = get(
        "/api/v1/audit/records",
        vec![("patient_id", r.patient.as_str()), ("format", "ndjson")],
    )
    .await?
    .text()
    .await?;
    for line in ndjson.lines() {
        let v: Value = serde_json::from_str(line)?;
        assert_eq!(v["patient_id"], r.patient.as_str());
    }

    // The patient's access report says who, from where, what and why.
    let (status, report) = send(r.auditor.request(
        p,
        Method::GET,
        &format!("/api/v1/audit/patients/{}/report", r.patient),
    ))
    .await?;
    assert_eq!(status, 200, "{report}");
    let lines = report["lines"].as_array().cloned().unwrap_or_default();
    let nurse_line = lines
        .iter()
        .find(|l| l["member_id"] == r.nurse.id())
        .expect("the nurse's access");
    assert!(
        nurse_line["why"]
            .as_str()
            .unwrap_or_default()
            .starts_with("consent "),
        "{nurse_line}"
    );
    assert!(
        nurse_line["sites"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == r.nursing.as_str())
    );
    // …by name: the person with their profession, the site by its name.
    assert!(nurse_line["member"]["name"].is_string(), "{nurse_line}");
    assert_eq!(nurse_line["member"]["profession"], "nurse", "{nurse_line}");
    assert!(
        nurse_line["site_names"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "ひかり訪問看護ステーション"),
        "{nurse_line}"
    );
    let refused = lines
        .iter()
        .find(|l| l["member_id"] == r.pharmacist.id())
        .expect("the refusal");
    assert!(
        refused["why"]
            .as_str()
            .unwrap_or_default()
            .starts_with("refused: "),
        "{refused}"
    );
    let html = get(
        &format!("/api/v1/audit/patients/{}/report", r.patient),
        vec![("format", "html")],
    )
    .await?;
    assert_eq!(
        html.headers()["content-type"].to_str()?,
        "text/html; charset=utf-8"
    );
    let printable = html.text().await?;
    assert!(printable.contains("アクセス記録"));
    assert!(
        printable.contains("ひかり訪問看護ステーション") && !printable.contains(r.nursing.as_str()),
        "the printable report names the site, not its id: {printable}"
    );

    // Replay: the raw events of the window as NDJSON, paged.
    let page = get("/api/v1/audit/replay", vec![("limit", "5")]).await?;
    assert_eq!(
        page.headers()["content-type"].to_str()?,
        "application/x-ndjson"
    );
    let next = page
        .headers()
        .get("tsunagu-next-after")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let body = page.text().await?;
    assert_eq!(body.lines().count(), 5);
    let first: Value = serde_json::from_str(body.lines().next().unwrap())?;
    assert!(first["sequence"].as_u64().is_some() && first["event"]["event_type"].is_string());
    let next = next.expect("more than five events: a next page");
    let rest = get("/api/v1/audit/replay", vec![("after", next.as_str())])
        .await?
        .text()
        .await?;
    let again: Value = serde_json::from_str(rest.lines().next().unwrap())?;
    assert!(again["sequence"].as_u64() > first["sequence"].as_u64());

    // Bad input is named, and never reaches the database (which cannot hold a NUL).
    let long_id = "m".repeat(129);
    for (path, query, want) in [
        ("/api/v1/audit/records", ("kind", "gossip"), (422, "/kind")),
        ("/api/v1/audit/records", ("limit", "0"), (422, "/limit")),
        (
            "/api/v1/audit/records",
            ("site_id", "a\0b"),
            (422, "/site_id"),
        ),
        (
            "/api/v1/audit/leaks",
            ("member_id", "\u{1b}[2J"),
            (422, "/member_id"),
        ),
        (
            "/api/v1/audit/verification",
            ("run_id", "\0"),
            (422, "/run_id"),
        ),
        (
            "/api/v1/audit/patients/a%00b/report",
            ("format", "csv"),
            (422, "/patient_id"),
        ),
        // What the served document says is refused: beyond its int64, too long, required.
        (
            "/api/v1/audit/replay",
            ("after", "9223372036854775808"),
            (422, "/after"),
        ),
        (
            "/api/v1/audit/records",
            ("member_id", &long_id),
            (422, "/member_id"),
        ),
        (
            "/api/v1/audit/proofs/inclusion",
            ("tree_size", "1"),
            (422, "/seq"),
        ),
    ] {
        let (status, problem) =
            send(r.auditor.request(p, Method::GET, path).query(&[query])).await?;
        assert_eq!(
            (status, problem["errors"][0]["pointer"].as_str()),
            (want.0, Some(want.1)),
            "{path} {query:?}: {problem}"
        );
    }

    // A person reads a history newest first, a page at a time: the same records, reversed.
    let oldest_first: Vec<u64> = records(p, &r.auditor, &[("patient_id", r.patient.clone())])
        .await?
        .iter()
        .filter_map(|v| v["record"]["seq"].as_u64())
        .collect();
    let mut newest_first = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut q = vec![
            ("patient_id", r.patient.clone()),
            ("newest_first", "true".to_owned()),
            ("limit", "2".to_owned()),
        ];
        if let Some(a) = after {
            q.push(("after", a.to_string()));
        }
        let (status, body) = send(
            r.auditor
                .request(p, Method::GET, "/api/v1/audit/records")
                .query(&q),
        )
        .await?;
        anyhow::ensure!(status == 200, "newest first: {status} {body}");
        newest_first.extend(
            body["records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["record"]["seq"].as_u64()),
        );
        match body["next_after"].as_u64() {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert!(oldest_first.len() >= 3, "{oldest_first:?}");
    // Records this test's own reads added meanwhile come first in the newer listing.
    let tail: Vec<u64> = newest_first
        .iter()
        .rev()
        .take(oldest_first.len())
        .copied()
        .collect();
    assert_eq!(
        tail, oldest_first,
        "newest first is the same history, reversed"
    );

    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_is_flagged_to_the_coordination_centre_and_auditors_and_marked_in_the_report()
-> anyhow::Result<()> {
    let r = region(&[]).await?;
    let p = &r.p;
    let clinic = site_of_kind(p, IZUMO, "救急ひかり病院", "hospital", &[]).await?;
    let physician = professional(p, &r.clock, "er.audit", "physician", &clinic, IZUMO).await?;
    let centre_site = site_of_kind(
        p,
        IZUMO,
        "出雲市在宅医療介護連携支援センター",
        "coordination_centre",
        &[],
    )
    .await?;
    let centre = member(
        p,
        &r.clock,
        "centre.audit",
        &["coordination_centre_staff"],
        "other",
        Some(&centre_site),
        IZUMO,
    )
    .await?;
    let yokohama_site = site_of_kind(
        p,
        YOKOHAMA,
        "横浜市在宅医療連携拠点",
        "coordination_centre",
        &[],
    )
    .await?;
    let elsewhere = member(
        p,
        &r.clock,
        "centre.yokohama",
        &["coordination_centre_staff"],
        "other",
        Some(&yokohama_site),
        YOKOHAMA,
    )
    .await?;

    // A physician off the team opens the patient in an emergency, and reads.
    let reason = "訪問時に意識レベル低下、救急搬送に同行";
    let (status, grant) = send(
        physician
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{}/break-glass", r.patient),
            )
            .json(&json!({ "reason": reason, "minutes": 30 })),
    )
    .await?;
    assert_eq!(status, 201, "{grant}");
    let (status, _) =
        read_record(p, &physician, &r.patient, &["care_records"], "emergency").await?;
    assert_eq!(status, 200);

    // The centre of the patient's municipality is told: the opening with its reason, and
    // the access it allowed — with the patient, without clinical content.
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        let (status, page) =
            send(centre.request(p, Method::GET, "/api/v1/break-glass-alerts")).await?;
        assert_eq!(status, 200, "{page}");
        let alerts = page["records"].as_array().cloned().unwrap_or_default();
        if alerts.len() >= 2 {
            break alerts;
        }
        assert!(Instant::now() < deadline, "no alerts: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let opened = alerts
        .iter()
        .find(|a| a["record"]["kind"] == "break_glass_opened")
        .expect("the opening");
    assert_eq!(opened["record"]["reason"], reason, "{opened}");
    assert_eq!(opened["record"]["member_id"], physician.id());
    assert_eq!(opened["patient_id"], r.patient.as_str());
    let used = alerts
        .iter()
        .find(|a| a["record"]["kind"] == "patient_access")
        .expect("the use");
    assert_eq!(used["record"]["break_glass"], true);
    assert_eq!(
        used["record"]["categories"],
        json!([]),
        "no clinical content for the centre"
    );

    // Another municipality's centre hears nothing of it; a nurse may not ask.
    let (status, page) =
        send(elsewhere.request(p, Method::GET, "/api/v1/break-glass-alerts")).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["records"], json!([]), "{page}");
    let (status, _) = send(
        r.nurse
            .request(p, Method::GET, "/api/v1/break-glass-alerts"),
    )
    .await?;
    assert_eq!(status, 403);

    // Auditors see it too, and the patient's access report marks the use with its reason.
    let (status, page) = send(
        r.auditor
            .request(p, Method::GET, "/api/v1/break-glass-alerts"),
    )
    .await?;
    assert_eq!(status, 200);
    assert!(
        page["records"].as_array().is_some_and(|a| a.len() >= 2),
        "{page}"
    );
    let (_, report) = send(r.auditor.request(
        p,
        Method::GET,
        &format!("/api/v1/audit/patients/{}/report", r.patient),
    ))
    .await?;
    let line = report["lines"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["break_glass"] == true))
        .cloned()
        .unwrap_or_else(|| panic!("no break-glass line: {report}"));
    assert!(
        line["why"].as_str().unwrap_or_default().contains(reason),
        "{line}"
    );
    assert_eq!(report["break_glass_uses"], 1, "{report}");
    Ok(())
}

/// The log's checkpoints, signatures checked with their published keys.
async fn checkpoints(p: &Platform, auditor: &Member) -> anyhow::Result<Vec<SignedCheckpoint>> {
    let (status, body) = send(auditor.request(p, Method::GET, "/api/v1/audit/checkpoints")).await?;
    anyhow::ensure!(status == 200, "{body}");
    let mut out = Vec::new();
    for c in body["checkpoints"].as_array().cloned().unwrap_or_default() {
        let checkpoint: SignedCheckpoint = serde_json::from_value(c["checkpoint"].clone())?;
        let key: [u8; 32] = hex_bytes(c["public_key"].as_str().unwrap_or_default())?;
        audit_chain::verify_checkpoint(
            &checkpoint,
            &ed25519_dalek::VerifyingKey::from_bytes(&key)?,
        )?;
        out.push(checkpoint);
    }
    out.sort_by_key(|c| c.body.tree_size);
    Ok(out)
}

fn hex_bytes<const N: usize>(text: &str) -> anyhow::Result<[u8; N]> {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<_, _>>()?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("not {N} bytes"))
}

/// Reads until `n` records are in the log and checkpoints cover at least `covered`.
async fn busy_log(r: &Region, n: usize, covered: u64) -> anyhow::Result<Vec<SignedCheckpoint>> {
    let p = &r.p;
    let mut made = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let all = records(p, &r.auditor, &[]).await?.len();
        let signed = checkpoints(p, &r.auditor).await?;
        if all >= n
            && signed.last().is_some_and(|c| c.body.tree_size >= covered)
            && signed.len() >= 3
        {
            return Ok(signed);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the log did not grow: {all} records, {} checkpoints",
            signed.len()
        );
        if all < n {
            for _ in 0..20 {
                read_record(
                    p,
                    if made % 3 == 0 {
                        &r.pharmacist
                    } else {
                        &r.nurse
                    },
                    &r.patient,
                    &["care_records"],
                    "care",
                )
                .await?;
                made += 1;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The inclusion proof of record `seq` under the checkpoint of `size`, as `who` asks for it.
async fn inclusion(
    p: &Platform,
    who: &Member,
    seq: u64,
    size: u64,
) -> anyhow::Result<(u16, Value)> {
    send(
        who.request(p, Method::GET, "/api/v1/audit/proofs/inclusion")
            .query(&[("seq", seq.to_string()), ("tree_size", size.to_string())]),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proof_discloses_a_record_only_to_those_whose_queries_show_it() -> anyhow::Result<()> {
    let r = region(&[("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", "20")]).await?;
    let p = &r.p;
    // 横浜市 has a member who signs in: a record of 141003 in the one log.
    municipality_named(p, YOKOHAMA).await?;
    let theirs = secretariat(p, &r.clock, "sec.yokohama.proof", YOKOHAMA).await?;
    let signed = busy_log(&r, 60, 40).await?;
    let root = signed.last().unwrap().body.root;
    let everything = records(p, &r.auditor, &[]).await?;
    let covered = signed.last().unwrap().body.tree_size;
    let seq_of = |test: &dyn Fn(&Value) -> bool| {
        everything
            .iter()
            .find(|x| x["record"]["seq"].as_u64().is_some_and(|s| s < covered) && test(x))
            .and_then(|x| x["record"]["seq"].as_u64())
    };
    let yokohama = seq_of(&|x| x["record"]["member_id"] == theirs.id())
        .expect("a record of 横浜市's member under the checkpoint");
    let izumo = seq_of(&|x| {
        x["record"]["kind"] == "patient_access" && x["record"]["member_id"] == r.nurse.id()
    })
    .expect("a record of 出雲市's nurse under the checkpoint");

    // 出雲市's secretariat and the nursing station's admin: no such record in 横浜市, and
    // nothing of it in the answer.
    for who in [&r.secretariat, &r.site_admin] {
        let (status, body) = inclusion(p, who, yokohama, covered).await?;
        assert_eq!(status, 404, "{}: {body}", who.account.username);
        assert_eq!(body["errors"][0]["pointer"], "/seq", "{body}");
        let text = body.to_string();
        assert!(
            !text.contains(theirs.id()) && body.get("record").is_none(),
            "{text}"
        );
    }
    // Their own share: the secretariat gets the proof of the leaf, without the record's
    // bytes (it reads records without clinical detail); the site admin the record whole.
    let (status, proof) = inclusion(p, &r.secretariat, izumo, covered).await?;
    assert_eq!(status, 200, "{proof}");
    assert!(proof.get("record").is_none(), "{proof}");
    let leaf: Digest = serde_json::from_value(proof["leaf_hash"].clone())?;
    let path: Vec<Digest> = serde_json::from_value(proof["path"].clone())?;
    verify_inclusion(izumo, covered, &leaf, &path, &root)?;
    let (status, proof) = inclusion(p, &r.site_admin, izumo, covered).await?;
    assert_eq!(status, 200, "{proof}");
    let record = proof["record"].as_str().expect("the record");
    verify_inclusion(izumo, covered, &leaf_hash(record.as_bytes()), &path, &root)?;
    // The auditor reads the region: 横浜市's record too, whole.
    let (status, proof) = inclusion(p, &r.auditor, yokohama, covered).await?;
    assert_eq!(status, 200, "{proof}");
    assert!(proof["record"].as_str().unwrap_or("").contains(theirs.id()));
    Ok(())
}

/// Starts a walk of the log through the API and follows it to its report.
async fn verification(p: &Platform, auditor: &Member) -> anyhow::Result<Value> {
    let started = auditor
        .request(p, Method::POST, "/api/v1/audit/verification")
        .send()
        .await?;
    anyhow::ensure!(started.status() == 202, "starting: {}", started.status());
    let location = started.headers()["location"].to_str()?.to_owned();
    let run: Value = started.json().await?;
    anyhow::ensure!(location.ends_with(run["run_id"].as_str().unwrap_or("?")));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, run) = send(auditor.request(p, Method::GET, &location)).await?;
        // The answer came once the run was in the log's tables: its `Location` shows it.
        anyhow::ensure!(status == 200, "{status} {run}");
        if run["state"] == "finished" {
            return Ok(run["report"].clone());
        }
        anyhow::ensure!(Instant::now() < deadline, "the walk did not finish: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A walk's service that stops mid-walk leaves a run without a report. Readers tell it
/// from a running one by the walk's lock, which goes with the walk's connection: here the
/// test's own connection plays the walking replica.
#[tokio::test(flavor = "multi_thread")]
async fn a_walk_whose_service_stopped_shows_abandoned_and_another_can_start() -> anyhow::Result<()>
{
    let (p, clock) = start_with(&[]).await?;
    municipality_named(&p, IZUMO).await?;
    let auditor = auditor(&p, &clock, "auditor.walks", IZUMO).await?;
    let run_id = "0190a000-0000-7000-8000-00000000walk";
    let walking = audit_db(&p).await?;
    walking
        .execute(
            "INSERT INTO verifications (run_id, requested_by, tree_size, started_at)
             VALUES ($1, 'another replica', 1, '2001-01-01T00:00:00Z')",
            &[&run_id],
        )
        .await?;
    // The locks a walk holds (handlers.rs: WALK_LOCKS, and its run's key).
    walking
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({0}, 0);
             SELECT pg_advisory_lock({0}, hashtext('{run_id}') & 2147483647);",
            0x7473_7576
        ))
        .await?;
    let shown = |run: &Value| (run["run_id"].clone(), run["state"].clone());
    let location = format!("/api/v1/audit/verification?run_id={run_id}");

    // While it walks, it is `running`, and asking for another walk answers this one.
    let (status, run) = send(auditor.request(&p, Method::GET, &location)).await?;
    assert_eq!(status, 200, "{run}");
    assert_eq!(shown(&run), (json!(run_id), json!("running")));
    let (status, run) =
        send(auditor.request(&p, Method::POST, "/api/v1/audit/verification")).await?;
    assert_eq!(status, 202, "{run}");
    assert_eq!(shown(&run), (json!(run_id), json!("running")));

    // Its replica stops: the run is `abandoned`, and a new walk starts and finishes.
    drop(walking);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, run) = send(auditor.request(&p, Method::GET, &location)).await?;
        assert_eq!(status, 200, "{run}");
        if run["state"] == "abandoned" {
            assert!(run["report"].is_null(), "{run}");
            break;
        }
        assert_eq!(run["state"], "running", "{run}");
        assert!(Instant::now() < deadline, "still running: {run}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = verification(&p, &auditor).await?;
    assert_eq!(report["intact"], true, "{report}");
    let (_, latest) = send(auditor.request(&p, Method::GET, "/api/v1/audit/verification")).await?;
    assert_ne!(latest["run_id"], json!(run_id), "{latest}");
    assert_eq!(latest["state"], "finished", "{latest}");
    Ok(())
}

/// Waits until the log holds everything recorded so far: the collector has copied the
/// access stream to its end (it appends its copies before it moves its position), and the
/// chain has applied the audit stream to its end.
async fn settled(p: &Platform) -> anyhow::Result<()> {
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let db = audit_db(p).await?;
    let pool = projection_runner::connect_pool(&p.audit_db.url, 1)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let access = store.last_sequence(access_log::CONTEXT).await?;
        let collected: i64 = db
            .query_opt(
                "SELECT position FROM audit_collector.sources WHERE stream = $1",
                &[&store.stream_name(access_log::CONTEXT)],
            )
            .await?
            .map_or(0, |r| r.get(0));
        let audit = store.last_sequence(audit_api::CONTEXT).await?;
        let chained = projection_runner::checkpoint(&pool, "audit_log").await?;
        if collected as u64 >= access && chained >= audit {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the log did not settle: access {access}, collected {collected}, audit {audit}, chained {chained}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn audit_db(p: &Platform) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) =
        tokio_postgres::connect(&p.audit_db.url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client.batch_execute("SET search_path TO audit_log").await?;
    Ok(client)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_is_append_only_and_verify_names_the_altered_record() -> anyhow::Result<()> {
    let r = region(&[("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", "20")]).await?;
    let p = &r.p;
    let signed = busy_log(&r, 60, 40).await?;

    // Honest: intact, and every record's inclusion proof holds against a signed checkpoint.
    let (status, none) = send(
        r.auditor
            .request(p, Method::GET, "/api/v1/audit/verification"),
    )
    .await?;
    assert_eq!(status, 404, "nothing verified yet: {none}");
    let report = verification(p, &r.auditor).await?;
    assert_eq!(report["intact"], true, "{report}");
    assert!(report["records"].as_u64().unwrap_or(0) >= 60, "{report}");
    let latest = signed.last().unwrap();
    for seq in [0, latest.body.tree_size / 2, latest.body.tree_size - 1] {
        let (status, proof) = send(
            r.auditor
                .request(p, Method::GET, "/api/v1/audit/proofs/inclusion")
                .query(&[
                    ("seq", seq.to_string()),
                    ("tree_size", latest.body.tree_size.to_string()),
                ]),
        )
        .await?;
        assert_eq!(status, 200, "{proof}");
        let path: Vec<Digest> = serde_json::from_value(proof["path"].clone())?;
        let leaf = leaf_hash(proof["record"].as_str().unwrap().as_bytes());
        verify_inclusion(seq, latest.body.tree_size, &leaf, &path, &latest.body.root)?;
    }
    let first = &signed[0];
    let (status, proof) = send(
        r.auditor
            .request(p, Method::GET, "/api/v1/audit/proofs/consistency")
            .query(&[
                ("first", first.body.tree_size.to_string()),
                ("tree_size", latest.body.tree_size.to_string()),
            ]),
    )
    .await?;
    assert_eq!(status, 200, "{proof}");
    let hashes: Vec<Digest> = serde_json::from_value(proof["proof"].clone())?;
    verify_consistency(
        first.body.tree_size,
        latest.body.tree_size,
        &first.body.root,
        &latest.body.root,
        &hashes,
    )?;

    // Keys rotate: a new key signs from now on, and what the old one signed still holds.
    let rotated = std::process::Command::new(testkit::binary("tsunagu-audit")?)
        .arg("rotate-key")
        .env_clear()
        .envs(p.audit_env())
        .output()?;
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let old_key = latest.body.key_id.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // `checkpoints` checks every signature with its published key.
        let all = checkpoints(p, &r.auditor).await?;
        if all.iter().any(|c| c.body.key_id != old_key) {
            assert!(
                all.iter().any(|c| c.body.key_id == old_key),
                "the old key's checkpoints remain"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint signed with the new key"
        );
        for _ in 0..10 {
            read_record(p, &r.nurse, &r.patient, &["care_records"], "care").await?;
        }
    }

    // The service's role may not change or delete a record; neither may the owner.
    let db = audit_db(p).await?;
    db.batch_execute("SET ROLE tsunagu_audit_writer").await?;
    for statement in [
        "UPDATE records SET kind = 'x' WHERE seq = 3",
        "DELETE FROM records WHERE seq = 3",
        "TRUNCATE records",
    ] {
        let e = db.batch_execute(statement).await.expect_err(statement);
        assert_eq!(
            e.code().map(|c| c.code()),
            Some("42501"),
            "{statement}: {e}"
        );
    }
    db.batch_execute("RESET ROLE").await?;
    for statement in [
        "UPDATE records SET kind = 'x' WHERE seq = 3",
        "DELETE FROM records WHERE seq = 3",
        "DELETE FROM checkpoints",
    ] {
        let e = db.batch_execute(statement).await.expect_err(statement);
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{statement}: {e:?}"
        );
    }

    // Someone with the superuser's powers goes around the trigger and flips one bit.
    db.batch_execute(
        "SET session_replication_role = replica;
         UPDATE records SET record = set_byte(record, 20, get_byte(record, 20) # 4) WHERE seq = 7;
         SET session_replication_role = origin;",
    )
    .await?;
    let report = verification(p, &r.auditor).await?;
    assert_eq!(report["intact"], false, "{report}");
    assert_eq!(report["first"]["seq"], 7, "{report}");
    assert_eq!(report["first"]["finding"], "altered", "{report}");

    // The operator's command says the same, and fails.
    let out = std::process::Command::new(testkit::binary("tsunagu-audit")?)
        .arg("verify")
        .env_clear()
        .envs(p.audit_env())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Altered at record 7"), "{stdout}");

    // The bit back; then someone deletes the last records and every checkpoint in the
    // database that covered them. The database alone looks whole, the copies of the
    // checkpoints on the stream do not.
    let audit_env = p.audit_env();
    let all = audit_db(p).await?;
    let mut r = r;
    r.p.audit.kill();
    all.batch_execute(
        "UPDATE records SET record = set_byte(record, 20, get_byte(record, 20) # 4) WHERE seq = 7",
    )
    .await
    .expect_err("the trigger still stands");
    let last_signed: i64 = all
        .query_one("SELECT max(tree_size) FROM checkpoints", &[])
        .await?
        .get(0);
    let cut = last_signed - 3;
    all.batch_execute(&format!(
        "SET session_replication_role = replica;
         UPDATE records SET record = set_byte(record, 20, get_byte(record, 20) # 4) WHERE seq = 7;
         DELETE FROM records WHERE seq >= {cut};
         DELETE FROM checkpoints WHERE tree_size > {cut};"
    ))
    .await?;
    let alone = audit::verify::verify(&all).await?;
    assert!(alone.intact, "the database alone cannot tell: {alone:?}");
    let out = std::process::Command::new(testkit::binary("tsunagu-audit")?)
        .args(["verify", "--json"])
        .env_clear()
        .envs(audit_env)
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["first"]["finding"], "truncated", "{report}");
    assert_eq!(report["first"]["seq"], cut, "{report}");
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["finding"] == "checkpoint_mismatch"
                && x["checkpoint"] == last_signed
                && x["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("missing from the database")),
        "{report}"
    );
    Ok(())
}

/// One way to tamper with the stored log.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    BitChange,
    Delete,
    Insert,
    Reorder,
    Duplicate,
    TruncateAfterCheckpoint,
}

const MUTATIONS: [Mutation; 6] = [
    Mutation::BitChange,
    Mutation::Delete,
    Mutation::Insert,
    Mutation::Reorder,
    Mutation::Duplicate,
    Mutation::TruncateAfterCheckpoint,
];

/// Shifts the records from `seq` on one place up (two steps: `seq` is the primary key).
const SHIFT_UP: &str = "UPDATE records SET seq = -seq - 1 WHERE seq >= $1;
                        UPDATE records SET seq = -seq WHERE seq < 0;";

/// What a mutation changed, beyond the place verification must name.
struct Effect {
    /// The place verification must name.
    place: i64,
    /// The record bytes there differ from the honest ones (an inclusion proof can tell).
    record_changed: bool,
    /// Stored leaf hashes moved or changed (a consistency proof made from them can tell).
    leaves_changed: bool,
}

/// Applies `m` around `k` (below `size` records).
async fn mutate(
    tx: &tokio_postgres::Transaction<'_>,
    m: Mutation,
    k: i64,
    size: i64,
    rng: &mut StdRng,
) -> anyhow::Result<Effect> {
    let moved = |place| Effect {
        place,
        record_changed: true,
        leaves_changed: true,
    };
    let exec = |sql: String| async move { tx.batch_execute(&sql).await };
    match m {
        Mutation::BitChange => {
            let column =
                ["record", "record", "record", "leaf_hash", "chain_hash"][rng.random_range(0..5)];
            let len: i32 = tx
                .query_one(
                    &format!("SELECT length({column}) FROM records WHERE seq = $1"),
                    &[&k],
                )
                .await?
                .get(0);
            let byte = rng.random_range(0..len);
            let bit = 1 << rng.random_range(0..8);
            exec(format!("UPDATE records SET {column} = set_byte({column}, {byte}, get_byte({column}, {byte}) # {bit}) WHERE seq = {k}")).await?;
            Ok(Effect {
                place: k,
                record_changed: column == "record",
                leaves_changed: column == "leaf_hash",
            })
        }
        Mutation::Delete => {
            exec(format!("DELETE FROM records WHERE seq = {k}")).await?;
            Ok(moved(k))
        }
        Mutation::Insert => {
            // A forger who knows the format: a copy of another record, renumbered, with
            // hashes that chain on from the record before.
            let other = (k + 1 + rng.random_range(0..(size - k - 1).max(1))).min(size - 1);
            let row = tx
                .query_one("SELECT record FROM records WHERE seq = $1", &[&other])
                .await?;
            let mut record: Value = serde_json::from_slice(&row.get::<_, Vec<u8>>(0))?;
            record["seq"] = json!(k);
            let bytes = audit_chain::canonical_json(&record)?;
            let previous: Vec<u8> = tx
                .query_one("SELECT chain_hash FROM records WHERE seq = $1", &[&(k - 1)])
                .await?
                .get(0);
            let leaf = leaf_hash(&bytes);
            let chain = audit_chain::chain_hash(&Digest::from_slice(&previous)?, &leaf);
            tx.execute(SHIFT_UP.split(';').next().unwrap(), &[&k])
                .await?;
            tx.execute("UPDATE records SET seq = -seq WHERE seq < 0", &[])
                .await?;
            tx.execute(
                "INSERT INTO records (seq, at, kind, member_id, session_id, sites, municipality, patient, outcome, break_glass, record, leaf_hash, chain_hash)
                 SELECT $1, at, kind, member_id, session_id, sites, municipality, patient, outcome, break_glass, $2, $3, $4 FROM records WHERE seq = $5",
                &[&k, &bytes, &leaf.as_bytes().as_slice(), &chain.as_bytes().as_slice(), &(other + 1)],
            )
            .await?;
            Ok(moved(k))
        }
        Mutation::Reorder => {
            let j = (k + 1 + rng.random_range(0..4)).min(size - 1);
            exec(format!(
                "UPDATE records SET seq = -1 WHERE seq = {k}; UPDATE records SET seq = {k} WHERE seq = {j};
                 UPDATE records SET seq = {j} WHERE seq = -1;"
            ))
            .await?;
            Ok(moved(k))
        }
        Mutation::Duplicate => {
            tx.execute(SHIFT_UP.split(';').next().unwrap(), &[&(k + 1)])
                .await?;
            tx.execute("UPDATE records SET seq = -seq WHERE seq < 0", &[])
                .await?;
            tx.execute(
                "INSERT INTO records SELECT $1, at, kind, member_id, session_id, sites, municipality, patient, outcome, break_glass, record, leaf_hash, chain_hash FROM records WHERE seq = $2",
                &[&(k + 1), &k],
            )
            .await?;
            Ok(moved(k + 1))
        }
        Mutation::TruncateAfterCheckpoint => {
            exec(format!("DELETE FROM records WHERE seq >= {k}")).await?;
            Ok(moved(k))
        }
    }
}

/// The inclusion proof of record `seq` under `checkpoint`, as the mutated database would
/// give it, checked against the signed root.
async fn inclusion_holds(
    client: &impl GenericClient,
    seq: u64,
    checkpoint: &SignedCheckpoint,
) -> anyhow::Result<bool> {
    let size = checkpoint.body.tree_size;
    let Some(row) = client
        .query_opt(
            "SELECT record FROM records WHERE seq = $1",
            &[&(seq as i64)],
        )
        .await?
    else {
        return Ok(false);
    };
    let mut path = Vec::new();
    for range in audit_chain::inclusion_ranges(seq, size)? {
        path.push(audit::log::range_hash(client, range).await?);
    }
    Ok(verify_inclusion(
        seq,
        size,
        &leaf_hash(&row.get::<_, Vec<u8>>(0)),
        &path,
        &checkpoint.body.root,
    )
    .is_ok())
}

async fn consistency_holds(
    client: &impl GenericClient,
    first: &SignedCheckpoint,
    second: &SignedCheckpoint,
) -> anyhow::Result<bool> {
    let mut proof = Vec::new();
    for range in audit_chain::consistency_ranges(first.body.tree_size, second.body.tree_size)? {
        proof.push(audit::log::range_hash(client, range).await?);
    }
    Ok(verify_consistency(
        first.body.tree_size,
        second.body.tree_size,
        &first.body.root,
        &second.body.root,
        &proof,
    )
    .is_ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_random_mutations_are_each_found_at_their_record() -> anyhow::Result<()> {
    let r = region(&[("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", "40")]).await?;
    let signed = busy_log(&r, 200, 160).await?;
    let mut db = audit_db(&r.p).await?;
    let honest = audit::verify::verify(&db).await?;
    assert!(honest.intact, "{honest:?}");
    // Checkpoints as the database keeps them (the API lists the latest 100).
    let covered = signed.last().unwrap().body.tree_size as i64;
    let size: i64 = db
        .query_one("SELECT count(*) FROM records", &[])
        .await?
        .get(0);
    for (a, b) in signed.iter().zip(signed.iter().skip(1)) {
        assert!(
            consistency_holds(&db, a, b).await?,
            "honest consistency {} → {}",
            a.body.tree_size,
            b.body.tree_size
        );
    }
    for seq in (0..covered as u64).step_by(7) {
        assert!(
            inclusion_holds(&db, seq, signed.last().unwrap()).await?,
            "honest inclusion of {seq}"
        );
    }

    let mut rng = StdRng::seed_from_u64(1_000);
    let mut found: BTreeMap<String, usize> = BTreeMap::new();
    let mut proofs_failed: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for i in 0..1000 {
        let m = MUTATIONS[i % MUTATIONS.len()];
        // Inside what the checkpoints cover, and not the very first record (an insert
        // needs a record before it).
        let k = rng.random_range(1..covered - 1);
        let tx = db.transaction().await?;
        tx.batch_execute("SET LOCAL session_replication_role = replica")
            .await?;
        let effect = mutate(&tx, m, k, size, &mut rng).await?;
        let expected = effect.place;
        let report = audit::verify::verify(&tx).await?;
        let first = report
            .first
            .clone()
            .unwrap_or_else(|| panic!("{m:?} at {k} went unnoticed"));
        assert_eq!(first.seq, Some(expected as u64), "{m:?} at {k}: {first:?}");
        *found.entry(format!("{:?}", first.finding)).or_default() += 1;
        if i < 120 {
            // The signed checkpoints were made from the honest log: a proof made from the
            // mutated one does not hold against them.
            let under = signed
                .iter()
                .find(|c| c.body.tree_size as i64 > expected)
                .unwrap();
            let entry = proofs_failed.entry(format!("{m:?}")).or_default();
            if effect.record_changed {
                assert!(
                    !inclusion_holds(&tx, expected as u64, under).await?,
                    "{m:?} at {k}: inclusion still holds"
                );
                entry.0 += 1;
            }
            // Below 256 records every range a proof reads is hashed from the stored leaves.
            if let Some(before) = signed
                .iter()
                .rev()
                .find(|c| (c.body.tree_size as i64) <= expected)
                && effect.leaves_changed
                && under.body.tree_size <= 256
            {
                assert!(
                    !consistency_holds(&tx, before, under).await?,
                    "{m:?} at {k}: consistency still holds"
                );
                entry.1 += 1;
            }
        }
        tx.rollback().await?;
    }
    // Each kind was found, and each kind broke the proofs made from it.
    for kind in [
        "Altered",
        "Deleted",
        "Inserted",
        "Reordered",
        "Duplicated",
        "Truncated",
    ] {
        assert!(
            found.get(kind).copied().unwrap_or(0) > 0,
            "{kind} never reported: {found:?}"
        );
    }
    for m in MUTATIONS {
        let (inclusion, _) = proofs_failed
            .get(&format!("{m:?}"))
            .copied()
            .unwrap_or_default();
        assert!(
            inclusion > 0,
            "{m:?}: no failed inclusion proof: {proofs_failed:?}"
        );
    }
    for m in [
        "Delete",
        "Insert",
        "Reorder",
        "Duplicate",
        "TruncateAfterCheckpoint",
    ] {
        assert!(
            proofs_failed.get(m).is_some_and(|(_, c)| *c > 0),
            "{m}: no failed consistency proof: {proofs_failed:?}"
        );
    }
    // And the honest log is still intact.
    assert!(audit::verify::verify(&db).await?.intact);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_from_sequence_zero_gives_the_same_hashes_and_the_same_reports()
-> anyhow::Result<()> {
    let r = region(&[("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", "10")]).await?;
    let p = &r.p;
    busy_log(&r, 40, 20).await?;
    // The last reads may still be on their way into the chain: the report before the
    // rebuild is taken once they are in.
    settled(p).await?;
    let report = |_: ()| async {
        let response = r
            .auditor
            .request(
                p,
                Method::GET,
                &format!("/api/v1/audit/patients/{}/report", r.patient),
            )
            .query(&[("format", "csv")])
            .send()
            .await?;
        anyhow::Ok(response.bytes().await?)
    };
    let before = report(()).await?;

    // Into a fresh database: the same records, hash for hash, as the live log holds.
    let fresh = testkit::TestDb::create().await?;
    let mut env = p.audit_env();
    env.retain(|(k, _)| k != "TSUNAGU_DATABASE_URL");
    env.push(("TSUNAGU_DATABASE_URL".into(), fresh.url.clone()));
    let run = |args: &[&str], env: &[(String, String)]| {
        std::process::Command::new(testkit::binary("tsunagu-audit").unwrap())
            .args(args)
            .env_clear()
            .envs(env.iter().cloned())
            .output()
    };
    let out = run(&["rebuild"], &env)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt_head = stdout
        .lines()
        .find_map(|l| l.split("chain head ").nth(1).map(str::to_owned))
        .unwrap_or_else(|| panic!("no chain head in {stdout}"));
    let rebuilt_size: u64 = stdout
        .lines()
        .find_map(|l| {
            l.split(" records, chain head")
                .next()?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    let live = audit_db(p).await?;
    let row = live
        .query_one(
            "SELECT chain_hash FROM records WHERE seq = $1",
            &[&(rebuilt_size as i64 - 1)],
        )
        .await?;
    assert_eq!(
        rebuilt_head,
        hex_string(&row.get::<_, Vec<u8>>(0)),
        "the same chain at {rebuilt_size} records"
    );

    // In place, twice: identical tables, and the patient's report byte for byte.
    for _ in 0..2 {
        let out = run(&["rebuild", "--swap"], &p.audit_env())?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{stdout}");
        assert!(
            stdout.contains("records") && stdout.contains("identical"),
            "{stdout}"
        );
        assert_eq!(
            report(()).await?,
            before,
            "the patient's report after a rebuild"
        );
    }
    Ok(())
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
