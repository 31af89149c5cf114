// A patient's page: who they are (when the consent lets this member see it), the 24-hour
// contact, the care team and the consent in words. A member the decision refuses sees why,
// never a blank page.
import { useI18n } from "../../i18n/i18n";
import { api, download, must, upload, written } from "../../api/client";
import { emptyOnes, useSending, type FieldMessages } from "../../lib/forms";
import { fileName, titleOf } from "../../lib/files";
import { problemOf, type Problem } from "../../api/problem";
import { useLoad } from "../../lib/load";
import { useSiteNames } from "../../lib/sites";
import { dateOfBirth, calendarDate, dateTime } from "../../lib/dates";
import { CARE_LEVELS, CATEGORIES, PROFESSIONS, SEXES, TEAM_PARTS, word, type Category } from "../../lib/terms";
import { categoriesInWords, currentVersions, periodInWords, sitesInWords, sitesNamed, statusInWords } from "../../lib/consent";
import { Link, useLocation } from "../../app/router";
import { session } from "../../auth/session";
import { Contact24hForm, RecordConsent, TeamBuilder, useMunicipalitySites } from "./Register";
import { Button, Facts, Field, Loading, Page, ProblemNote, SelectField, TextField } from "../../ui/ui";
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { Timeline } from "./Timeline";

const ALL_CATEGORIES = Object.keys(CATEGORIES).join(",");

