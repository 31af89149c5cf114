//! Bus endpoints: every read of the audit log is scoped by who asks (auditors the region,
//! the secretariat its municipality without clinical content, a site admin their own
//! staff) and recorded (`AuditLogRead`) before the answer leaves; if it cannot be
//! recorded, nothing is answered.

use std::sync::Arc;

use audit_api::endpoints as ep;
use audit_api::{
    AlertQuery, AuditEvent, AuditRecord, ConsistencyProof, Format, InclusionProof, LeakQuery,
    PatientReportQuery, ProofQuery, Reader, RecordKind, RecordPage, RecordQuery, RecordView,
    ReplayQuery, ReviewQuery, VerificationQuery, VerificationRun,
};
use audit_chain::{Digest, SignedCheckpoint};
use bus::{CallContext, Endpoint, Incoming, Reply};
use clock::SharedClock;
use deadpool_postgres::Pool;
use event_store::JetStreamStore;
use permissions::{Action, Caller, Relationship};
use problem::Problem;
use tokio_postgres::types::ToSql;

use crate::records::Pseudonyms;
pub use crate::scope::Scope;
use crate::{checkpointer, log, render, reports, verify};

/// Everything a handler needs.
pub struct Audit {
    pub store: JetStreamStore,
    pub pool: Pool,
    pub clock: SharedClock,
    pub pseudonyms: Pseudonyms,
}

/// A walk holds two advisory locks on its own connection while it runs: (WALK_LOCKS, 0)
/// says a walk is running somewhere, so every replica starts at most one between them;
/// (WALK_LOCKS, hash of its id) says which. A replica that stops mid-walk closes that
/// connection and so lets go of both, which is how a reader tells an abandoned walk from
/// a running one without trusting the replica to say so.
const WALK_LOCKS: i32 = 0x7473_7576;

/// The key of a run's own lock, kept positive so that it compares with `pg_locks.objid`.
const RUN_LOCK: &str = "(hashtext($2) & 2147483647)";

fn caller_of(ctx: &CallContext) -> Result<&Caller, Problem> {
    ctx.caller
        .as_ref()
        .ok_or_else(|| Problem::unauthenticated("sign in to read the audit log"))
}

/// The caller, when they read the whole region's log (auditors); 403 saying `refusal`
/// otherwise.
fn auditor<'a>(ctx: &'a CallContext, refusal: &str) -> Result<&'a Caller, Problem> {
    let caller = caller_of(ctx)?;
    if Scope::of(caller)? != Scope::Region {
        return Err(Problem::forbidden(refusal));
    }
    Ok(caller)
}

/// A stored run, or the latest.
async fn verification_run(
    client: &impl tokio_postgres::GenericClient,
    run_id: Option<&str>,
) -> Result<Option<VerificationRun>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT v.run_id, v.requested_by, v.tree_size, v.started_at, r.finished_at, r.report
             FROM verifications v LEFT JOIN verification_reports r USING (run_id)
             WHERE $1::text IS NULL OR v.run_id = $1
             ORDER BY v.started_at DESC, v.run_id DESC LIMIT 1",
            &[&run_id],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let report: Option<serde_json::Value> = row.get(5);
    let report: Option<audit_api::VerifyReport> =
        report.and_then(|r| serde_json::from_value(r).ok());
    let run_id: String = row.get(0);
    let state = if report.is_some() {
        "finished"
    } else if walk_is_running(client, &run_id).await? {
        "running"
    } else {
        "abandoned"
    };
    Ok(Some(VerificationRun {
        run_id,
        requested_by: row.get(1),
        tree_size: row.get::<_, i64>(2) as u64,
        started_at: row.get(3),
        state: state.into(),
        finished_at: row.get(4),
        report,
    }))
}

/// Waits (up to `seconds`) until `sql` finds the run's row: what was published on the
/// stream is then in the log's tables. Answers whether it came.
async fn wait_for_row(
    client: &tokio_postgres::Client,
    sql: &str,
    run_id: &str,
    seconds: u64,
) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        match client.query_opt(sql, &[&run_id]).await {
            Ok(Some(_)) => return true,
            Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            Err(_) => return false,
        }
    }
    false
}

