//! The platform's access rules, written once, as data: who may ask for what, given their
//! roles, their profession and how they are tied to the object. The gateway and every service
//! ask [`decide`] (or [`authorize`], which hands back a [`Permit`]) and nothing else.
//!
//! The crate is pure: no I/O, no clock, no objects. The caller works out the
//! [`Relationship`]s that hold between the member and the object from its own projections and
//! passes them in.
//!
//! **What this crate does not decide.** Consent. For a patient's clinical content this crate
//! answers "may this member, in these roles, with this profession and this tie to the patient,
//! ask at all?"; the consent decision (issue 5) then answers "does an active consent cover this
//! site and this data category now?". Both must allow. [`Permit::needs_consent`] says when the
//! second is required: for clinical reads and writes through the team, not for break-glass
//! (the emergency exception, flagged and time-limited by the consent service).
//!
//! # Hard rules, checked before the table
//!
//! 1. Fire/ambulance and police ([`Profession::is_emergency_or_police`]) never pass an action
//!    of [`DataClass::Patient`], whatever roles they hold.
//! 2. The municipal secretariat and auditors never reach clinical content
//!    ([`Action::reaches_clinical_content`]: clinical reads and writes, and break-glass),
//!    whatever other roles the same account holds. Someone who is both needs two accounts.
//!
//! # Who may do what (the table in [`RULES`], in brief)
//!
//! "people" = operator, secretariat, coordination centre, community support centre, site
//! admin, professional (not auditors, not integrators). "care" = professional, community
//! support centre staff. "members" = people but the operator.
//!
//! | action | who | tie needed |
//! |---|---|---|
//! | **region** | | |
//! | `read_register` | people, integrators | — |
//! | `manage_register` | operator | — |
//! | `rotate_signing_keys` | operator | — |
//! | `manage_integrators` | operator | — |
//! | `share_files` | people | — (each file is fetched only by its holders) |
//! | `read_member_directory`, `read_resources`, `read_region_boards`, `post_to_region_board` | people | — |
//! | `update_provider_entry` | operator / secretariat / site admin | — / own municipality / own organisation |
//! | `update_availability` | site admin / care | own organisation / own site |
//! | **municipality** | | |
//! | `manage_organisations`, `manage_sites`, `manage_members_of_municipality`, `reset_credentials` | operator / secretariat | — / own municipality |
//! | `manage_own_staff` | site admin | own organisation |
//! | `manage_own_account` | every person, auditors included | self |
//! | `verify_self_registration`, `review_association_posts`, `answer_consultation` | coordination centre | own municipality |
//! | `manage_boards` | operator / secretariat, coordination centre | — / own municipality |
//! | `read_boards` | operator / members | — / own municipality |
//! | `post_to_board`, `open_consultation` | members | own municipality |
//! | `send_broadcast` | operator / coordination centre | — / own municipality |
//! | `submit_broadcast` | site admin (a site, a professional association) | own municipality |
//! | `receive_broadcasts` | every person but auditors, and broadcast recipients | — |
//! | `read_indicators` | operator / secretariat, coordination centre | — / own municipality |
//! | `subscribe_events` | integrators | own municipality |
//! | **patient** (never fire or police) | | |
//! | `register_patient` | care / secretariat | — / own municipality |
//! | `read_patient_registration` | care / clinical care / secretariat / auditors | team or registering site / break-glass / own municipality / — |
//! | `read_patient_clinical`, `write_patient_clinical` | care (+ consent) / clinical care | team / break-glass |
//! | `manage_care_team` | care managers in care / care / secretariat | team / registering site / own municipality |
//! | `record_consent` | care | team or registering site |
//! | `verify_consent` | secretariat | own municipality |
//! | `withdraw_consent` | care / secretariat | team or registering site / own municipality |
//! | `break_glass` | clinical care | — |
//! | `erase_patient_data` | operator / secretariat | — / own municipality |
//! | `read_break_glass_alerts` | coordination centre / auditors | own municipality / — |
//! | `read_audit_log` | auditors | — |
//! | `read_own_staff_audit` | site admin | own organisation |
//! | `read_municipality_audit` | secretariat | own municipality (no clinical content) |
//!
//! Clinical professions ([`Profession::is_clinical`]): physician, dentist, pharmacist, nurse,
//! public health nurse, dental hygienist, physical, occupational and speech therapist.

