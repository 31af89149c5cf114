//! Patients, consents and care teams for scenarios: sites of a given kind, members signed in
//! at them, a patient registered by a care management office, consent forms of the three
//! models, seats on the team, the reads a team member makes, the services' clock moved
//! forward by restarting them, and the access records as an auditor reads them from the
//! stream.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use testkit::Platform;
use uuid::Uuid;

use crate::accounts::{Account, Clock, YOKOHAMA, access_token, join_as, municipality_named, send};

/// The context (and stream suffix) of access records.
pub const ACCESS_CONTEXT: &str = "access";

/// A member signed in at one site (or none: the secretariat, auditors).
pub struct Member {
    pub account: Account,
    pub token: String,
    pub site: Option<String>,
    pub profession: String,
}

impl Member {
    pub fn id(&self) -> &str {
        &self.account.member_id
    }

    /// A request with this member's access token.
    pub fn request(&self, p: &Platform, method: Method, path: &str) -> RequestBuilder {
        p.http.request(method, p.url(path)).bearer_auth(&self.token)
    }

    /// Signs in again (after the services' clock moved: earlier tokens have expired).
    pub async fn sign_in_again(&mut self, p: &Platform, clock: &Clock) -> anyhow::Result<()> {
        self.token = access_token(p, clock, &self.account).await?;
        Ok(())
    }
}

/// A municipality (出雲市 or 横浜市, registered if it is not yet), an organisation and one
/// site of `kind` with `service_types`; answers the site id.
pub async fn site_of_kind(
    p: &Platform,
    municipality: &str,
    site_name: &str,
    kind: &str,
    service_types: &[&str],
) -> anyhow::Result<String> {
    let name = municipality_named(p, municipality).await?;
    let (status, org) = send(p.operator(Method::POST, "/api/v1/organisations").json(&json!({
        "name": format!("法人 {site_name}"), "name_kana": "ホウジン", "kind": "medical_corporation",
        "home_municipality": municipality
    })))
    .await?;
    anyhow::ensure!(status == 201, "organisation: {org}");
    let org = text(&org, "organisation_id")?;
    let (status, site) = send(
        p.operator(Method::POST, &format!("/api/v1/organisations/{org}/sites"))
            .json(&json!({
                "name": site_name, "name_kana": "ジギョウショ", "kind": kind,
                "service_types": service_types, "home_municipality": municipality,
                "address": format!("{name}1"), "phone": "0853-00-0000"
            })),
    )
    .await?;
    anyhow::ensure!(status == 201, "site {site_name}: {site}");
    text(&site, "site_id")
}

/// Invites, activates, enrols and signs in a member of `municipality` with `roles` and
/// `profession`, working at `site` (if any).
pub async fn member(
    p: &Platform,
    clock: &Clock,
    username: &str,
    roles: &[&str],
    profession: &str,
    site: Option<&str>,
    municipality: &str,
) -> anyhow::Result<Member> {
    let sites: Vec<&str> = site.into_iter().collect();
    let account = join_as(
        p,
        clock,
        None,
        username,
        roles,
        &sites,
        municipality,
        profession,
    )
    .await?;
    let token = access_token(p, clock, &account).await?;
    Ok(Member {
        account,
        token,
        site: site.map(str::to_owned),
        profession: profession.to_owned(),
    })
}

/// A professional (role `professional`) at `site`.
pub async fn professional(
    p: &Platform,
    clock: &Clock,
    username: &str,
    profession: &str,
    site: &str,
    municipality: &str,
) -> anyhow::Result<Member> {
    member(
        p,
        clock,
        username,
        &["professional"],
        profession,
        Some(site),
        municipality,
    )
    .await
}

/// The secretariat (事務局) of `municipality`.
pub async fn secretariat(
    p: &Platform,
    clock: &Clock,
    username: &str,
    municipality: &str,
) -> anyhow::Result<Member> {
    member(
        p,
        clock,
        username,
        &["municipal_secretariat"],
        "municipal_staff",
        None,
        municipality,
    )
    .await
}

/// An auditor of the region.
pub async fn auditor(
    p: &Platform,
    clock: &Clock,
    username: &str,
    municipality: &str,
) -> anyhow::Result<Member> {
    member(
        p,
        clock,
        username,
        &["auditor"],
        "other",
        None,
        municipality,
    )
    .await
}

/// What a patient's registration form says; personal fields are distinctive so that a
/// search for them in the stream or the database finds only them.
#[derive(Debug, Clone)]
pub struct PatientForm {
    pub name: String,
    pub name_kana: String,
    pub address: String,
    pub insured_number: String,
    pub home_municipality: String,
}

