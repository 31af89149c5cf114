use super::*;

const ISS: &str = "https://tsunagu.example/identity";
const AUD: &str = "tsunagu-api";
const NOW: i64 = 1_800_000_000;

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        aud: AUD.into(),
        sub: "member-1".into(),
        exp: NOW + 600,
        nbf: NOW,
        iat: NOW,
        jti: "t1".into(),
        sid: "s1".into(),
        typ: ACCESS.into(),
        roles: vec!["professional".into()],
        profession: Some("nurse".into()),
        sites: vec!["site-1".into()],
        municipality: Some("322032".into()),
        amr: vec!["pwd".into(), "otp".into()],
    }
}

fn setup() -> (SigningKey, Verifier) {
    let key = SigningKey::generate("k1");
    let jwks = Jwks {
        keys: vec![key.public_jwk()],
    };
    (key.clone(), Verifier::new(&jwks, ISS, AUD))
}

fn b64(v: &serde_json::Value) -> String {
    BASE64URL_NOPAD.encode(v.to_string().as_bytes())
}

/// A token with any header and claims, signed by `key` (or with an empty signature).
fn forge(header: serde_json::Value, claims: serde_json::Value, key: Option<&SigningKey>) -> String {
    let signing_input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = match key {
        Some(k) => {
            use ed25519_dalek::Signer;
            let sk = ed25519_dalek::SigningKey::from_bytes(k.seed());
            BASE64URL_NOPAD.encode(&sk.sign(signing_input.as_bytes()).to_bytes())
        }
        None => String::new(),
    };
    format!("{signing_input}.{signature}")
}

#[test]
fn a_token_signed_by_a_published_key_verifies_with_its_claims() {
    let (key, verifier) = setup();
    let token = key.sign(&claims()).unwrap();
    assert_eq!(verifier.verify(&token, NOW + 1).unwrap(), claims());
}