/// Whether the walk `run_id` still holds its lock in this database.
async fn walk_is_running(
    client: &impl tokio_postgres::GenericClient,
    run_id: &str,
) -> Result<bool, tokio_postgres::Error> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                          AND d.datname = current_database()
                          AND l.classid = $1::int4::oid AND l.objid = {RUN_LOCK}::oid)"
    );
    let row = client.query_one(&sql, &[&WALK_LOCKS, &run_id]).await?;
    Ok(row.get(0))
}

fn db_problem(e: impl std::fmt::Debug) -> Problem {
    tracing::error!(error = ?e, "database failure");
    Problem::unavailable("the audit database is unavailable; try again")
}

impl Audit {
    /// Records a read of the log; the answer goes out only if this succeeded.
    async fn record_read(
        &self,
        ctx: &CallContext,
        caller: &Caller,
        query: &str,
        parameters: serde_json::Value,
        results: u64,
    ) -> Result<(), Problem> {
        let reader = Reader {
            member_id: caller.member_id.clone(),
            session_id: caller.session_id.clone(),
            roles: caller
                .subject
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            sites: caller.sites.clone(),
            municipality: caller.municipality.clone(),
        };
        checkpointer::publish(
            &self.store,
            &self.clock,
            audit_api::aggregates::AUDIT_READ,
            &token_of(&caller.member_id),
            AuditEvent::AuditLogRead {
                reader,
                query: query.to_owned(),
                parameters,
                results,
                client_address: ctx.client_address.clone(),
            },
            &ctx.actor,
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            tracing::error!(
                error = format!("{e:#}"),
                "an audit read could not be recorded; answer withheld"
            );
            Problem::unavailable("the read could not be recorded, so it is not answered; try again")
        })
    }

    async fn query_records(&self, ctx: &CallContext, q: RecordQuery) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        let scope = Scope::of(caller)?;
        let limit = check_limit(q.limit, 100, 1000)?;
        check_period(q.from, q.to)?;
        if matches!(q.format, Format::Html) {
            return Err(Problem::invalid_field(
                "/format",
                "records come as json, csv, ndjson or fhir",
            ));
        }
        let client = self.pool.get().await.map_err(db_problem)?;
        let mut filter = Filter::default();
        if let Some(id) = &q.patient_id {
            filter.and("r.patient = ", self.pseudonyms.of(id));
        }
        if let Some(m) = &q.member_id {
            filter.and("r.member_id = ", m.clone());
        }
        if let Some(s) = &q.session_id {
            filter.and("r.session_id = ", s.clone());
        }
        if let Some(site) = &q.site_id {
            filter.and_raw("r.sites @> ARRAY[", Box::new(site.clone()), "]::text[]");
        }
        if let Some(code) = &q.municipality {
            filter.and("r.municipality = ", code.clone());
        }
        if !q.kinds.is_empty() {
            let kinds: Vec<String> = q.kinds.iter().map(|k| k.as_str().to_owned()).collect();
            filter.and_raw("r.kind = ANY(", Box::new(kinds), ")");
        }
        if let Some(o) = &q.outcome {
            filter.and("r.outcome = ", o.clone());
        }
        if q.break_glass {
            filter.clauses.push("r.break_glass".into());
        }
        if let Some(from) = q.from {
            filter.and("r.at >= ", from);
        }
        if let Some(to) = q.to {
            filter.and("r.at < ", to);
        }
        if let Some(after) = q.after {
            let after = after.min(i64::MAX as u64) as i64;
            if q.newest_first {
                filter.and("r.seq < ", after);
            } else {
                filter.and("r.seq > ", after);
            }
        }
        filter.scope(&scope);
        filter.newest_first = q.newest_first;
        let (records, next_after) = filter
            .fetch(&**client, limit, &scope)
            .await
            .map_err(db_problem)?;
        let parameters = serde_json::json!({
            "patient": q.patient_id.as_deref().map(|id| self.pseudonyms.of(id)),
            "member_id": q.member_id, "session_id": q.session_id, "site_id": q.site_id,
            "municipality": q.municipality, "kinds": q.kinds, "outcome": q.outcome,
            "break_glass": q.break_glass, "from": q.from, "to": q.to, "after": q.after,
            "newest_first": q.newest_first,
            "limit": limit, "format": q.format,
        });
        self.record_read(
            ctx,
            caller,
            ep::QUERY_RECORDS,
            parameters,
            records.len() as u64,
        )
        .await?;
        let page = RecordPage {
            records,
            next_after,
        };
        Ok(match q.format {
            Format::Json => Reply::value(page),
            Format::Csv => Reply::value(render::csv(&page)),
            Format::Ndjson => Reply::value(render::ndjson(&page)),
            Format::Fhir => Reply::value(render::fhir(&page)),
            Format::Html => unreachable!("refused above"),
        })
    }

    async fn patient_report(
        &self,
        ctx: &CallContext,
        q: PatientReportQuery,
    ) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        let scope = Scope::of(caller)?;
        if matches!(scope, Scope::Staff(_)) {
            return Err(Problem::forbidden(
                "a patient's access report is for auditors and the patient's municipality",
            ));
        }
        check_period(q.from, q.to)?;
        if q.patient_id.trim().is_empty() || q.patient_id.len() > 128 {
            return Err(Problem::invalid_field(
                "/patient_id",
                "a patient id is 1 to 128 characters",
            ));
        }
        let client = self.pool.get().await.map_err(db_problem)?;
        let pseudonym = self.pseudonyms.of(&q.patient_id);
        let report = reports::patient_report(&**client, &pseudonym, &q, &scope)
            .await
            .map_err(db_problem)?;
        let parameters = serde_json::json!({ "patient": pseudonym, "from": q.from, "to": q.to, "format": q.format });
        self.record_read(
            ctx,
            caller,
            ep::PATIENT_REPORT,
            parameters,
            report.lines.len() as u64,
        )
        .await?;
        Ok(match q.format {
            Format::Json => Reply::value(report),
            Format::Csv => Reply::value(render::report_csv(&report)),
            Format::Html => Reply::value(render::report_html(&report)),
            Format::Ndjson | Format::Fhir => {
                return Err(Problem::invalid_field(
                    "/format",
                    "a report comes as json, csv or html",
                ));
            }
        })
    }

    async fn leak_report(&self, ctx: &CallContext, q: LeakQuery) -> Result<Reply, Problem> {
        let caller = auditor(ctx, "leak response is for auditors")?;
        check_period(q.from, q.to)?;
        if q.member_id.is_none() && q.session_id.is_none() {
            return Err(Problem::invalid_field(
                "/member_id",
                "name a member or a session",
            ));
        }
        let client = self.pool.get().await.map_err(db_problem)?;
        let report = reports::leak_report(&**client, &q)
            .await
            .map_err(db_problem)?;
        let parameters = serde_json::json!({ "member_id": q.member_id, "session_id": q.session_id, "from": q.from, "to": q.to });
        self.record_read(
            ctx,
            caller,
            ep::LEAK_REPORT,
            parameters,
            report.patients.len() as u64,
        )
        .await?;
        Ok(Reply::value(report))
    }

    async fn monthly_review(&self, ctx: &CallContext, q: ReviewQuery) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        match Scope::of(caller)? {
            Scope::Region => {}
            Scope::Municipality(code) if code == q.municipality => {}
            _ => {
                return Err(Problem::forbidden(
                    "a municipality's review is for auditors and its own secretariat",
                ));
            }
        }
        let (from, to) = reports::month_bounds(&q.month)
            .ok_or_else(|| Problem::invalid_field("/month", "a month is written YYYY-MM"))?;
        if q.municipality.len() != 6 || !q.municipality.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Problem::invalid_field(
                "/municipality",
                "a municipality code is 6 digits",
            ));
        }
        let client = self.pool.get().await.map_err(db_problem)?;
        let review = reports::monthly_review(&**client, &q.municipality, &q.month, from, to)
            .await
            .map_err(db_problem)?;
        let parameters = serde_json::json!({ "municipality": q.municipality, "month": q.month, "format": q.format });
        self.record_read(ctx, caller, ep::MONTHLY_REVIEW, parameters, review.accesses)
            .await?;
        Ok(match q.format {
            Format::Json => Reply::value(review),
            Format::Csv => Reply::value(render::review_csv(&review)),
            _ => {
                return Err(Problem::invalid_field(
                    "/format",
                    "a review comes as json or csv",
                ));
            }
        })
    }

    /// A verification run: the one asked for, or the latest.
    async fn verify(&self, ctx: &CallContext, q: VerificationQuery) -> Result<Reply, Problem> {
        let caller = auditor(ctx, "verifying the log is for auditors")?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let run = verification_run(&**client, q.run_id.as_deref())
            .await
            .map_err(db_problem)?
            .ok_or_else(|| match &q.run_id {
                Some(_) => Problem::not_found("no verification run has this id"),
                None => Problem::not_found(
                    "the log has not been verified yet: POST /api/v1/audit/verification starts a walk",
                ),
            })?;
        let walked = run.report.as_ref().map_or(0, |r| r.records);
        self.record_read(
            ctx,
            caller,
            ep::VERIFY,
            serde_json::json!({ "run_id": run.run_id }),
            walked,
        )
        .await?;
        Ok(Reply::value(run))
    }

    /// Starts a walk of the whole log and its checkpoints (held to the copies published on
    /// the stream) in the background; a large log takes minutes, longer than any request.
    /// One walk at a time between all replicas: asked again meanwhile, it answers the
    /// running one.
    async fn start_verification(self: &Arc<Self>, ctx: &CallContext) -> Result<Reply, Problem> {
        let caller = auditor(ctx, "verifying the log is for auditors")?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let free: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, 0)", &[&WALK_LOCKS])
            .await
            .map_err(db_problem)?
            .get(0);
        if !free {
            let run = verification_run(&**client, None)
                .await
                .map_err(db_problem)?
                .filter(|run| run.state == "running")
                // Its start is on the stream but not yet in the log's tables.
                .ok_or_else(|| {
                    Problem::conflict(
                        "verification-starting",
                        "another verification is being started; ask again in a moment",
                    )
                })?;
            let parameters = serde_json::json!({ "run_id": run.run_id });
            self.record_read(ctx, caller, ep::START_VERIFICATION, parameters, 0)
                .await?;
            return Ok(Reply::value(run));
        }
        // The walk's connection leaves the pool: closing it, however the walk ends, is what
        // lets go of its locks.
        let walker = deadpool_postgres::Object::take(client);
        let (tree_size, _) = log::head(&*walker).await.map_err(db_problem)?;
        let run = VerificationRun {
            run_id: uuid::Uuid::now_v7().to_string(),
            requested_by: caller.member_id.clone(),
            tree_size,
            started_at: self.clock.now(),
            state: "running".into(),
            finished_at: None,
            report: None,
        };
        walker
            .execute(
                &format!("SELECT pg_advisory_lock($1, {RUN_LOCK})"),
                &[&WALK_LOCKS, &run.run_id],
            )
            .await
            .map_err(db_problem)?;
        let parameters = serde_json::json!({ "run_id": run.run_id });
        self.record_read(ctx, caller, ep::START_VERIFICATION, parameters, 0)
            .await?;
        checkpointer::publish(
            &self.store,
            &self.clock,
            audit_api::aggregates::VERIFICATION,
            &run.run_id,
            AuditEvent::VerificationStarted {
                run_id: run.run_id.clone(),
                requested_by: run.requested_by.clone(),
                tree_size,
            },
            &ctx.actor,
        )
        .await
        .map_err(|e| {
            tracing::error!(
                error = format!("{e:#}"),
                "a verification could not be started"
            );
            Problem::unavailable("the verification could not be started; try again")
        })?;
        // Answer once the run is in the log's tables, so that its `Location` shows it at
        // once; a log far behind the stream answers sooner, and the run shows up later.
        let sql = "SELECT 1 FROM verifications WHERE run_id = $1";
        wait_for_row(&walker, sql, &run.run_id, 5).await;
        let audit = Arc::clone(self);
        let (run_id, actor) = (run.run_id.clone(), ctx.actor.clone());
        tokio::spawn(async move { audit.walk(walker, run_id, actor).await });
        Ok(Reply::value(run))
    }

    /// The walk behind [`Self::start_verification`], on the connection that holds its
    /// locks; its report is published on the stream, so every replica answers it.
    async fn walk(&self, walker: deadpool_postgres::ClientWrapper, run_id: String, actor: String) {
        let started = std::time::Instant::now();
        let walked = async {
            let published = verify::published(&self.store).await?;
            Ok::<_, crate::AuditError>(verify::verify_against(&*walker, Some(&published)).await?)
        }
        .await;
        let report = match walked {
            Ok(report) => report,
            Err(e) => {
                // Dropping the connection lets go of the locks: readers see `abandoned`.
                tracing::error!(run = %run_id, error = format!("{e:#}"), "a verification could not finish");
                return;
            }
        };
        tracing::info!(
            run = %run_id,
            records = report.records,
            intact = report.intact,
            seconds = started.elapsed().as_secs_f64(),
            "verification finished"
        );
        let finished = AuditEvent::VerificationFinished {
            run_id: run_id.clone(),
            report,
        };
        let aggregate = audit_api::aggregates::VERIFICATION;
        if let Err(e) = checkpointer::publish(
            &self.store,
            &self.clock,
            aggregate,
            &run_id,
            finished,
            &actor,
        )
        .await
        {
            tracing::error!(run = %run_id, error = format!("{e:#}"), "a verification's report could not be published");
            return;
        }
        // Hold the locks until the report is in the log's tables, so that no reader sees
        // the run between `running` and `finished` as abandoned.
        let sql = "SELECT 1 FROM verification_reports WHERE run_id = $1";
        if !wait_for_row(&walker, sql, &run_id, 60).await {
            tracing::warn!(run = %run_id, "a verification's report was published but is not in the log's tables yet");
        }
    }

    async fn checkpoints(&self, ctx: &CallContext) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        Scope::of(caller)?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let rows = client
            .query(
                "SELECT c.checkpoint, coalesce(k.public_key, '') FROM checkpoints c
                 LEFT JOIN signing_keys k ON k.key_id = c.key_id
                 ORDER BY c.tree_size DESC LIMIT 100",
                &[],
            )
            .await
            .map_err(db_problem)?;
        let list: Vec<audit_api::CheckpointView> = rows
            .iter()
            .filter_map(|r| {
                Some(audit_api::CheckpointView {
                    checkpoint: serde_json::from_str(&r.get::<_, String>(0)).ok()?,
                    public_key: r.get(1),
                })
            })
            .collect();
        self.record_read(
            ctx,
            caller,
            ep::CHECKPOINTS,
            serde_json::json!({}),
            list.len() as u64,
        )
        .await?;
        Ok(Reply::value(serde_json::json!({ "checkpoints": list })))
    }

    async fn checkpoint_of(
        client: &impl tokio_postgres::GenericClient,
        size: Option<u64>,
        field: &str,
    ) -> Result<SignedCheckpoint, Problem> {
        let row = match size {
            Some(size) => {
                client
                    .query_opt(
                        "SELECT checkpoint FROM checkpoints WHERE tree_size = $1",
                        &[&(size.min(i64::MAX as u64) as i64)],
                    )
                    .await
            }
            None => {
                client
                    .query_opt(
                        "SELECT checkpoint FROM checkpoints ORDER BY tree_size DESC LIMIT 1",
                        &[],
                    )
                    .await
            }
        }
        .map_err(db_problem)?
        .ok_or_else(|| {
            let detail = "no checkpoint of this size has been signed";
            Problem::not_found(detail).with_field(field, detail)
        })?;
        serde_json::from_str(&row.get::<_, String>(0)).map_err(|_| Problem::internal())
    }

    /// A record's proof, for a reader whose records query would show the record; anyone
    /// else is told there is no such record, as for a place no record holds.
    async fn inclusion_proof(&self, ctx: &CallContext, q: ProofQuery) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        let scope = Scope::of(caller)?;
        let seq = q
            .seq
            .ok_or_else(|| Problem::invalid_field("/seq", "name the record"))?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let checkpoint = Self::checkpoint_of(&**client, q.tree_size, "/tree_size").await?;
        let size = checkpoint.body.tree_size;
        let ranges = audit_chain::inclusion_ranges(seq, size).map_err(|_| {
            Problem::invalid_field("/seq", "the record is not under this checkpoint")
        })?;
        let mut filter = Filter::default();
        filter.and("r.seq = ", seq.min(i64::MAX as u64) as i64);
        filter.scope(&scope);
        let sql = format!(
            "SELECT r.record, r.leaf_hash FROM records r WHERE {}",
            filter.clauses.join(" AND ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = filter
            .params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let row = client
            .query_opt(&sql, &params)
            .await
            .map_err(db_problem)?
            .ok_or_else(|| {
                let detail = "no record you may read is at this place in the log";
                Problem::not_found(detail).with_field("/seq", detail)
            })?;
        let mut path = Vec::with_capacity(ranges.len());
        for range in ranges {
            path.push(
                log::range_hash(&**client, range)
                    .await
                    .map_err(db_problem)?,
            );
        }
        let record: Vec<u8> = row.get(0);
        let leaf =
            Digest::from_slice(&row.get::<_, Vec<u8>>(1)).map_err(|_| Problem::internal())?;
        self.record_read(
            ctx,
            caller,
            ep::INCLUSION_PROOF,
            serde_json::json!({"seq": seq, "tree_size": size}),
            1,
        )
        .await?;
        Ok(Reply::value(InclusionProof {
            seq,
            tree_size: size,
            record: scope
                .clinical()
                .then(|| String::from_utf8_lossy(&record).into_owned()),
            leaf_hash: leaf,
            path,
            checkpoint,
        }))
    }

    async fn consistency_proof(&self, ctx: &CallContext, q: ProofQuery) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        Scope::of(caller)?;
        let first_size = q.first.ok_or_else(|| {
            Problem::invalid_field("/first", "name the earlier checkpoint's size")
        })?;
        let client = self.pool.get().await.map_err(db_problem)?;
        let first = Self::checkpoint_of(&**client, Some(first_size), "/first").await?;
        let second = Self::checkpoint_of(&**client, q.tree_size, "/tree_size").await?;
        let ranges = audit_chain::consistency_ranges(first.body.tree_size, second.body.tree_size)
            .map_err(|_| {
            Problem::invalid_field(
                "/first",
                "the earlier checkpoint must not be larger than the later",
            )
        })?;
        let mut proof = Vec::with_capacity(ranges.len());
        for range in ranges {
            proof.push(
                log::range_hash(&**client, range)
                    .await
                    .map_err(db_problem)?,
            );
        }
        self.record_read(
            ctx,
            caller,
            ep::CONSISTENCY_PROOF,
            serde_json::json!({"first": first.body.tree_size, "tree_size": second.body.tree_size}),
            2,
        )
        .await?;
        Ok(Reply::value(ConsistencyProof {
            first,
            second,
            proof,
        }))
    }

    /// Every break-glass opening and every access it allowed: auditors see the region, the
    /// coordination centre its municipality (with the patient, never clinical content).
    async fn break_glass_alerts(&self, ctx: &CallContext, q: AlertQuery) -> Result<Reply, Problem> {
        let caller = caller_of(ctx)?;
        let allowed = |ties: &[Relationship]| {
            permissions::decide(&caller.subject, Action::ReadBreakGlassAlerts, ties).is_allowed()
        };
        let scope = if allowed(&[]) {
            Scope::Region
        } else if let Some(code) = caller
            .municipality
            .clone()
            .filter(|_| allowed(&[Relationship::OwnMunicipality]))
        {
            Scope::Municipality(code)
        } else {
            return Err(Problem::forbidden(
                "break-glass alerts are for the coordination centre and auditors",
            ));
        };
        let limit = check_limit(q.limit, 100, 1000)?;
        check_period(q.from, q.to)?;
        let mut filter = Filter::default();
        filter
            .clauses
            .push("(r.kind = 'break_glass_opened' OR r.break_glass)".into());
        if let Some(from) = q.from {
            filter.and("r.at >= ", from);
        }
        if let Some(to) = q.to {
            filter.and("r.at < ", to);
        }
        if let Some(after) = q.after {
            filter.and("r.seq > ", after.min(i64::MAX as u64) as i64);
        }
        filter.scope(&scope);
        let client = self.pool.get().await.map_err(db_problem)?;
        let (records, next_after) = filter
            .fetch(&**client, limit, &scope)
            .await
            .map_err(db_problem)?;
        self.record_read(
            ctx,
            caller,
            ep::BREAK_GLASS_ALERTS,
            serde_json::json!({ "from": q.from, "to": q.to, "after": q.after, "limit": limit }),
            records.len() as u64,
        )
        .await?;
        Ok(Reply::value(RecordPage {
            records,
            next_after,
        }))
    }

    async fn replay(&self, ctx: &CallContext, q: ReplayQuery) -> Result<Reply, Problem> {
        let caller = auditor(ctx, "replaying raw events is for auditors")?;
        check_period(q.from, q.to)?;
        let limit = check_limit(q.limit, 200, 1000)?;
        let rendered = reports::replay(&self.store, &q, limit).await.map_err(|e| {
            tracing::error!(error = format!("{e:#}"), "replay failed");
            Problem::unavailable("the audit stream is unavailable; try again")
        })?;
        let lines = rendered.body.lines().count() as u64;
        self.record_read(
            ctx,
            caller,
            ep::REPLAY,
            serde_json::json!({"from": q.from, "to": q.to, "after": q.after, "limit": limit}),
            lines,
        )
        .await?;
        Ok(Reply::value(rendered))
    }
}

