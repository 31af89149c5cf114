//! Patient data another service holds (messaging's posts), decided here: the same decision
//! as identity's own reads and writes, on the same fresh facts, recorded the same way before
//! anything is sealed or opened. See `identity_api::patient_access`.

use consent::{AccessDecision, Purpose};
use identity_api::patient_access::{
    AccessAsked, Author, PatientAccess, PatientAccessAnswer, PatientTerms, SearchTerms,
    SearchTermsAnswer, search_context,
};

use super::*;

impl Identity {
    pub(super) async fn patient_access(
        &self,
        ctx: &CallContext,
        q: PatientAccess,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let id = patient_id(&q.patient_id)?;
        let reach = match &q.asked {
            AccessAsked::Read { categories } if categories.is_empty() => {
                return Err(Problem::invalid_field(
                    "/categories",
                    "ask for at least one category",
                ));
            }
            AccessAsked::Read { categories } => Reach::ReadClinical {
                categories: CategorySet::of(categories),
            },
            AccessAsked::Write { category } => Reach::WriteClinical {
                categories: CategorySet::from(*category),
            },
            AccessAsked::Registration => Reach::Registration,
        };
        let current = self.current(&id).await?;
        let decided = self.decide_access(&asker, &id, current, reach, &[q.purpose], false);
        self.record_access(ctx, &asker, &id, &decided, q.resources, &q.route)
            .await?;
        let (basis, allowed) = match &decided.decision {
            AccessDecision::Allowed { basis, categories } => (basis, *categories),
            AccessDecision::Denied { reason } => {
                return Err(refusal(&asker, &decided.facts, *reason));
            }
        };
        let erased_row = decided.row.as_ref().is_some_and(|r| r.erased_at.is_some());
        let key = self
            .credentials
            .patient_key(uuid_of(&id)?)
            .await
            .map_err(key_problem)?;
        let key = if erased_row {
            None
        } else if q.seal.is_empty() {
            match key {
                PatientKey::Live(k) => Some(k),
                _ => None,
            }
        } else {
            self.sealing_key(&id, &key).await?
        };
        if key.is_none() && !q.seal.is_empty() {
            return Err(erased());
        }
        let context = seal_context(&id, &q.context);
        let sealed = match &key {
            Some(key) => q
                .seal
                .iter()
                .map(|text| key.seal(&context, text.as_bytes()))
                .collect(),
            None => Vec::new(),
        };
        let opened = q
            .open
            .iter()
            .map(|text| {
                let key = key.as_ref().filter(|_| allowed.contains(text.category))?;
                let bytes = key.open(&context, &text.sealed).ok()?;
                String::from_utf8(bytes).ok()
            })
            .collect();
        let site = match (basis, &asker) {
            (Basis::Consent { site, .. }, _) => Some(site.as_str().to_owned()),
            (_, Asker::Member(caller)) => caller.sites.first().cloned(),
            (_, Asker::Bootstrap) => None,
        };
        let author = self.author(&asker, site).await?;
        let team = if q.roster {
            self.roster(&decided.facts, decided.at).await?
        } else {
            Vec::new()
        };
        // Terms are keyed only with what is sealed, and only while the key lives.
        let indexed = match (&key, q.seal.is_empty()) {
            (Some(key), false) => {
                let context = search_context(&id);
                q.index.iter().map(|t| key.term(&context, t)).collect()
            }
            _ => Vec::new(),
        };
        let patient_name = if q.name {
            self.summary(&id, &decided).await?.map(|s| s.name)
        } else {
            None
        };
        Ok(Reply::value(PatientAccessAnswer {
            patient_name,
            categories: allowed.iter().collect(),
            home_municipality: decided.facts.home_municipality.clone(),
            author,
            sealed,
            opened,
            team,
            indexed,
        }))
    }

