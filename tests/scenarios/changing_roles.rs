//! Changing a member's roles end to end, with the real binaries: the secretariat makes a
//! nurse her station's administrator and later takes it back; each time her older access
//! token stops working, a refresh carries the new roles, and what the new roles allow
//! follows. Nobody without the right changes roles, nobody grants a role above their own,
//! bad input names its field, asking again for the roles she holds records nothing, and
//! each change is in the audit log.

use std::time::{Duration, Instant};

use data_encoding::BASE64URL_NOPAD;
use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Account, IZUMO, PASSWORD, join, me_until, send, sign_in, start};
use tsunagu_tests::care::{Member, auditor, secretariat, site_of_kind};

/// The roles an access token carries (its claims, read without verifying: the gateway
/// verifies).
fn roles_in(token: &str) -> anyhow::Result<Vec<String>> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("not a JWT"))?;
    let claims: Value = serde_json::from_slice(&BASE64URL_NOPAD.decode(payload.as_bytes())?)?;
    Ok(claims["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect())
}

/// A signed-in session: the access token and the refresh token that renews it.
struct Session {
    access: String,
    refresh: String,
}

impl Session {
    fn of(tokens: &Value) -> Self {
        let text = |k: &str| tokens[k].as_str().unwrap_or_default().to_owned();
        Self {
            access: text("access_token"),
            refresh: text("refresh_token"),
        }
    }

    /// Exchanges the refresh token for a new pair.
    async fn refresh(&mut self, p: &Platform) -> anyhow::Result<()> {
        let (status, tokens) = send(
            p.http
                .post(p.url("/api/v1/sessions/refresh"))
                .json(&json!({ "refresh_token": self.refresh })),
        )
        .await?;
        anyhow::ensure!(status == 200 || status == 201, "refresh: {status} {tokens}");
        *self = Self::of(&tokens);
        Ok(())
    }
}

/// `PUT /api/v1/members/{member}/roles` as `by`, with `body` as it is.
async fn put_roles(
    p: &Platform,
    by: &str,
    member: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    send(
        p.http
            .put(p.url(&format!("/api/v1/members/{member}/roles")))
            .bearer_auth(by)
            .json(&body),
    )
    .await
}

/// `inviter` invites a care worker to `site`: a door a site admin has and a professional
/// has not.
async fn invite_to(p: &Platform, inviter: &str, site: &str) -> anyhow::Result<(u16, Value)> {
    send(
        p.http
            .post(p.url("/api/v1/invitations"))
            .bearer_auth(inviter)
            .json(&json!({
                "name": "介護 三郎", "name_kana": "カイゴ サブロウ", "profession": "care_worker",
                "roles": ["professional"], "sites": [site], "municipality": IZUMO
            })),
    )
    .await
}

/// The token was issued after the change that revoked its predecessors: tokens carry whole
/// seconds, and the gateway refuses every token of the member issued up to the change's
/// second (as it does after a deactivation), so the refresh waits for the next one.
async fn past_the_changes_second() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

/// Every audit record of one member's changes, once `count` role changes are in the log.
async fn role_changes_in_the_log(
    p: &Platform,
    auditor: &Member,
    member_id: &str,
    count: usize,
) -> anyhow::Result<Vec<Value>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = send(
            auditor
                .request(p, Method::GET, "/api/v1/audit/records")
                .query(&[("kind", "member_change"), ("member_id", member_id)]),
        )
        .await?;
        anyhow::ensure!(status == 200, "audit records: {status} {body}");
        let changes: Vec<Value> = body["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["record"]["event_type"] == "MemberRolesChanged")
            .cloned()
            .collect();
        if changes.len() >= count {
            return Ok(changes);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {count} role changes reached the audit log",
            changes.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_secretariat_makes_a_nurse_site_admin_and_back_and_her_tokens_follow()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let station = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let secretariat = secretariat(&p, &clock, "sec.roles", IZUMO).await?;
    let auditor = auditor(&p, &clock, "auditor.roles", IZUMO).await?;
    let nurse: Account = join(
        &p,
        &clock,
        None,
        "nurse.roles",
        &["professional"],
        &[&station],
    )
    .await?;
    let (status, tokens) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
    assert_eq!(status, 201, "{tokens}");
    let mut session = Session::of(&tokens);
    assert_eq!(roles_in(&session.access)?, ["professional"]);
    let (status, body) = invite_to(&p, &session.access, &station).await?;
    assert_eq!(status, 403, "a professional invites nobody: {body}");

    // Promoted: the old token (a professional's) stops passing.
    let promote =
        json!({ "roles": ["site_admin", "professional"], "reason": "runs the station now" });
    let (status, body) =
        put_roles(&p, &secretariat.token, &nurse.member_id, promote.clone()).await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member_id"], nurse.member_id.as_str());
    assert_eq!(body["roles"], json!(["site_admin", "professional"]));
    me_until(&p, &session.access, 401).await?;

    // Asked again, the same roles: the same answer, and nothing recorded (see the log below).
    let (status, again) = put_roles(&p, &secretariat.token, &nurse.member_id, promote).await?;
    assert_eq!((status, &again), (200, &body));

    // A refresh carries the new roles, and she manages her station's staff.
    past_the_changes_second().await;
    session.refresh(&p).await?;
    assert_eq!(roles_in(&session.access)?, ["site_admin", "professional"]);
    me_until(&p, &session.access, 200).await?;
    let (status, body) = invite_to(&p, &session.access, &station).await?;
    assert_eq!(
        status, 201,
        "a site admin invites to her own station: {body}"
    );

    // Demoted: the site admin's token stops passing, the next one cannot invite.
    let (status, body) = put_roles(
        &p,
        &secretariat.token,
        &nurse.member_id,
        json!({ "roles": ["professional"], "reason": "the new manager took over" }),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    me_until(&p, &session.access, 401).await?;
    past_the_changes_second().await;
    session.refresh(&p).await?;
    assert_eq!(roles_in(&session.access)?, ["professional"]);
    let (status, body) = invite_to(&p, &session.access, &station).await?;
    assert_eq!(status, 403, "no longer a site admin: {body}");

    // Both changes are in the audit log, with what she held before and why; the repeated
    // request made no record.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let changes = role_changes_in_the_log(&p, &auditor, &nurse.member_id, 2).await?;
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let record = &changes[0]["record"];
    assert_eq!(record["actor"], format!("member:{}", secretariat.id()));
    assert_eq!(record["roles"], json!(["site_admin", "professional"]));
    assert_eq!(record["detail"]["previous_roles"], json!(["professional"]));
    assert_eq!(record["reason"], "runs the station now");
    assert_eq!(changes[1]["record"]["roles"], json!(["professional"]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_change_only_by_those_who_manage_the_member_and_only_to_roles_they_may_grant()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let station = site_of_kind(
        &p,
        IZUMO,
        "かぜ訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let other = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let secretariat = secretariat(&p, &clock, "sec.grant", IZUMO).await?;
    let nurse =
        tsunagu_tests::care::professional(&p, &clock, "nurse.grant", "nurse", &station, IZUMO)
            .await?;
    let colleague =
        tsunagu_tests::care::professional(&p, &clock, "nurse2.grant", "nurse", &station, IZUMO)
            .await?;
    let admin_elsewhere = tsunagu_tests::care::member(
        &p,
        &clock,
        "admin.grant",
        &["site_admin"],
        "other",
        Some(&other),
        IZUMO,
    )
    .await?;
    let promote = json!({ "roles": ["site_admin"], "reason": "runs the station now" });
    let refused = |status: u16, body: &Value, why: &str| {
        assert_eq!(status, 403, "{why}: {body}");
        assert_eq!(body["status"], 403, "{why}: problem details {body}");
        assert!(body["type"].is_string(), "{why}: problem details {body}");
    };

    // Without the right: a colleague, the nurse herself, an admin of another organisation.
    let (status, body) = put_roles(&p, &colleague.token, nurse.id(), promote.clone()).await?;
    refused(status, &body, "a colleague");
    let (status, body) = put_roles(&p, &nurse.token, nurse.id(), promote.clone()).await?;
    refused(status, &body, "herself");
    let (status, body) = put_roles(&p, &admin_elsewhere.token, nurse.id(), promote.clone()).await?;
    refused(status, &body, "another organisation's admin");

    // Above one's own: the secretariat names no auditor, naming the role at fault.
    let (status, body) = put_roles(
        &p,
        &secretariat.token,
        nurse.id(),
        json!({ "roles": ["professional", "auditor"], "reason": "audit duty" }),
    )
    .await?;
    refused(status, &body, "a role above the secretariat's");
    assert_eq!(body["errors"][0]["pointer"], "/roles/1", "{body}");

    // Bad input names the field.
    let cases = [
        (json!({ "roles": [], "reason": "none left" }), "/roles"),
        (
            json!({ "roles": ["chief"], "reason": "promoted" }),
            "/roles/0",
        ),
        (json!({ "roles": ["site_admin"], "reason": " " }), "/reason"),
        // A NUL could never reach the read models or the audit log: refused at the door.
        (
            json!({ "roles": ["site_admin"], "reason": "promoted\u{0}" }),
            "/reason",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = put_roles(&p, &secretariat.token, nurse.id(), body.clone()).await?;
        assert_eq!(status, 422, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["pointer"], field, "{body}: {problem}");
    }
    // The operator may grant any role, yet nobody becomes an integrator (a machine client).
    let (status, problem) = send(
        p.operator(
            Method::PUT,
            &format!("/api/v1/members/{}/roles", nurse.id()),
        )
        .json(&json!({ "roles": ["professional", "integrator"], "reason": "a sync job" })),
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/roles", "{problem}");
    let (status, problem) = put_roles(
        &p,
        &secretariat.token,
        nurse.id(),
        json!({ "roles": ["site_admin"], "reason": "promoted", "sites": [other] }),
    )
    .await?;
    assert_eq!(status, 422, "an unknown field: {problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("sites")),
        "the field is named: {problem}"
    );
    let (status, problem) = put_roles(
        &p,
        &secretariat.token,
        secretariat.id(),
        json!({ "roles": ["professional"], "reason": "works at no site" }),
    )
    .await?;
    assert_eq!(
        status, 422,
        "a role needing a site, for a member without: {problem}"
    );
    assert_eq!(problem["errors"][0]["pointer"], "/roles", "{problem}");

    // Nothing was changed by any of it: her token still passes.
    me_until(&p, &nurse.token, 200).await?;
    let (status, me) = send(
        p.http
            .get(p.url(&format!("/api/v1/members/{}", nurse.id())))
            .bearer_auth(&secretariat.token),
    )
    .await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"], json!(["professional"]));
    Ok(())
}
