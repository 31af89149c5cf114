//! What the web application needs of the platform, through the gateway with the real
//! binaries: a member's own list of patients (names only through the access decision, each
//! one recorded), a municipality's patients for its secretariat (registration data only),
//! signing out everywhere, and the browser's refresh token as a strict cookie while API
//! clients keep it in the body.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{
    Clock, IZUMO, PASSWORD, YOKOHAMA, join_as, me_until, send, sign_in, start,
};
use tsunagu_tests::care::{
    Member, PatientForm, access_records, access_records_since, add_seat, consent_form,
    grant_consent, listed_sites, professional, record_consent, register_patient, restart_at,
    secretariat, site_of_kind, verify_consent,
};

const ALL: &[&str] = &["care_records", "medication", "documents"];

struct Region {
    p: Platform,
    clock: Clock,
    office: String,
    nursing: String,
    care_manager: Member,
    nurse: Member,
    secretariat: Member,
}

async fn region() -> anyhow::Result<Region> {
    let (p, clock) = start().await?;
    let office = site_of_kind(&p, IZUMO, "みずうみ居宅", "care_management_office", &["43"]).await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "cm.lists", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "nurse.lists", "nurse", &nursing, IZUMO).await?;
    let secretariat = secretariat(&p, &clock, "sec.lists", IZUMO).await?;
    Ok(Region {
        p,
        clock,
        office,
        nursing,
        care_manager,
        nurse,
        secretariat,
    })
}

