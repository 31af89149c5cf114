//! Joining and signing in end to end, with the real binaries: invite → activate → enrol a
//! second factor → sign in → call the API; refusals of wrong and replayed codes; lock-out;
//! refresh-token reuse ending the session; deactivation ending live sessions; site admins
//! confined to their own organisation. Codes are computed from the clock injected into
//! the services (`TSUNAGU_CLOCK_START`).

use credentials::totp::TotpSecret;
use reqwest::Method;
use serde_json::{Value, json};
use tsunagu_tests::accounts::{
    Account, IZUMO, PASSWORD, join, me_until, send, sign_in, site, start,
};

#[tokio::test]
async fn an_invited_nurse_activates_enrols_signs_in_and_calls_the_api() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 一", "出雲ステーション").await?;
    let nurse = join(&p, &clock, None, "hanako", &["professional"], &[&site]).await?;

    let code = clock.code(&nurse.secret, 0);
    let (status, tokens) = sign_in(&p, &nurse, PASSWORD, &code).await?;
    assert_eq!(status, 201, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let (status, me) = send(p.http.get(p.url("/api/v1/me")).bearer_auth(access)).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["member_id"], nurse.member_id.as_str());
    assert_eq!(me["status"], "active", "{}", p.identity.log_tail(40));
    assert_eq!(me["sites"], json!([site]));

    // The same code again is a replay.
    let (status, _) = sign_in(&p, &nurse, PASSWORD, &code).await?;
    assert_eq!(status, 401, "a replayed code is refused");

    // Signing out ends the session: its token stops working within seconds.
    let (status, _) = send(
        p.http
            .delete(p.url("/api/v1/sessions/current"))
            .bearer_auth(access),
    )
    .await?;
    assert_eq!(status, 200);
    me_until(&p, access, 401).await?;

    // The token verifies against the published keys.
    let (status, jwks) = send(p.http.get(p.url("/.well-known/jwks.json"))).await?;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    Ok(())
}

#[tokio::test]
async fn a_wrong_code_and_repeated_failures_lock_the_account() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 二", "二ステーション").await?;
    let nurse = join(&p, &clock, None, "jiro", &["professional"], &[&site]).await?;
    let right = clock.code(&nurse.secret, 0);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap_or(0) + 500_000) % 1_000_000
    );
    let (status, body) = sign_in(&p, &nurse, PASSWORD, &wrong).await?;
    assert_eq!(status, 401, "a wrong code is refused: {body}");
    assert_eq!(
        body["type"],
        "https://tsunagu.example/problems/unauthenticated"
    );
    for _ in 0..4 {
        let (status, _) = sign_in(&p, &nurse, "not-the-password", &right).await?;
        assert_eq!(status, 401);
    }
    // Five failures: now even the right password and code are refused for a while.
    let response = p
        .http
        .post(p.url("/api/v1/sessions"))
        .json(&json!({ "username": nurse.username, "password": PASSWORD, "code": right }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    Ok(())
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_ends_the_session() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 三", "三ステーション").await?;
    let nurse = join(&p, &clock, None, "saburo", &["professional"], &[&site]).await?;
    let (_, first) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
    let refresh = |token: &Value| {
        p.http
            .post(p.url("/api/v1/sessions/refresh"))
            .json(&json!({ "refresh_token": token }))
    };
    let (status, second) = send(refresh(&first["refresh_token"])).await?;
    assert_eq!(status, 200, "{second}");
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "refresh tokens rotate"
    );
    // Someone replays the old one: the whole session ends.
    let (status, _) = send(refresh(&first["refresh_token"])).await?;
    assert_eq!(status, 401);
    let (status, _) = send(refresh(&second["refresh_token"])).await?;
    assert_eq!(
        status, 401,
        "the newest refresh token died with its session"
    );
    me_until(&p, second["access_token"].as_str().unwrap_or_default(), 401).await?;
    Ok(())
}

#[tokio::test]
async fn a_member_who_leaves_is_locked_out_at_once() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 四", "四ステーション").await?;
    let nurse = join(&p, &clock, None, "shiro", &["professional"], &[&site]).await?;
    let (_, tokens) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
    let access = tokens["access_token"].as_str().unwrap_or_default();
    me_until(&p, access, 200).await?;
    let (status, body) = send(
        p.operator(
            Method::POST,
            &format!("/api/v1/members/{}/deactivation", nurse.member_id),
        )
        .json(&json!({ "reason": "moved to another region" })),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    me_until(&p, access, 401).await?;
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/sessions/refresh"))
            .json(&json!({ "refresh_token": tokens["refresh_token"] })),
    )
    .await?;
    assert_eq!(status, 401, "and the session cannot be refreshed");
    Ok(())
}