mod model;
mod rules;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use model::{Action, Caller, DataClass, Profession, Relationship, Role, Subject};
pub use rules::{ProfessionFilter, RULES, Rule, every_action_has_a_rule, rules_for};

/// The answer of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// Allowed by `RULES[rule]` (an index into [`RULES`] of this build).
    Allowed {
        /// Index of the rule that allowed it.
        rule: usize,
    },
    /// Refused, with the reason.
    Denied {
        /// Why it was refused.
        reason: DenialReason,
    },
}

impl Decision {
    /// Was it allowed?
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// Why a request was refused. When several rules exist for the action, the reason is the one
/// of the rule that came closest (role, then profession, then relationship).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DenialReason {
    /// Fire/ambulance and police never reach patient data (hard rule).
    EmergencyServicesNeverSeePatientData,
    /// This role never reaches clinical content, whatever else the account holds (hard rule).
    RoleNeverSeesClinicalContent {
        /// The role that forbids it.
        role: Role,
    },
    /// No rule names this action (cannot happen while [`every_action_has_a_rule`] holds).
    NoRule,
    /// None of the subject's roles is named by a rule for this action.
    RoleNotAllowed,
    /// A rule names one of the roles, but not the subject's profession.
    ProfessionNotAllowed,
    /// Role and profession fit a rule, but the subject has none of the relationships it needs
    /// with the object (e.g. not on this patient's team, not their own organisation).
    RelationshipMissing,
}

impl DenialReason {
    /// A stable machine-readable name (the serde `kind`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmergencyServicesNeverSeePatientData => {
                "emergency_services_never_see_patient_data"
            }
            Self::RoleNeverSeesClinicalContent { .. } => "role_never_sees_clinical_content",
            Self::NoRule => "no_rule",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::ProfessionNotAllowed => "profession_not_allowed",
            Self::RelationshipMissing => "relationship_missing",
        }
    }

    /// How far a subject got through a rule, for picking the most telling reason.
    const fn progress(self) -> u8 {
        match self {
            Self::NoRule => 0,
            Self::RoleNotAllowed => 1,
            Self::ProfessionNotAllowed => 2,
            Self::RelationshipMissing => 3,
            Self::EmergencyServicesNeverSeePatientData
            | Self::RoleNeverSeesClinicalContent { .. } => 4,
        }
    }
}

impl fmt::Display for DenialReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RoleNeverSeesClinicalContent { role } => {
                write!(f, "role never sees clinical content: role={role}")
            }
            other => f.write_str(&other.as_str().replace('_', " ")),
        }
    }
}

impl std::error::Error for DenialReason {}

/// Roles that never reach clinical content, in the order they are reported.
const NEVER_CLINICAL: [Role; 2] = [Role::MunicipalSecretariat, Role::Auditor];

/// May `subject`, tied to the object by `relationships`, do `action`?
///
/// The hard rules come first (see the crate documentation), then [`RULES`] top to bottom: the
/// first rule whose roles include one of the subject's, whose profession filter admits the
/// subject's profession and whose relationships include one the subject has, allows.
///
/// Pass every relationship that holds; [`Relationship::None`] need not be passed. The answer
/// depends only on the arguments, not on the order or repetition of roles and relationships.
/// For clinical content the consent decision must allow too (see [`Permit::needs_consent`]).
pub fn decide(subject: &Subject, action: Action, relationships: &[Relationship]) -> Decision {
    let deny = |reason| Decision::Denied { reason };

    if action.data_class() == DataClass::Patient
        && subject
            .profession
            .is_some_and(Profession::is_emergency_or_police)
    {
        return deny(DenialReason::EmergencyServicesNeverSeePatientData);
    }
    if action.reaches_clinical_content() {
        let forbidding = NEVER_CLINICAL
            .iter()
            .copied()
            .find(|&r| subject.has_role(r));
        if let Some(role) = forbidding {
            return deny(DenialReason::RoleNeverSeesClinicalContent { role });
        }
    }

    let mut closest = DenialReason::NoRule;
    for (index, rule) in RULES.iter().enumerate() {
        if rule.action != action {
            continue;
        }
        let failed = if !rule.roles.iter().any(|&r| subject.has_role(r)) {
            DenialReason::RoleNotAllowed
        } else if !rule.professions.admits(subject.profession) {
            DenialReason::ProfessionNotAllowed
        } else if !rule.relationship_holds(relationships) {
            DenialReason::RelationshipMissing
        } else {
            return Decision::Allowed { rule: index };
        };
        if failed.progress() > closest.progress() {
            closest = failed;
        }
    }
    deny(closest)
}