#[test]
fn forged_and_broken_tokens_are_all_refused() {
    let (key, verifier) = setup();
    let good = serde_json::to_value(claims()).unwrap();
    let eddsa = serde_json::json!({ "alg": "EdDSA", "kid": "k1", "typ": "JWT" });
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = good.clone();
        f(&mut c);
        c
    };
    let other = SigningKey::generate("k1");
    let cases: Vec<(&str, String, TokenError)> = vec![
        (
            "alg none",
            forge(
                serde_json::json!({"alg": "none", "kid": "k1"}),
                good.clone(),
                None,
            ),
            TokenError::Malformed,
        ),
        (
            "HS256 with the public key as secret",
            {
                let x = key.public_jwk().x;
                jsonwebtoken::encode(
                    &{
                        let mut h = Header::new(Algorithm::HS256);
                        h.kid = Some("k1".into());
                        h
                    },
                    &claims(),
                    &EncodingKey::from_secret(x.as_bytes()),
                )
                .unwrap()
            },
            TokenError::Algorithm,
        ),
        (
            "another key under the real kid",
            other.sign(&claims()).unwrap(),
            TokenError::Signature,
        ),
        (
            "expired beyond the leeway",
            forge(
                eddsa.clone(),
                with(&|c| c["exp"] = (NOW - 100).into()),
                Some(&key),
            ),
            TokenError::Expired,
        ),
        (
            "nbf in the future",
            forge(
                eddsa.clone(),
                with(&|c| c["nbf"] = (NOW + 100).into()),
                Some(&key),
            ),
            TokenError::NotYetValid,
        ),
        (
            "exp sent as a string",
            forge(
                eddsa.clone(),
                with(&|c| c["exp"] = "9999999999".into()),
                Some(&key),
            ),
            TokenError::Claims(String::new()),
        ),
        (
            "nbf sent as a string",
            forge(eddsa.clone(), with(&|c| c["nbf"] = "0".into()), Some(&key)),
            TokenError::Claims(String::new()),
        ),
        (
            "wrong issuer",
            forge(
                eddsa.clone(),
                with(&|c| c["iss"] = "https://evil.example".into()),
                Some(&key),
            ),
            TokenError::Claims(String::new()),
        ),
        (
            "wrong audience",
            forge(
                eddsa.clone(),
                with(&|c| c["aud"] = "elsewhere".into()),
                Some(&key),
            ),
            TokenError::Claims(String::new()),
        ),
        (
            "no subject",
            forge(
                eddsa.clone(),
                with(&|c| {
                    c.as_object_mut().unwrap().remove("sub");
                }),
                Some(&key),
            ),
            TokenError::Claims(String::new()),
        ),
        (
            "unknown kid",
            forge(
                serde_json::json!({"alg": "EdDSA", "kid": "k9"}),
                good.clone(),
                Some(&key),
            ),
            TokenError::UnknownKey,
        ),
        (
            "kid with path characters",
            forge(
                serde_json::json!({"alg": "EdDSA", "kid": "../../etc/passwd"}),
                good.clone(),
                Some(&key),
            ),
            TokenError::KeyId,
        ),
        (
            "no kid",
            forge(
                serde_json::json!({"alg": "EdDSA"}),
                good.clone(),
                Some(&key),
            ),
            TokenError::KeyId,
        ),
        (
            "jku header",
            forge(
                serde_json::json!({"alg": "EdDSA", "kid": "k1", "jku": "https://evil.example/jwks"}),
                good.clone(),
                Some(&key),
            ),
            TokenError::RemoteKey,
        ),
        (
            "x5u header",
            forge(
                serde_json::json!({"alg": "EdDSA", "kid": "k1", "x5u": "https://evil.example/cert"}),
                good.clone(),
                Some(&key),
            ),
            TokenError::RemoteKey,
        ),
        (
            "a refresh token",
            forge(
                eddsa.clone(),
                with(&|c| c["typ"] = "refresh".into()),
                Some(&key),
            ),
            TokenError::WrongType,
        ),
        ("garbage", "not.a.jwt".to_owned(), TokenError::Malformed),
    ];
    for (name, token, want) in cases {
        let got = verifier.verify(&token, NOW).unwrap_err();
        match (&want, &got) {
            (TokenError::Claims(_), TokenError::Claims(_)) => {}
            _ => assert_eq!(got, want, "{name}"),
        }
    }
}

#[test]
fn a_token_inside_the_leeway_still_verifies() {
    let (key, verifier) = setup();
    let mut c = claims();
    c.exp = NOW - (LEEWAY_SECONDS as i64) + 1;
    assert!(verifier.verify(&key.sign(&c).unwrap(), NOW).is_ok());
}

#[test]
fn a_rotated_out_key_verifies_while_it_is_in_the_jwks() {
    let old = SigningKey::generate("2026-10");
    let new = SigningKey::generate("2026-11");
    let both = Verifier::new(
        &Jwks {
            keys: vec![new.public_jwk(), old.public_jwk()],
        },
        ISS,
        AUD,
    );
    let only_new = Verifier::new(
        &Jwks {
            keys: vec![new.public_jwk()],
        },
        ISS,
        AUD,
    );
    let old_token = old.sign(&claims()).unwrap();
    assert!(both.verify(&old_token, NOW).is_ok());
    assert!(both.verify(&new.sign(&claims()).unwrap(), NOW).is_ok());
    assert_eq!(
        only_new.verify(&old_token, NOW).unwrap_err(),
        TokenError::UnknownKey
    );
}

#[test]
fn a_key_restored_from_its_seed_is_the_same_key() {
    let key = SigningKey::generate("k1");
    let again = SigningKey::from_seed("k1", *key.seed());
    assert_eq!(again.public_jwk(), key.public_jwk());
    assert!(!format!("{key:?}").contains(&BASE64URL_NOPAD.encode(key.seed())));
}
