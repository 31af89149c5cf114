//! Patients, consent and the one access decision, end to end with the real binaries: a
//! member sees a patient's clinical content only through an active consent covering their
//! site and a seat on the patient's team (or a live break-glass grant in an emergency);
//! withdrawal and the end of care close everything at once; the secretariat sees registration
//! data only; fire and police never pass; time travel answers in two readings; erasure
//! destroys personal data in every replay; and every request that reaches a patient's data,
//! allowed or refused, leaves exactly one `AccessRecorded` on the access stream, which the
//! tests read straight from NATS as an auditor would.
//!
//! Time is injected, never slept: the services run on `TSUNAGU_CLOCK_START`, and a scenario
//! that needs a later day restarts them with a later one ([`restart_at`]).

use std::collections::{BTreeMap, HashSet};

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, START, YOKOHAMA, municipality_named, send, start};
use tsunagu_tests::care::{
    Access, Member, PatientForm, access_records, access_records_since, add_seat, all_sites_except,
    allowed_categories, attach_document, auditor, consent_form, document_content, grant_consent,
    listed_sites, pdf, professional, read_record, record_consent, register_patient, registration,
    restart_at, secretariat, site_by_site, site_of_kind, text, upload, verify_consent,
    withdraw_consent,
};

/// The services' first day (START, in Japan).
const TODAY: &str = "2026-10-01";

/// Every category a consent form lists.
const ALL: &[&str] = &[
    "care_records",
    "medication",
    "lab_results",
    "documents",
    "care_plan",
    "photos_video",
];

/// 出雲市: a care management office, a home-visit nursing station, a clinic and a pharmacy,
/// one member at each, and the city's secretariat.
struct Izumo {
    p: Platform,
    clock: Clock,
    office: String,
    nursing: String,
    clinic: String,
    pharmacy: String,
    care_manager: Member,
    nurse: Member,
    physician: Member,
    pharmacist: Member,
    secretariat: Member,
}

async fn izumo() -> anyhow::Result<Izumo> {
    let (p, clock) = start().await?;
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
    let clinic = site_of_kind(&p, IZUMO, "ひかりクリニック", "clinic", &[]).await?;
    let pharmacy = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let care_manager = professional(&p, &clock, "cm.izumo", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "nurse.izumo", "nurse", &nursing, IZUMO).await?;
    let physician = professional(&p, &clock, "doctor.izumo", "physician", &clinic, IZUMO).await?;
    let pharmacist = professional(
        &p,
        &clock,
        "pharmacist.izumo",
        "pharmacist",
        &pharmacy,
        IZUMO,
    )
    .await?;
    let secretariat = secretariat(&p, &clock, "secretariat.izumo", IZUMO).await?;
    Ok(Izumo {
        p,
        clock,
        office,
        nursing,
        clinic,
        pharmacy,
        care_manager,
        nurse,
        physician,
        pharmacist,
        secretariat,
    })
}

impl Izumo {
    /// A patient registered by the care management office, with its care manager and the
    /// nursing station (the whole station) on the team.
    async fn patient(&self, tag: &str) -> anyhow::Result<String> {
        let form = PatientForm::new(tag, IZUMO);
        self.patient_from(&form).await
    }

    async fn patient_from(&self, form: &PatientForm) -> anyhow::Result<String> {
        let patient =
            register_patient(&self.p, &self.care_manager, form, Some(&self.office)).await?;
        self.seat(
            &patient,
            &self.office,
            Some(self.care_manager.id()),
            "care_manager",
        )
        .await?;
        self.seat(&patient, &self.nursing, None, "visiting_nurse")
            .await?;
        Ok(patient)
    }

    /// The care manager gives `site` (or one of its members) a seat on the team.
    async fn seat(
        &self,
        patient: &str,
        site: &str,
        member: Option<&str>,
        part: &str,
    ) -> anyhow::Result<String> {
        add_seat(&self.p, &self.care_manager, patient, site, member, part).await
    }

    /// The nursing station records a form and the secretariat verifies it.
    async fn consent(
        &self,
        patient: &str,
        model: Value,
        categories: &[&str],
    ) -> anyhow::Result<String> {
        let form = consent_form(model, categories, &self.nursing, TODAY);
        grant_consent(&self.p, &self.nurse, &self.secretariat, patient, &form).await
    }

    async fn read(
        &self,
        who: &Member,
        patient: &str,
        categories: &[&str],
    ) -> anyhow::Result<(u16, Value)> {
        read_record(&self.p, who, patient, categories, "care").await
    }
}

/// The one record the request just made left on the access stream.
async fn recorded_once(p: &Platform, before: usize) -> anyhow::Result<Access> {
    let new = access_records_since(p, before).await?;
    anyhow::ensure!(
        new.len() == 1,
        "one request, one access record; got {}: {new:#?}",
        new.len()
    );
    Ok(new.into_iter().next().unwrap_or_else(|| unreachable!()))
}

/// Asserts a refusal: 403, and exactly one access record saying who, which patient, and why.
async fn assert_refused(
    p: &Platform,
    before: usize,
    answer: (u16, Value),
    who: &Member,
    patient: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let (status, body) = answer;
    assert_eq!(status, 403, "{}: {body}", who.account.username);
    assert_eq!(body["status"], 403, "problem details: {body}");
    let record = recorded_once(p, before).await?;
    assert!(!record.allowed, "{record:#?}");
    assert_eq!(record.member_id, who.id(), "{record:#?}");
    assert_eq!(record.patient_id, patient, "{record:#?}");
    assert_eq!(record.reason.as_deref(), Some(reason), "{record:#?}");
    Ok(())
}

