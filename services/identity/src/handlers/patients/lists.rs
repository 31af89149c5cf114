//! Lists of patients: a member's own (the patients whose team they are on) and a
//! municipality's, for its secretariat. A list is many reads, one per patient shown, each
//! through the same access decision as a single read and recorded the same way: listing a
//! patient's name is reading it.

use consent::{AccessDecision, CategorySet, ConsentStatus, Purpose, Reach};
use identity_api::municipalities::{MAX_PAGE, Page};
use permissions::Role;

use super::*;

const DEFAULT_PAGE: u32 = 50;

fn page_size(limit: Option<u32>) -> Result<u32, Problem> {
    match limit.unwrap_or(DEFAULT_PAGE) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(Problem::invalid_field(
            "/limit",
            format!("a page holds 1 to {MAX_PAGE} items"),
        )),
    }
}

fn cursor(after: Option<String>) -> Result<Option<String>, Problem> {
    after
        .map(|a| {
            patient_id(&a).map_err(|_| Problem::invalid_field("/after", "a patient id (a UUID)"))
        })
        .transpose()
}

impl Identity {
    /// Waits until the care projection has applied what the caller last wrote
    /// (`Tsunagu-Min-Position`), so a seat just given shows on the list at once.
    async fn care_caught_up(&self, ctx: &CallContext) -> Result<(), Problem> {
        let Some(position) = &ctx.min_position else {
            return Ok(());
        };
        if position.stream != self.store.stream_name(CONTEXT) {
            return Ok(());
        }
        projection_runner::wait_for_position(
            &self.pool,
            care::SCHEMA,
            position.sequence,
            self.read_wait,
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            projection_runner::RunnerError::Lagging { .. } => Problem::timeout(
                "the patient register has not caught up with your last change yet; try again",
            ),
            other => db_problem(other),
        })
    }

    pub(super) async fn list_my_patients(
        &self,
        ctx: &CallContext,
        q: ListMyPatients,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let Asker::Member(caller) = asker else {
            return Err(Problem::forbidden(
                "the operator is on no care team; read a patient by id",
            ));
        };
        let limit = page_size(q.limit)?;
        let after = cursor(q.after)?;
        self.care_caught_up(ctx).await?;
        let candidates = records::team_candidates(
            &self.pool,
            &caller.sites,
            &caller.member_id,
            after.as_deref(),
            limit,
        )
        .await
        .map_err(db_problem)?;
        let full = candidates.len() == limit as usize;
        let now = self.clock.now();
        let mut items = Vec::new();
        for id in &candidates {
            let current = self.current(id).await?;
            // The caller's seats held now: one naming them, or a whole site's at a site of
            // theirs (a seat naming a colleague is the colleague's, as the decision has it).
            // A seat ended, or another's, is not "my patient".
            let parts: Vec<_> = current
                .facts
                .team
                .iter()
                .filter(|seat| {
                    seat.held_at(now)
                        && match &seat.member {
                            Some(m) => *m == caller.member_id,
                            None => caller.sites.iter().any(|s| s == seat.site.as_str()),
                        }
                })
                .map(|seat| seat.part)
                .collect();
            if parts.is_empty() {
                continue;
            }
            let reach = Reach::ReadClinical {
                categories: CategorySet::ALL,
            };
            let decided = self.decide_access(&asker, id, current, reach, &[Purpose::Care], false);
            let personal = match &decided.decision {
                AccessDecision::Allowed { .. } => self.summary(id, &decided).await?,
                AccessDecision::Denied { .. } => None,
            };
            let resources = if personal.is_some() {
                vec!["personal".to_owned()]
            } else {
                Vec::new()
            };
            self.record_access(ctx, &asker, id, &decided, resources, ep::LIST_MY_PATIENTS)
                .await?;
            items.push(MyPatient {
                patient_id: id.clone(),
                home_municipality: decided.facts.home_municipality.clone().unwrap_or_default(),
                parts,
                withheld: decided.decision.reason().map(|r| r.as_str().to_owned()),
                personal,
                care_ended_at: decided.facts.care_ended_at,
            });
        }
        Ok(Reply::value(Page {
            items,
            next_after: full.then(|| candidates.last().cloned()).flatten(),
        }))
    }

    /// Name, reading and date of birth, opened with the patient's key (none once erased).
    pub(super) async fn summary(
        &self,
        id: &str,
        decided: &Decided,
    ) -> Result<Option<PatientSummary>, Problem> {
        let Some(row) = decided.row.as_ref().filter(|r| r.erased_at.is_none()) else {
            return Ok(None);
        };
        let key = match self
            .credentials
            .patient_key(uuid_of(id)?)
            .await
            .map_err(key_problem)?
        {
            PatientKey::Live(k) => k,
            _ => return Ok(None),
        };
        let registered: Option<PatientPersonal> = sealing::open_as(
            Some(&key),
            row.personal_sealed.as_deref(),
            id,
            "PatientRegistered",
        );
        Ok(registered.map(|p| PatientSummary {
            name: p.name,
            name_kana: p.name_kana,
            date_of_birth: p.date_of_birth,
        }))
    }

    pub(super) async fn list_municipality_patients(
        &self,
        ctx: &CallContext,
        q: ListMunicipalityPatients,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let own = match asker {
            Asker::Bootstrap => true,
            Asker::Member(c) => {
                c.subject.has_role(Role::Operator)
                    || (c.subject.has_role(Role::MunicipalSecretariat)
                        && c.municipality.as_deref() == Some(q.municipality.as_str()))
            }
        };
        if !own {
            return Err(Problem::forbidden(
                "only the municipality's secretariat lists its patients",
            ));
        }
        let limit = page_size(q.limit)?;
        let after = cursor(q.after)?;
        self.care_caught_up(ctx).await?;
        let candidates =
            records::municipality_patients(&self.pool, &q.municipality, after.as_deref(), limit)
                .await
                .map_err(db_problem)?;
        let full = candidates.len() == limit as usize;
        let mut items = Vec::new();
        for id in &candidates {
            let current = self.current(id).await?;
            if q.waiting
                && !current
                    .facts
                    .consents
                    .iter()
                    .any(|v| v.status == ConsentStatus::Pending)
            {
                continue;
            }
            let decided = self.decide_access(
                &asker,
                id,
                current,
                Reach::Registration,
                &[Purpose::Administration],
                false,
            );
            let view = decided
                .decision
                .is_allowed()
                .then(|| registration_view(id, &decided, decided.at))
                .transpose()?;
            self.record_access(
                ctx,
                &asker,
                id,
                &decided,
                vec!["registration".to_owned()],
                ep::LIST_MUNICIPALITY_PATIENTS,
            )
            .await?;
            items.extend(view);
        }
        Ok(Reply::value(Page {
            items,
            next_after: full.then(|| candidates.last().cloned()).flatten(),
        }))
    }
}
