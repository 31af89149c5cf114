//! Consultations (相談), end to end with the real binaries through the gateway: a nurse asks
//! the coordination centre about a patient on her team; any of the centre's staff answers and
//! one is assigned; the nurse closes it. Naming the patient is the access decision's (a nurse
//! off the team is refused, and the refusal recorded); each reader sees the patient's name
//! only where their own decision allows; nobody else reads the consultation.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, send, start};
use tsunagu_tests::care::{
    Member, PatientForm, access_records, add_seat, member, professional, register_patient,
    site_of_kind, text,
};

struct Town {
    p: Platform,
    _clock: Clock,
    nurse: Member,
    stranger: Member,
    centre: Member,
    colleague: Member,
    patient: String,
}

async fn town() -> anyhow::Result<Town> {
    let (p, clock) = start().await?;
    let coordination = site_of_kind(
        &p,
        IZUMO,
        "出雲市在宅医療・介護連携支援センター",
        "coordination_centre",
        &[],
    )
    .await?;
    let office = site_of_kind(&p, IZUMO, "みずうみ居宅", "care_management_office", &["43"]).await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let other = site_of_kind(
        &p,
        IZUMO,
        "よそ訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "cm.cs", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "nurse.cs", "nurse", &nursing, IZUMO).await?;
    let stranger = professional(&p, &clock, "stranger.cs", "nurse", &other, IZUMO).await?;
    let staff = |username: &'static str| {
        member(
            &p,
            &clock,
            username,
            &["coordination_centre_staff"],
            "medical_social_worker",
            Some(&coordination),
            IZUMO,
        )
    };
    let centre = staff("centre.cs").await?;
    let colleague = staff("centre2.cs").await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("相談", IZUMO),
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
    Ok(Town {
        p,
        _clock: clock,
        nurse,
        stranger,
        centre,
        colleague,
        patient,
    })
}

impl Town {
    async fn call(
        &self,
        who: &Member,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = who.request(&self.p, method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nurse_asks_the_centre_about_her_patient_it_answers_assigns_and_she_closes_it()
-> anyhow::Result<()> {
    let t = town().await?;
    // Off the team, naming the patient is refused, and the refusal is recorded.
    let before = access_records(&t.p).await?.len();
    let ask = json!({ "subject": "退院後の訪問看護の開始について",
                      "text": "来週退院予定です。開始日の調整をお願いできますか。",
                      "patient_id": t.patient });
    let (status, refused) = t
        .call(
            &t.stranger,
            Method::POST,
            "/api/v1/consultations",
            Some(ask.clone()),
        )
        .await?;
    assert_eq!(status, 403, "{refused}");
    let records = access_records(&t.p).await?;
    assert!(
        records[before..]
            .iter()
            .any(|r| r.member_id == t.stranger.id() && !r.allowed),
        "the refusal is recorded"
    );

    let (status, opened) = t
        .call(&t.nurse, Method::POST, "/api/v1/consultations", Some(ask))
        .await?;
    assert_eq!(status, 201, "{opened}");
    let id = text(&opened, "consultation_id")?;
    let path = format!("/api/v1/consultations/{id}");

    // The centre finds it, answers, and assigns it to a colleague.
    let (status, page) = send(
        t.centre
            .request(&t.p, Method::GET, "/api/v1/consultations")
            .header("Tsunagu-Min-Position", text(&opened, "position")?),
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["consultation_id"], id.as_str(), "{page}");
    assert_eq!(page["items"][0]["names_patient"], true);
    let (status, answered) = t
        .call(
            &t.centre,
            Method::POST,
            &format!("{path}/messages"),
            Some(json!({ "text": "病院の地域連携室に確認します。" })),
        )
        .await?;
    assert_eq!(status, 201, "{answered}");
    let (status, bad) = t
        .call(
            &t.centre,
            Method::POST,
            &format!("{path}/assignment"),
            Some(json!({ "member_id": t.nurse.id() })),
        )
        .await?;
    assert_eq!(status, 422, "a nurse is not the centre's: {bad}");
    assert_eq!(bad["errors"][0]["pointer"], "/member_id");
    let (status, assigned) = t
        .call(
            &t.centre,
            Method::POST,
            &format!("{path}/assignment"),
            Some(json!({ "member_id": t.colleague.id() })),
        )
        .await?;
    assert_eq!(status, 200, "{assigned}");

    // The nurse reads it all, the patient by name; the centre reads it without the name.
    let (status, view) = send(
        t.nurse
            .request(&t.p, Method::GET, &path)
            .header("Tsunagu-Min-Position", text(&assigned, "position")?),
    )
    .await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["messages"].as_array().map(Vec::len), Some(2), "{view}");
    assert_eq!(view["messages"][1]["from_centre"], true);
    assert_eq!(
        view["consultation"]["assignee"]["member_id"],
        t.colleague.id()
    );
    assert!(view["patient"]["name"].is_string(), "{view}");
    let (status, view) = t.call(&t.colleague, Method::GET, &path, None).await?;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["centre"], true);
    assert!(
        view["patient"]["name"].is_null(),
        "the centre is not on the team: {view}"
    );

    // Nobody else reads it (as a consultation that does not exist).
    let (status, _) = t.call(&t.stranger, Method::GET, &path, None).await?;
    assert_eq!(status, 404);

    // The nurse closes it; nothing more is written in it.
    let (status, closed) = t
        .call(&t.nurse, Method::POST, &format!("{path}/closure"), None)
        .await?;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["open"], false);
    let (status, _) = t
        .call(
            &t.centre,
            Method::POST,
            &format!("{path}/messages"),
            Some(json!({ "text": "追記" })),
        )
        .await?;
    assert_eq!(status, 409);
    Ok(())
}