/// Proof that [`decide`] allowed an action. Only this crate makes one, so a handler that
/// takes a `Permit` cannot be reached on an unchecked path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    action: Action,
    rule: usize,
}

impl Permit {
    /// The action that was allowed.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The index of the rule that allowed it, in [`RULES`].
    pub fn rule_index(&self) -> usize {
        self.rule
    }

    /// The rule that allowed it.
    pub fn rule(&self) -> &'static Rule {
        &RULES[self.rule]
    }

    /// Must the consent decision also allow before any data is returned or written?
    pub fn needs_consent(&self) -> bool {
        self.rule().needs_consent()
    }

    /// Was it allowed only by an active break-glass access (to be flagged and reported)?
    pub fn by_break_glass(&self) -> bool {
        self.rule().is_break_glass()
    }
}

/// [`decide`], as a [`Permit`] or the reason for refusal.
pub fn authorize(
    subject: &Subject,
    action: Action,
    relationships: &[Relationship],
) -> Result<Permit, DenialReason> {
    match decide(subject, action, relationships) {
        Decision::Allowed { rule } => Ok(Permit { action, rule }),
        Decision::Denied { reason } => Err(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_recipient_receives_broadcasts_and_manages_their_own_account_only() {
        let recipient = Subject::new(vec![Role::BroadcastRecipient], Some(Profession::CareWorker));
        let every_tie = [
            Relationship::OnPatientTeam,
            Relationship::RegisteringSite,
            Relationship::BreakGlass,
            Relationship::OwnSite,
            Relationship::OwnOrganisation,
            Relationship::OwnMunicipality,
            Relationship::Self_,
        ];
        for action in Action::ALL {
            let allowed = decide(&recipient, *action, &every_tie).is_allowed();
            let expected = matches!(action, Action::ReceiveBroadcasts | Action::ManageOwnAccount);
            assert_eq!(allowed, expected, "{action:?}");
        }
    }
    use Action::*;
    use Relationship as Tie;

    fn member(roles: &[Role], profession: Profession) -> Subject {
        Subject::new(roles, Some(profession))
    }

    fn denied(reason: DenialReason) -> Decision {
        Decision::Denied { reason }
    }

    /// Every subset of `all`, as vectors, the empty one included.
    fn subsets<T: Copy>(all: &[T]) -> Vec<Vec<T>> {
        (0..1u32 << all.len())
            .map(|mask| {
                all.iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, &x)| x)
                    .collect()
            })
            .collect()
    }

    fn professions_and_none() -> Vec<Option<Profession>> {
        std::iter::once(None)
            .chain(Profession::ALL.iter().copied().map(Some))
            .collect()
    }

    fn patient_actions() -> Vec<Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(|a| a.data_class() == DataClass::Patient)
            .collect()
    }

    #[test]
    fn there_is_no_path_from_fire_or_police_to_patient_data() {
        let role_sets = subsets(Role::ALL);
        let tie_sets = subsets(Relationship::ALL);
        let actions = patient_actions();
        let mut checked = 0u64;
        for profession in [Profession::EmergencyServices, Profession::Police] {
            for roles in &role_sets {
                let subject = Subject::new(roles.clone(), Some(profession));
                for ties in &tie_sets {
                    for &action in &actions {
                        assert_eq!(
                            decide(&subject, action, ties),
                            denied(DenialReason::EmergencyServicesNeverSeePatientData),
                            "{profession} {roles:?} {ties:?} {action}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(
            checked,
            2 * (1 << Role::ALL.len()) * (1 << Relationship::ALL.len()) * actions.len() as u64
        );
    }

    #[test]
    fn every_patient_data_path_in_the_whole_space_belongs_to_neither_fire_nor_police() {
        let tie_sets = subsets(Relationship::ALL);
        for roles in subsets(Role::ALL) {
            for profession in professions_and_none() {
                let subject = Subject::new(roles.clone(), profession);
                for ties in &tie_sets {
                    for action in patient_actions() {
                        if decide(&subject, action, ties).is_allowed() {
                            assert!(
                                !profession.is_some_and(Profession::is_emergency_or_police),
                                "{profession:?} {roles:?} {ties:?} {action}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn fire_and_police_still_read_and_post_to_boards() {
        for profession in [Profession::EmergencyServices, Profession::Police] {
            let officer = member(&[Role::Professional], profession);
            assert!(decide(&officer, PostToBoard, &[Tie::OwnMunicipality]).is_allowed());
            assert!(decide(&officer, ReadRegionBoards, &[]).is_allowed());
        }
    }

    #[test]
    fn the_secretariat_never_reaches_clinical_content_in_any_combination() {
        let tie_sets = subsets(Relationship::ALL);
        for roles in subsets(Role::ALL) {
            if !roles.contains(&Role::MunicipalSecretariat) {
                continue;
            }
            for profession in professions_and_none() {
                let subject = Subject::new(roles.clone(), profession);
                for ties in &tie_sets {
                    for action in [ReadPatientClinical, WritePatientClinical, BreakGlass] {
                        assert!(
                            !decide(&subject, action, ties).is_allowed(),
                            "{roles:?} {profession:?} {ties:?} {action}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_secretariat_reads_registration_and_verifies_consent_in_its_municipality() {
        let secretariat = member(&[Role::MunicipalSecretariat], Profession::MunicipalStaff);
        for action in [ReadPatientRegistration, VerifyConsent, ManageCareTeam] {
            assert!(decide(&secretariat, action, &[Tie::OwnMunicipality]).is_allowed());
            assert_eq!(
                decide(&secretariat, action, &[]),
                denied(DenialReason::RelationshipMissing)
            );
        }
    }

    #[test]
    fn a_secretariat_member_who_is_also_a_nurse_on_the_team_is_still_refused_clinical_content() {
        let both = member(
            &[Role::Professional, Role::MunicipalSecretariat],
            Profession::PublicHealthNurse,
        );
        assert_eq!(
            decide(&both, ReadPatientClinical, &[Tie::OnPatientTeam]),
            denied(DenialReason::RoleNeverSeesClinicalContent {
                role: Role::MunicipalSecretariat
            })
        );
    }

    #[test]
    fn only_clinical_professions_may_break_the_glass() {
        let tie_sets = subsets(Relationship::ALL);
        for roles in subsets(Role::ALL) {
            for profession in professions_and_none() {
                let subject = Subject::new(roles.clone(), profession);
                for ties in &tie_sets {
                    let opened = decide(&subject, BreakGlass, ties).is_allowed();
                    // Without the team, clinical content is reached only by break-glass.
                    let without_team: Vec<_> = ties
                        .iter()
                        .copied()
                        .filter(|t| *t != Tie::OnPatientTeam)
                        .collect();
                    let read = decide(&subject, ReadPatientClinical, &without_team).is_allowed();
                    if opened || read {
                        assert!(
                            profession.is_some_and(Profession::is_clinical),
                            "{roles:?} {profession:?} {ties:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_nurse_may_break_the_glass_and_then_read_without_consent() {
        let nurse = member(&[Role::Professional], Profession::Nurse);
        assert!(decide(&nurse, BreakGlass, &[]).is_allowed());
        let permit = authorize(&nurse, ReadPatientClinical, &[Tie::BreakGlass]).expect("allowed");
        assert!(permit.by_break_glass());
        assert!(!permit.needs_consent());
    }

    #[test]
    fn a_care_manager_may_not_break_the_glass() {
        let care_manager = member(&[Role::Professional], Profession::CareManager);
        assert_eq!(
            decide(&care_manager, BreakGlass, &[]),
            denied(DenialReason::ProfessionNotAllowed)
        );
        assert!(!decide(&care_manager, ReadPatientClinical, &[Tie::BreakGlass]).is_allowed());
    }

    #[test]
    fn a_team_member_reads_clinical_content_through_consent() {
        let helper = member(&[Role::Professional], Profession::CareWorker);
        let permit = authorize(&helper, ReadPatientClinical, &[Tie::OnPatientTeam]).expect("ok");
        assert!(permit.needs_consent());
        assert!(!permit.by_break_glass());
    }

    #[test]
    fn a_team_member_who_also_broke_the_glass_is_still_served_through_consent() {
        let physician = member(&[Role::Professional], Profession::Physician);
        let permit = authorize(
            &physician,
            ReadPatientClinical,
            &[Tie::BreakGlass, Tie::OnPatientTeam],
        )
        .expect("allowed");
        assert!(permit.needs_consent());
    }

    #[test]
    fn a_professional_not_on_the_team_is_refused_clinical_content() {
        let pharmacist = member(&[Role::Professional], Profession::Pharmacist);
        for ties in [
            &[][..],
            &[Tie::OwnOrganisation, Tie::OwnSite, Tie::OwnMunicipality],
        ] {
            assert_eq!(
                decide(&pharmacist, ReadPatientClinical, ties),
                denied(DenialReason::RelationshipMissing)
            );
        }
    }

    #[test]
    fn a_site_admins_staff_management_needs_own_organisation() {
        let admin = member(&[Role::SiteAdmin], Profession::ClericalStaff);
        assert!(decide(&admin, ManageOwnStaff, &[Tie::OwnOrganisation]).is_allowed());
        for ties in [
            &[][..],
            &[Tie::OwnMunicipality],
            &[Tie::OwnSite],
            &[Tie::OnPatientTeam, Tie::Self_, Tie::RegisteringSite],
        ] {
            assert_eq!(
                decide(&admin, ManageOwnStaff, ties),
                denied(DenialReason::RelationshipMissing),
                "{ties:?}"
            );
        }
    }

    #[test]
    fn a_professional_cannot_manage_staff_even_of_their_own_organisation() {
        let nurse = member(&[Role::Professional], Profession::Nurse);
        assert_eq!(
            decide(&nurse, ManageOwnStaff, &[Tie::OwnOrganisation]),
            denied(DenialReason::RoleNotAllowed)
        );
    }

    #[test]
    fn an_auditor_reads_the_audit_log_but_no_patient_clinical_data() {
        let auditor = Subject::new([Role::Auditor], Some(Profession::Other));
        assert!(decide(&auditor, ReadAuditLog, &[]).is_allowed());
        let tie_sets = subsets(Relationship::ALL);
        for profession in professions_and_none() {
            for roles in subsets(Role::ALL) {
                if !roles.contains(&Role::Auditor) {
                    continue;
                }
                let subject = Subject::new(roles.clone(), profession);
                for ties in &tie_sets {
                    for action in [ReadPatientClinical, WritePatientClinical, BreakGlass] {
                        assert!(!decide(&subject, action, ties).is_allowed());
                    }
                }
            }
        }
    }

    #[test]
    fn an_auditor_alone_reads_nothing_but_audit_data_and_registrations() {
        let tie_sets = subsets(Relationship::ALL);
        for profession in professions_and_none() {
            let auditor = Subject::new([Role::Auditor], profession);
            for &action in Action::ALL {
                for ties in &tie_sets {
                    if decide(&auditor, action, ties).is_allowed() {
                        assert!(
                            matches!(
                                action,
                                ReadAuditLog
                                    | ReadBreakGlassAlerts
                                    | ReadPatientRegistration
                                    | ManageOwnAccount
                            ),
                            "{action}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_integrator_without_profession_subscribes_to_its_municipalities_only() {
        let integrator = Subject::new([Role::Integrator], None);
        assert!(decide(&integrator, SubscribeEvents, &[Tie::OwnMunicipality]).is_allowed());
        assert_eq!(
            decide(&integrator, SubscribeEvents, &[]),
            denied(DenialReason::RelationshipMissing)
        );
        assert_eq!(
            decide(&integrator, ReadPatientRegistration, &[Tie::OnPatientTeam]),
            denied(DenialReason::RoleNotAllowed)
        );
    }

    #[test]
    fn a_member_of_another_municipality_does_not_read_its_boards() {
        let nurse = member(&[Role::Professional], Profession::Nurse);
        assert_eq!(
            decide(&nurse, ReadBoards, &[]),
            denied(DenialReason::RelationshipMissing)
        );
        assert!(decide(&nurse, ReadBoards, &[Tie::OwnMunicipality]).is_allowed());
    }

    #[test]
    fn a_member_with_no_roles_may_do_nothing() {
        let nobody = Subject::new(Vec::new(), Some(Profession::Physician));
        for &action in Action::ALL {
            assert!(
                !decide(&nobody, action, Relationship::ALL).is_allowed(),
                "{action}"
            );
        }
    }

    #[test]
    fn only_care_managers_on_the_team_or_the_registering_site_or_the_secretariat_manage_the_team() {
        let on_team = [Tie::OnPatientTeam];
        let care_manager = member(&[Role::Professional], Profession::CareManager);
        let nurse = member(&[Role::Professional], Profession::Nurse);
        assert!(decide(&care_manager, ManageCareTeam, &on_team).is_allowed());
        assert_eq!(
            decide(&nurse, ManageCareTeam, &on_team),
            denied(DenialReason::RelationshipMissing)
        );
        assert!(decide(&nurse, ManageCareTeam, &[Tie::RegisteringSite]).is_allowed());
    }

    #[test]
    fn the_closest_rule_gives_the_reason() {
        // Role fits the break-glass rule, profession does not: the care manager reaches the
        // profession check of one rule and only the relationship of another.
        let care_manager = member(&[Role::Professional], Profession::CareManager);
        assert_eq!(
            decide(&care_manager, ReadPatientClinical, &[]),
            denied(DenialReason::RelationshipMissing)
        );
        let operator = member(&[Role::Operator], Profession::Other);
        assert_eq!(
            decide(&operator, ReadAuditLog, &[]),
            denied(DenialReason::RoleNotAllowed)
        );
    }

    #[test]
    fn decisions_are_deterministic_and_ignore_order_and_repetition() {
        let tie_sets = subsets(Relationship::ALL);
        for roles in subsets(Role::ALL) {
            for profession in [None, Some(Profession::Nurse), Some(Profession::Police)] {
                let subject = Subject::new(roles.clone(), profession);
                let mut reversed_roles = roles.clone();
                reversed_roles.reverse();
                reversed_roles.extend(roles.iter().copied());
                let shuffled = Subject::new(reversed_roles, profession);
                for ties in &tie_sets {
                    let mut reversed_ties = ties.clone();
                    reversed_ties.reverse();
                    reversed_ties.extend(ties.iter().copied());
                    for &action in Action::ALL {
                        let first = decide(&subject, action, ties);
                        assert_eq!(decide(&subject, action, ties), first);
                        assert_eq!(decide(&shuffled, action, &reversed_ties), first);
                    }
                }
            }
        }
    }

    #[test]
    fn passing_none_changes_nothing() {
        let tie_sets = subsets(Relationship::ALL);
        let nurse = member(&[Role::Professional, Role::SiteAdmin], Profession::Nurse);
        for ties in &tie_sets {
            let mut with_none = ties.clone();
            with_none.push(Tie::None);
            for &action in Action::ALL {
                assert_eq!(
                    decide(&nurse, action, ties),
                    decide(&nurse, action, &with_none)
                );
            }
        }
    }

    #[test]
    fn a_permit_names_the_rule_that_allowed_it() {
        let admin = member(&[Role::SiteAdmin], Profession::ClericalStaff);
        let permit = authorize(&admin, ManageOwnStaff, &[Tie::OwnOrganisation]).expect("ok");
        assert_eq!(permit.action(), ManageOwnStaff);
        assert_eq!(permit.rule().action, ManageOwnStaff);
        assert_eq!(RULES[permit.rule_index()], *permit.rule());
        assert!(!permit.needs_consent());
    }

    #[test]
    fn decisions_serialise_with_a_stable_shape() {
        let allowed = serde_json::to_value(Decision::Allowed { rule: 3 }).expect("json");
        assert_eq!(
            allowed,
            serde_json::json!({"outcome": "allowed", "rule": 3})
        );
        let refused = serde_json::to_value(denied(DenialReason::RoleNeverSeesClinicalContent {
            role: Role::Auditor,
        }))
        .expect("json");
        assert_eq!(
            refused,
            serde_json::json!({
                "outcome": "denied",
                "reason": {"kind": "role_never_sees_clinical_content", "role": "auditor"}
            })
        );
        for reason in [
            DenialReason::EmergencyServicesNeverSeePatientData,
            DenialReason::NoRule,
            DenialReason::RoleNotAllowed,
            DenialReason::ProfessionNotAllowed,
            DenialReason::RelationshipMissing,
        ] {
            let json = serde_json::to_value(reason).expect("json");
            assert_eq!(json["kind"], reason.as_str());
        }
    }

    #[test]
    fn the_crate_documentation_names_every_action() {
        let source = include_str!("lib.rs");
        let docs: String = source
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .collect::<Vec<_>>()
            .join("\n");
        for &action in Action::ALL {
            assert!(
                docs.contains(&format!("`{}`", action.as_str())),
                "the crate docs do not mention {action}"
            );
        }
    }
}