#[tokio::test]
async fn a_site_admin_manages_only_their_own_organisations_staff() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let own = site(&p, "医療法人 五", "五ステーション").await?;
    let other = site(&p, "社会福祉法人 六", "六ステーション").await?;
    let admin = join(&p, &clock, None, "admin.go", &["site_admin"], &[&own]).await?;
    let (_, tokens) = sign_in(&p, &admin, PASSWORD, &clock.code(&admin.secret, 0)).await?;
    let token = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let invite =
        |site: &str, roles: Value| {
            p.http.post(p.url("/api/v1/invitations")).bearer_auth(&token).json(&json!({
            "name": "介護 三郎", "name_kana": "カイゴ サブロウ", "profession": "care_worker",
            "roles": roles, "sites": [site], "municipality": IZUMO
        }))
        };
    let (status, body) = send(invite(&other, json!(["professional"]))).await?;
    assert_eq!(status, 403, "another organisation's site: {body}");
    let (status, body) = send(invite(&own, json!(["auditor"]))).await?;
    assert_eq!(status, 403, "a role above the admin's own: {body}");
    let (status, body) = send(invite(&own, json!(["professional"]))).await?;
    assert_eq!(status, 201, "their own site: {body}");
    Ok(())
}

#[tokio::test]
async fn a_rotated_key_signs_new_tokens_while_old_ones_keep_working() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 七", "七ステーション").await?;
    let first = join(&p, &clock, None, "nana", &["professional"], &[&site]).await?;
    let second = join(&p, &clock, None, "hachi", &["professional"], &[&site]).await?;
    let (_, before) = sign_in(&p, &first, PASSWORD, &clock.code(&first.secret, 0)).await?;
    let (status, rotated) = send(p.operator(Method::POST, "/api/v1/signing-keys/rotation")).await?;
    assert_eq!(status, 201, "{rotated}");
    let (_, after) = sign_in(&p, &second, PASSWORD, &clock.code(&second.secret, 0)).await?;
    let kid = |token: &Value| -> anyhow::Result<String> {
        let header = token
            .as_str()
            .unwrap_or_default()
            .split('.')
            .next()
            .unwrap_or_default();
        let header: Value =
            serde_json::from_slice(&data_encoding::BASE64URL_NOPAD.decode(header.as_bytes())?)?;
        Ok(header["kid"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        kid(&after["access_token"])?,
        rotated["kid"].as_str().unwrap_or_default()
    );
    assert_ne!(kid(&before["access_token"])?, kid(&after["access_token"])?);
    me_until(&p, before["access_token"].as_str().unwrap_or_default(), 200).await?;
    me_until(&p, after["access_token"].as_str().unwrap_or_default(), 200).await?;
    let (_, jwks) = send(p.http.get(p.url("/.well-known/jwks.json"))).await?;
    assert_eq!(
        jwks["keys"].as_array().map(Vec::len),
        Some(2),
        "both keys are published: {jwks}"
    );
    // Only the operator rotates.
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/signing-keys/rotation"))
            .bearer_auth(after["access_token"].as_str().unwrap_or_default()),
    )
    .await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test]
async fn the_secretariat_resets_a_members_password_and_second_factor() -> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let site = site(&p, "医療法人 九", "九ステーション").await?;
    let nurse = join(&p, &clock, None, "kyu", &["professional"], &[&site]).await?;
    let colleague = join(
        &p,
        &clock,
        None,
        "kyu.colleague",
        &["professional"],
        &[&site],
    )
    .await?;
    let (_, tokens) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
    let (_, other) = sign_in(&p, &colleague, PASSWORD, &clock.code(&colleague.secret, 0)).await?;
    let path = format!("/api/v1/members/{}/credential-reset", nurse.member_id);
    let reason = json!({ "reason": "lost phone" });

    // A professional may not reset a colleague's credentials.
    let (status, _) = send(
        p.http
            .post(p.url(&path))
            .bearer_auth(other["access_token"].as_str().unwrap_or_default())
            .json(&reason),
    )
    .await?;
    assert_eq!(status, 403);

    let (status, reset) = send(p.operator(Method::POST, &path).json(&reason)).await?;
    assert_eq!(status, 201, "{reset}");
    // The old session ends, and the old password no longer signs in.
    me_until(&p, tokens["access_token"].as_str().unwrap_or_default(), 401).await?;
    let (status, _) = sign_in(&p, &nurse, PASSWORD, &clock.code(&nurse.secret, 0)).await?;
    assert_eq!(status, 401);

    // The member chooses a new password and enrols a new second factor.
    let new_password = "a-brand-new-password";
    let (status, enrolment) = send(p.http.post(p.url("/api/v1/activation")).json(&json!({
        "activation_token": reset["activation_token"], "username": nurse.username, "password": new_password
    })))
    .await?;
    assert_eq!(status, 200, "{enrolment}");
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap_or_default())?;
    assert_ne!(secret, nurse.secret, "a new second-factor secret");
    let (status, body) = send(p.http.post(p.url("/api/v1/activation/second-factor")).json(
        &json!({
            "enrolment_token": enrolment["enrolment_token"], "code": clock.code(&secret, 1)
        }),
    ))
    .await?;
    assert_eq!(status, 200, "{body}");
    let renewed = Account {
        member_id: nurse.member_id.clone(),
        username: nurse.username.clone(),
        secret,
    };
    let (status, body) =
        sign_in(&p, &renewed, new_password, &clock.code(&renewed.secret, 0)).await?;
    assert_eq!(status, 201, "{body}");
    Ok(())
}

