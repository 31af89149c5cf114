//! The credential store: password hashes, sealed second-factor secrets and signing keys,
//! hashed activation, enrolment and refresh tokens, sessions and lock-outs. Its own
//! Postgres schema (`credentials`), never a stream: auditors and integrators read
//! streams, and none of this may reach them.

use chrono::{DateTime, Duration, Utc};
use credentials::password::PasswordHash;
use credentials::sealed::SealingKey;
use credentials::token::{new_token, token_hash};
use credentials::totp::TotpSecret;
use deadpool_postgres::Pool;
use projection_runner::Migration;
use tokens::{Jwks, SigningKey};
use uuid::Uuid;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: "0001_credentials",
        sql: include_str!("../migrations/credentials_0001.sql"),
    },
    Migration {
        version: "0002_join_links",
        sql: include_str!("../migrations/credentials_0002.sql"),
    },
    Migration {
        version: "0003_integrator_clients",
        sql: include_str!("../migrations/credentials_0003.sql"),
    },
    Migration {
        version: "0004_patient_keys",
        sql: include_str!("../migrations/credentials_0004.sql"),
    },
];

/// A patient's data key as the store holds it.
#[derive(Debug, Clone)]
pub enum PatientKey {
    /// The key: personal fields open.
    Live(credentials::shredding::DataKey),
    /// Destroyed: the patient's personal fields are erased everywhere.
    Destroyed { at: DateTime<Utc> },
    /// No key was ever made for this patient.
    Unknown,
}

/// Failures in a row that lock an account.
pub const LOCK_AFTER_FAILURES: i32 = 5;
/// How long a lock-out lasts.
pub const LOCK_FOR_MINUTES: i64 = 15;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("postgres")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("migration")]
    Migration(#[from] projection_runner::RunnerError),
    #[error("a sealed secret cannot be opened: wrong TSUNAGU_CREDENTIAL_KEY?")]
    Sealed,
}

/// What became of a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid: here is the session, with a new refresh token.
    Rotated {
        session_id: Uuid,
        member_id: Uuid,
        refresh_token: String,
    },
    /// Already used once: someone replays it. The session has been revoked.
    Reused { session_id: Uuid, member_id: Uuid },
    /// Unknown, or its session has ended.
    Invalid,
}

#[derive(Clone)]
pub struct CredentialStore {
    pool: Pool,
    seal: SealingKey,
}

impl CredentialStore {
    pub fn new(pool: Pool, seal: SealingKey) -> Self {
        Self { pool, seal }
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        projection_runner::migrate_schema(&self.pool, "credentials", MIGRATIONS).await?;
        Ok(())
    }

    /// The data key of a newly registered patient (the existing one if it was made
    /// already, so a retried registration seals with the same key).
    pub async fn patient_key_for_new_patient(
        &self,
        patient_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<PatientKey, StoreError> {
        let key = credentials::shredding::DataKey::generate();
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials.patient_keys (patient_id, sealed_key, created_at)
                 VALUES ($1, $2, $3) ON CONFLICT (patient_id) DO NOTHING",
                &[&patient_id, &self.seal.seal(key.as_bytes()), &now],
            )
            .await?;
        self.patient_key(patient_id).await
    }