/// A subject token for the reader's aggregate (`operator:bootstrap` and the like).
fn token_of(member_id: &str) -> String {
    let token: String = member_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(128)
        .collect();
    if token.is_empty() {
        "unknown".into()
    } else {
        token
    }
}

fn check_limit(limit: Option<u32>, default: u32, max: u32) -> Result<i64, Problem> {
    match limit {
        None => Ok(default as i64),
        Some(n) if (1..=max).contains(&n) => Ok(n as i64),
        Some(_) => Err(Problem::invalid_field(
            "/limit",
            format!("a page holds 1 to {max}"),
        )),
    }
}

fn check_period(
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(), Problem> {
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(Problem::invalid_field(
            "/to",
            "the period ends after it starts",
        ));
    }
    Ok(())
}

type Param = Box<dyn ToSql + Sync + Send>;

/// A WHERE clause built from optional filters, with its parameters.
#[derive(Default)]
struct Filter {
    clauses: Vec<String>,
    params: Vec<Param>,
    /// Read from the newest record back (`after` is then an upper bound).
    newest_first: bool,
}

impl Filter {
    fn and<T: ToSql + Sync + Send + 'static>(&mut self, prefix: &str, value: T) {
        self.params.push(Box::new(value));
        self.clauses.push(format!("{prefix}${}", self.params.len()));
    }

    fn and_raw(&mut self, prefix: &str, value: Param, suffix: &str) {
        self.params.push(value);
        self.clauses
            .push(format!("{prefix}${}{suffix}", self.params.len()));
    }

    fn scope(&mut self, scope: &Scope) {
        match scope {
            Scope::Region => {}
            Scope::Municipality(code) => self.and("r.municipality = ", code.clone()),
            Scope::Staff(sites) => self.and_raw("r.sites && ", Box::new(sites.clone()), "::text[]"),
        }
    }

    /// One page by `seq`, and where the next starts.
    async fn fetch(
        self,
        client: &impl tokio_postgres::GenericClient,
        limit: i64,
        scope: &Scope,
    ) -> Result<(Vec<RecordView>, Option<u64>), tokio_postgres::Error> {
        let where_ = if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT r.seq, r.record, r.chain_hash, p.patient_id FROM records r
             LEFT JOIN patients p ON p.pseudonym = r.patient
             {where_} ORDER BY r.seq {} LIMIT {}",
            if self.newest_first { "DESC" } else { "ASC" },
            limit + 1
        );
        let params: Vec<&(dyn ToSql + Sync)> = self
            .params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&sql, &params).await?;
        let more = rows.len() as i64 > limit;
        let mut views = Vec::new();
        for row in rows.iter().take(limit as usize) {
            if let Some(view) = view_of(row.get(1), row.get(2), row.get(3), scope) {
                views.push(view);
            } else {
                tracing::warn!(
                    seq = row.get::<_, i64>(0),
                    "a stored record is unreadable; run audit verify"
                );
            }
        }
        let next_after = more
            .then(|| {
                rows.get(limit as usize - 1)
                    .map(|r| r.get::<_, i64>(0) as u64)
            })
            .flatten();
        name_views(client, &mut views, scope).await?;
        Ok((views, next_after))
    }
}