async fn my_patients(p: &Platform, who: &Member, query: &str) -> anyhow::Result<(u16, Value)> {
    send(who.request(p, Method::GET, &format!("/api/v1/me/patients{query}"))).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["patient_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nurse_lists_the_patients_whose_team_her_site_is_on_their_names_only_through_consent()
-> anyhow::Result<()> {
    let r = region().await?;
    let p = &r.p;
    let ours = PatientForm::new("ナース一", IZUMO);
    let ours_id = register_patient(p, &r.care_manager, &ours, Some(&r.office)).await?;
    add_seat(
        p,
        &r.care_manager,
        &ours_id,
        &r.office,
        None,
        "care_manager",
    )
    .await?;
    add_seat(
        p,
        &r.care_manager,
        &ours_id,
        &r.nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let consent = record_consent(
        p,
        &r.care_manager,
        &ours_id,
        &consent_form(
            listed_sites(&[&r.office, &r.nursing]),
            ALL,
            &r.office,
            "2026-10-01",
        ),
    )
    .await?;
    // A patient whose team she is not on, and one whose seat ended.
    let other = register_patient(
        p,
        &r.care_manager,
        &PatientForm::new("ナース二", IZUMO),
        Some(&r.office),
    )
    .await?;
    add_seat(p, &r.care_manager, &other, &r.office, None, "care_manager").await?;
    let left = register_patient(
        p,
        &r.care_manager,
        &PatientForm::new("ナース三", IZUMO),
        Some(&r.office),
    )
    .await?;
    add_seat(p, &r.care_manager, &left, &r.office, None, "care_manager").await?;
    let seat = add_seat(
        p,
        &r.care_manager,
        &left,
        &r.nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let (status, body) = send(r.care_manager.request(
        p,
        Method::DELETE,
        &format!("/api/v1/patients/{left}/team/{seat}"),
    ))
    .await?;
    assert_eq!(status, 200, "{body}");

    // A seat at her station naming a colleague is the colleague's, not hers.
    let colleague = professional(
        p,
        &r.clock,
        "pt.lists",
        "physical_therapist",
        &r.nursing,
        IZUMO,
    )
    .await?;
    let theirs = register_patient(
        p,
        &r.care_manager,
        &PatientForm::new("ナース四", IZUMO),
        Some(&r.office),
    )
    .await?;
    let (status, seat) = send(
        r.care_manager
            .request(p, Method::POST, &format!("/api/v1/patients/{theirs}/team"))
            .json(
                &json!({ "site": r.nursing, "member": colleague.id(), "part": "rehabilitation" }),
            ),
    )
    .await?;
    assert_eq!(status, 201, "{seat}");
    // Read-your-writes: the list waits for the seat just given.
    let (_, page) = send(
        colleague
            .request(p, Method::GET, "/api/v1/me/patients")
            .header(
                "tsunagu-min-position",
                seat["position"].as_str().unwrap_or_default(),
            ),
    )
    .await?;
    let item = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["patient_id"] == theirs.as_str())
        .unwrap_or_else(|| panic!("the colleague's own seat is on their list: {page}"));
    assert_eq!(item["parts"], json!(["rehabilitation"]));

    let before = access_records(p).await?.len();
    let (status, page) = my_patients(p, &r.nurse, "").await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        ids(&page),
        vec![ours_id.clone()],
        "only the team she is on now"
    );
    let item = &page["items"][0];
    assert_eq!(item["parts"], json!(["visiting_nurse"]));
    assert!(
        item["personal"].is_null(),
        "no name while the consent waits: {item}"
    );
    assert_eq!(item["withheld"], "consent_pending");
    let records = access_records_since(p, before).await?;
    assert_eq!(records.len(), 1, "one access record per patient listed");
    assert!(!records[0].allowed && records[0].patient_id == ours_id);
    assert_eq!(records[0].route, "list_my_patients");

    verify_consent(p, &r.secretariat, &ours_id, &consent, 1).await?;
    let (_, page) = my_patients(p, &r.nurse, "").await?;
    let item = &page["items"][0];
    assert_eq!(item["personal"]["name"], ours.name.as_str(), "{item}");
    assert_eq!(item["personal"]["name_kana"], ours.name_kana.as_str());
    assert_eq!(item["personal"]["date_of_birth"], "1938-05-03");
    assert!(item["withheld"].is_null());
    let last = access_records(p).await?;
    let newest = last.last().expect("a record");
    assert!(newest.allowed && newest.patient_id == ours_id);

    // Paging: the care manager's office is on all three teams.
    let (_, first) = my_patients(p, &r.care_manager, "?limit=2").await?;
    assert_eq!(ids(&first).len(), 2, "{first}");
    let after = first["next_after"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, second) = my_patients(p, &r.care_manager, &format!("?limit=2&after={after}")).await?;
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.sort();
    let mut want = vec![ours_id.clone(), other.clone(), left.clone()];
    want.sort();
    assert_eq!(all, want);

    let (status, bad) = my_patients(p, &r.nurse, "?limit=0").await?;
    assert_eq!(status, 422, "{bad}");
    let (status, _) = send(p.operator(Method::GET, "/api/v1/me/patients")).await?;
    assert_eq!(
        status, 403,
        "the bootstrap operator has no list of their own"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secretariat_lists_its_municipalitys_patients_with_registration_data_only()
-> anyhow::Result<()> {
    let r = region().await?;
    let p = &r.p;
    let waiting = PatientForm::new("ジム一", IZUMO);
    let waiting_id = register_patient(p, &r.care_manager, &waiting, Some(&r.office)).await?;
    record_consent(
        p,
        &r.care_manager,
        &waiting_id,
        &consent_form(listed_sites(&[&r.office]), ALL, &r.office, "2026-10-01"),
    )
    .await?;
    let done_id = register_patient(
        p,
        &r.care_manager,
        &PatientForm::new("ジム二", IZUMO),
        Some(&r.office),
    )
    .await?;
    grant_consent(
        p,
        &r.care_manager,
        &r.secretariat,
        &done_id,
        &consent_form(listed_sites(&[&r.office]), ALL, &r.office, "2026-10-01"),
    )
    .await?;

    let list = |q: &'static str| {
        r.secretariat.request(
            p,
            Method::GET,
            &format!("/api/v1/municipalities/{IZUMO}/patients{q}"),
        )
    };
    let before = access_records(p).await?.len();
    let (status, page) = send(list("")).await?;
    assert_eq!(status, 200, "{page}");
    let mut got = ids(&page);
    got.sort();
    let mut want = vec![waiting_id.clone(), done_id.clone()];
    want.sort();
    assert_eq!(got, want);
    let text = page.to_string();
    assert!(
        !text.contains(&waiting.name) && !text.contains(&waiting.name_kana),
        "registration data carries no name: {text}"
    );
    assert_eq!(
        access_records_since(p, before).await?.len(),
        2,
        "each listed is recorded"
    );

    let (_, only_waiting) = send(list("?waiting=true")).await?;
    assert_eq!(ids(&only_waiting), vec![waiting_id.clone()]);
    assert_eq!(only_waiting["items"][0]["consents"][0]["status"], "pending");

    let (status, _) = send(r.secretariat.request(
        p,
        Method::GET,
        &format!("/api/v1/municipalities/{YOKOHAMA}/patients"),
    ))
    .await?;
    assert_eq!(status, 403, "another municipality's list");
    let (status, _) = send(r.nurse.request(
        p,
        Method::GET,
        &format!("/api/v1/municipalities/{IZUMO}/patients"),
    ))
    .await?;
    assert_eq!(status, 403, "a nurse is not the secretariat");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_everywhere_ends_every_session_and_its_refresh_tokens() -> anyhow::Result<()> {
    let mut r = region().await?;
    let roaming = join_as(
        &r.p,
        &r.clock,
        None,
        "roaming.nurse",
        &["professional"],
        &[&r.nursing],
        IZUMO,
        "nurse",
    )
    .await?;
    let (status, phone) =
        sign_in(&r.p, &roaming, PASSWORD, &r.clock.code(&roaming.secret, 0)).await?;
    assert_eq!(status, 201, "{phone}");
    // A second device five minutes later (each code works once: the clock moves on, the
    // first device's access token is still valid).
    let later = restart_at(&mut r.p, "2026-10-01T09:05:00+09:00").await?;
    let p = &r.p;
    let (status, pc) = sign_in(p, &roaming, PASSWORD, &later.code(&roaming.secret, 0)).await?;
    assert_eq!(status, 201, "{pc}");
    let token = |v: &Value, field: &str| v[field].as_str().unwrap_or_default().to_owned();
    me_until(p, &token(&phone, "access_token"), 200).await?;

    let response = p
        .http
        .delete(p.url("/api/v1/me/sessions"))
        .bearer_auth(token(&pc, "access_token"))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    let cookie = set_cookie(&response);
    assert!(
        cookie.starts_with("tsunagu_refresh=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    let body: Value = response.json().await?;
    assert_eq!(body["sessions_ended"], 2, "{body}");
    for session in [&phone, &pc] {
        me_until(p, &token(session, "access_token"), 401).await?;
        let (status, _) = send(
            p.http
                .post(p.url("/api/v1/sessions/refresh"))
                .json(&json!({ "refresh_token": token(session, "refresh_token") })),
        )
        .await?;
        assert_eq!(status, 401, "every device's refresh token is dead");
    }
    Ok(())
}

fn set_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

fn token_of(cookie: &str) -> String {
    cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_browser_keeps_its_refresh_token_in_a_strict_cookie_that_rotates_and_works_only_from_this_site()
-> anyhow::Result<()> {
    let r = region().await?;
    let p = &r.p;
    let origin = p.base_url.clone();
    let browser = join_as(
        p,
        &r.clock,
        None,
        "browser.nurse",
        &["professional"],
        &[&r.nursing],
        IZUMO,
        "nurse",
    )
    .await?;
    let code = r.clock.code(&browser.secret, 0);
    let signed_in = p
        .http
        .post(p.url("/api/v1/sessions"))
        .header("tsunagu-refresh-cookie", "true")
        .header("origin", &origin)
        .json(&json!({ "username": browser.username, "password": PASSWORD, "code": code }))
        .send()
        .await?;
    assert_eq!(signed_in.status().as_u16(), 201);
    let cookie = set_cookie(&signed_in);
    assert!(
        cookie.contains("; Path=/api/v1/sessions/refresh; HttpOnly; SameSite=Strict")
            && !cookie.contains("Secure"),
        "over plain HTTP, a strict HttpOnly cookie for the refresh route only: {cookie}"
    );
    let body: Value = signed_in.json().await?;
    assert!(
        body.get("refresh_token").is_none(),
        "the page never sees it: {body}"
    );
    assert!(body["access_token"].is_string());
    let first = token_of(&cookie);

    let refresh = |token: &str, origin: Option<&str>| {
        let mut request = p
            .http
            .post(p.url("/api/v1/sessions/refresh"))
            .header("tsunagu-refresh-cookie", "true")
            .header("cookie", format!("theme=dark; tsunagu_refresh={token}"))
            .json(&json!({}));
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send()
    };
    for (from, why) in [
        (None, "no Origin"),
        (Some("http://evil.example"), "another site"),
    ] {
        let refused = refresh(&first, from).await?;
        assert_eq!(refused.status().as_u16(), 403, "{why}");
    }
    let rotated = refresh(&first, Some(&origin)).await?;
    assert_eq!(rotated.status().as_u16(), 200);
    let second = token_of(&set_cookie(&rotated));
    assert!(!second.is_empty() && second != first, "rotated");
    let answer: Value = rotated.json().await?;
    assert!(answer.get("refresh_token").is_none() && answer["access_token"].is_string());

    // Reusing the first ends the session (as in the body); the stale cookie is deleted.
    let reused = refresh(&first, Some(&origin)).await?;
    assert_eq!(reused.status().as_u16(), 401);
    assert!(set_cookie(&reused).contains("Max-Age=0"));
    let after = refresh(&second, Some(&origin)).await?;
    assert_eq!(after.status().as_u16(), 401, "the session has ended");

    // API clients are untouched: the token in the body, no cookie; a missing one is named.
    let client = join_as(
        p,
        &r.clock,
        None,
        "api.client",
        &["professional"],
        &[&r.nursing],
        IZUMO,
        "nurse",
    )
    .await?;
    let (status, pair) = sign_in(p, &client, PASSWORD, &r.clock.code(&client.secret, 0)).await?;
    assert_eq!(status, 201);
    assert!(pair["refresh_token"].is_string(), "{pair}");
    let (status, problem) = send(
        p.http
            .post(p.url("/api/v1/sessions/refresh"))
            .json(&json!({})),
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/refresh_token");
    Ok(())
}
