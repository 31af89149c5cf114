//! The rule table: who may do what, as data.

use serde::Serialize;

use crate::model::{Action, Profession, Relationship, Role};

/// Which professions a rule admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfessionFilter {
    /// Any profession, and none (a machine client).
    Any,
    /// Only these professions; a subject without a profession is not admitted.
    Only(&'static [Profession]),
    /// Only the clinical professions ([`Profession::is_clinical`]).
    Clinical,
}

impl ProfessionFilter {
    /// Does the filter admit a subject with this profession?
    pub fn admits(self, profession: Option<Profession>) -> bool {
        match (self, profession) {
            (Self::Any, _) => true,
            (Self::Only(list), Some(p)) => list.contains(&p),
            (Self::Clinical, Some(p)) => p.is_clinical(),
            (Self::Only(_) | Self::Clinical, None) => false,
        }
    }
}

/// One row of the table: `action` is allowed to a subject holding any of `roles`, whose
/// profession `professions` admits, who has any of `relationships` with the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// What the rule allows.
    pub action: Action,
    /// The subject must hold at least one of these roles.
    pub roles: &'static [Role],
    /// The subject's profession must be admitted.
    pub professions: ProfessionFilter,
    /// The subject must have at least one of these relationships with the object;
    /// [`Relationship::None`] in this list means none is needed.
    pub relationships: &'static [Relationship],
}

impl Rule {
    /// Is this a break-glass rule (it accepts only an active break-glass access)?
    pub fn is_break_glass(&self) -> bool {
        self.relationships == [Relationship::BreakGlass]
    }

    /// Must the consent decision also allow what this rule allows? True for the clinical
    /// actions reached through the team; false for break-glass, which is the emergency
    /// exception to consent, and for everything that is not clinical content.
    pub fn needs_consent(&self) -> bool {
        self.action.is_clinical() && !self.is_break_glass()
    }

    /// Do any of the subject's relationships satisfy this rule?
    pub fn relationship_holds(&self, have: &[Relationship]) -> bool {
        self.relationships
            .iter()
            .any(|needed| *needed == Relationship::None || have.contains(needed))
    }
}

const fn row(
    action: Action,
    roles: &'static [Role],
    professions: ProfessionFilter,
    relationships: &'static [Relationship],
) -> Rule {
    Rule {
        action,
        roles,
        professions,
        relationships,
    }
}

// Role groups.
/// Members of municipalities: everyone signed in but the operator, auditors and machines.
const MEMBERS: &[Role] = &[
    Role::MunicipalSecretariat,
    Role::CoordinationCentreStaff,
    Role::CommunitySupportCentreStaff,
    Role::SiteAdmin,
    Role::Professional,
];
/// Every person signed in, except auditors (who read audit data only).
const PEOPLE: &[Role] = &[
    Role::Operator,
    Role::MunicipalSecretariat,
    Role::CoordinationCentreStaff,
    Role::CommunitySupportCentreStaff,
    Role::SiteAdmin,
    Role::Professional,
];
/// Every person with an account, auditors included.
const EVERY_PERSON: &[Role] = &[
    Role::Operator,
    Role::MunicipalSecretariat,
    Role::CoordinationCentreStaff,
    Role::CommunitySupportCentreStaff,
    Role::SiteAdmin,
    Role::Professional,
    Role::Auditor,
    Role::BroadcastRecipient,
];
/// Everyone a broadcast reaches: every person but the auditors, who read audit data only.
const BROADCAST_AUDIENCE: &[Role] = &[
    Role::Operator,
    Role::MunicipalSecretariat,
    Role::CoordinationCentreStaff,
    Role::CommunitySupportCentreStaff,
    Role::SiteAdmin,
    Role::Professional,
    Role::BroadcastRecipient,
];
const PEOPLE_AND_INTEGRATORS: &[Role] = &[
    Role::Operator,
    Role::MunicipalSecretariat,
    Role::CoordinationCentreStaff,
    Role::CommunitySupportCentreStaff,
    Role::SiteAdmin,
    Role::Professional,
    Role::Integrator,
];
/// Those who sit on patients' teams.
const CARE: &[Role] = &[Role::Professional, Role::CommunitySupportCentreStaff];
const OPERATOR: &[Role] = &[Role::Operator];
const SECRETARIAT: &[Role] = &[Role::MunicipalSecretariat];
const CENTRE: &[Role] = &[Role::CoordinationCentreStaff];
const SECRETARIAT_AND_CENTRE: &[Role] =
    &[Role::MunicipalSecretariat, Role::CoordinationCentreStaff];
