//! bench-decision: what the access decision costs in-process.
//!
//! Builds a region in memory — P patients (default 10,000) with C consents between them
//! (default 50,000: the three models, every status, some amended), a team of 4–8 seats each
//! over 600 sites, 3,000 members — keeps each patient's `PatientAccessFacts` in a `HashMap`
//! keyed by patient id, and then times what a service does on every request that touches
//! patient data: look the patient's facts up by id and ask `consent::decide`.
//!
//! The requests are a realistic mix, fixed by a seed: mostly team members reading or writing
//! some categories for care (allowed or refused by what the consent says), some members of
//! other sites (not on the team), the secretariat reading registration data, break-glass
//! holders in an emergency, and fire/police (refused by the hard rule).
//!
//! Three measurements, after a warm-up:
//! (a) throughput: N calls in a tight loop, one clock read before and after: ns per decision
//!     (and, apart, what the `HashMap` lookup alone costs);
//! (b) latency: every call timed on its own (`Instant` around lookup + decision), sorted:
//!     p50, p90, p99, p99.9, max; the cost of reading the clock twice is measured and shown;
//! (c) 16 requests cycled, their facts hot in the cache: the decision's own cost, without the
//!     memory traffic of 10,000 patients' facts.
//!
//! Run it through `tests/bench/run decision [--patients P] [--consents C] [--calls N]` (in
//! release mode; needs no PostgreSQL and no nats-server).

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::Instant;
use tsunagu_tests::bench_args;

use anyhow::bail;
use chrono::{DateTime, Utc};
use consent::{
    AccessDecision, AccessRequest, BreakGlassGrant, CategorySet, ConsentForm, ConsentModel,
    ConsentStatus, ConsentTerms, ConsentVersion, DataCategory, GivenBy, ObtainedBy,
    PatientAccessFacts, Purpose, Reach, SiteId, TeamMembership, TeamPart,
};
use permissions::{Caller, Profession, Role, Subject};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const USAGE: &str = "usage: bench-decision [--patients P] [--consents C] [--calls N] [--seed S]   (run through tests/bench/run decision)";
const SITES: usize = 600;
const MEMBERS_PER_SITE: usize = 5;
const MUNICIPALITIES: [&str; 3] = ["322032", "322059", "322091"];
/// Distinct requests prepared, then cycled through.
const REQUESTS: usize = 100_000;

struct Args {
    patients: usize,
    consents: usize,
    calls: usize,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        patients: 10_000,
        consents: 50_000,
        calls: 2_000_000,
        seed: 20_261_001,
    };
    for (name, value) in bench_args::flags(USAGE)? {
        match name.as_str() {
            "--patients" => parsed.patients = bench_args::number(&name, &value, 1)? as usize,
            "--consents" => parsed.consents = bench_args::number(&name, &value, 0)? as usize,
            "--calls" => parsed.calls = bench_args::number(&name, &value, 1)? as usize,
            "--seed" => parsed.seed = bench_args::number(&name, &value, 0)?,
            other => bail!("unknown argument {other:?}; {USAGE}"),
        }
    }
    Ok(parsed)
}

/// Ids as the platform makes them: UUIDv7, their time part spread over the year the region
/// was registered in (so they do not all share a long prefix, nor all differ at once).
struct Ids {
    sites: Vec<String>,
    members: Vec<Vec<String>>,
    patients: Vec<String>,
}

fn v7(rng: &mut StdRng) -> String {
    const BASE_MS: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;
    let ms = u128::from(BASE_MS + rng.random_range(0..YEAR_MS));
    let random: u128 = rng.random();
    let version = 0x7u128 << 76;
    let variant = 0b10u128 << 62;
    let rand_a = random & (0xfffu128 << 64);
    let rand_b = random & ((1u128 << 62) - 1);
    uuid::Uuid::from_u128((ms << 80) | version | rand_a | variant | rand_b).to_string()
}

