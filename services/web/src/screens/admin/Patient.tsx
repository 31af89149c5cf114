// 事務局: one patient's registration — who registered them, the care team built from the
// municipality's sites, the 24-hour contact and the consents waiting for the paper check.
// Registration data only: the name is not shown here (the list never shows it either).
import { useState } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { useLoad } from "../../lib/load";
import { useSiteNames } from "../../lib/sites";
import { dateTime } from "../../lib/dates";
import { TEAM_PARTS, word } from "../../lib/terms";
import { Link, useLocation } from "../../app/router";
import { Button, Facts, Loading, Page, ProblemNote } from "../../ui/ui";
import { Contact24hForm, TeamBuilder, useMunicipalitySites } from "../patients/Register";
import { PatientConsents } from "./Consents";

export function PatientRegistration({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params["id"] ?? "";
  const where = useLocation();
  const [after, setAfter] = useState<string | null>(where.query.get("after"));
  const justRegistered = where.query.get("registered") === "1";
  const [adding, setAdding] = useState(false);
  const [contact, setContact] = useState(false);
  const registration = useLoad(
    () =>
      must(
        api.GET("/api/v1/patients/{patient_id}", {
          params: { path: { patient_id: id }, header: after ? { "Tsunagu-Min-Position": after } : undefined },
        }),
      ),
    [id, after],
  );
  const reg = registration.data;
  const sites = useMunicipalitySites(reg?.home_municipality ?? "");
  const siteName = useSiteNames([...(reg?.registering_site ? [reg.registering_site] : []), ...(reg?.contact_24h?.site ? [reg.contact_24h.site] : [])]);
  const moved = (position: string | null) => {
    if (position && position !== after) setAfter(position);
    else registration.reload();
  };
  if (!reg) {
    return (
      <Page title={t("patientAdmin.title")}>
        {registration.loading ? <Loading /> : <ProblemNote problem={registration.problem} />}
      </Page>
    );
  }
  const teamSites = reg.team.map((s) => ({ site: s.site, name: s.site_name ?? siteName(s.site) }));
  const onTeam = new Set(reg.team.map((s) => s.site));
  return (
    <Page title={t("patientAdmin.title")}>
      <p>
        <Link to="/admin/consents" className="tap">
          {t("patientAdmin.back")}
        </Link>
      </p>
      {justRegistered && (
        <p className="note note-info" role="status">
          {t("patientAdmin.registered")}
        </p>
      )}
      <Facts
        rows={[
          [t("patientAdmin.registeredBy"), reg.registering_site ? siteName(reg.registering_site) : t("patientAdmin.bySecretariat")],
        ]}
      />
      <section className="panel" aria-labelledby="team">
        <div className="panel-head">
          <h2 id="team">{t("patient.team")}</h2>
          <Button kind={adding ? "secondary" : "primary"} aria-expanded={adding} onClick={() => setAdding((a) => !a)}>
            {adding ? t("close") : t("team.add")}
          </Button>
        </div>
        {adding && (
          <TeamBuilder
            patientId={id}
            sites={(sites.data ?? []).filter((s) => !onTeam.has(s.site_id))}
            onDone={moved}
          />
        )}
        {reg.team.length === 0 ? (
          <p>{t("patient.noTeam")}</p>
        ) : (
          <ul className="rows" aria-label={t("patient.team")}>
            {reg.team.map((seat) => (
              <li key={seat.membership_id}>
                <span className="tag">{word(TEAM_PARTS, seat.part, lang)}</span> <span className="seat-site">{seat.site_name ?? siteName(seat.site)}</span>
                <span className="hint nowrap-words"> {t("patient.since", { at: dateTime(seat.since, lang) })}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="panel" aria-labelledby="contact">
        <div className="panel-head">
          <h2 id="contact">{t("patient.contact24h")}</h2>
          <Button kind="secondary" aria-expanded={contact} onClick={() => setContact((c) => !c)}>
            {contact ? t("close") : t("contact.set")}
          </Button>
        </div>
        {reg.contact_24h ? (
          <p>
            <a className="phone" href={`tel:${reg.contact_24h.phone.replace(/-/g, "")}`}>
              {reg.contact_24h.phone}
            </a>{" "}
            {reg.contact_24h.site && siteName(reg.contact_24h.site)}
          </p>
        ) : (
          <p>{t("patient.noContact24h")}</p>
        )}
        {contact && (
          <Contact24hForm
            patientId={id}
            teamSites={teamSites}
            onDone={(position) => {
              setContact(false);
              moved(position);
            }}
          />
        )}
      </section>
      <section className="panel" aria-labelledby="consents">
        <h2 id="consents">{t("patient.consent")}</h2>
        <p className="hint">{t("patientAdmin.consentHow")}</p>
        <PatientConsents key={after ?? ""} registration={reg} alone />
      </section>
    </Page>
  );
}