/// Names each record's member and sites, as `scope` may see them.
async fn name_views(
    client: &impl tokio_postgres::GenericClient,
    views: &mut [RecordView],
    scope: &Scope,
) -> Result<(), tokio_postgres::Error> {
    let members: Vec<String> = views
        .iter()
        .filter_map(|v| v.record.member_id.clone())
        .collect();
    let sites: Vec<String> = views
        .iter()
        .flat_map(|v| v.record.sites.iter().cloned())
        .collect();
    let names = crate::names::Names::of(client, &members, &sites).await?;
    for view in views {
        view.member = view
            .record
            .member_id
            .as_deref()
            .map(|id| names.member(id, scope));
        view.site_names = view
            .record
            .sites
            .iter()
            .map(|id| names.site(id, scope))
            .collect();
    }
    Ok(())
}

/// A stored record as a reader in `scope` sees it.
pub fn view_of(
    record: Vec<u8>,
    chain_hash: Vec<u8>,
    patient_id: Option<String>,
    scope: &Scope,
) -> Option<RecordView> {
    let mut record: AuditRecord = serde_json::from_slice(&record).ok()?;
    if !scope.clinical() {
        record.categories.clear();
        record.resources.clear();
        if record.kind == RecordKind::PatientAccess {
            record.reason = serde_json::Value::Null;
        }
    }
    Some(RecordView {
        record,
        member: None,
        site_names: Vec::new(),
        patient_id: patient_id.filter(|_| scope.sees_patient_ids()),
        chain_hash: Digest::from_slice(&chain_hash).ok()?,
    })
}