impl Ids {
    fn new(patients: usize, rng: &mut StdRng) -> Self {
        Self {
            sites: (0..SITES).map(|_| v7(rng)).collect(),
            members: (0..SITES)
                .map(|_| (0..MEMBERS_PER_SITE).map(|_| v7(rng)).collect())
                .collect(),
            patients: (0..patients).map(|_| v7(rng)).collect(),
        }
    }
}

/// The professions that sit on teams, weighted roughly as a region's staff are.
const CARE_PROFESSIONS: [Profession; 8] = [
    Profession::Nurse,
    Profession::Nurse,
    Profession::CareWorker,
    Profession::CareWorker,
    Profession::CareManager,
    Profession::Physician,
    Profession::Pharmacist,
    Profession::PhysicalTherapist,
];

const PARTS: [TeamPart; 8] = [
    TeamPart::CareManager,
    TeamPart::VisitingNurse,
    TeamPart::HomeDoctor,
    TeamPart::Pharmacy,
    TeamPart::HomeHelper,
    TeamPart::DayService,
    TeamPart::Rehabilitation,
    TeamPart::Dentist,
];

struct World {
    ids: Ids,
    facts: HashMap<String, PatientAccessFacts>,
    /// Callers by site, the professionals of each site.
    staff: Vec<Vec<Caller>>,
    secretariats: Vec<Caller>,
    fire: Caller,
    /// Per patient: the seats on their team (site, named member), and whoever holds a live
    /// grant.
    teams: Vec<Vec<(usize, Option<usize>)>>,
    glass: Vec<Option<Caller>>,
    versions: usize,
}

fn random_categories(rng: &mut StdRng) -> CategorySet {
    let mut set = CategorySet::EMPTY;
    while set.is_empty() {
        for &c in DataCategory::ALL {
            if rng.random_bool(0.6) {
                set = set.with(c);
            }
        }
    }
    set
}