fn consent_statuses(registration: &Value) -> Vec<(String, u64, String)> {
    registration["consents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["consent_id"].as_str().unwrap_or_default().to_owned(),
                        c["version"].as_u64().unwrap_or_default(),
                        c["status"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn team_sites(registration: &Value) -> Vec<String> {
    let mut sites: Vec<String> = registration["team"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["site"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    sites.sort();
    sites
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nurse_on_the_team_reads_what_the_verified_consent_covers_a_pharmacy_outside_it_is_refused_and_after_withdrawal_the_next_request_of_anyone_is_refused()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let form = PatientForm::new("同意太郎", IZUMO);
    let patient = w.patient_from(&form).await?;

    // The home-visit nursing station receives the signed form and records it: pending.
    let signed = consent_form(
        listed_sites(&[&w.office, &w.nursing, &w.clinic]),
        &["care_records", "medication"],
        &w.nursing,
        TODAY,
    );
    let consent = record_consent(p, &w.nurse, &patient, &signed).await?;
    let (status, reg) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{reg}");
    assert_eq!(
        consent_statuses(&reg),
        [(consent.clone(), 1, "pending".to_owned())]
    );

    // The secretariat verifies it against the paper form: active.
    verify_consent(p, &w.secretariat, &patient, &consent, 1).await?;
    let (_, reg) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(
        consent_statuses(&reg),
        [(consent.clone(), 1, "active".to_owned())]
    );

    // The care manager builds the rest of the team.
    w.seat(&patient, &w.clinic, None, "home_doctor").await?;
    w.seat(&patient, &w.pharmacy, None, "pharmacy").await?;
    let (_, reg) = registration(p, &w.care_manager, &patient).await?;
    let mut expected = vec![
        w.office.clone(),
        w.nursing.clone(),
        w.clinic.clone(),
        w.pharmacy.clone(),
    ];
    expected.sort();
    assert_eq!(team_sites(&reg), expected, "{reg}");

    // The nurse sees what the consent covers, and no more than that.
    let before = access_records(p).await?.len();
    let (status, view) = w
        .read(
            &w.nurse,
            &patient,
            &["care_records", "medication", "lab_results"],
        )
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(allowed_categories(&view), ["care_records", "medication"]);
    assert_eq!(view["basis"]["kind"], "consent", "{view}");
    assert_eq!(view["basis"]["consent_id"], consent.as_str(), "{view}");
    assert_eq!(view["basis"]["version"], 1, "{view}");
    assert_eq!(view["personal"]["name"], form.name.as_str(), "{view}");
    let record = recorded_once(p, before).await?;
    assert!(record.allowed, "{record:#?}");
    assert_eq!(record.member_id, w.nurse.id());
    assert_eq!(record.basis.as_deref(), Some("consent"));
    assert_eq!(record.categories, ["care_records", "medication"]);
    assert!(!record.break_glass);
    assert_eq!(record.payload["purpose"], "care", "{record:#?}");
    assert_eq!(record.payload["client_address"], "127.0.0.1", "{record:#?}");
    assert_eq!(
        record.payload["accessor"]["sites"],
        json!([w.nursing]),
        "{record:#?}"
    );

    // The pharmacy is on the team, but the consent does not name it: refused, and recorded.
    let before = access_records(p).await?.len();
    let answer = w.read(&w.pharmacist, &patient, &["medication"]).await?;
    assert!(
        !answer.1.to_string().contains(&form.name),
        "a refusal tells nothing about the patient: {}",
        answer.1
    );
    assert_refused(
        p,
        before,
        answer,
        &w.pharmacist,
        &patient,
        "site_not_covered",
    )
    .await?;

    // The home doctor's clinic is named: allowed, until the patient withdraws.
    let (status, view) = w.read(&w.physician, &patient, &["medication"]).await?;
    assert_eq!(status, 200, "{view}");
    withdraw_consent(p, &w.nurse, &patient, &consent, None).await?;

    // The very next request of another member of the team is refused.
    let before = access_records(p).await?.len();
    let answer = w.read(&w.physician, &patient, &["medication"]).await?;
    assert_refused(
        p,
        before,
        answer,
        &w.physician,
        &patient,
        "consent_withdrawn",
    )
    .await?;
    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_withdrawn").await?;
    let (_, reg) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(
        consent_statuses(&reg),
        [(consent, 1, "withdrawn".to_owned())],
        "{reg}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_a_consented_site_who_is_not_on_the_team_is_refused() -> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let second_station = site_of_kind(
        p,
        IZUMO,
        "みどり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let colleague = professional(p, &w.clock, "nurse2.izumo", "nurse", &w.nursing, IZUMO).await?;
    let outsider =
        professional(p, &w.clock, "nurse3.izumo", "nurse", &second_station, IZUMO).await?;
    // The nursing station's seat is the nurse's alone this time.
    let patient = register_patient(
        p,
        &w.care_manager,
        &PatientForm::new("チーム外", IZUMO),
        Some(&w.office),
    )
    .await?;
    w.seat(
        &patient,
        &w.office,
        Some(w.care_manager.id()),
        "care_manager",
    )
    .await?;
    w.seat(&patient, &w.nursing, Some(w.nurse.id()), "visiting_nurse")
        .await?;
    // 一括同意 with no exclusion: every site is consented.
    w.consent(&patient, all_sites_except(&[]), ALL).await?;

    let (status, view) = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_eq!(status, 200, "the nurse holding the seat: {view}");

    // A colleague at the same station, not named in the seat.
    let before = access_records(p).await?.len();
    let answer = w.read(&colleague, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &colleague, &patient, "not_on_care_team").await?;
    // A nurse at another consented station, with no seat at all.
    let before = access_records(p).await?.len();
    let answer = w.read(&outsider, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &outsider, &patient, "not_on_care_team").await?;
    // Not even the registration data.
    let before = access_records(p).await?.len();
    let answer = registration(p, &outsider, &patient).await?;
    assert_refused(p, before, answer, &outsider, &patient, "not_on_care_team").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_site_the_patient_excluded_under_blanket_consent_is_refused_though_it_is_on_the_team()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("一括除外").await?;
    w.seat(&patient, &w.pharmacy, None, "pharmacy").await?;
    w.seat(&patient, &w.clinic, None, "home_doctor").await?;
    let consent = w
        .consent(&patient, all_sites_except(&[&w.pharmacy]), ALL)
        .await?;

    for who in [&w.nurse, &w.physician, &w.care_manager] {
        let (status, view) = w.read(who, &patient, &["medication"]).await?;
        assert_eq!(status, 200, "{}: {view}", who.account.username);
        assert_eq!(view["basis"]["consent_id"], consent.as_str());
    }
    let before = access_records(p).await?.len();
    let answer = w.read(&w.pharmacist, &patient, &["medication"]).await?;
    assert_refused(p, before, answer, &w.pharmacist, &patient, "site_excluded").await?;
    // Registration data (that the patient is registered, the team) needs no consent.
    let (status, reg) = registration(p, &w.pharmacist, &patient).await?;
    assert_eq!(status, 200, "{reg}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_consent_opens_nothing_until_the_secretariat_verifies_it() -> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("未確認").await?;
    w.seat(&patient, &w.clinic, None, "home_doctor").await?;
    let form = consent_form(
        site_by_site(&w.nursing),
        &["care_records"],
        &w.nursing,
        TODAY,
    );
    let consent = record_consent(p, &w.nurse, &patient, &form).await?;

    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_pending").await?;

    verify_consent(p, &w.secretariat, &patient, &consent, 1).await?;
    let (status, view) = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(allowed_categories(&view), ["care_records"]);
    // Site by site: the consent given to the nursing station opens nothing for the clinic.
    let before = access_records(p).await?.len();
    let answer = w.read(&w.physician, &patient, &["care_records"]).await?;
    assert_refused(
        p,
        before,
        answer,
        &w.physician,
        &patient,
        "site_not_covered",
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn break_glass_needs_a_reason_opens_the_patient_to_a_clinician_off_the_team_is_refused_to_other_professions_and_ends_by_itself()
-> anyhow::Result<()> {
    let mut w = izumo().await?;
    let day_service =
        site_of_kind(&w.p, IZUMO, "デイサービスみずうみ", "day_service", &["15"]).await?;
    let helper = professional(
        &w.p,
        &w.clock,
        "helper.izumo",
        "care_worker",
        &day_service,
        IZUMO,
    )
    .await?;
    let patient = w.patient("救急").await?;
    let path = format!("/api/v1/patients/{patient}/break-glass");
    let p = &w.p;

    // Off the team, with no consent: refused, even in an emergency.
    let before = access_records(p).await?.len();
    let answer = read_record(p, &w.physician, &patient, ALL, "emergency").await?;
    assert_refused(
        p,
        before,
        answer,
        &w.physician,
        &patient,
        "not_on_care_team",
    )
    .await?;

    // No reason, no access: the field at fault is named.
    for body in [json!({}), json!({ "reason": "   " })] {
        let (status, problem) =
            send(w.physician.request(p, Method::POST, &path).json(&body)).await?;
        assert_eq!(status, 422, "{body}: {problem}");
        let pointers: Vec<&str> = problem["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["pointer"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(pointers, ["/reason"], "{problem}");
    }
    // A care worker is not a clinical profession: not even with a reason.
    let reason = json!({ "reason": "訪問時に意識レベル低下、救急搬送に同行", "minutes": 30 });
    let (status, problem) = send(helper.request(p, Method::POST, &path).json(&reason)).await?;
    assert_eq!(status, 403, "{problem}");

    // The physician, with a reason: in, for 30 minutes, flagged.
    let (status, grant) = send(w.physician.request(p, Method::POST, &path).json(&reason)).await?;
    assert_eq!(status, 201, "{grant}");
    let expires_at = text(&grant, "expires_at")?;
    let before = access_records(p).await?.len();
    let (status, view) = read_record(p, &w.physician, &patient, ALL, "emergency").await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["basis"]["kind"], "break_glass", "{view}");
    assert_eq!(allowed_categories(&view), ALL);
    let record = recorded_once(p, before).await?;
    assert!(record.allowed && record.break_glass, "{record:#?}");
    assert_eq!(record.basis.as_deref(), Some("break_glass"));
    // Break-glass serves emergencies, not routine care.
    let before = access_records(p).await?.len();
    let answer = read_record(p, &w.physician, &patient, ALL, "care").await?;
    assert_refused(
        p,
        before,
        answer,
        &w.physician,
        &patient,
        "break_glass_only_for_emergencies",
    )
    .await?;

    // An hour later (the services restarted on a later clock) it has ended by itself.
    let later = "2026-10-01T10:00:00+09:00";
    assert!(expires_at.as_str() < "2026-10-01T01:00:00Z", "{expires_at}");
    w.clock = restart_at(&mut w.p, later).await?;
    w.physician.sign_in_again(&w.p, &w.clock).await?;
    let p = &w.p;
    let before = access_records(p).await?.len();
    let answer = read_record(p, &w.physician, &patient, ALL, "emergency").await?;
    assert_refused(
        p,
        before,
        answer,
        &w.physician,
        &patient,
        "not_on_care_team",
    )
    .await?;

    // And the service recorded the end by itself: once, on the patient's subject, at the
    // grant's limit, caused by the opening.
    let events = patient_events_once(p, &patient, "BreakGlassEnded").await?;
    let opened = events
        .iter()
        .find(|e| e.event_type == "BreakGlassOpened")
        .ok_or_else(|| anyhow::anyhow!("no BreakGlassOpened on the patient's subject"))?;
    let ended: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "BreakGlassEnded")
        .collect();
    assert_eq!(ended.len(), 1, "{ended:#?}");
    let ended = ended[0];
    assert_eq!(ended.causation_id, Some(opened.event_id));
    assert_eq!(ended.actor.0, "system");
    assert_eq!(ended.payload["grant_id"], grant["grant_id"], "{ended:#?}");
    assert_eq!(ended.payload["member_id"], w.physician.id());
    assert_eq!(ended.payload["why"], "expired");
    let instant = |v: &Value| {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    assert_eq!(
        instant(&ended.payload["ended_at"]),
        instant(&grant["expires_at"])
    );
    Ok(())
}

/// The events of a patient's subject, read from the stream once one of `event_type` is
/// there (polled, up to 30 s).
async fn patient_events_once(
    p: &Platform,
    patient: &str,
    event_type: &str,
) -> anyhow::Result<Vec<event_store::EventEnvelope>> {
    use event_store::EventStore;
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (events, _) = store.read_aggregate("identity", "patient", patient).await?;
        if events.iter().any(|e| e.envelope.event_type == event_type) {
            return Ok(events.into_iter().map(|e| e.envelope).collect());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no {event_type} on the patient's subject within 30 s\n--- identity ---\n{}",
            p.identity.log_tail(20)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_attached_through_consent_opens_to_the_sites_whose_consent_covers_documents_and_to_nobody_else()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("文書").await?;
    w.seat(&patient, &w.clinic, None, "home_doctor").await?;
    w.seat(&patient, &w.pharmacy, None, "pharmacy").await?;
    // Site by site: one form per site, each with its own categories.
    for (site, categories) in [
        (&w.nursing, &["care_records", "documents"][..]),
        (&w.clinic, &["documents"][..]),
        (&w.pharmacy, &["medication"][..]),
    ] {
        w.consent(&patient, site_by_site(site), categories).await?;
    }

    let content = pdf("退院時サマリー");
    let sha256 = upload(p, &w.nurse, content.clone()).await?;
    let (status, attached) = attach_document(
        p,
        &w.nurse,
        &patient,
        "documents",
        &sha256,
        "退院時サマリー",
    )
    .await?;
    assert_eq!(status, 201, "{attached}");
    let document = text(&attached, "document_id")?;

    // The pharmacy's consent opens medication only: it may not write a document either.
    let own = upload(p, &w.pharmacist, pdf("薬剤情報")).await?;
    let before = access_records(p).await?.len();
    let answer = attach_document(p, &w.pharmacist, &patient, "documents", &own, "薬剤情報").await?;
    assert_refused(
        p,
        before,
        answer,
        &w.pharmacist,
        &patient,
        "categories_not_covered",
    )
    .await?;

    // The clinic reads it in the record and fetches it.
    let (status, view) = w.read(&w.physician, &patient, &["documents"]).await?;
    assert_eq!(status, 200, "{view}");
    let listed = view["documents"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), 1, "{view}");
    assert_eq!(listed[0]["document_id"], document.as_str());
    assert_eq!(listed[0]["title"], "退院時サマリー");
    assert_eq!(listed[0]["sha256"], sha256.as_str());
    let before = access_records(p).await?.len();
    let (status, bytes) = document_content(p, &w.physician, &patient, &document).await?;
    assert_eq!(status, 200);
    assert_eq!(bytes, content);
    let record = recorded_once(p, before).await?;
    assert!(record.allowed, "{record:#?}");
    assert_eq!(record.categories, ["documents"], "{record:#?}");

    // A nurse asking for care records and medication gets care records, and no documents.
    let (status, view) = w
        .read(&w.nurse, &patient, &["care_records", "medication"])
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(allowed_categories(&view), ["care_records"]);
    assert_eq!(view["documents"], json!([]), "{view}");

    // The pharmacist: neither the document nor its content.
    let before = access_records(p).await?.len();
    let (status, bytes) = document_content(p, &w.pharmacist, &patient, &document).await?;
    assert_eq!(status, 403);
    assert_ne!(bytes, content);
    let record = recorded_once(p, before).await?;
    assert!(!record.allowed, "{record:#?}");
    assert_eq!(record.reason.as_deref(), Some("categories_not_covered"));
    let (status, view) = w
        .read(&w.pharmacist, &patient, &["medication", "documents"])
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(allowed_categories(&view), ["medication"]);
    assert_eq!(view["documents"], json!([]), "{view}");
    Ok(())
}

/// One member's answer in a who-could-see reply: allowed categories and the consent and
/// version, or the refusal's reason.
#[derive(Debug, PartialEq, Eq)]
enum Could {
    See(Vec<String>, String, u64),
    Not(String),
}

fn could(answer: &Value, member: &str) -> Could {
    let found = answer["members"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["member"] == member));
    let Some(m) = found else {
        return Could::Not("not listed".to_owned());
    };
    let d = &m["decision"];
    if d["outcome"] == "allowed" {
        Could::See(
            d["categories"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            d["basis"]["consent_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            d["basis"]["version"].as_u64().unwrap_or_default(),
        )
    } else {
        Could::Not(d["reason"]["kind"].as_str().unwrap_or_default().to_owned())
    }
}

fn see(categories: &[&str], consent: &str, version: u64) -> Could {
    Could::See(
        categories.iter().map(|c| c.to_string()).collect(),
        consent.to_owned(),
        version,
    )
}

fn not(reason: &str) -> Could {
    Could::Not(reason.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn who_could_see_a_patient_after_grant_amendment_withdrawal_and_a_new_grant_in_both_readings()
-> anyhow::Result<()> {
    let mut w = izumo().await?;
    let mut audit = auditor(&w.p, &w.clock, "auditor.region", IZUMO).await?;
    let patient = w.patient("時間旅行").await?;
    w.seat(&patient, &w.clinic, None, "home_doctor").await?;

    // 1 October: granted to the office, the station and the clinic, three categories.
    let first = w
        .consent(
            &patient,
            listed_sites(&[&w.office, &w.nursing, &w.clinic]),
            &["care_records", "medication", "lab_results"],
        )
        .await?;

    // 8 October: amended to the office and the station, care records only (narrower, so in
    // force at once).
    w.clock = restart_at(&mut w.p, "2026-10-08T09:00:00+09:00").await?;
    w.nurse.sign_in_again(&w.p, &w.clock).await?;
    let narrower = consent_form(
        listed_sites(&[&w.office, &w.nursing]),
        &["care_records"],
        &w.nursing,
        "2026-10-08",
    );
    let (status, amended) = send(
        w.nurse
            .request(
                &w.p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/consents/{first}/amendments"),
            )
            .json(&narrower),
    )
    .await?;
    assert_eq!(status, 201, "{amended}");

    // 15 October: the station records the withdrawal the patient phoned in on the 13th.
    w.clock = restart_at(&mut w.p, "2026-10-15T09:00:00+09:00").await?;
    w.nurse.sign_in_again(&w.p, &w.clock).await?;
    withdraw_consent(
        &w.p,
        &w.nurse,
        &patient,
        &first,
        Some("2026-10-13T10:00:00+09:00"),
    )
    .await?;

    // 22 October: granted again, to the station and the clinic.
    w.clock = restart_at(&mut w.p, "2026-10-22T09:00:00+09:00").await?;
    w.nurse.sign_in_again(&w.p, &w.clock).await?;
    w.secretariat.sign_in_again(&w.p, &w.clock).await?;
    let again = consent_form(
        listed_sites(&[&w.nursing, &w.clinic]),
        &["care_records", "medication"],
        &w.nursing,
        "2026-10-22",
    );
    let second = grant_consent(&w.p, &w.nurse, &w.secretariat, &patient, &again).await?;

    // 1 November: an auditor asks.
    w.clock = restart_at(&mut w.p, "2026-11-01T09:00:00+09:00").await?;
    audit.sign_in_again(&w.p, &w.clock).await?;
    let ask = |at: &'static str, reading: &'static str| {
        let request = audit
            .request(
                &w.p,
                Method::GET,
                &format!("/api/v1/patients/{patient}/who-could-see"),
            )
            .query(&[("at", at), ("reading", reading)]);
        async move {
            let (status, answer) = send(request).await?;
            anyhow::ensure!(status == 200, "{at} {reading}: {status} {answer}");
            anyhow::ensure!(answer["reading"] == reading, "{answer}");
            Ok::<_, anyhow::Error>(answer)
        }
    };
    let (nurse, physician, manager) = (w.nurse.id(), w.physician.id(), w.care_manager.id());
    let three = ["care_records", "medication", "lab_results"];
    for reading in ["in_force_as_known_today", "as_known_then"] {
        let d1 = ask("2026-10-05T12:00:00+09:00", reading).await?;
        assert_eq!(
            could(&d1, nurse),
            see(&three, &first, 1),
            "5 Oct {reading}: {d1}"
        );
        assert_eq!(
            could(&d1, physician),
            see(&three, &first, 1),
            "5 Oct {reading}: {d1}"
        );
        assert_eq!(
            could(&d1, manager),
            see(&three, &first, 1),
            "5 Oct {reading}: {d1}"
        );

        let d2 = ask("2026-10-10T12:00:00+09:00", reading).await?;
        assert_eq!(
            could(&d2, nurse),
            see(&["care_records"], &first, 2),
            "10 Oct {reading}: {d2}"
        );
        assert_eq!(
            could(&d2, physician),
            not("site_not_covered"),
            "10 Oct {reading}: {d2}"
        );

        let d4 = ask("2026-10-25T12:00:00+09:00", reading).await?;
        let two = ["care_records", "medication"];
        assert_eq!(
            could(&d4, nurse),
            see(&two, &second, 1),
            "25 Oct {reading}: {d4}"
        );
        assert_eq!(
            could(&d4, physician),
            see(&two, &second, 1),
            "25 Oct {reading}: {d4}"
        );
        assert_eq!(
            could(&d4, manager),
            not("site_not_covered"),
            "25 Oct {reading}: {d4}"
        );
    }
    // 14 October: withdrawn the day before as we know today, but the platform did not
    // know it yet, and the amended consent still opened care records.
    let today = ask("2026-10-14T12:00:00+09:00", "in_force_as_known_today").await?;
    assert_eq!(could(&today, nurse), not("consent_withdrawn"), "{today}");
    assert_eq!(could(&today, manager), not("consent_withdrawn"), "{today}");
    let then = ask("2026-10-14T12:00:00+09:00", "as_known_then").await?;
    assert_eq!(
        could(&then, nurse),
        see(&["care_records"], &first, 2),
        "{then}"
    );
    assert_eq!(
        could(&then, manager),
        see(&["care_records"], &first, 2),
        "{then}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_end_of_care_the_team_is_refused_and_only_the_registry_and_auditors_still_look()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let audit = auditor(p, &w.clock, "auditor.region", IZUMO).await?;
    let patient = w.patient("終了").await?;
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let (status, view) = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_eq!(status, 200, "{view}");
    // A moment the services have passed, with the whole team seated.
    let (_, reg) = registration(p, &w.care_manager, &patient).await?;
    let seated = reg["team"]
        .as_array()
        .and_then(|t| t.iter().filter_map(|s| s["since"].as_str()).max())
        .map(chrono::DateTime::parse_from_rfc3339)
        .ok_or_else(|| anyhow::anyhow!("no seat in {reg}"))??;
    let after_seated = (seated + chrono::Duration::seconds(1)).to_rfc3339();

    let (status, ended) = send(
        w.care_manager
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/end-of-care"),
            )
            .json(&json!({ "reason": "admitted_outside_network", "effective_at": START })),
    )
    .await?;
    assert_eq!(status, 201, "{ended}");

    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "care_ended").await?;
    for who in [&w.care_manager, &w.nurse] {
        let before = access_records(p).await?.len();
        let answer = registration(p, who, &patient).await?;
        assert_refused(p, before, answer, who, &patient, "care_ended").await?;
    }
    // The municipality's registry keeps the registration, and says care ended.
    let (status, kept) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{kept}");
    assert!(kept["care_ended_at"].is_string(), "{kept}");
    // So does the auditor following up an access, for an audit, and the read is recorded.
    let before = access_records(p).await?.len();
    let (status, audited) = registration(p, &audit, &patient).await?;
    assert_eq!(status, 200, "{audited}");
    assert!(audited["care_ended_at"].is_string(), "{audited}");
    let records = access_records(p).await?;
    assert_eq!(
        records.len(),
        before + 1,
        "one access record for the auditor's read"
    );
    let last = &records[records.len() - 1];
    assert!(last.allowed, "{:?}", last.payload);
    assert_eq!(last.patient_id, patient);
    assert_eq!(last.member_id, audit.id());
    assert_eq!(
        last.basis.as_deref(),
        Some("registration"),
        "{:?}",
        last.payload
    );
    assert_eq!(last.payload["purpose"], "audit", "{:?}", last.payload);
    // The team is closed.
    let (status, body) = send(
        w.care_manager
            .request(p, Method::POST, &format!("/api/v1/patients/{patient}/team"))
            .json(&json!({ "site": w.clinic, "part": "home_doctor" })),
    )
    .await?;
    assert!((400..500).contains(&status), "{status} {body}");

    let (status, answer) = send(
        audit
            .request(
                p,
                Method::GET,
                &format!("/api/v1/patients/{patient}/who-could-see"),
            )
            .query(&[
                ("at", after_seated.as_str()),
                ("reading", "in_force_as_known_today"),
            ]),
    )
    .await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["care_ended"], true, "{answer}");
    let members = answer["members"].as_array().cloned().unwrap_or_default();
    assert!(!members.is_empty(), "the team is listed: {answer}");
    for m in &members {
        assert_eq!(m["decision"]["reason"]["kind"], "care_ended", "{answer}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secretariat_that_ends_care_still_reads_the_registration_it_manages()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("終了登録").await?;
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let (status, ended) = send(
        w.secretariat
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/end-of-care"),
            )
            .json(&json!({ "reason": "death", "effective_at": START })),
    )
    .await?;
    assert_eq!(status, 201, "{ended}");
    let position = ended["position"].as_str().unwrap_or_default().to_owned();
    let (status, kept) = send(
        w.secretariat
            .request(p, Method::GET, &format!("/api/v1/patients/{patient}"))
            .header("Tsunagu-Min-Position", position),
    )
    .await?;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(kept["patient_id"], patient.as_str(), "{kept}");
    assert!(kept["care_ended_at"].is_string(), "{kept}");
    // The team's reads stop; another municipality's secretariat never read it.
    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["care_records"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "care_ended").await?;
    municipality_named(p, YOKOHAMA).await?;
    let theirs = secretariat(p, &w.clock, "sec.yokohama.ended", YOKOHAMA).await?;
    let before = access_records(p).await?.len();
    let answer = registration(p, &theirs, &patient).await?;
    assert_refused(p, before, answer, &theirs, &patient, "care_ended").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_text_the_file_store_accepted_is_attached_and_read_back_as_it_was()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("申し送り").await?;
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let note = "申し送り: 夜間の様子\n褥瘡なし。\n".as_bytes().to_vec();
    let (status, stored) = send(
        w.nurse
            .request(p, Method::POST, "/api/v1/files")
            .header("content-type", "text/plain")
            .body(note.clone()),
    )
    .await?;
    assert_eq!(status, 201, "{stored}");
    assert_eq!(
        stored["media_type"], "text/plain; charset=utf-8",
        "{stored}"
    );
    let sha256 = text(&stored, "sha256")?;
    let (status, attached) =
        attach_document(p, &w.nurse, &patient, "care_records", &sha256, "申し送り").await?;
    assert_eq!(
        status, 201,
        "what the store accepted is attached: {attached}"
    );
    let document = text(&attached, "document_id")?;
    let response = w
        .nurse
        .request(
            p,
            Method::GET,
            &format!("/api/v1/patients/{patient}/documents/{document}/content"),
        )
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str()?,
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.bytes().await?.to_vec(), note);
    Ok(())
}

/// Where the platform's database holds `needle` in clear: `schema.table` names, the
/// credential store (sealed secrets, never rebuilt) left out.
async fn tables_holding(p: &Platform, needle: &str) -> anyhow::Result<Vec<String>> {
    let (client, conn) = tokio_postgres::connect(&p.db.url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let tables = client
        .query(
            "SELECT table_schema, table_name FROM information_schema.tables
             WHERE table_type = 'BASE TABLE'
               AND table_schema NOT IN ('pg_catalog', 'information_schema', 'credentials')",
            &[],
        )
        .await?;
    let mut found = Vec::new();
    for row in tables {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let sql = format!(
            "SELECT count(*) FROM \"{schema}\".\"{table}\" t WHERE strpos(t::text, $1) > 0"
        );
        let n: i64 = client.query_one(&sql, &[&needle]).await?.get(0);
        if n > 0 {
            found.push(format!("{schema}.{table}"));
        }
    }
    Ok(found)
}

/// Whether any event of the identity stream holds `needle` in clear.
async fn identity_stream_holds(p: &Platform, needle: &str) -> anyhow::Result<bool> {
    let store = event_store::JetStreamStore::new(
        p.nats.connect().await?,
        event_store::StoreConfig {
            namespace: p.namespace.clone(),
            ..Default::default()
        },
    )?;
    let last = store.last_sequence("identity").await?;
    let mut sub = store.subscribe("identity", vec![], 1).await?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while let Ok(Some(delivered)) = tokio::time::timeout_at(deadline, sub.next()).await {
        let delivered = delivered?;
        if let Ok(envelope) = &delivered.envelope
            && serde_json::to_string(envelope)?.contains(needle)
        {
            return Ok(true);
        }
        if delivered.position.sequence >= last {
            return Ok(false);
        }
    }
    anyhow::bail!("the identity stream could not be read to its end ({last})")
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_patients_key_is_destroyed_their_personal_data_reads_as_erased_and_a_rebuild_shows_none_of_it()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let form = PatientForm::new("消去花子", IZUMO);
    let patient = w.patient_from(&form).await?;
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let title = format!("{}様 退院時サマリー", form.name);
    let sha256 = upload(p, &w.nurse, pdf("消去")).await?;
    let (status, attached) =
        attach_document(p, &w.nurse, &patient, "documents", &sha256, &title).await?;
    assert_eq!(status, 201, "{attached}");
    let (status, view) = w
        .read(&w.nurse, &patient, &["care_records", "documents"])
        .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["personal"]["name"], form.name.as_str(), "{view}");
    assert_eq!(view["documents"][0]["title"], title.as_str(), "{view}");
    // Personal fields travel sealed with the patient's key: never in clear in the stream.
    for value in form.personal_values() {
        assert!(
            !identity_stream_holds(p, value).await?,
            "{value} in clear in the identity stream"
        );
    }

    let (status, erased) = send(
        w.secretariat
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/erasure"),
            )
            .json(&json!({ "reason": "本人からの削除請求" })),
    )
    .await?;
    assert!(status == 200 || status == 201, "{status} {erased}");

    let (status, view) = w
        .read(&w.nurse, &patient, &["care_records", "documents"])
        .await?;
    assert_eq!(status, 200, "the rest of the record stays: {view}");
    assert!(
        view["personal"].is_null(),
        "personal data reads as erased: {view}"
    );
    assert_eq!(view["documents"][0]["sha256"], sha256.as_str(), "{view}");
    assert!(view["documents"][0]["title"].is_null(), "{view}");
    for value in form.personal_values() {
        assert!(!view.to_string().contains(value), "{value} in {view}");
    }
    let (status, before_rebuild) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{before_rebuild}");

    let out = tokio::process::Command::new(testkit::binary("tsunagu-identity")?)
        .args(["rebuild", "--swap"])
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
    let rebuilt: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("rebuilt"))
        .collect();
    assert!(
        rebuilt.len() >= 2 && rebuilt.iter().any(|l| l.contains("care")),
        "the register and the care projection: {stdout}"
    );
    assert!(rebuilt.iter().all(|l| l.contains(" 0 parked")), "{stdout}");
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    // The search finds what is there (the patient's id)...
    assert!(!tables_holding(p, &patient).await?.is_empty());
    // ...and none of what was personal.
    for value in form.personal_values() {
        let holding = tables_holding(p, value).await?;
        assert!(holding.is_empty(), "{value} still in {holding:?}");
    }
    // Everything that is not personal replays unchanged.
    let (status, after_rebuild) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{after_rebuild}");
    assert_eq!(after_rebuild, before_rebuild);
    let (status, view) = w
        .read(&w.nurse, &patient, &["care_records", "documents"])
        .await?;
    assert_eq!(status, 200, "{view}");
    assert!(view["personal"].is_null(), "{view}");
    assert!(view["documents"][0]["title"].is_null(), "{view}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_allowed_and_refused_request_leaves_exactly_one_access_record_per_patient()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let first = w.patient("記録一").await?;
    let second = w.patient("記録二").await?;
    w.seat(&second, &w.pharmacy, None, "pharmacy").await?;
    w.consent(&first, listed_sites(&[&w.nursing]), &["care_records"])
        .await?;
    w.consent(&second, all_sites_except(&[&w.pharmacy]), ALL)
        .await?;

    // One after another: (who, patient, a record read or the registration, allowed?).
    let before = access_records(p).await?.len();
    let plan: Vec<(&Member, &str, bool, bool)> = vec![
        (&w.nurse, &first, true, true),
        (&w.nurse, &first, false, true),
        (&w.care_manager, &first, true, false),
        (&w.pharmacist, &first, false, false),
        (&w.pharmacist, &second, true, false),
        (&w.pharmacist, &second, false, true),
        (&w.physician, &second, true, false),
        (&w.secretariat, &second, false, true),
        (&w.nurse, &second, true, true),
    ];
    for (who, patient, clinical, allowed) in &plan {
        let (status, body) = if *clinical {
            w.read(who, patient, &["care_records"]).await?
        } else {
            registration(p, who, patient).await?
        };
        let expected = if *allowed { 200 } else { 403 };
        assert_eq!(
            status, expected,
            "{} {patient}: {body}",
            who.account.username
        );
    }
    let records = access_records_since(p, before).await?;
    assert_eq!(records.len(), plan.len(), "{records:#?}");
    for ((who, patient, _, allowed), record) in plan.iter().zip(&records) {
        assert_eq!(record.member_id, who.id(), "{record:#?}");
        assert_eq!(record.patient_id, *patient, "{record:#?}");
        assert_eq!(record.allowed, *allowed, "{record:#?}");
    }
    let correlations: HashSet<_> = records.iter().map(|r| r.correlation_id).collect();
    assert_eq!(correlations.len(), plan.len(), "one request, one record");

    // All at once, so that the records share atomic batches: still one each.
    let before = access_records(p).await?.len();
    let mut requests = Vec::new();
    let w = &w;
    for i in 0..48 {
        let (who, patient) = match i % 3 {
            0 => (&w.nurse, &first),
            1 => (&w.pharmacist, &second),
            _ => (&w.physician, &first),
        };
        requests.push(async move {
            let (status, _) = w.read(who, patient, &["care_records"]).await?;
            Ok::<_, anyhow::Error>((who.id().to_owned(), patient.clone(), status))
        });
    }
    let answers = futures::future::try_join_all(requests).await?;
    let records = access_records_since(p, before).await?;
    assert_eq!(records.len(), answers.len(), "{} records", records.len());
    let mut asked: BTreeMap<(String, String, bool), usize> = BTreeMap::new();
    for (member, patient, status) in answers {
        assert!(status == 200 || status == 403, "{status}");
        *asked.entry((member, patient, status == 200)).or_default() += 1;
    }
    let mut recorded: BTreeMap<(String, String, bool), usize> = BTreeMap::new();
    for r in &records {
        *recorded
            .entry((r.member_id.clone(), r.patient_id.clone(), r.allowed))
            .or_default() += 1;
    }
    assert_eq!(recorded, asked);
    let correlations: HashSet<_> = records.iter().map(|r| r.correlation_id).collect();
    assert_eq!(correlations.len(), records.len(), "one request, one record");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secretariat_sees_registration_consent_status_and_the_team_but_no_clinical_content()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let form = PatientForm::new("事務局", IZUMO);
    // The secretariat can register a patient itself, for its own municipality.
    let patient = register_patient(p, &w.secretariat, &form, None).await?;
    add_seat(
        p,
        &w.secretariat,
        &patient,
        &w.nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let consent = w.consent(&patient, all_sites_except(&[]), ALL).await?;

    let (status, reg) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{reg}");
    assert_eq!(reg["patient_id"], patient.as_str());
    assert_eq!(reg["home_municipality"], IZUMO);
    assert_eq!(consent_statuses(&reg), [(consent, 1, "active".to_owned())]);
    assert_eq!(team_sites(&reg), std::slice::from_ref(&w.nursing));
    for value in form.personal_values() {
        assert!(!reg.to_string().contains(value), "{value} in {reg}");
    }
    // Clinical content: refused, for any purpose.
    for purpose in ["care", "administration", "emergency"] {
        let (status, body) = read_record(p, &w.secretariat, &patient, ALL, purpose).await?;
        assert_eq!(status, 403, "{purpose}: {body}");
        assert!(!body.to_string().contains(&form.name), "{body}");
    }
    // Another municipality's secretariat does not even see the registration.
    site_of_kind(
        p,
        YOKOHAMA,
        "はなみずき居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let yokohama = secretariat(p, &w.clock, "secretariat.yokohama", YOKOHAMA).await?;
    let before = access_records(p).await?.len();
    let answer = registration(p, &yokohama, &patient).await?;
    assert_refused(p, before, answer, &yokohama, &patient, "other_municipality").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_spans_two_municipalities_by_consent_and_a_move_changes_which_secretariat_sees_the_registration()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let aoba = site_of_kind(
        p,
        YOKOHAMA,
        "こもれび訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let yokohama_nurse =
        professional(p, &w.clock, "nurse.yokohama", "nurse", &aoba, YOKOHAMA).await?;
    let yokohama = secretariat(p, &w.clock, "secretariat.yokohama", YOKOHAMA).await?;
    let patient = w.patient("二都市").await?;
    // Half the month at her daughter's in 横浜市: a Yokohama station joins the team.
    w.seat(&patient, &aoba, None, "visiting_nurse").await?;
    let consent = w
        .consent(
            &patient,
            listed_sites(&[&w.office, &w.nursing, &aoba]),
            &["care_records", "medication"],
        )
        .await?;
    for who in [&w.nurse, &yokohama_nurse] {
        let (status, view) = w.read(who, &patient, &["care_records"]).await?;
        assert_eq!(status, 200, "{}: {view}", who.account.username);
        assert_eq!(view["basis"]["consent_id"], consent.as_str());
    }
    let (status, view) = w.read(&yokohama_nurse, &patient, &["care_records"]).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["basis"]["site"], aoba.as_str(), "{view}");
    // Each secretariat keeps to its own municipality's patients.
    let (status, reg) = registration(p, &w.secretariat, &patient).await?;
    assert_eq!(status, 200, "{reg}");
    let before = access_records(p).await?.len();
    let answer = registration(p, &yokohama, &patient).await?;
    assert_refused(p, before, answer, &yokohama, &patient, "other_municipality").await?;

    // She moves to 横浜市: same patient, same team, same consent; the other secretariat.
    let (status, moved) = send(
        w.care_manager
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/moves"),
            )
            .json(&json!({
                "home_municipality": YOKOHAMA, "insurer_number": YOKOHAMA,
                "insured_number": "1410000001", "address": "神奈川県横浜市青葉区青葉台1-1",
                "effective_on": TODAY,
            })),
    )
    .await?;
    assert_eq!(status, 201, "{moved}");
    let (status, reg) = registration(p, &yokohama, &patient).await?;
    assert_eq!(status, 200, "{reg}");
    assert_eq!(reg["patient_id"], patient.as_str());
    assert_eq!(reg["home_municipality"], YOKOHAMA);
    let before = access_records(p).await?.len();
    let answer = registration(p, &w.secretariat, &patient).await?;
    assert_refused(
        p,
        before,
        answer,
        &w.secretariat,
        &patient,
        "other_municipality",
    )
    .await?;
    for who in [&w.nurse, &yokohama_nurse] {
        let (status, view) = w.read(who, &patient, &["care_records"]).await?;
        assert_eq!(status, 200, "{}: {view}", who.account.username);
        assert_eq!(view["personal"]["address"], "神奈川県横浜市青葉区青葉台1-1");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn fire_and_police_never_reach_a_patient_even_with_a_seat_on_the_team() -> anyhow::Result<()>
{
    let w = izumo().await?;
    let p = &w.p;
    let fire_station = site_of_kind(p, IZUMO, "出雲市中央消防署", "fire", &[]).await?;
    let police_station = site_of_kind(p, IZUMO, "出雲警察署", "police", &[]).await?;
    let firefighter = professional(
        p,
        &w.clock,
        "fire.izumo",
        "emergency_services",
        &fire_station,
        IZUMO,
    )
    .await?;
    let officer = professional(
        p,
        &w.clock,
        "police.izumo",
        "police",
        &police_station,
        IZUMO,
    )
    .await?;
    let patient = w.patient("消防警察").await?;
    for (site, who) in [(&fire_station, &firefighter), (&police_station, &officer)] {
        // Whether the service lets such a seat be given at all, the member gets nothing.
        let (status, body) = send(
            w.care_manager
                .request(p, Method::POST, &format!("/api/v1/patients/{patient}/team"))
                .json(&json!({ "site": site, "member": who.id(), "part": "other" })),
        )
        .await?;
        assert!(status == 201 || status == 422, "{status} {body}");
    }
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let reason = json!({ "reason": "救急搬送時に既往歴を確認したい" });
    for who in [&firefighter, &officer] {
        let (status, body) = registration(p, who, &patient).await?;
        assert_eq!(status, 403, "{}: {body}", who.account.username);
        for purpose in ["care", "emergency"] {
            let (status, body) = read_record(p, who, &patient, ALL, purpose).await?;
            assert_eq!(status, 403, "{} {purpose}: {body}", who.account.username);
        }
        let (status, body) = send(
            who.request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/break-glass"),
            )
            .json(&reason),
        )
        .await?;
        assert_eq!(status, 403, "{}: {body}", who.account.username);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_refused_by_role_before_any_consent_is_looked_at_is_recorded_all_the_same()
-> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    let police_station = site_of_kind(p, IZUMO, "出雲警察署", "police", &[]).await?;
    let officer = professional(
        p,
        &w.clock,
        "police.izumo",
        "police",
        &police_station,
        IZUMO,
    )
    .await?;
    let patient = w.patient("役割拒否").await?;
    w.seat(&patient, &police_station, Some(officer.id()), "other")
        .await?;
    w.consent(&patient, all_sites_except(&[]), ALL).await?;
    // Refused whatever the patient's consent says — and still an attempt on this patient's
    // data, which an auditor must be able to see.
    let attempts: Vec<(&Member, bool, &str)> = vec![
        (&officer, false, "care"),
        (&officer, true, "care"),
        (&officer, true, "emergency"),
        (&w.secretariat, true, "care"),
    ];
    for (who, clinical, purpose) in attempts {
        let before = access_records(p).await?.len();
        let answer = if clinical {
            read_record(p, who, &patient, &["care_records"], purpose).await?
        } else {
            registration(p, who, &patient).await?
        };
        assert_refused(p, before, answer, who, &patient, "not_permitted").await?;
    }
    Ok(())
}

/// Issue 31: data about a patient who withdrew consent is not collected on a path reading
/// would refuse. A write takes the same decision as the read of its category, for the same
/// purpose, and is recorded the same way; break-glass opens exactly what it says (for an
/// emergency, for its window), and only for a reason a reviewer can read.
#[tokio::test(flavor = "multi_thread")]
async fn after_a_withdrawal_a_write_is_refused_as_the_read_of_its_category_is() -> anyhow::Result<()>
{
    let w = izumo().await?;
    let p = &w.p;
    let patient = w.patient("撤回後").await?;
    let consent = w.consent(&patient, all_sites_except(&[]), ALL).await?;
    let photo = upload(p, &w.nurse, pdf("撤回後の写真")).await?;
    let (status, body) =
        attach_document(p, &w.nurse, &patient, "photos_video", &photo, "褥瘡の写真").await?;
    assert_eq!(
        status, 201,
        "before the withdrawal the nurse attaches: {body}"
    );
    withdraw_consent(p, &w.nurse, &patient, &consent, None).await?;

    // The read of the category is refused, and so is the write, each recorded once.
    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["photos_video"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_withdrawn").await?;
    let second = upload(p, &w.nurse, pdf("撤回後の二枚目")).await?;
    let before = access_records(p).await?.len();
    let answer = attach_document(p, &w.nurse, &patient, "photos_video", &second, "二枚目").await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_withdrawn").await?;

    // A reason that says nothing opens nothing.
    for reason in ["0", "x", "!!"] {
        let (status, body) = send(
            w.nurse
                .request(
                    p,
                    Method::POST,
                    &format!("/api/v1/patients/{patient}/break-glass"),
                )
                .json(&json!({ "reason": reason })),
        )
        .await?;
        assert_eq!(status, 422, "{reason:?}: {body}");
        assert_eq!(body["errors"][0]["pointer"], "/reason", "{body}");
    }
    let (status, grant) = send(
        w.nurse
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/break-glass"),
            )
            .json(&json!({ "reason": "訪問時に急変、救急搬送に同行", "minutes": 30 })),
    )
    .await?;
    assert_eq!(status, 201, "{grant}");

    // With the grant, a routine write is still refused as the routine read is: the glass
    // is broken for an emergency, never silently for care.
    let before = access_records(p).await?.len();
    let answer = attach_document(p, &w.nurse, &patient, "photos_video", &second, "二枚目").await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_withdrawn").await?;
    let before = access_records(p).await?.len();
    let answer = w.read(&w.nurse, &patient, &["photos_video"]).await?;
    assert_refused(p, before, answer, &w.nurse, &patient, "consent_withdrawn").await?;

    // For the emergency it was opened for, the read and the write are both allowed, both
    // on the grant.
    let (status, view) = read_record(p, &w.nurse, &patient, &["photos_video"], "emergency").await?;
    assert_eq!(status, 200, "{view}");
    let before = access_records(p).await?.len();
    let (status, body) = send(
        w.nurse
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/documents"),
            )
            .json(
                &json!({ "category": "photos_video", "sha256": second, "title": "救急時の写真",
                           "purpose": "emergency" }),
            ),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let record = recorded_once(p, before).await?;
    assert!(record.allowed && record.break_glass, "{record:#?}");
    assert_eq!(record.basis.as_deref(), Some("break_glass"), "{record:#?}");
    Ok(())
}

/// Issue 31, as it was found: 出雲市's secretariat invites a member to 横浜市's visiting
/// nursing station (on a 横浜市 patient's team). The site answers as a site nobody has, and
/// nothing is stored; a JSON document with text after it is refused, and nothing stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_secretariat_cannot_place_a_member_on_another_municipalitys_site() -> anyhow::Result<()> {
    let w = izumo().await?;
    let p = &w.p;
    municipality_named(p, YOKOHAMA).await?;
    let station = site_of_kind(
        p,
        YOKOHAMA,
        "みなと訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let invite = |site: &str| {
        json!({ "name": "越境 看護師", "name_kana": "エッキョウ カンゴシ", "profession": "nurse",
                "roles": ["professional"], "sites": [site], "municipality": IZUMO })
    };
    let (status, page) = send(w.secretariat.request(
        p,
        Method::GET,
        &format!("/api/v1/municipalities/{IZUMO}/members?limit=200"),
    ))
    .await?;
    assert_eq!(status, 200, "{page}");
    let before = page["items"].as_array().map(Vec::len).unwrap_or(0);
    let (status, theirs) = send(
        w.secretariat
            .request(p, Method::POST, "/api/v1/invitations")
            .json(&invite(&station)),
    )
    .await?;
    let nobodys = uuid::Uuid::now_v7().to_string();
    let (none_status, none) = send(
        w.secretariat
            .request(p, Method::POST, "/api/v1/invitations")
            .json(&invite(&nobodys)),
    )
    .await?;
    assert_eq!(status, 422, "another municipality's site: {theirs}");
    assert_eq!(theirs["errors"][0]["pointer"], "/sites/0", "{theirs}");
    let strip = |mut v: Value| {
        if let Some(m) = v.as_object_mut() {
            m.remove("instance");
        }
        v
    };
    assert_eq!(
        (status, strip(theirs)),
        (none_status, strip(none)),
        "answered like a site nobody has"
    );
    // Their own site still works, and only that one was stored.
    let (status, body) = send(
        w.secretariat
            .request(p, Method::POST, "/api/v1/invitations")
            .json(&invite(&w.nursing)),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let position = text(&body, "position").ok();
    let after = {
        let mut request = w.secretariat.request(
            p,
            Method::GET,
            &format!("/api/v1/municipalities/{IZUMO}/members?limit=200"),
        );
        if let Some(position) = &position {
            request = request.header("Tsunagu-Min-Position", position);
        }
        let (_, page) = send(request).await?;
        page["items"].as_array().map(Vec::len).unwrap_or(0)
    };
    assert_eq!(
        after,
        before + 1,
        "only the invitation to their own site is stored"
    );

    // A document with text after it: refused, nothing registered.
    let response = w
        .secretariat
        .request(p, Method::POST, "/api/v1/organisations")
        .header("content-type", "application/json")
        .body(format!(
            "{} }}x",
            json!({ "name": "後ろに何か法人", "name_kana": "ウシロ", "kind": "medical_corporation",
                    "home_municipality": IZUMO })
        ))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 400);
    let problem: Value = response.json().await?;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("after"),
        "{problem}"
    );
    let (_, organisations) =
        send(p.operator(Method::GET, "/api/v1/organisations?limit=200")).await?;
    assert!(
        !organisations.to_string().contains("後ろに何か法人"),
        "nothing registered: {organisations}"
    );
    Ok(())
}