const SITE_ADMIN: &[Role] = &[Role::SiteAdmin];
const AUDITOR: &[Role] = &[Role::Auditor];
const INTEGRATOR: &[Role] = &[Role::Integrator];

// Profession groups.
const CARE_MANAGERS: ProfessionFilter =
    ProfessionFilter::Only(&[Profession::CareManager, Profession::ChiefCareManager]);

// Relationship lists (any one of them is enough).
const NO_TIE: &[Relationship] = &[Relationship::None];
const TEAM: &[Relationship] = &[Relationship::OnPatientTeam];
const TEAM_OR_REGISTERING_SITE: &[Relationship] =
    &[Relationship::OnPatientTeam, Relationship::RegisteringSite];
const REGISTERING_SITE: &[Relationship] = &[Relationship::RegisteringSite];
const BREAK_GLASS: &[Relationship] = &[Relationship::BreakGlass];
const OWN_SITE: &[Relationship] = &[Relationship::OwnSite];
const OWN_ORGANISATION: &[Relationship] = &[Relationship::OwnOrganisation];
const OWN_MUNICIPALITY: &[Relationship] = &[Relationship::OwnMunicipality];
const OWN_ACCOUNT: &[Relationship] = &[Relationship::Self_];

use Action::*;
use ProfessionFilter::{Any, Clinical};

