//! Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, the
//! parameters every authenticator app understands.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now that still count (clock drift of the phone).
pub const WINDOW: i64 = 1;

/// A second-factor secret (20 random bytes). Encrypted at rest by the credential store.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Why a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// Not six digits.
    #[error("a code is {DIGITS} digits")]
    Malformed,
    /// No step in the window gives this code.
    #[error("the code is wrong or expired")]
    Wrong,
    /// The code was right but its step was already used: a replay.
    #[error("the code was already used")]
    Replayed,
    /// A stored secret could not be read.
    #[error("the secret is not valid base32")]
    BadSecret,
}

impl TotpSecret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 20];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// From raw bytes (e.g. decrypted from the store).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for encryption at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// From the base32 text an authenticator shows (spaces and case ignored).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .map(Self)
            .map_err(|_| TotpError::BadSecret)
    }

    /// Base32 text, for manual entry in an authenticator.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The `otpauth://` URI an authenticator app reads from a QR code.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        let label = format!("{}:{}", percent(issuer), percent(account));
        format!(
            "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
            self.to_base32(),
            percent(issuer)
        )
    }

    /// The `otpauth://` URI as an SVG QR code, for the enrolment screen.
    pub fn qr_svg(&self, issuer: &str, account: &str) -> String {
        match qrcode::QrCode::new(self.otpauth_uri(issuer, account).as_bytes()) {
            Ok(code) => code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build(),
            Err(_) => String::new(),
        }
    }

    /// The code for the step containing `unix_seconds`.
    pub fn code_at(&self, unix_seconds: i64) -> String {
        code_for_step(&self.0, unix_seconds.div_euclid(STEP), DIGITS)
    }

    /// Checks `code` at `unix_seconds`, allowing [`WINDOW`] steps of drift, and refuses a
    /// step at or before `last_used_step` (each code works once). Returns the step used,
    /// which the caller stores as the new `last_used_step`.
    pub fn verify(
        &self,
        code: &str,
        unix_seconds: i64,
        last_used_step: Option<i64>,
    ) -> Result<i64, TotpError> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::Malformed);
        }
        let now = unix_seconds.div_euclid(STEP);
        let mut matched = None;
        // Every step in the window is computed, whatever matches, so timing tells nothing.
        for step in now - WINDOW..=now + WINDOW {
            let expected = code_for_step(&self.0, step, DIGITS);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && matched.is_none() {
                matched = Some(step);
            }
        }
        match matched {
            None => Err(TotpError::Wrong),
            Some(step) if last_used_step.is_some_and(|last| step <= last) => {
                Err(TotpError::Replayed)
            }
            Some(step) => Ok(step),
        }
    }
}

fn code_for_step(secret: &[u8], step: i64, digits: u32) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&(step as u64).to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = (digest[19] & 0x0f) as usize;
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    let modulus = 10u32.pow(digits);
    format!("{:0width$}", binary % modulus, width = digits as usize)
}

fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_6238_test_vectors_for_sha1() {
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_for_step(RFC_SECRET, time / STEP, 8),
                expected,
                "T = {time}"
            );
        }
    }

    #[test]
    fn a_code_works_within_one_step_of_drift_and_not_beyond() {
        let secret = TotpSecret::from_bytes(RFC_SECRET.to_vec());
        let t = 1_234_567_890;
        let code = secret.code_at(t);
        assert_eq!(code, "005924");
        assert!(secret.verify(&code, t + STEP, None).is_ok());
        assert!(secret.verify(&code, t - STEP, None).is_ok());
        assert_eq!(
            secret.verify(&code, t + 2 * STEP, None),
            Err(TotpError::Wrong)
        );
    }

    #[test]
    fn a_used_code_cannot_be_replayed() {
        let secret = TotpSecret::generate();
        let t = 1_800_000_000;
        let step = secret.verify(&secret.code_at(t), t, None).unwrap();
        assert_eq!(
            secret.verify(&secret.code_at(t), t + 5, Some(step)),
            Err(TotpError::Replayed)
        );
        // The next step's code is fine.
        assert!(
            secret
                .verify(&secret.code_at(t + STEP), t + STEP, Some(step))
                .is_ok()
        );
    }

    #[test]
    fn the_enrolment_qr_code_is_an_svg() {
        let svg = TotpSecret::generate().qr_svg("tsunagu", "nurse");
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    #[test]
    fn malformed_codes_are_refused_before_any_computation() {
        let secret = TotpSecret::generate();
        for bad in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                secret.verify(bad, 0, None),
                Err(TotpError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_secret_round_trips_through_base32_and_the_otpauth_uri_carries_it() {
        let secret = TotpSecret::generate();
        let text = secret.to_base32();
        assert_eq!(
            TotpSecret::from_base32(&text.to_lowercase()).unwrap(),
            secret
        );
        let uri = secret.otpauth_uri("tsunagu 出雲", "nurse@example");
        assert!(
            uri.starts_with("otpauth://totp/tsunagu%20%E5%87%BA%E9%9B%B2:nurse%40example?secret=")
        );
        assert!(uri.contains(&text));
        assert!(!format!("{secret:?}").contains(&text));
    }
}