#[tokio::test]
async fn an_address_that_keeps_failing_to_sign_in_is_slowed_down() -> anyhow::Result<()> {
    let (p, _clock) = start().await?;
    // Twenty failures from this address, each for a different name, so no account locks.
    for i in 0..20 {
        let (status, _) = send(p.http.post(p.url("/api/v1/sessions")).json(&json!({
            "username": format!("guess{i}"), "password": "wrong-password-1", "code": "000000"
        })))
        .await?;
        assert_eq!(status, 401);
    }
    let response = p
        .http
        .post(p.url("/api/v1/sessions"))
        .json(&json!({ "username": "guess20", "password": "wrong-password-1", "code": "000000" }))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    Ok(())
}

#[tokio::test]
async fn someone_who_joins_through_the_centres_link_signs_in_only_once_verified()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let centre_site = site(
        &p,
        "一般社団法人 出雲医師会",
        "在宅医療・介護連携支援センター",
    )
    .await?;
    let centre = join(
        &p,
        &clock,
        None,
        "centre.staff",
        &["coordination_centre_staff"],
        &[&centre_site],
    )
    .await?;
    let (_, centre_tokens) = sign_in(&p, &centre, PASSWORD, &clock.code(&centre.secret, 0)).await?;
    let centre_token = centre_tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let (status, link) = send(
        p.http
            .post(p.url("/api/v1/join-links"))
            .bearer_auth(&centre_token)
            .json(&json!({
                "municipality": IZUMO, "valid_days": 30
            })),
    )
    .await?;
    assert_eq!(status, 200, "{link}");
    let (status, enrolment) = send(
        p.http
            .post(p.url("/api/v1/self-registration"))
            .json(&json!({
                "link_token": link["link_token"], "name": "介護 四郎", "name_kana": "カイゴ シロウ",
                "profession": "care_worker", "username": "shiro.kaigo", "password": PASSWORD
            })),
    )
    .await?;
    assert_eq!(status, 200, "{enrolment}");
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap_or_default())?;
    let (status, body) = send(p.http.post(p.url("/api/v1/activation/second-factor")).json(
        &json!({
            "enrolment_token": enrolment["enrolment_token"], "code": clock.code(&secret, 1)
        }),
    ))
    .await?;
    assert_eq!(status, 200, "{body}");
    let joiner = Account {
        member_id: enrolment["member_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        username: "shiro.kaigo".into(),
        secret,
    };

    // Not verified yet: no sign-in.
    let (status, _) = sign_in(&p, &joiner, PASSWORD, &clock.code(&joiner.secret, 0)).await?;
    assert_eq!(status, 401);

    let (status, body) = send(
        p.http
            .post(p.url(&format!(
                "/api/v1/members/{}/verification",
                joiner.member_id
            )))
            .bearer_auth(&centre_token),
    )
    .await?;
    assert_eq!(status, 200, "{body}");
    // The refused attempt did not use up its code.
    let (status, tokens) = sign_in(&p, &joiner, PASSWORD, &clock.code(&joiner.secret, 0)).await?;
    assert_eq!(status, 201, "{tokens}");
    let (status, me) = send(
        p.http
            .get(p.url("/api/v1/me"))
            .bearer_auth(tokens["access_token"].as_str().unwrap_or_default()),
    )
    .await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["roles"],
        json!(["broadcast_recipient"]),
        "broadcasts only"
    );
    assert_eq!(me["status"], "active");

    // A broadcast recipient cannot invite anyone.
    let (status, _) = send(p.http.post(p.url("/api/v1/invitations")).bearer_auth(tokens["access_token"].as_str().unwrap_or_default()).json(&json!({
        "name": "誰か", "name_kana": "ダレカ", "profession": "nurse", "roles": ["professional"], "sites": [centre_site], "municipality": IZUMO
    })))
    .await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test]