fn build(args: &Args, now: DateTime<Utc>) -> World {
    let mut rng = StdRng::seed_from_u64(args.seed);
    let ids = Ids::new(args.patients, &mut rng);
    let site = |i: usize| ids.sites[i].clone();
    let member = |s: usize, j: usize| ids.members[s][j].clone();
    let staff: Vec<Vec<Caller>> = (0..SITES)
        .map(|s| {
            (0..MEMBERS_PER_SITE)
                .map(|j| Caller {
                    member_id: member(s, j),
                    session_id: "bench".into(),
                    subject: Subject::new(
                        [Role::Professional],
                        Some(CARE_PROFESSIONS[(s + j) % CARE_PROFESSIONS.len()]),
                    ),
                    sites: vec![site(s)],
                    municipality: Some(MUNICIPALITIES[s % MUNICIPALITIES.len()].into()),
                })
                .collect()
        })
        .collect();
    let secretariats = MUNICIPALITIES
        .iter()
        .map(|m| Caller {
            member_id: format!("secretariat-{m}"),
            session_id: "bench".into(),
            subject: Subject::new(
                [Role::MunicipalSecretariat],
                Some(Profession::MunicipalStaff),
            ),
            sites: vec![],
            municipality: Some((*m).into()),
        })
        .collect();
    let fire = Caller {
        member_id: "fire".into(),
        session_id: "bench".into(),
        subject: Subject::new([Role::Professional], Some(Profession::EmergencyServices)),
        sites: vec![site(0)],
        municipality: Some(MUNICIPALITIES[0].into()),
    };

    let day = |d: i64| now.date_naive() + chrono::Duration::days(d);
    let since = now - chrono::Duration::days(200);
    let mut facts = HashMap::with_capacity(args.patients);
    let mut teams = Vec::with_capacity(args.patients);
    let mut glass = Vec::with_capacity(args.patients);
    let mut versions = 0;
    for p in 0..args.patients {
        let id = ids.patients[p].clone();
        let mut f = PatientAccessFacts::new(id.as_str().into());
        f.registered = true;
        f.home_municipality = Some(MUNICIPALITIES[p % MUNICIPALITIES.len()].into());
        let seats = rng.random_range(4..=8);
        let mut team_sites = Vec::with_capacity(seats);
        while team_sites.len() < seats {
            let s = rng.random_range(0..SITES);
            if !team_sites.contains(&s) {
                team_sites.push(s);
            }
        }
        f.registering_site = Some(site(team_sites[0]).into());
        let mut seats_of = Vec::with_capacity(seats);
        for (k, &s) in team_sites.iter().enumerate() {
            let named = rng
                .random_bool(0.3)
                .then(|| rng.random_range(0..MEMBERS_PER_SITE));
            seats_of.push((s, named));
            f.team.push(TeamMembership {
                membership_id: format!("{id}-t{k}").into(),
                site: site(s).into(),
                member: named.map(|j| member(s, j).into()),
                part: PARTS[k % PARTS.len()],
                since,
                until: rng
                    .random_bool(0.05)
                    .then(|| now - chrono::Duration::days(3)),
            });
        }
        // Consents: spread so that the total is args.consents.
        let n = args.consents / args.patients + usize::from(p < args.consents % args.patients);
        for c in 0..n {
            let model = match rng.random_range(0..3) {
                0 => ConsentModel::AllParticipatingSites {
                    excluded: (0..rng.random_range(0..3))
                        .map(|_| SiteId::from(site(rng.random_range(0..SITES))))
                        .collect(),
                },
                1 => ConsentModel::ListedSites {
                    sites: team_sites
                        .iter()
                        .filter(|_| rng.random_bool(0.6))
                        .map(|&s| SiteId::from(site(s)))
                        .chain(std::iter::once(SiteId::from(site(team_sites[0]))))
                        .collect(),
                },
                _ => ConsentModel::SiteBySite {
                    site: site(team_sites[c % team_sites.len()]).into(),
                },
            };
            let status = match rng.random_range(0..100) {
                0..70 => ConsentStatus::Active,
                70..80 => ConsentStatus::Pending,
                80..88 => ConsentStatus::Withdrawn,
                88..94 => ConsentStatus::Superseded,
                94..97 => ConsentStatus::Expired,
                _ => ConsentStatus::Rejected,
            };
            let valid_from = day(-rng.random_range(30..400));
            let terms = ConsentTerms {
                model,
                categories: random_categories(&mut rng),
                valid_from,
                valid_until: rng
                    .random_bool(0.5)
                    .then(|| day(rng.random_range(-20..700))),
                family_information: rng.random_bool(0.5),
                form: ConsentForm::Written,
                given_by: GivenBy::Patient,
                signed_on: valid_from,
                obtained_by: ObtainedBy {
                    site: site(team_sites[0]).into(),
                    member: member(team_sites[0], 0).into(),
                },
                scanned_form: None,
            };
            let consent_id = format!("{id}-c{c}");
            // A superseded version has its amendment in force after it.
            let amended = status == ConsentStatus::Superseded;
            f.consents.push(ConsentVersion {
                consent_id: consent_id.as_str().into(),
                version: 1,
                terms: terms.clone(),
                status,
            });
            versions += 1;
            if amended {
                f.consents.push(ConsentVersion {
                    consent_id: consent_id.as_str().into(),
                    version: 2,
                    terms,
                    status: ConsentStatus::Active,
                });
                versions += 1;
            }
        }
        // One patient in a hundred has a live break-glass grant, by someone off the team.
        let holder = rng.random_bool(0.01).then(|| {
            let s = rng.random_range(0..SITES);
            let mut c = staff[s][0].clone();
            c.subject = Subject::new([Role::Professional], Some(Profession::Physician));
            f.break_glass.push(BreakGlassGrant {
                grant_id: format!("{id}-g").into(),
                member_id: c.member_id.as_str().into(),
                reason: "急変".into(),
                opened_at: now - chrono::Duration::hours(1),
                expires_at: now + chrono::Duration::hours(3),
            });
            c
        });
        f.sequence = (f.consents.len() + f.team.len() + 1) as u64;
        facts.insert(id, f);
        teams.push(seats_of);
        glass.push(holder);
    }
    World {
        ids,
        facts,
        staff,
        secretariats,
        fire,
        teams,
        glass,
        versions,
    }
}

