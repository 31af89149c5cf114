//! Signed access tokens: EdDSA (Ed25519) JWTs with a `kid`, their JWKS, and a strict
//! verifier.
//!
//! The identity service signs with [`SigningKey`] and publishes [`Jwks`]; the gateway
//! verifies with a [`Verifier`] built from that JWKS. What the verifier promises:
//! the algorithm is pinned to EdDSA whatever the header says; `kid` must name a key of
//! the JWKS (and may hold only `[A-Za-z0-9_-]`); `jku` and `x5u` headers are refused,
//! never fetched; `iss`, `aud`, `sub`, `exp` and `nbf` are required and checked with a
//! small leeway; the token type must be `access` (a refresh token is not an access token).
//! Times come from the caller's clock.

use std::collections::HashMap;

use data_encoding::BASE64URL_NOPAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Seconds of clock difference tolerated for `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer: the identity service's URL.
    pub iss: String,
    /// Audience: the platform's API.
    pub aud: String,
    /// The member (or integrator client) id.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// The session the token belongs to (revoking it revokes the token).
    pub sid: String,
    /// Token type: always `access` here.
    pub typ: String,
    /// Roles, as the permissions crate names them.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Profession, if a person.
    #[serde(default)]
    pub profession: Option<String>,
    /// Site ids the member works at.
    #[serde(default)]
    pub sites: Vec<String>,
    /// Home municipality code.
    #[serde(default)]
    pub municipality: Option<String>,
    /// How the member authenticated, e.g. `["pwd", "otp"]` (RFC 8176).
    #[serde(default)]
    pub amr: Vec<String>,
}

/// The type of every access token.
pub const ACCESS: &str = "access";

/// An Ed25519 signing key with its id. Its seed never leaves the identity service.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    seed: [u8; 32],
    public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Why a token could not be made or was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT at all.
    #[error("the token is malformed")]
    Malformed,
    /// The header names another algorithm than EdDSA.
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// The header has no `kid`, or one with characters a key id never has.
    #[error("the token names no valid key id")]
    KeyId,
    /// The `kid` names no key we know.
    #[error("the token's key is unknown")]
    UnknownKey,
    /// The header points at a key elsewhere (`jku`, `x5u`): never fetched, refused.
    #[error("the token points at a key elsewhere")]
    RemoteKey,
    /// The signature does not verify.
    #[error("the token's signature is invalid")]
    Signature,
    /// Expired (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// Not valid yet.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// A required claim is missing or has the wrong type, or `iss`/`aud` do not match.
    #[error("the token's claims are not acceptable: {0}")]
    Claims(String),
    /// Not an access token (e.g. a refresh token).
    #[error("this is not an access token")]
    WrongType,
    /// Signing failed.
    #[error("signing failed")]
    Signing,
}

// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410): a fixed prefix, then the 32 bytes.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl SigningKey {
    /// A fresh key named `kid`.
    pub fn generate(kid: impl Into<String>) -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_seed(kid, seed)
    }

    /// A key from its stored seed.
    pub fn from_seed(kid: impl Into<String>, seed: [u8; 32]) -> Self {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        Self {
            kid: kid.into(),
            seed,
            public,
        }
    }

    /// Its id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its seed, for the credential store (encrypted there).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Its public half as a JWK.
    pub fn public_jwk(&self) -> PublicJwk {
        PublicJwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            alg: "EdDSA".to_owned(),
            r#use: "sig".to_owned(),
            kid: self.kid.clone(),
            x: BASE64URL_NOPAD.encode(&self.public),
        }
    }

    /// Signs `claims` as a JWT with this key's `kid`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&PKCS8_PREFIX);
        der.extend_from_slice(&self.seed);
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der))
            .map_err(|_| TokenError::Signing)
    }
}

/// A public key as published in the JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// Algorithm: `EdDSA`.
    pub alg: String,
    /// Use: `sig`.
    pub r#use: String,
    /// Key id.
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

/// The JWKS document (`/.well-known/jwks.json`): every key whose tokens may still be
/// alive, so a rotated-out key keeps verifying until its last token expires.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<PublicJwk>,
}

/// Checks access tokens against a JWKS.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, DecodingKey>,
    issuer: String,
    audience: String,
}

impl Verifier {
    /// A verifier for tokens of `issuer` meant for `audience`, trusting the Ed25519 keys of
    /// `jwks` (others are ignored).
    pub fn new(jwks: &Jwks, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter(|k| k.kty == "OKP" && k.crv == "Ed25519" && valid_kid(&k.kid))
            .filter_map(|k| {
                DecodingKey::from_ed_components(&k.x)
                    .ok()
                    .map(|d| (k.kid.clone(), d))
            })
            .collect();
        Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// Verifies `token` at `now` (Unix seconds) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<AccessClaims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.jku.is_some() || header.x5u.is_some() {
            return Err(TokenError::RemoteKey);
        }
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::KeyId)?;
        if !valid_kid(&kid) {
            return Err(TokenError::KeyId);
        }
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        // jsonwebtoken reads the system clock; ours may be injected, so time is checked
        // here, against `now`, after the signature and the claims' types.
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature | K::InvalidEcdsaKey | K::InvalidKeyFormat => {
                    TokenError::Signature
                }
                K::InvalidAlgorithm => TokenError::Algorithm,
                K::InvalidToken | K::Base64(_) | K::Utf8(_) => TokenError::Malformed,
                other => TokenError::Claims(format!("{other:?}")),
            }
        })?;
        let claims = data.claims;
        check_times(&claims, now)?;
        if claims.typ != ACCESS {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }
}

/// Whether verified claims are still in force at `now` (Unix seconds), within the leeway:
/// what a cache of verified tokens must check again on each use.
pub fn check_times(claims: &AccessClaims, now: i64) -> Result<(), TokenError> {
    let leeway = LEEWAY_SECONDS as i64;
    if claims.exp + leeway < now {
        return Err(TokenError::Expired);
    }
    if claims.nbf - leeway > now {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