impl PatientForm {
    /// A patient of 出雲市 (or 横浜市) whose personal fields carry `tag`.
    pub fn new(tag: &str, municipality: &str) -> Self {
        let digits: String = format!("{:010}", u64::from(crc(tag)) % 10_000_000_000);
        let (city, prefix) = if municipality == YOKOHAMA {
            ("神奈川県横浜市青葉区", "ヨコハマ")
        } else {
            ("島根県出雲市今市町", "イズモ")
        };
        Self {
            name: format!("出雲 {tag}"),
            name_kana: format!("{prefix} {}", kana_of(tag)),
            address: format!("{city}{tag}番地"),
            insured_number: digits,
            home_municipality: municipality.to_owned(),
        }
    }

    pub fn body(&self, registering_site: Option<&str>) -> Value {
        json!({
            "name": self.name, "name_kana": self.name_kana, "date_of_birth": "1938-05-03",
            "sex": "female", "address": self.address, "insurer_number": self.home_municipality,
            "insured_number": self.insured_number, "home_municipality": self.home_municipality,
            "care_level": { "level": "care_level2", "valid_from": "2026-04-01", "valid_until": "2027-03-31" },
            "registering_site": registering_site,
        })
    }

    /// The personal values that must never be readable once the patient's key is destroyed.
    pub fn personal_values(&self) -> [&str; 4] {
        [
            &self.name,
            &self.name_kana,
            &self.address,
            &self.insured_number,
        ]
    }
}

fn crc(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A katakana reading for a tag (one kana per byte of it), so that readings differ.
fn kana_of(tag: &str) -> String {
    const KANA: [char; 16] = [
        'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ',
        'タ',
    ];
    tag.bytes()
        .take(8)
        .map(|b| KANA[usize::from(b % 16)])
        .collect()
}

/// Registers a patient as `by` (at `registering_site`, or the secretariat with `None`);
/// answers the patient id.
pub async fn register_patient(
    p: &Platform,
    by: &Member,
    form: &PatientForm,
    registering_site: Option<&str>,
) -> anyhow::Result<String> {
    let (status, body) = send(
        by.request(p, Method::POST, "/api/v1/patients")
            .json(&form.body(registering_site)),
    )
    .await?;
    anyhow::ensure!(status == 201, "registering a patient: {status} {body}");
    text(&body, "patient_id")
}

/// A signed consent form of `model` for `categories`, received at `site`, signed and valid
/// from `day` (YYYY-MM-DD).
pub fn consent_form(model: Value, categories: &[&str], site: &str, day: &str) -> Value {
    json!({
        "model": model, "categories": categories, "valid_from": day, "form": "written",
        "given_by": { "by": "patient" }, "signed_on": day, "received_at_site": site,
    })
}

/// 一括同意: every participating site except `excluded`.
pub fn all_sites_except(excluded: &[&str]) -> Value {
    json!({ "model": "all_participating_sites", "excluded": excluded })
}

/// These sites only.
pub fn listed_sites(sites: &[&str]) -> Value {
    json!({ "model": "listed_sites", "sites": sites })
}

/// One site.
pub fn site_by_site(site: &str) -> Value {
    json!({ "model": "site_by_site", "site": site })
}

/// Records a consent form as `by` (pending); answers the consent id.
pub async fn record_consent(
    p: &Platform,
    by: &Member,
    patient: &str,
    form: &Value,
) -> anyhow::Result<String> {
    let (status, body) = send(
        by.request(
            p,
            Method::POST,
            &format!("/api/v1/patients/{patient}/consents"),
        )
        .json(form),
    )
    .await?;
    anyhow::ensure!(status == 201, "recording a consent: {status} {body}");
    text(&body, "consent_id")
}

/// The secretariat verifies `version` of a consent.
pub async fn verify_consent(
    p: &Platform,
    secretariat: &Member,
    patient: &str,
    consent: &str,
    version: u32,
) -> anyhow::Result<()> {
    let (status, body) = send(
        secretariat
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/consents/{consent}/verification"),
            )
            .json(&json!({ "version": version })),
    )
    .await?;
    anyhow::ensure!(status == 201, "verifying a consent: {status} {body}");
    Ok(())
}

/// Records and verifies a consent; answers its id.
pub async fn grant_consent(
    p: &Platform,
    recorded_by: &Member,
    secretariat: &Member,
    patient: &str,
    form: &Value,
) -> anyhow::Result<String> {
    let consent = record_consent(p, recorded_by, patient, form).await?;
    verify_consent(p, secretariat, patient, &consent, 1).await?;
    Ok(consent)
}