    /// A search's terms, keyed for each patient whose team the member sits on now and whose
    /// consent lets them read for care. Nothing of the patients is read here, so nothing is
    /// recorded; what the search finds is opened through `patient_access`, and recorded there.
    pub(super) async fn search_terms(
        &self,
        ctx: &CallContext,
        q: SearchTerms,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let Asker::Member(caller) = asker else {
            return Ok(Reply::value(SearchTermsAnswer {
                patients: Vec::new(),
            }));
        };
        let mut patients = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = records::team_candidates(
                &self.pool,
                &caller.sites,
                &caller.member_id,
                after.as_deref(),
                500,
            )
            .await
            .map_err(db_problem)?;
            for id in &page {
                let current = self.current(id).await?;
                let reach = Reach::ReadClinical {
                    categories: CategorySet::ALL,
                };
                let decided =
                    self.decide_access(&asker, id, current, reach, &[Purpose::Care], false);
                if !matches!(decided.decision, AccessDecision::Allowed { .. })
                    || decided.row.as_ref().is_some_and(|r| r.erased_at.is_some())
                {
                    continue;
                }
                let PatientKey::Live(key) = self
                    .credentials
                    .patient_key(uuid_of(id)?)
                    .await
                    .map_err(key_problem)?
                else {
                    continue;
                };
                let context = search_context(id);
                patients.push(PatientTerms {
                    patient_id: id.clone(),
                    terms: q.terms.iter().map(|t| key.term(&context, t)).collect(),
                });
            }
            if page.len() < 500 {
                break;
            }
            after = page.last().cloned();
        }
        Ok(Reply::value(SearchTermsAnswer { patients }))
    }

    /// Everyone seated on the team at `at`: a seat's named member, or every active member
    /// working at a seat's site; each once, with the first seat's site that holds them.
    async fn roster(
        &self,
        facts: &PatientAccessFacts,
        at: DateTime<Utc>,
    ) -> Result<Vec<Author>, Problem> {
        let seats: Vec<_> = facts.team.iter().filter(|s| s.held_at(at)).collect();
        let sites: Vec<String> = seats.iter().map(|s| s.site.as_str().to_owned()).collect();
        if sites.is_empty() {
            return Ok(Vec::new());
        }
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let rows = client
            .query(
                "SELECT m.member_id, m.name, m.profession, s.site_id, s.name
                   FROM register.members m
                   JOIN register.sites s ON s.site_id = ANY(m.sites)
                  WHERE m.status = 'active' AND s.site_id = ANY($1)
                  ORDER BY m.reading_key, m.member_id, s.site_id",
                &[&sites],
            )
            .await
            .map_err(db_problem)?;
        let mut team: Vec<Author> = Vec::new();
        for row in rows {
            let member_id: String = row.get(0);
            let site_id: String = row.get(3);
            let seated = seats.iter().any(|s| {
                s.site.as_str() == site_id
                    && s.member.as_ref().is_none_or(|m| m.as_str() == member_id)
            });
            if seated && !team.iter().any(|a| a.member_id == member_id) {
                team.push(Author {
                    member_id,
                    name: row.get(1),
                    profession: row.get(2),
                    site_id: Some(site_id),
                    site_name: row.get(4),
                });
            }
        }
        Ok(team)
    }

    /// The asker as colleagues know them, for a service that shows writers by name.
    pub(super) async fn who_asks(
        &self,
        ctx: &CallContext,
        q: identity_api::colleagues::WhoAsks,
    ) -> Result<Reply, Problem> {
        let asker = asker(ctx)?;
        let site = match asker {
            Asker::Member(caller) => q
                .site
                .filter(|s| caller.sites.contains(s))
                .or_else(|| caller.sites.first().cloned()),
            Asker::Bootstrap => None,
        };
        Ok(Reply::value(self.author(&asker, site).await?))
    }

    /// A member of the asker's coordination centre, by name (for an assignment).
    pub(super) async fn centre_staff(
        &self,
        ctx: &CallContext,
        q: identity_api::colleagues::CentreStaff,
    ) -> Result<Reply, Problem> {
        let municipality = match asker(ctx)? {
            Asker::Member(caller) => caller.municipality.clone(),
            Asker::Bootstrap => None,
        };
        let no_such = || Problem::not_found("no member of your coordination centre has this id");
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let row = client
            .query_opt(
                "SELECT m.name, m.profession, m.sites[1], s.name
                   FROM register.members m
                   LEFT JOIN register.sites s ON s.site_id = m.sites[1]
                  WHERE m.member_id = $1 AND m.status = 'active'
                    AND 'coordination_centre_staff' = ANY(m.roles)
                    AND ($2::text IS NULL OR m.municipality = $2)",
                &[&q.member_id, &municipality],
            )
            .await
            .map_err(db_problem)?
            .ok_or_else(no_such)?;
        let author = Author {
            member_id: q.member_id,
            name: row.get(0),
            profession: row.get(1),
            site_id: row.get(2),
            site_name: row.get(3),
        };
        Ok(Reply::value(author))
    }

    /// The asker as colleagues know them: name, profession and the site they act for.
    async fn author(&self, asker: &Asker<'_>, site: Option<String>) -> Result<Author, Problem> {
        let member_id = asker.id();
        let client = self
            .pool
            .get()
            .await
            .map_err(|_| Problem::unavailable("the database is unavailable"))?;
        let row = client
            .query_opt(
                "SELECT m.name, m.profession, s.name
                   FROM (SELECT 1) one
                   LEFT JOIN register.members m ON m.member_id = $1
                   LEFT JOIN register.sites s ON s.site_id = $2",
                &[&member_id, &site],
            )
            .await
            .map_err(db_problem)?;
        let (name, profession, site_name) = match row {
            Some(r) => (
                r.get::<_, Option<String>>(0),
                r.get::<_, Option<String>>(1),
                r.get::<_, Option<String>>(2),
            ),
            None => (None, None, None),
        };
        Ok(Author {
            name: name.unwrap_or_else(|| match asker {
                Asker::Bootstrap => "運用者".to_owned(),
                Asker::Member(_) => "（名前未登録）".to_owned(),
            }),
            member_id,
            profession,
            site_name: site_name.filter(|_| site.is_some()),
            site_id: site,
        })
    }
}