    /// A patient's data key, or why there is none.
    pub async fn patient_key(&self, patient_id: Uuid) -> Result<PatientKey, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT sealed_key, destroyed_at FROM credentials.patient_keys WHERE patient_id = $1",
                &[&patient_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(PatientKey::Unknown);
        };
        let sealed: Option<Vec<u8>> = row.get(0);
        match sealed {
            Some(sealed) => {
                let bytes = self.seal.open(&sealed).map_err(|_| StoreError::Sealed)?;
                let key = credentials::shredding::DataKey::from_bytes(&bytes)
                    .map_err(|_| StoreError::Sealed)?;
                Ok(PatientKey::Live(key))
            }
            None => Ok(PatientKey::Destroyed { at: row.get(1) }),
        }
    }

    /// The live data keys of these patients, in one query (destroyed and unknown keys are
    /// left out).
    pub async fn patient_keys(
        &self,
        patient_ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, credentials::shredding::DataKey>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT patient_id, sealed_key FROM credentials.patient_keys
                 WHERE patient_id = ANY($1) AND sealed_key IS NOT NULL",
                &[&patient_ids],
            )
            .await?;
        rows.iter()
            .map(|row| {
                let sealed: Vec<u8> = row.get(1);
                let bytes = self.seal.open(&sealed).map_err(|_| StoreError::Sealed)?;
                let key = credentials::shredding::DataKey::from_bytes(&bytes)
                    .map_err(|_| StoreError::Sealed)?;
                Ok((row.get(0), key))
            })
            .collect()
    }

    /// Destroys a patient's data key: their personal fields can never be read again, from
    /// any event, by any replay. Answers whether a live key was destroyed now.
    pub async fn destroy_patient_key(
        &self,
        patient_id: Uuid,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "UPDATE credentials.patient_keys
                 SET sealed_key = NULL, destroyed_at = $2, destroyed_by = $3
                 WHERE patient_id = $1 AND sealed_key IS NOT NULL",
                &[&patient_id, &now, &by],
            )
            .await?;
        Ok(changed == 1)
    }

    /// A one-time activation token for an invited member.
    pub async fn create_activation(
        &self,
        member_id: Uuid,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials.activation_tokens (token_hash, member_id, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash(&token), &member_id, &expires_at],
            )
            .await?;
        Ok(token)
    }

    /// Uses an activation token and sets the account's username and password, at once.
    /// `Ok(None)`: the token is unknown, used or expired. `Err(Taken)` is reported as
    /// `Ok(Some(Err(())))`: the username belongs to someone else.
    pub async fn activate(
        &self,
        token: &str,
        username: &str,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Result<Uuid, UsernameTaken>>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "UPDATE credentials.activation_tokens SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING member_id",
                &[&token_hash(token), &now],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let member_id: Uuid = row.get(0);
        let holder = tx
            .query_opt(
                "SELECT member_id FROM credentials.accounts WHERE username = $1",
                &[&username],
            )
            .await?;
        if holder.is_some_and(|h| h.get::<_, Uuid>(0) != member_id) {
            // Roll back so the token stays usable with another username.
            return Ok(Some(Err(UsernameTaken)));
        }
        // After a credential reset the account exists: it gets the new name and password.
        tx.execute(
            "INSERT INTO credentials.accounts (member_id, username, password_phc, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (member_id) DO UPDATE SET username = $2, password_phc = $3, updated_at = $4",
            &[&member_id, &username, &password.as_str(), &now],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Ok(member_id)))
    }

    /// Resets a member's credentials: the second factor and every session end, and a new
    /// one-time token lets the member choose a password and enrol again.
    pub async fn reset(
        &self,
        member_id: Uuid,
        reason: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "DELETE FROM credentials.second_factors WHERE member_id = $1",
            &[&member_id],
        )
        .await?;
        tx.execute(
            "DELETE FROM credentials.lockouts WHERE member_id = $1",
            &[&member_id],
        )
        .await?;
        tx.execute(
            "UPDATE credentials.sessions SET revoked_at = $2, revoked_reason = $3 WHERE member_id = $1 AND revoked_at IS NULL",
            &[&member_id, &now, &reason],
        )
        .await?;
        tx.execute(
            "UPDATE credentials.activation_tokens SET used_at = $2 WHERE member_id = $1 AND used_at IS NULL",
            &[&member_id, &now],
        )
        .await?;
        tx.execute(
            "INSERT INTO credentials.activation_tokens (token_hash, member_id, expires_at) VALUES ($1, $2, $3)",
            &[&token_hash(&token), &member_id, &expires_at],
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// A link for self-registration in `municipality`.
    pub async fn create_join_link(
        &self,
        municipality: &str,
        created_by: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials.join_links (token_hash, municipality, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&token_hash(&token), &municipality, &created_by, &now, &expires_at],
            )
            .await?;
        Ok(token)
    }

    /// The municipality of a live link.
    pub async fn join_link(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT municipality FROM credentials.join_links WHERE token_hash = $1 AND expires_at > $2",
                &[&token_hash(token), &now],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// An account for someone who joined through a link.
    pub async fn create_account(
        &self,
        member_id: Uuid,
        username: &str,
        password: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<Result<(), UsernameTaken>, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO credentials.accounts (member_id, username, password_phc, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&member_id, &username, &password.as_str(), &now],
            )
            .await?;
        Ok(if n == 1 { Ok(()) } else { Err(UsernameTaken) })
    }

    /// A new machine client: answers its secret, kept here only as a hash.
    pub async fn create_client(
        &self,
        client_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let secret = new_token();
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials.integrator_clients (client_id, secret_hash, created_at) VALUES ($1, $2, $3)",
                &[&client_id, &token_hash(&secret), &now],
            )
            .await?;
        Ok(secret)
    }

    /// Whether `secret` is the live secret of `client_id`.
    pub async fn client_valid(&self, client_id: Uuid, secret: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT secret_hash FROM credentials.integrator_clients WHERE client_id = $1 AND revoked_at IS NULL",
                &[&client_id],
            )
            .await?;
        Ok(row.is_some_and(|r| credentials::token::matches(secret, r.get::<_, &str>(0))))
    }

    /// Starts enrolling a second factor: keeps the sealed secret under a one-time token.
    pub async fn start_enrolment(
        &self,
        member_id: Uuid,
        secret: &TotpSecret,
        expires_at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = new_token();
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO credentials.enrolments (token_hash, member_id, sealed_secret, expires_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash(&token), &member_id, &self.seal.seal(secret.as_bytes()), &expires_at],
            )
            .await?;
        Ok(token)
    }

    /// The enrolment behind a token, if still open: (member, secret).
    pub async fn enrolment(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Uuid, TotpSecret)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT member_id, sealed_secret FROM credentials.enrolments
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                &[&token_hash(token), &now],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let sealed: Vec<u8> = r.get(1);
                let secret = self.seal.open(&sealed).map_err(|_| StoreError::Sealed)?;
                Ok(Some((r.get(0), TotpSecret::from_bytes(secret))))
            }
        }
    }

    /// Completes the enrolment: the secret becomes the member's second factor, and the
    /// step of the confirming code counts as used.
    pub async fn finish_enrolment(
        &self,
        token: &str,
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "UPDATE credentials.enrolments SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
                 RETURNING member_id, sealed_secret",
                &[&token_hash(token), &now],
            )
            .await?;
        let Some(row) = row else { return Ok(false) };
        let member_id: Uuid = row.get(0);
        let sealed: Vec<u8> = row.get(1);
        tx.execute(
            "INSERT INTO credentials.second_factors (member_id, sealed_secret, last_used_step, enrolled_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (member_id) DO UPDATE SET sealed_secret = $2, last_used_step = $3, enrolled_at = $4",
            &[&member_id, &sealed, &step, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The account of a username: (member, password hash).
    pub async fn account(
        &self,
        username: &str,
    ) -> Result<Option<(Uuid, PasswordHash)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT member_id, password_phc FROM credentials.accounts WHERE username = $1",
                &[&username],
            )
            .await?;
        Ok(row.map(|r| (r.get(0), PasswordHash::from_stored(r.get(1)))))
    }

    /// The member's second factor and the last step used.
    pub async fn second_factor(
        &self,
        member_id: Uuid,
    ) -> Result<Option<(TotpSecret, Option<i64>)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT sealed_secret, last_used_step FROM credentials.second_factors WHERE member_id = $1",
                &[&member_id],
            )
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let sealed: Vec<u8> = r.get(0);
                let secret = self.seal.open(&sealed).map_err(|_| StoreError::Sealed)?;
                Ok(Some((TotpSecret::from_bytes(secret), r.get(1))))
            }
        }
    }

    /// Marks a code's step used; false when a concurrent sign-in used it first (a replay).
    pub async fn use_step(&self, member_id: Uuid, step: i64) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE credentials.second_factors SET last_used_step = $2
                 WHERE member_id = $1 AND (last_used_step IS NULL OR last_used_step < $2)",
                &[&member_id, &step],
            )
            .await?;
        Ok(n == 1)
    }

    /// Until when the member is locked out, if they are.
    pub async fn locked_until(
        &self,
        member_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT locked_until FROM credentials.lockouts WHERE member_id = $1 AND locked_until > $2",
                &[&member_id, &now],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Counts a failed sign-in; returns the lock-out it caused, if this failure was one
    /// too many.
    pub async fn record_failure(
        &self,
        member_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let until = now + Duration::minutes(LOCK_FOR_MINUTES);
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "INSERT INTO credentials.lockouts AS l (member_id, failures, locked_until) VALUES ($1, 1, NULL)
                 ON CONFLICT (member_id) DO UPDATE SET
                   failures = CASE WHEN l.locked_until IS NOT NULL AND l.locked_until <= $2 THEN 1 ELSE l.failures + 1 END,
                   locked_until = CASE WHEN l.locked_until IS NOT NULL AND l.locked_until <= $2 THEN NULL ELSE l.locked_until END
                 RETURNING failures",
                &[&member_id, &now],
            )
            .await?;
        let failures: i32 = row.get(0);
        if failures >= LOCK_AFTER_FAILURES {
            client
                .execute(
                    "UPDATE credentials.lockouts SET locked_until = $2, failures = 0 WHERE member_id = $1",
                    &[&member_id, &until],
                )
                .await?;
            return Ok(Some(until));
        }
        Ok(None)
    }

    /// A successful sign-in clears the failure count.
    pub async fn clear_failures(&self, member_id: Uuid) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "DELETE FROM credentials.lockouts WHERE member_id = $1",
                &[&member_id],
            )
            .await?;
        Ok(())
    }

    /// Opens a session and hands out its first refresh token.
    pub async fn open_session(
        &self,
        member_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(Uuid, String), StoreError> {
        let session_id = Uuid::now_v7();
        let refresh = new_token();
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO credentials.sessions (session_id, member_id, created_at) VALUES ($1, $2, $3)",
            &[&session_id, &member_id, &now],
        )
        .await?;
        tx.execute(
            "INSERT INTO credentials.refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
            &[&token_hash(&refresh), &session_id, &now],
        )
        .await?;
        tx.commit().await?;
        Ok((session_id, refresh))
    }

    /// Uses a refresh token: rotates it, or, when it was used before, revokes the whole
    /// session (someone holds a copy).
    pub async fn refresh(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT r.session_id, r.used_at, s.member_id, s.revoked_at
                 FROM credentials.refresh_tokens r JOIN credentials.sessions s USING (session_id)
                 WHERE r.token_hash = $1 FOR UPDATE",
                &[&token_hash(token)],
            )
            .await?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let session_id: Uuid = row.get(0);
        let used_at: Option<DateTime<Utc>> = row.get(1);
        let member_id: Uuid = row.get(2);
        let revoked_at: Option<DateTime<Utc>> = row.get(3);
        if revoked_at.is_some() {
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at.is_some() {
            tx.execute(
                "UPDATE credentials.sessions SET revoked_at = $2, revoked_reason = 'refresh_token_reused'
                 WHERE session_id = $1 AND revoked_at IS NULL",
                &[&session_id, &now],
            )
            .await?;
            tx.commit().await?;
            return Ok(RefreshOutcome::Reused {
                session_id,
                member_id,
            });
        }
        let next = new_token();
        tx.execute(
            "UPDATE credentials.refresh_tokens SET used_at = $2 WHERE token_hash = $1",
            &[&token_hash(token), &now],
        )
        .await?;
        tx.execute(
            "INSERT INTO credentials.refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
            &[&token_hash(&next), &session_id, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated {
            session_id,
            member_id,
            refresh_token: next,
        })
    }

    /// Ends one session; false when it had already ended.
    pub async fn revoke_session(
        &self,
        session_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "UPDATE credentials.sessions SET revoked_at = $2, revoked_reason = $3
                 WHERE session_id = $1 AND revoked_at IS NULL",
                &[&session_id, &now, &reason],
            )
            .await?;
        Ok(n == 1)
    }

    /// Ends every live session of a member; returns them.
    pub async fn revoke_all(
        &self,
        member_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "UPDATE credentials.sessions SET revoked_at = $2, revoked_reason = $3
                 WHERE member_id = $1 AND revoked_at IS NULL RETURNING session_id",
                &[&member_id, &now, &reason],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Whether a session is alive.
    pub async fn session_alive(&self, session_id: Uuid) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT 1 FROM credentials.sessions WHERE session_id = $1 AND revoked_at IS NULL",
                &[&session_id],
            )
            .await?;
        Ok(row.is_some())
    }

    /// The key that signs new tokens: the newest unretired one, made on first use.
    pub async fn signing_key(&self, now: DateTime<Utc>) -> Result<SigningKey, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT kid, sealed_seed FROM credentials.signing_keys WHERE retired_at IS NULL
                 ORDER BY created_at DESC LIMIT 1",
                &[],
            )
            .await?;
        if let Some(r) = row {
            return self.open_key(r.get(0), r.get(1));
        }
        drop(client);
        self.rotate_key(now).await
    }

    /// Makes a new signing key current and retires the others (they stay published until
    /// their tokens can no longer be alive).
    pub async fn rotate_key(&self, now: DateTime<Utc>) -> Result<SigningKey, StoreError> {
        let kid = format!(
            "{}-{}",
            now.format("%Y%m%d%H%M%S"),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let key = SigningKey::generate(kid);
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('credentials.signing_keys'))",
            &[],
        )
        .await?;
        tx.execute(
            "UPDATE credentials.signing_keys SET retired_at = $1 WHERE retired_at IS NULL",
            &[&now],
        )
        .await?;
        tx.execute(
            "INSERT INTO credentials.signing_keys (kid, sealed_seed, created_at) VALUES ($1, $2, $3)",
            &[&key.kid(), &self.seal.seal(key.seed()), &now],
        )
        .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// The JWKS: the current key and those retired less than `keep` ago.
    pub async fn jwks(&self, now: DateTime<Utc>, keep: Duration) -> Result<Jwks, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT kid, sealed_seed FROM credentials.signing_keys
                 WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC",
                &[&(now - keep)],
            )
            .await?;
        let mut keys = Vec::new();
        for r in rows {
            keys.push(self.open_key(r.get(0), r.get(1))?.public_jwk());
        }
        Ok(Jwks { keys })
    }

    fn open_key(&self, kid: String, sealed: Vec<u8>) -> Result<SigningKey, StoreError> {
        let seed = self.seal.open(&sealed).map_err(|_| StoreError::Sealed)?;
        let seed: [u8; 32] = seed.try_into().map_err(|_| StoreError::Sealed)?;
        Ok(SigningKey::from_seed(kid, seed))
    }
}

/// The username belongs to someone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsernameTaken;