/// Withdraws a consent as `by` (now, or effective at `effective_at`).
pub async fn withdraw_consent(
    p: &Platform,
    by: &Member,
    patient: &str,
    consent: &str,
    effective_at: Option<&str>,
) -> anyhow::Result<()> {
    let body = match effective_at {
        Some(at) => json!({ "effective_at": at }),
        None => json!({}),
    };
    let (status, answer) = send(
        by.request(
            p,
            Method::POST,
            &format!("/api/v1/patients/{patient}/consents/{consent}/withdrawal"),
        )
        .json(&body),
    )
    .await?;
    anyhow::ensure!(status == 201, "withdrawing a consent: {status} {answer}");
    Ok(())
}

/// Adds a seat on the team as `by`: `site` with `part`, held by `member` alone or by the
/// whole site; answers the seat's id.
pub async fn add_seat(
    p: &Platform,
    by: &Member,
    patient: &str,
    site: &str,
    member: Option<&str>,
    part: &str,
) -> anyhow::Result<String> {
    let (status, body) = send(
        by.request(p, Method::POST, &format!("/api/v1/patients/{patient}/team"))
            .json(&json!({ "site": site, "member": member, "part": part })),
    )
    .await?;
    anyhow::ensure!(status == 201, "adding a seat: {status} {body}");
    text(&body, "membership_id")
}

/// `GET /api/v1/patients/{patient}`: the registration data.
pub async fn registration(
    p: &Platform,
    by: &Member,
    patient: &str,
) -> anyhow::Result<(u16, Value)> {
    send(by.request(p, Method::GET, &format!("/api/v1/patients/{patient}"))).await
}

/// The clinical record of a patient, `categories` asked for `purpose`.
pub async fn read_record(
    p: &Platform,
    by: &Member,
    patient: &str,
    categories: &[&str],
    purpose: &str,
) -> anyhow::Result<(u16, Value)> {
    send(
        by.request(
            p,
            Method::GET,
            &format!("/api/v1/patients/{patient}/record"),
        )
        .query(&[
            ("categories", categories.join(",")),
            ("purpose", purpose.to_owned()),
        ]),
    )
    .await
}

/// A small PDF whose bytes carry `tag`, so that no two are alike.
pub fn pdf(tag: &str) -> Vec<u8> {
    let mut content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n".to_vec();
    content.extend_from_slice(format!("({tag})\n").as_bytes());
    content.resize(4096, b' ');
    content
}

/// A small JPEG (a JFIF header) whose bytes carry `tag`, as a phone's camera would send one.
pub fn jpeg(tag: &str) -> Vec<u8> {
    let mut content = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec();
    content.extend_from_slice(tag.as_bytes());
    content.resize(2048, 0);
    content.extend_from_slice(b"\xff\xd9");
    content
}

/// Uploads a file as `by`; answers its SHA-256.
pub async fn upload(p: &Platform, by: &Member, content: Vec<u8>) -> anyhow::Result<String> {
    let (status, body) = send(
        by.request(p, Method::POST, "/api/v1/files")
            .header("content-type", "application/octet-stream")
            .body(content),
    )
    .await?;
    anyhow::ensure!(status == 201, "uploading a file: {status} {body}");
    text(&body, "sha256")
}

/// Attaches a file `by` uploaded to a patient's record as data of `category`.
pub async fn attach_document(
    p: &Platform,
    by: &Member,
    patient: &str,
    category: &str,
    sha256: &str,
    title: &str,
) -> anyhow::Result<(u16, Value)> {
    send(
        by.request(
            p,
            Method::POST,
            &format!("/api/v1/patients/{patient}/documents"),
        )
        .json(&json!({ "category": category, "sha256": sha256, "title": title })),
    )
    .await
}

/// Fetches a document's content as `by`: the status and the bytes.
pub async fn document_content(
    p: &Platform,
    by: &Member,
    patient: &str,
    document: &str,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let response = by
        .request(
            p,
            Method::GET,
            &format!("/api/v1/patients/{patient}/documents/{document}/content"),
        )
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.bytes().await?.to_vec()))
}