/// One prepared request: who, about whom (the id as a request carries it), what, why.
struct Prepared {
    caller: Caller,
    patient: String,
    reach: Reach,
    purpose: Purpose,
    sequence: u64,
}

fn prepare(world: &World, args: &Args) -> Vec<Prepared> {
    let mut rng = StdRng::seed_from_u64(args.seed ^ 0x5eed);
    (0..REQUESTS)
        .map(|_| {
            let p = rng.random_range(0..args.patients);
            let id = world.ids.patients[p].clone();
            let sequence = world.facts[&id].sequence;
            let read = |rng: &mut StdRng| Reach::ReadClinical {
                categories: random_categories(rng),
            };
            let (caller, reach, purpose) = match rng.random_range(0..100) {
                // A team site's member reads or writes for care.
                0..75 => {
                    let team = &world.teams[p];
                    let (s, named) = team[rng.random_range(0..team.len())];
                    let j = named.unwrap_or_else(|| rng.random_range(0..MEMBERS_PER_SITE));
                    let who = world.staff[s][j].clone();
                    let reach = if rng.random_bool(0.2) {
                        Reach::WriteClinical {
                            categories: DataCategory::ALL[rng.random_range(0..6)].into(),
                        }
                    } else {
                        read(&mut rng)
                    };
                    (who, reach, Purpose::Care)
                }
                // Someone from a site that is (most likely) not on the team.
                75..87 => {
                    let s = rng.random_range(0..SITES);
                    let who = world.staff[s][rng.random_range(0..MEMBERS_PER_SITE)].clone();
                    (who, read(&mut rng), Purpose::Care)
                }
                // The secretariat reads registration data (its own municipality or not).
                87..95 => {
                    let who = world.secretariats[rng.random_range(0..MUNICIPALITIES.len())].clone();
                    (who, Reach::Registration, Purpose::Administration)
                }
                // A break-glass holder, or someone claiming an emergency.
                95..98 => match &world.glass[p] {
                    Some(holder) => (holder.clone(), read(&mut rng), Purpose::Emergency),
                    None => {
                        let s = rng.random_range(0..SITES);
                        (
                            world.staff[s][0].clone(),
                            read(&mut rng),
                            Purpose::Emergency,
                        )
                    }
                },
                // Fire and police: refused before anything is looked at.
                _ => (world.fire.clone(), read(&mut rng), Purpose::Care),
            };
            Prepared {
                caller,
                patient: id,
                reach,
                purpose,
                sequence,
            }
        })
        .collect()
}

