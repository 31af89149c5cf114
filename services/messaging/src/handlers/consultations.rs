//! Consultations: a member asks the coordination centre of their municipality; the centre's
//! staff answer, assign and close; the asker writes back and closes. A patient named is
//! decided by identity & consent when the consultation is opened (the asker must be allowed
//! to read them) and again for each reader, who sees the name only where allowed; every such
//! decision is recorded.

use bus::{CallContext, Reply};
use consent::Purpose;
use event_store::{ExpectedVersion, Visibility};
use identity_api::colleagues::{CENTRE_STAFF, CentreStaff};
use identity_api::patient_access::{AccessAsked, PatientAccess};
use messaging_api::aggregates;
use messaging_api::consultations::{
    AssignConsultation, ConsultationAnswer, ConsultationMessageView, ConsultationPatient,
    ConsultationRef, ConsultationSummary, ConsultationView, ConsultationsPage, ListConsultations,
    NewConsultation, WriteInConsultation,
};
use messaging_api::endpoints as ep;
use messaging_api::events::MessagingEvent;
use permissions::Role;
use problem::Problem;
use uuid::Uuid;

use super::{
    Messaging, after_id, asking, author_of, cut, db_problem, nobody, page_limit, path_id, person_in,
};
use crate::domain::consultation;
use crate::projections::consultations::SCHEMA;

/// A consultation as its row holds it.
struct Stored {
    summary: ConsultationSummary,
    municipality: String,
    patient_id: Option<String>,
    opener: String,
    sequence: u64,
}

const COLUMNS: &str = "consultation_id, municipality, subject, patient_id, opened_by, opener_id,
                       assignee, open, opened_at, updated_at, sequence";

fn stored(row: &tokio_postgres::Row) -> Stored {
    let patient_id: Option<String> = row.get(3);
    Stored {
        summary: ConsultationSummary {
            consultation_id: row.get(0),
            subject: row.get(2),
            opened_by: person_in(row.get(4)).unwrap_or_else(nobody),
            assignee: person_in(row.get(6)),
            open: row.get(7),
            names_patient: patient_id.is_some(),
            opened_at: row.get(8),
            updated_at: row.get(9),
        },
        municipality: row.get(1),
        patient_id,
        opener: row.get(5),
        sequence: u64::try_from(row.get::<_, i64>(10)).unwrap_or(0),
    }
}

fn no_such_consultation() -> Problem {
    Problem::not_found("no such consultation")
}

fn closed() -> Problem {
    Problem::conflict("consultation-closed", "the consultation is closed")
}

impl Messaging {
    /// The consultation, if the caller takes part (the operator's own credential: any).
    async fn consultation(
        &self,
        ctx: &CallContext,
        id: &str,
        settle: bool,
    ) -> Result<Stored, Problem> {
        let id = path_id(id, "consultation")?;
        if settle {
            self.settled_in(SCHEMA).await?;
        }
        let row = self
            .row_of(
                SCHEMA,
                &format!(
                    "SELECT {COLUMNS} FROM consultations.consultations WHERE consultation_id = $1"
                ),
                &[&id],
            )
            .await?;
        row.as_ref()
            .map(stored)
            .filter(|c| {
                ctx.caller
                    .as_ref()
                    .is_none_or(|me| consultation::takes_part(me, &c.municipality, &c.opener))
            })
            .ok_or_else(no_such_consultation)
    }

    fn answers_for_centre(ctx: &CallContext, c: &Stored) -> bool {
        ctx.caller
            .as_ref()
            .is_none_or(|me| consultation::for_centre(me, &c.municipality))
    }

    async fn append_consultation(
        &self,
        ctx: &CallContext,
        c: (&str, &str),
        expected: ExpectedVersion,
        event: MessagingEvent,
        open: bool,
    ) -> Result<Reply, Problem> {
        let (id, municipality) = c;
        let (position, _) = self
            .append_as(
                ctx,
                Visibility::Municipality,
                aggregates::CONSULTATION,
                id,
                expected,
                event,
                Some(municipality.to_owned()),
            )
            .await?;
        Ok(Reply::written(
            ConsultationAnswer {
                consultation_id: id.to_owned(),
                open,
            },
            position,
        ))
    }