/// Every endpoint the service answers.
pub const ENDPOINTS: &[&str] = &[
    ep::QUERY_RECORDS,
    ep::PATIENT_REPORT,
    ep::LEAK_REPORT,
    ep::MONTHLY_REVIEW,
    ep::VERIFY,
    ep::START_VERIFICATION,
    ep::CHECKPOINTS,
    ep::INCLUSION_PROOF,
    ep::CONSISTENCY_PROOF,
    ep::BREAK_GLASS_ALERTS,
    ep::REPLAY,
];

/// The endpoints, all answered by [`Audit`] (see `host::Service`).
pub fn endpoints(audit: Arc<Audit>) -> Vec<Endpoint> {
    host::endpoints(audit, ENDPOINTS)
}

impl host::Service for Audit {
    async fn handle(
        self: Arc<Self>,
        endpoint: &'static str,
        i: Incoming,
    ) -> Result<Reply, Problem> {
        let ctx = &i.ctx;
        match endpoint {
            ep::QUERY_RECORDS => self.query_records(ctx, i.json()?).await,
            ep::PATIENT_REPORT => self.patient_report(ctx, i.json()?).await,
            ep::LEAK_REPORT => self.leak_report(ctx, i.json()?).await,
            ep::MONTHLY_REVIEW => self.monthly_review(ctx, i.json()?).await,
            ep::VERIFY => self.verify(ctx, i.json()?).await,
            ep::START_VERIFICATION => self.start_verification(ctx).await,
            ep::CHECKPOINTS => self.checkpoints(ctx).await,
            ep::INCLUSION_PROOF => self.inclusion_proof(ctx, i.json()?).await,
            ep::CONSISTENCY_PROOF => self.consistency_proof(ctx, i.json()?).await,
            ep::BREAK_GLASS_ALERTS => self.break_glass_alerts(ctx, i.json()?).await,
            ep::REPLAY => self.replay(ctx, i.json()?).await,
            _ => Err(Problem::not_found("no such endpoint")),
        }
    }
}