/// The platform's access rules. [`crate::decide`] reads them top to bottom and allows by the
/// first rule that holds, so within one action the team rule comes before the break-glass rule
/// (a team member is served through consent, not around it).
///
/// Hard rules that no row can override are in [`crate::decide`], before this table.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    //  action                         roles                    professions    relationships
    // ── region ──────────────────────────────────────────────────────────────────────────────
    row(ReadRegister,                  PEOPLE_AND_INTEGRATORS,  Any,           NO_TIE),
    row(ManageRegister,                OPERATOR,                Any,           NO_TIE),
    row(RotateSigningKeys,             OPERATOR,                Any,           NO_TIE),
    row(ManageIntegrators,             OPERATOR,                Any,           NO_TIE),
    row(ShareFiles,                    PEOPLE,                  Any,           NO_TIE),
    row(ReadMemberDirectory,           PEOPLE,                  Any,           NO_TIE),
    row(ReadResources,                 PEOPLE,                  Any,           NO_TIE),
    row(UpdateProviderEntry,           OPERATOR,                Any,           NO_TIE),
    row(UpdateProviderEntry,           SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(UpdateProviderEntry,           SITE_ADMIN,              Any,           OWN_ORGANISATION),
    row(UpdateAvailability,            SITE_ADMIN,              Any,           OWN_ORGANISATION),
    row(UpdateAvailability,            CARE,                    Any,           OWN_SITE),
    row(ReadRegionBoards,              PEOPLE,                  Any,           NO_TIE),
    row(PostToRegionBoard,             PEOPLE,                  Any,           NO_TIE),
    // ── municipality ────────────────────────────────────────────────────────────────────────
    row(ManageOrganisations,           OPERATOR,                Any,           NO_TIE),
    row(ManageOrganisations,           SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ManageSites,                   OPERATOR,                Any,           NO_TIE),
    row(ManageSites,                   SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ManageOwnStaff,                SITE_ADMIN,              Any,           OWN_ORGANISATION),
    row(ManageMembersOfMunicipality,   OPERATOR,                Any,           NO_TIE),
    row(ManageMembersOfMunicipality,   SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ResetCredentials,              OPERATOR,                Any,           NO_TIE),
    row(ResetCredentials,              SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ManageOwnAccount,              EVERY_PERSON,            Any,           OWN_ACCOUNT),
    row(VerifySelfRegistration,        CENTRE,                  Any,           OWN_MUNICIPALITY),
    row(ManageBoards,                  OPERATOR,                Any,           NO_TIE),
    row(ManageBoards,                  SECRETARIAT_AND_CENTRE,  Any,           OWN_MUNICIPALITY),
    row(ReadBoards,                    OPERATOR,                Any,           NO_TIE),
    row(ReadBoards,                    MEMBERS,                 Any,           OWN_MUNICIPALITY),
    row(PostToBoard,                   MEMBERS,                 Any,           OWN_MUNICIPALITY),
    row(SendBroadcast,                 OPERATOR,                Any,           NO_TIE),
    row(SendBroadcast,                 CENTRE,                  Any,           OWN_MUNICIPALITY),
    row(SubmitBroadcast,               SITE_ADMIN,              Any,           OWN_MUNICIPALITY),
    row(ReceiveBroadcasts,             BROADCAST_AUDIENCE,      Any,           NO_TIE),
    row(ReviewAssociationPosts,        CENTRE,                  Any,           OWN_MUNICIPALITY),
    row(OpenConsultation,              MEMBERS,                 Any,           OWN_MUNICIPALITY),
    row(AnswerConsultation,            CENTRE,                  Any,           OWN_MUNICIPALITY),
    row(ReadIndicators,                OPERATOR,                Any,           NO_TIE),
    row(ReadIndicators,                SECRETARIAT_AND_CENTRE,  Any,           OWN_MUNICIPALITY),
    row(SubscribeEvents,               INTEGRATOR,              Any,           OWN_MUNICIPALITY),
    // ── patient ─────────────────────────────────────────────────────────────────────────────
    row(RegisterPatient,               CARE,                    Any,           NO_TIE),
    row(RegisterPatient,               SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ReadPatientRegistration,       CARE,                    Any,           TEAM_OR_REGISTERING_SITE),
    row(ReadPatientRegistration,       CARE,                    Clinical,      BREAK_GLASS),
    row(ReadPatientRegistration,       SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ReadPatientRegistration,       AUDITOR,                 Any,           NO_TIE),
    row(ReadPatientClinical,           CARE,                    Any,           TEAM),
    row(ReadPatientClinical,           CARE,                    Clinical,      BREAK_GLASS),
    row(WritePatientClinical,          CARE,                    Any,           TEAM),
    row(WritePatientClinical,          CARE,                    Clinical,      BREAK_GLASS),
    row(ManageCareTeam,                CARE,                    CARE_MANAGERS, TEAM),
    row(ManageCareTeam,                CARE,                    Any,           REGISTERING_SITE),
    row(ManageCareTeam,                SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(RecordConsent,                 CARE,                    Any,           TEAM_OR_REGISTERING_SITE),
    row(VerifyConsent,                 SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(WithdrawConsent,               CARE,                    Any,           TEAM_OR_REGISTERING_SITE),
    row(WithdrawConsent,               SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(BreakGlass,                    CARE,                    Clinical,      NO_TIE),
    row(ErasePatientData,              OPERATOR,                Any,           NO_TIE),
    row(ErasePatientData,              SECRETARIAT,             Any,           OWN_MUNICIPALITY),
    row(ReadBreakGlassAlerts,          CENTRE,                  Any,           OWN_MUNICIPALITY),
    row(ReadBreakGlassAlerts,          AUDITOR,                 Any,           NO_TIE),
    row(ReadAuditLog,                  AUDITOR,                 Any,           NO_TIE),
    row(ReadOwnStaffAudit,             SITE_ADMIN,              Any,           OWN_ORGANISATION),
    row(ReadMunicipalityAudit,         SECRETARIAT,             Any,           OWN_MUNICIPALITY),
];

/// The rules for one action, in table order.
pub fn rules_for(action: Action) -> impl Iterator<Item = &'static Rule> {
    RULES.iter().filter(move |rule| rule.action == action)
}

/// Does every action have at least one rule? `Err` lists those without, in [`Action::ALL`]
/// order. The gateway's route-coverage test builds on this: every route names an action, and
/// every action is decidable.
pub fn every_action_has_a_rule() -> Result<(), Vec<Action>> {
    let missing: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|&action| rules_for(action).next().is_none())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DataClass;

    #[test]
    fn every_action_has_at_least_one_rule() {
        assert_eq!(every_action_has_a_rule(), Ok(()));
    }

    #[test]
    fn no_rule_grants_clinical_content_to_the_secretariat_auditors_integrators_or_the_operator() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.action.reaches_clinical_content() {
                for role in [
                    Role::MunicipalSecretariat,
                    Role::Auditor,
                    Role::Integrator,
                    Role::Operator,
                    Role::CoordinationCentreStaff,
                ] {
                    assert!(!rule.roles.contains(&role), "rule {i} names {role}");
                }
            }
        }
    }

    #[test]
    fn no_rule_for_only_auditors_integrators_or_the_secretariat_grants_clinical_content() {
        let registration_only = [Role::Auditor, Role::Integrator, Role::MunicipalSecretariat];
        for (i, rule) in RULES.iter().enumerate() {
            if rule.roles.iter().all(|r| registration_only.contains(r)) {
                assert!(!rule.action.reaches_clinical_content(), "rule {i}");
            }
        }
    }

    #[test]
    fn integrators_get_no_patient_data_at_all() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.roles.contains(&Role::Integrator) {
                assert_ne!(rule.action.data_class(), DataClass::Patient, "rule {i}");
            }
        }
    }

    #[test]
    fn auditors_are_named_only_by_audit_rules_registrations_and_their_own_account() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.roles.contains(&Role::Auditor) {
                assert!(
                    matches!(
                        rule.action,
                        ReadAuditLog
                            | ReadBreakGlassAlerts
                            | ReadPatientRegistration
                            | ManageOwnAccount
                    ),
                    "rule {i} gives auditors {}",
                    rule.action
                );
            }
        }
    }

    #[test]
    fn clinical_content_needs_the_team_or_break_glass() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.action.is_clinical() {
                assert!(
                    rule.relationships == TEAM || rule.relationships == BREAK_GLASS,
                    "rule {i}"
                );
            }
        }
    }

    #[test]
    fn break_glass_rules_stand_alone_and_admit_only_clinical_professions() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.relationships.contains(&Relationship::BreakGlass) {
                assert!(
                    rule.is_break_glass(),
                    "rule {i} mixes break-glass with other ties"
                );
                assert_eq!(rule.professions, Clinical, "rule {i}");
            }
        }
        for rule in rules_for(BreakGlass) {
            assert_eq!(rule.professions, Clinical);
        }
    }

    #[test]
    fn within_an_action_the_team_rule_comes_before_the_break_glass_rule() {
        for &action in Action::ALL {
            let mut seen_break_glass = false;
            for rule in rules_for(action) {
                if rule.is_break_glass() {
                    seen_break_glass = true;
                } else if rule.relationships.contains(&Relationship::OnPatientTeam) {
                    assert!(!seen_break_glass, "{action}");
                }
            }
        }
    }

    #[test]
    fn only_clinical_reads_and_writes_through_the_team_need_consent() {
        let needing: Vec<_> = RULES.iter().filter(|r| r.needs_consent()).collect();
        assert_eq!(needing.len(), 2);
        for rule in needing {
            assert!(rule.action.is_clinical());
            assert_eq!(rule.relationships, TEAM);
        }
    }

    #[test]
    fn no_rule_is_empty_or_repeated() {
        for (i, rule) in RULES.iter().enumerate() {
            assert!(!rule.roles.is_empty(), "rule {i} has no role");
            assert!(
                !rule.relationships.is_empty(),
                "rule {i} has no relationship"
            );
            if let ProfessionFilter::Only(list) = rule.professions {
                assert!(!list.is_empty(), "rule {i} admits no profession");
            }
            assert!(
                !RULES[..i].contains(rule),
                "rule {i} repeats an earlier rule"
            );
        }
    }

    #[test]
    fn the_none_relationship_never_sits_beside_another() {
        for (i, rule) in RULES.iter().enumerate() {
            if rule.relationships.contains(&Relationship::None) {
                assert_eq!(rule.relationships, NO_TIE, "rule {i}");
            }
        }
    }

    #[test]
    fn a_rule_with_no_tie_holds_for_a_caller_who_passes_none() {
        let rule = rules_for(ReadRegister).next().expect("a rule");
        assert!(rule.relationship_holds(&[]));
    }

    #[test]
    fn a_subject_without_profession_passes_only_any() {
        assert!(Any.admits(None));
        assert!(!Clinical.admits(None));
        assert!(!CARE_MANAGERS.admits(None));
        assert!(CARE_MANAGERS.admits(Some(Profession::ChiefCareManager)));
        assert!(!CARE_MANAGERS.admits(Some(Profession::Nurse)));
    }
}