    pub(super) async fn open_consultation(
        &self,
        ctx: &CallContext,
        c: NewConsultation,
    ) -> Result<Reply, Problem> {
        let subject = consultation::subject(&c.subject)
            .map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let text =
            consultation::text(&c.text).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let Some(municipality) = ctx.caller.as_ref().and_then(|me| me.municipality.clone()) else {
            return Err(Problem::forbidden(
                "a consultation is opened by a member of a municipality",
            ));
        };
        let id = Uuid::now_v7().to_string();
        // Naming a patient is a read of their registration, decided and recorded.
        let patient_id = match c.patient_id.as_deref() {
            None => None,
            Some(raw) => {
                let patient = path_id(raw, "patient")?;
                self.access(
                    ctx,
                    asking(
                        patient.clone(),
                        AccessAsked::Registration,
                        Purpose::Care,
                        vec![format!("consultation:{id}")],
                        ep::OPEN_CONSULTATION,
                    ),
                )
                .await?;
                Some(patient)
            }
        };
        let by = self.author(ctx).await?;
        self.append_consultation(
            ctx,
            (&id, &municipality),
            ExpectedVersion::NoStream,
            MessagingEvent::ConsultationOpened {
                consultation_id: id.clone(),
                municipality: municipality.clone(),
                subject,
                text,
                patient_id,
                by,
            },
            true,
        )
        .await
    }