export function PatientPage({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params["id"] ?? "";
  const where = useLocation();
  // Read our own writes: after registering or changing the team, wait until identity has it.
  const [after, setAfter] = useState<string | null>(where.query.get("after"));
  const registration = useLoad(
    () =>
      must(
        api.GET("/api/v1/patients/{patient_id}", {
          params: { path: { patient_id: id }, header: after ? { "Tsunagu-Min-Position": after } : undefined },
        }),
      ),
    [id, after],
  );
  const moved = (position: string | null) => {
    if (position && position !== after) setAfter(position);
    else registration.reload();
  };
  const record = useLoad(
    () =>
      must(
        api.GET("/api/v1/patients/{patient_id}/record", {
          params: { path: { patient_id: id }, query: { categories: ALL_CATEGORIES, purpose: "care" } },
        }),
      ),
    [id, after],
  );
  const reg = registration.data;
  const siteIds = [
    ...(reg?.team.map((s) => s.site) ?? []),
    ...(reg?.consents.flatMap((c) => sitesNamed(c.model)) ?? []),
    ...(reg?.contact_24h?.site ? [reg.contact_24h.site] : []),
    ...(reg?.registering_site ? [reg.registering_site] : []),
  ];
  const siteName = useSiteNames(siteIds);
  const personal = record.data?.personal ?? null;
  const title = personal ? personal.name : t("patient.title");

  if (registration.loading && !reg) {
    return (
      <Page title={t("patient.title")}>
        <Loading />
      </Page>
    );
  }
  if (!reg) {
    return (
      <Page title={t("patient.title")}>
        <ProblemNote problem={registration.problem}>
          <p>{t("patient.refusedHelp")}</p>
          <p>
            <Link to="/patients" className="tap">{t("patient.back")}</Link>
          </p>
        </ProblemNote>
      </Page>
    );
  }
  return (
    <Page title={title} kicker={personal?.name_kana}>
      <p>
        <Link to="/patients" className="tap">{t("patient.back")}</Link>
      </p>
      {where.query.get("registered") === "1" && (
        <p className="note note-info" role="status">
          {t("patient.registered")}
        </p>
      )}
      {reg.care_ended_at && (
        <p className="note note-info" role="status">
          {t("patient.careEnded", { at: dateTime(reg.care_ended_at, lang) })}
        </p>
      )}

      <section className="panel" aria-labelledby="about">
        <h2 id="about">{t("patient.about")}</h2>
        {record.loading && !record.data && <Loading />}
        {personal && (
          <Facts
            rows={[
              [t("patient.dob"), dateOfBirth(personal.date_of_birth, lang)],
              [t("patient.sex"), word(SEXES, personal.sex, lang)],
              [t("patient.address"), personal.address],
              [
                t("patient.careLevel"),
                personal.care_level
                  ? `${word(CARE_LEVELS, personal.care_level.level, lang)}（${calendarDate(personal.care_level.valid_from, lang)}〜${calendarDate(personal.care_level.valid_until, lang)}）`
                  : t("patient.noCareLevel"),
              ],
            ]}
          />
        )}
        {record.data && !personal && (
          // Allowed, but the personal data cannot be opened: the patient's data was erased.
          <p className="note note-info">{t("patient.personalErased")}</p>
        )}
        {record.problem && (
          <ProblemNote problem={record.problem}>
            <p>{t("patient.recordRefusedHelp")}</p>
          </ProblemNote>
        )}
      </section>

      <section className="panel contact" aria-labelledby="contact">
        <h2 id="contact">{t("patient.contact24h")}</h2>
        {reg.contact_24h ? (
          <>
            <a className="phone" href={`tel:${reg.contact_24h.phone.replace(/-/g, "")}`}>
              {reg.contact_24h.phone}
            </a>
            {reg.contact_24h.site && <p>{siteName(reg.contact_24h.site)}</p>}
            {reg.contact_24h.note && <p className="hint">{reg.contact_24h.note}</p>}
          </>
        ) : (
          <p>{t("patient.noContact24h")}</p>
        )}
      </section>

      <section className="panel" aria-labelledby="team">
        <h2 id="team">{t("patient.team")}</h2>
        {reg.team.length === 0 ? (
          <p>{t("patient.noTeam")}</p>
        ) : (
          <ul className="rows">
            {reg.team.map((seat) => (
              <li key={seat.membership_id} className="seat">
                <p>
                  <span className="tag">{word(TEAM_PARTS, seat.part, lang)}</span>{" "}
                  <span className="seat-site">{seat.site_name ?? siteName(seat.site)}</span>
                </p>
                <p className="seat-person">
                  {seat.member_name
                    ? `${seat.member_name}${seat.member_profession ? `（${word(PROFESSIONS, seat.member_profession, lang)}）` : ""}`
                    : t("patient.wholeSite")}
                </p>
                <p className="seat-phones">
                  {seat.site_phone && (
                    <a className="tap" href={`tel:${seat.site_phone.replace(/-/g, "")}`} aria-label={t("patient.callSite", { site: seat.site_name ?? "", phone: seat.site_phone })}>
                      {t("patient.phone")} {seat.site_phone}
                    </a>
                  )}
                  {seat.site_contact_24h && (
                    <a className="tap" href={`tel:${seat.site_contact_24h.replace(/-/g, "")}`} aria-label={t("patient.callSite24h", { site: seat.site_name ?? "", phone: seat.site_contact_24h })}>
                      {t("patient.phone24h")} {seat.site_contact_24h}
                    </a>
                  )}
                </p>
                <p className="hint nowrap-words">{t("patient.since", { at: dateTime(seat.since, lang) })}</p>
              </li>
            ))}
          </ul>
        )}
      </section>

      {!reg.care_ended_at && (
        <TeamTools
          patientId={id}
          municipality={reg.home_municipality}
          teamSites={reg.team.map((s) => ({ site: s.site, name: s.site_name ?? siteName(s.site) }))}
          onDone={moved}
        />
      )}

      <section className="panel" aria-labelledby="consent">
        <h2 id="consent">{t("patient.consent")}</h2>
        {reg.consents.length === 0 ? (
          <p>{t("patient.noConsent")}</p>
        ) : (
          <ul className="rows">
            {currentVersions(reg.consents).map((c) => (
              <li key={`${c.consent_id}:${c.version}`}>
                <p>
                  <span className={`status status-${c.status}`}>{statusInWords(c.status, lang)}</span>
                </p>
                <Facts
                  rows={[
                    [t("consent.sites"), sitesInWords(c.model, siteName, lang)],
                    [t("consent.categories"), categoriesInWords(c.categories, lang)],
                    [t("consent.period"), periodInWords(c.valid_from, c.valid_until, lang)],
                  ]}
                />
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="panel" aria-labelledby="timeline">
        <h2 id="timeline">{t("patient.timeline")}</h2>
        <Timeline patientId={id} />
      </section>

      {record.data && (
        <section className="panel" aria-labelledby="documents">
          <h2 id="documents">{t("patient.documents")}</h2>
          <Documents patientId={id} documents={record.data.documents} />
          {!reg.care_ended_at && record.data.allowed_categories.length > 0 && (
            <AttachDocument patientId={id} categories={record.data.allowed_categories} onDone={record.reload} />
          )}
        </section>
      )}
    </Page>
  );
}

/** What a care site does to bring the patient in: add sites to the team, set the 24-hour
 * contact, record the consent form it received. Each opens on demand; the service decides
 * whether this member may (a refusal is shown in words beside the form). */
function TeamTools({
  patientId,
  municipality,
  teamSites,
  onDone,
}: {
  patientId: string;
  municipality: string;
  teamSites: { site: string; name: string }[];
  onDone: (position: string | null) => void;
}) {
  const { t } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const me = state.status === "signed-in" ? state.me : null;
  const [open, setOpen] = useState<"team" | "contact" | "consent" | null>(null);
  const mySiteIds = me?.sites ?? [];
  const mySiteName = useSiteNames(mySiteIds);
  const toggle = (which: "team" | "contact" | "consent") => setOpen((o) => (o === which ? null : which));
  const done = (position: string | null) => {
    setOpen(null);
    onDone(position);
  };
  if (mySiteIds.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="team-tools">
      <h2 id="team-tools">{t("patient.tools")}</h2>
      <div className="buttons">
        <Button kind={open === "consent" ? "primary" : "secondary"} aria-expanded={open === "consent"} onClick={() => toggle("consent")}>
          {t("consentForm.title")}
        </Button>
        <Button kind={open === "team" ? "primary" : "secondary"} aria-expanded={open === "team"} onClick={() => toggle("team")}>
          {t("team.add")}
        </Button>
        <Button kind={open === "contact" ? "primary" : "secondary"} aria-expanded={open === "contact"} onClick={() => toggle("contact")}>
          {t("contact.set")}
        </Button>
      </div>
      {open === "consent" && (
        <RecordConsent patientId={patientId} teamSites={teamSites} mySites={mySiteIds.map((site) => ({ site, name: mySiteName(site) }))} onDone={done} />
      )}
      {open === "team" && <SitesForTeam patientId={patientId} municipality={municipality} onTeam={teamSites.map((s) => s.site)} onDone={done} />}
      {open === "contact" && <Contact24hForm patientId={patientId} teamSites={teamSites} onDone={done} />}
    </section>
  );
}

function SitesForTeam({ patientId, municipality, onTeam, onDone }: { patientId: string; municipality: string; onTeam: string[]; onDone: (position: string | null) => void }) {
  const sites = useMunicipalitySites(municipality);
  if (!sites.data) return sites.loading ? <Loading /> : <ProblemNote problem={sites.problem} />;
  return <TeamBuilder patientId={patientId} sites={sites.data.filter((s) => !onTeam.includes(s.site_id))} onDone={onDone} />;
}

/** 文書を添付: a file with the title people will know it by, as data of one category the
 * consent opens to this member. */
function AttachDocument({ patientId, categories, onDone }: { patientId: string; categories: string[]; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  const [category, setCategory] = useState(categories.includes("documents") ? "documents" : (categories[0] ?? ""));
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const faults: FieldMessages = emptyOnes([["/title", title, t("document.title")]], (label) => t("form.missing", { field: label }));
    if (!file) faults["/sha256"] = t("document.chooseFile");
    const done = await sending.sendChecked(faults, async () => {
      const stored = await upload(file!, setSent).finally(() => setSent(null));
      return written(
        api.POST("/api/v1/patients/{patient_id}/documents", {
          params: { path: { patient_id: patientId } },
          body: { title: title.trim(), category: category as Category, sha256: stored.sha256, purpose: "care" },
        }),
      );
    });
    if (done) {
      setOpen(false);
      setTitle("");
      setFile(null);
      onDone();
    }
  };
  if (!open) {
    return (
      <Button kind="secondary" onClick={() => setOpen(true)}>
        {t("document.attach")}
      </Button>
    );
  }
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("document.attach")}>
      <Field label={t("document.file")} error={sending.fieldError("sha256")} required>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            type="file"
            accept="application/pdf,image/*,video/mp4,video/quicktime,.docx,.xlsx"
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onChange={(e) => {
              const chosen = e.target.files?.[0] ?? null;
              setFile(chosen);
              if (chosen && !title.trim()) setTitle(titleOf(chosen.name));
            }}
          />
        )}
      </Field>
      <TextField label={t("document.title")} hint={t("document.titleHint")} value={title} onChange={setTitle} required maxLength={200} error={sending.fieldError("title")} />
      <SelectField label={t("document.category")} value={category} onChange={setCategory} options={categories.map((c) => [c, word(CATEGORIES, c, lang)])} error={sending.fieldError("category")} />
      {sent !== null && (
        <p className="hint" role="status" aria-live="polite">
          {t("document.uploading", { percent: String(Math.round(sent * 100)) })}
          <progress max={1} value={sent} />
        </p>
      )}
      <ProblemNote problem={sending.general} />
      <div className="buttons">
        <Button type="submit" disabled={sending.busy}>
          {t("document.attachNow")}
        </Button>
        <Button kind="secondary" onClick={() => setOpen(false)}>
          {t("close")}
        </Button>
      </div>
    </form>
  );
}

function Documents({ patientId, documents }: { patientId: string; documents: { document_id: string; title?: string | null; category: string; attached_at: string; media_type: string }[] }) {
  const { t, lang } = useI18n();
  const [problem, setProblem] = useState<Problem | null>(null);
  const open = async (documentId: string, title: string) => {
    setProblem(null);
    try {
      await download(
        `/api/v1/patients/${encodeURIComponent(patientId)}/documents/${encodeURIComponent(documentId)}/content?purpose=care`,
        title,
      );
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  return (
    <>
      {documents.length === 0 && <p>{t("patient.noDocuments")}</p>}
      <ul className="rows" aria-label={t("patient.documents")}>
        {documents.map((d) => (
          <li key={d.document_id}>
            <span className="tag">{word(CATEGORIES, d.category, lang)}</span> {d.title ?? t("patient.untitled")}
            <span className="hint"> {dateTime(d.attached_at, lang)}</span>{" "}
            <Button
              kind="secondary"
              onClick={() => void open(d.document_id, fileName(d.title, d.media_type, `${word(CATEGORIES, d.category, lang)} ${calendarDate(d.attached_at.slice(0, 10), lang)}`))}
            >
              {t("patient.openDocument")}
            </Button>
          </li>
        ))}
      </ul>
      <ProblemNote problem={problem} />
    </>
  );
}