/// The categories a record view says were allowed, in the order given.
pub fn allowed_categories(view: &Value) -> Vec<String> {
    view["allowed_categories"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A string field of a JSON answer.
pub fn text(body: &Value, field: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no {field} in {body}"))
}

/// Kills the identity service and the gateway and starts them again with their clocks at
/// `at` (RFC 3339): time injected, never slept. Answers the test's clock for the new time;
/// earlier access tokens have expired by then, so members sign in again.
pub async fn restart_at(p: &mut Platform, at: &str) -> anyhow::Result<Clock> {
    let clock = Clock {
        start: DateTime::parse_from_rfc3339(at)?.with_timezone(&Utc),
        started: Instant::now(),
    };
    let env = [("TSUNAGU_CLOCK_START".to_owned(), at.to_owned())];
    p.gateway.kill();
    p.identity.kill();
    p.identity.restart_with(&env)?;
    p.gateway.restart_with(&env)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = p.http.get(p.url("/readyz")).send().await
            && r.status().is_success()
        {
            return Ok(clock);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the platform did not come back at {at}\n--- identity ---\n{}\n--- gateway ---\n{}",
            p.identity.log_tail(30),
            p.gateway.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One `AccessRecorded`, as an auditor reads it from the access stream.
#[derive(Debug, Clone)]
pub struct Access {
    pub sequence: u64,
    pub event_id: Uuid,
    pub correlation_id: Uuid,
    pub patient_id: String,
    pub member_id: String,
    pub allowed: bool,
    /// The basis's kind when allowed (`consent`, `break_glass`, `registration`, `audit`).
    pub basis: Option<String>,
    /// The reason's kind when refused (`site_not_covered`, `consent_withdrawn`, …).
    pub reason: Option<String>,
    pub categories: Vec<String>,
    pub break_glass: bool,
    pub route: String,
    pub payload: Value,
}

impl Access {
    fn of(sequence: u64, envelope: &event_store::EventEnvelope) -> Self {
        let payload = envelope.payload.clone();
        let decision = &payload["decision"];
        let allowed = decision["outcome"] == "allowed";
        let kind = |v: &Value| v["kind"].as_str().map(str::to_owned);
        Self {
            sequence,
            event_id: envelope.event_id,
            correlation_id: envelope.correlation_id,
            patient_id: payload["patient_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            member_id: payload["accessor"]["member_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            allowed,
            basis: kind(&decision["basis"]),
            reason: kind(&decision["reason"]),
            categories: decision["categories"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            break_glass: payload["break_glass"] == true,
            route: payload["route"].as_str().unwrap_or_default().to_owned(),
            payload,
        }
    }
}

/// Every access record of the platform, in stream order, read straight from its NATS as an
/// auditor would, de-duplicated by event id (a batch retried after a lost acknowledgement
/// may be stored twice). Also checks that each is an `AccessRecorded` on its patient's
/// subject; the refusals the stream also holds (`PermissionDenied`, on members' subjects)
/// are passed over.
pub async fn access_records(p: &Platform) -> anyhow::Result<Vec<Access>> {
    let client = p.nats.connect().await?;
    let store = event_store::JetStreamStore::new(
        client,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let last = store.last_sequence(ACCESS_CONTEXT).await?;
    let mut out: Vec<Access> = Vec::new();
    if last == 0 {
        return Ok(out);
    }
    let mut seen = std::collections::HashSet::new();
    let mut sub = store.subscribe(ACCESS_CONTEXT, vec![], 1).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(delivered)) = tokio::time::timeout_at(deadline, sub.next()).await {
        let delivered = delivered?;
        let sequence = delivered.position.sequence;
        let envelope = delivered
            .envelope
            .map_err(|e| anyhow::anyhow!("an unreadable access record at {sequence}: {e}"))?;
        let refusal =
            envelope.event_type == "PermissionDenied" && envelope.aggregate_type == "member";
        anyhow::ensure!(
            refusal
                || (envelope.event_type == "AccessRecorded"
                    && envelope.aggregate_type == "patient"),
            "not an access record at {sequence}: {} on {}",
            envelope.event_type,
            envelope.aggregate_type
        );
        if !refusal && seen.insert(envelope.event_id) {
            let access = Access::of(sequence, &envelope);
            anyhow::ensure!(
                access.patient_id == envelope.aggregate_id,
                "the record at {sequence} is on another patient's subject"
            );
            out.push(access);
        }
        if sequence >= last {
            return Ok(out);
        }
    }
    anyhow::bail!(
        "the access stream ends at {last}, but only {} records were read",
        out.len()
    )
}

/// The access records after the first `skip` (taken earlier with [`access_records`]).
pub async fn access_records_since(p: &Platform, skip: usize) -> anyhow::Result<Vec<Access>> {
    Ok(access_records(p).await?.into_iter().skip(skip).collect())
}