async fn an_integrator_gets_a_token_with_its_client_credentials_and_reads_the_register()
-> anyhow::Result<()> {
    let (p, _clock) = start().await?;
    let _ = site(&p, "医療法人 十", "十ステーション").await?;
    let (status, client) = send(
        p.operator(Method::POST, "/api/v1/integrators")
            .json(&json!({ "name": "電子カルテ連携" })),
    )
    .await?;
    assert_eq!(status, 201, "{client}");
    let token_request = |secret: &str| {
        p.http.post(p.url("/api/v1/oauth/token")).form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                client["client_id"].as_str().unwrap_or_default(),
            ),
            ("client_secret", secret),
        ])
    };
    let (status, _) = send(token_request("not-the-secret")).await?;
    assert_eq!(status, 401, "a wrong secret is refused");
    let (status, token) = send(token_request(
        client["client_secret"].as_str().unwrap_or_default(),
    ))
    .await?;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"].as_str().unwrap_or_default();
    // Region-wide data is open to integrators; managing it is not.
    let (status, page) = send(
        p.http
            .get(p.url(&format!("/api/v1/municipalities/{IZUMO}")))
            .bearer_auth(access),
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/municipalities"))
            .bearer_auth(access)
            .json(&json!({
                "code": "382141", "name": "西予市", "name_kana": "セイヨシ"
            })),
    )
    .await?;
    assert_eq!(status, 403, "managing the register is the operator's");
    Ok(())
}

#[tokio::test]
async fn the_operator_signs_in_and_the_secretariat_registers_its_own_municipalitys_directory()
-> anyhow::Result<()> {
    let (p, clock) = start().await?;
    let _ = site(&p, "医療法人 十一", "十一ステーション").await?;
    let operator = join(&p, &clock, None, "op.member", &["operator"], &[]).await?;
    let (_, op) = sign_in(&p, &operator, PASSWORD, &clock.code(&operator.secret, 0)).await?;
    let op = op["access_token"].as_str().unwrap_or_default().to_owned();
    // The operator, signed in, registers another municipality and invites its secretariat.
    let (status, body) = send(
        p.http
            .post(p.url("/api/v1/municipalities"))
            .bearer_auth(&op)
            .json(&json!({
                "code": "382141", "name": "西予市", "name_kana": "セイヨシ"
            })),
    )
    .await?;
    assert_eq!(status, 201, "{body}");
    let (status, invitation) = send(p.http.post(p.url("/api/v1/invitations")).bearer_auth(&op).json(&json!({
        "name": "事務局 花子", "name_kana": "ジムキョク ハナコ", "profession": "municipal_staff",
        "roles": ["municipal_secretariat"], "sites": [], "municipality": "382141"
    })))
    .await?;
    assert_eq!(status, 201, "{invitation}");
    let (_, enrolment) = send(p.http.post(p.url("/api/v1/activation")).json(&json!({
        "activation_token": invitation["activation_token"], "username": "seiyo.secretariat", "password": PASSWORD
    })))
    .await?;
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap_or_default())?;
    send(
        p.http
            .post(p.url("/api/v1/activation/second-factor"))
            .json(&json!({
                "enrolment_token": enrolment["enrolment_token"], "code": clock.code(&secret, 1)
            })),
    )
    .await?;
    let secretariat = Account {
        member_id: enrolment["member_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        username: "seiyo.secretariat".into(),
        secret,
    };
    let (status, tokens) = sign_in(
        &p,
        &secretariat,
        PASSWORD,
        &clock.code(&secretariat.secret, 0),
    )
    .await?;
    assert_eq!(status, 201, "{tokens}");
    let sec = tokens["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let organisation = |municipality: &str| {
        p.http.post(p.url("/api/v1/organisations")).bearer_auth(&sec).json(&json!({
            "name": "社会福祉法人 西予会", "name_kana": "セイヨカイ", "kind": "social_welfare_corporation", "home_municipality": municipality
        }))
    };
    // Another municipality's code answers as a code nobody has, naming the field.
    let (status, body) = send(organisation(IZUMO)).await?;
    assert_eq!(status, 422, "not the secretariat's municipality: {body}");
    assert_eq!(body["errors"][0]["pointer"], "/home_municipality", "{body}");
    let (status, body) = send(organisation("382141")).await?;
    assert_eq!(status, 201, "its own municipality: {body}");
    let (status, _) = send(
        p.http
            .post(p.url("/api/v1/municipalities"))
            .bearer_auth(&sec)
            .json(&json!({
                "code": "082201", "name": "つくば市", "name_kana": "ツクバシ"
            })),
    )
    .await?;
    assert_eq!(status, 403, "the register is the operator's");
    Ok(())
}