    pub(super) async fn list_consultations(
        &self,
        ctx: &CallContext,
        q: ListConsultations,
    ) -> Result<Reply, Problem> {
        let limit = page_limit(q.limit)?;
        let after = after_id(q.after.as_deref())?;
        self.caught_up_in(ctx, SCHEMA).await?;
        let caller = ctx.caller.as_ref();
        let everywhere = caller.is_none_or(|c| c.subject.has_role(Role::Operator));
        let centre_of = caller
            .filter(|c| c.subject.has_role(Role::CoordinationCentreStaff))
            .and_then(|c| c.municipality.clone());
        let me = Self::me(ctx);
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM consultations.consultations
                      WHERE ($1 OR municipality = $2 OR opener_id = $3)
                        AND ($4::text IS NULL OR consultation_id < $4)
                      ORDER BY consultation_id DESC LIMIT $5"
                ),
                &[
                    &everywhere,
                    &centre_of,
                    &me,
                    &after,
                    &(i64::from(limit) + 1),
                ],
            )
            .await
            .map_err(db_problem)?;
        let (rows, next_after) = cut(&rows, limit);
        let items = rows.iter().map(|r| stored(r).summary).collect();
        Ok(Reply::value(ConsultationsPage { items, next_after }))
    }

    pub(super) async fn read_consultation(
        &self,
        ctx: &CallContext,
        q: ConsultationRef,
    ) -> Result<Reply, Problem> {
        self.caught_up_in(ctx, SCHEMA).await?;
        let c = self.consultation(ctx, &q.consultation_id, false).await?;
        // The patient's name only where this reader's own decision allows it (recorded).
        let patient = match &c.patient_id {
            None => None,
            Some(patient_id) => {
                let decided = self
                    .access(
                        ctx,
                        PatientAccess {
                            name: true,
                            ..asking(
                                patient_id.clone(),
                                AccessAsked::Registration,
                                Purpose::Care,
                                vec![format!("consultation:{}", c.summary.consultation_id)],
                                ep::READ_CONSULTATION,
                            )
                        },
                    )
                    .await;
                let name = match decided {
                    Ok(answer) => answer.patient_name,
                    Err(p) if matches!(p.status, 403 | 404 | 409) => None,
                    Err(p) => return Err(p),
                };
                Some(ConsultationPatient {
                    patient_id: patient_id.clone(),
                    name,
                })
            }
        };
        let rows = self
            .pool
            .get()
            .await
            .map_err(db_problem)?
            .query(
                "SELECT text, by_member, from_centre, at FROM consultations.consultation_messages
                  WHERE consultation_id = $1 ORDER BY sequence",
                &[&c.summary.consultation_id],
            )
            .await
            .map_err(db_problem)?;
        let messages = rows
            .iter()
            .map(|r| ConsultationMessageView {
                text: r.get(0),
                by: person_in(Some(r.get(1))).unwrap_or_else(nobody),
                from_centre: r.get(2),
                at: r.get(3),
            })
            .collect();
        let centre = Self::answers_for_centre(ctx, &c);
        Ok(Reply::value(ConsultationView {
            consultation: c.summary,
            patient,
            messages,
            centre,
        }))
    }

    pub(super) async fn answer_consultation(
        &self,
        ctx: &CallContext,
        w: WriteInConsultation,
    ) -> Result<Reply, Problem> {
        let c = self.consultation(ctx, &w.consultation_id, true).await?;
        if !c.summary.open {
            return Err(closed());
        }
        let text =
            consultation::text(&w.text).map_err(|i| Problem::invalid_field(i.field, i.reason))?;
        let from_centre = Self::answers_for_centre(ctx, &c) && Self::me(ctx) != c.opener;
        let by = self.author(ctx).await?;
        self.append_consultation(
            ctx,
            (&c.summary.consultation_id, &c.municipality),
            ExpectedVersion::Exact(c.sequence),
            MessagingEvent::ConsultationAnswered {
                consultation_id: c.summary.consultation_id.clone(),
                text,
                by,
                from_centre,
            },
            true,
        )
        .await
    }

    pub(super) async fn assign_consultation(
        &self,
        ctx: &CallContext,
        a: AssignConsultation,
    ) -> Result<Reply, Problem> {
        // The body first: a member id that is not one names nobody, whatever the path.
        let member_id = Uuid::try_parse(&a.member_id)
            .map(|id| id.to_string())
            .map_err(|_| Problem::invalid_field("/member_id", "a member id (a UUID)"))?;
        let c = self
            .consultation(ctx, &a.consultation_id, true)
            .await
            .and_then(|c| {
                if Self::answers_for_centre(ctx, &c) {
                    Ok(c)
                } else {
                    Err(no_such_consultation())
                }
            })?;
        if !c.summary.open {
            return Err(closed());
        }
        let assignee: identity_api::colleagues::Author = match self
            .ask_identity(ctx, CENTRE_STAFF, &CentreStaff { member_id })
            .await
        {
            Ok(author) => author,
            Err(p) if p.status == 404 => {
                return Err(Problem::invalid_field(
                    "/member_id",
                    "no member of your coordination centre has this id",
                ));
            }
            Err(p) => return Err(p),
        };
        let by = self.author(ctx).await?;
        self.append_consultation(
            ctx,
            (&c.summary.consultation_id, &c.municipality),
            ExpectedVersion::Exact(c.sequence),
            MessagingEvent::ConsultationAssigned {
                consultation_id: c.summary.consultation_id.clone(),
                assignee: author_of(assignee),
                by,
            },
            true,
        )
        .await
    }

    pub(super) async fn close_consultation(
        &self,
        ctx: &CallContext,
        q: ConsultationRef,
    ) -> Result<Reply, Problem> {
        let c = self.consultation(ctx, &q.consultation_id, true).await?;
        if !c.summary.open {
            return Ok(Reply::value(ConsultationAnswer {
                consultation_id: c.summary.consultation_id,
                open: false,
            }));
        }
        let by = self.author(ctx).await?;
        self.append_consultation(
            ctx,
            (&c.summary.consultation_id, &c.municipality),
            ExpectedVersion::Exact(c.sequence),
            MessagingEvent::ConsultationClosed {
                consultation_id: c.summary.consultation_id.clone(),
                by,
            },
            false,
        )
        .await
    }
}