/// What a service does per request: find the facts, decide.
#[inline(always)]
fn serve(
    facts: &HashMap<String, PatientAccessFacts>,
    r: &Prepared,
    at: DateTime<Utc>,
) -> AccessDecision {
    match facts.get(r.patient.as_str()) {
        Some(f) => consent::decide(
            f,
            &AccessRequest {
                member: &r.caller,
                patient: &r.patient,
                reach: r.reach,
                purpose: r.purpose,
                at,
                subject_last_sequence: Some(r.sequence),
            },
        ),
        None => AccessDecision::Denied {
            reason: consent::DenialReason::NotRegistered,
        },
    }
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    let now = DateTime::parse_from_rfc3339("2026-10-15T03:00:00Z")?.with_timezone(&Utc);

    let started = Instant::now();
    let world = build(&args, now);
    let built = started.elapsed();
    let requests = prepare(&world, &args);
    let seats: usize = world.facts.values().map(|f| f.team.len()).sum();
    println!(
        "bench-decision: {} patients, {} consents ({} versions), {} seats, {} sites, {} members; built in {:.2}s",
        world.facts.len(),
        args.consents,
        world.versions,
        seats,
        SITES,
        SITES * MEMBERS_PER_SITE + MUNICIPALITIES.len() + 1,
        built.as_secs_f64()
    );

    // The outcomes of the mix, once.
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for r in &requests {
        let key = match serve(&world.facts, r, now) {
            AccessDecision::Allowed { basis, .. } => match basis {
                consent::Basis::Consent { .. } => "allowed: consent".to_owned(),
                consent::Basis::BreakGlass { .. } => "allowed: break_glass".to_owned(),
                consent::Basis::Registration { .. } => "allowed: registration".to_owned(),
                consent::Basis::Audit => "allowed: audit".to_owned(),
            },
            AccessDecision::Denied { reason } => format!("denied: {}", reason.as_str()),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    println!(
        "request mix ({} prepared requests, cycled):",
        requests.len()
    );
    for (k, n) in &outcomes {
        println!(
            "  {k:<40} {:>5.1}%",
            *n as f64 * 100.0 / requests.len() as f64
        );
    }

    // Warm-up.
    for r in requests.iter().cycle().take(requests.len() * 2) {
        black_box(serve(&world.facts, black_box(r), now));
    }

    // (a) Throughput.
    let started = Instant::now();
    for r in requests.iter().cycle().take(args.calls) {
        black_box(serve(&world.facts, black_box(r), now));
    }
    let total = started.elapsed();
    let mean_ns = total.as_nanos() as f64 / args.calls as f64;

    // The cost of timing one call.
    let mut overhead: Vec<u64> = (0..100_000)
        .map(|_| {
            let t = Instant::now();
            black_box(());
            t.elapsed().as_nanos() as u64
        })
        .collect();
    overhead.sort_unstable();
    let timer_ns = percentile(&overhead, 0.5);

    // (b) Latency, each call timed.
    let mut latencies: Vec<u64> = Vec::with_capacity(args.calls);
    for r in requests.iter().cycle().take(args.calls) {
        let t = Instant::now();
        black_box(serve(&world.facts, black_box(r), now));
        latencies.push(t.elapsed().as_nanos() as u64);
    }
    latencies.sort_unstable();
    let (p50, p90, p99, p999) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
    );
    let max = latencies.last().copied().unwrap_or(0);
    // (c) The same few requests over and over: the decision's own cost, with the facts hot in
    // the cache (what (a) adds on top is memory: 10,000 patients' facts do not fit in it).
    let hot = &requests[..16];
    let hot_ns = {
        let started = Instant::now();
        for r in hot.iter().cycle().take(args.calls) {
            black_box(serve(&world.facts, black_box(r), now));
        }
        started.elapsed().as_nanos() as f64 / args.calls as f64
    };
    let lookup_only = {
        let started = Instant::now();
        for r in requests.iter().cycle().take(args.calls) {
            black_box(
                world
                    .facts
                    .get(black_box(r).patient.as_str())
                    .map(|f| f.sequence),
            );
        }
        started.elapsed().as_nanos() as f64 / args.calls as f64
    };

    println!();
    println!(
        "throughput: {} calls in {:.3}s: {:.0} ns per decision (lookup + decide), {:.2} M decisions/s on one core",
        args.calls,
        total.as_secs_f64(),
        mean_ns,
        1e3 / mean_ns
    );
    println!("  of which the HashMap lookup alone: {lookup_only:.0} ns");
    println!("  16 requests cycled, facts hot in the cache: {hot_ns:.0} ns per decision");
    println!(
        "latency per call (timed one by one; reading the clock twice costs ~{timer_ns} ns, included):"
    );
    println!("  p50 {p50} ns   p90 {p90} ns   p99 {p99} ns   p99.9 {p999} ns   max {max} ns");
    println!();
    println!(
        "{}",
        json!({
            "bench": "decision",
            "patients": world.facts.len(),
            "consents": args.consents,
            "versions": world.versions,
            "seats": seats,
            "calls": args.calls,
            "mean_ns": mean_ns.round(),
            "lookup_ns": lookup_only.round(),
            "hot_ns": hot_ns.round(),
            "p50_ns": p50,
            "p90_ns": p90,
            "p99_ns": p99,
            "p999_ns": p999,
            "max_ns": max,
            "timer_ns": timer_ns,
            "outcomes": outcomes,
        })
    );
    Ok(())
}
