// 事務局: patients and their consents — registration data only (no name, no clinical
// content). A consent form recorded by the receiving site waits here until the secretariat
// has checked it against the paper form: then it is verified (in force) or returned.
import { useState, useSyncExternalStore } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { session } from "../../auth/session";
import { usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { useSiteNames } from "../../lib/sites";
import { categoriesInWords, currentVersions, periodInWords, sitesInWords, sitesNamed, statusInWords, type ConsentSummary } from "../../lib/consent";
import type { components } from "../../api/schema.gen";
import { PagedList } from "../../ui/list";
import { Link, navigate } from "../../app/router";
import { Button, Facts, Page, ProblemNote, TextField } from "../../ui/ui";

type Registration = components["schemas"]["PatientRegistrationView"];

export function Consents() {
  const { t } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const municipality = state.status === "signed-in" ? state.me.municipality : "";
  const [waiting, setWaiting] = useState(true);
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/municipalities/{code}/patients", {
          params: { path: { code: municipality }, query: { waiting, after: after ?? undefined, limit: 20 } },
        }),
      );
      return { items: page.items, next: page.next_after ?? null };
    },
    [municipality, waiting],
  );
  return (
    <Page
      title={t("consents.title")}
      lead={t("consents.lead")}
      actions={
        <Button onClick={() => navigate("/admin/patients/new")}>{t("register.title")}</Button>
      }
    >
      <div className="segmented" role="group" aria-label={t("consents.show")}>
        <Button kind={waiting ? "primary" : "secondary"} aria-pressed={waiting} onClick={() => setWaiting(true)}>
          {t("consents.waiting")}
        </Button>
        <Button kind={!waiting ? "primary" : "secondary"} aria-pressed={!waiting} onClick={() => setWaiting(false)}>
          {t("consents.all")}
        </Button>
      </div>
      <PagedList
        list={list}
        label={t("consents.title")}
        empty={waiting ? t("consents.noneWaiting") : t("consents.none")}
        keyOf={(r) => r.patient_id}
        render={(r) => <PatientConsents registration={r} />}
      />
    </Page>
  );
}

/** A patient's consents with the secretariat's check; `alone` on the patient's own page
 * (which says who the patient is already). */
export function PatientConsents({ registration, alone = false }: { registration: Registration; alone?: boolean }) {
  const { t, lang } = useI18n();
  const [current, setCurrent] = useState(registration);
  const siteName = useSiteNames([
    ...current.consents.flatMap((c) => sitesNamed(c.model)),
    ...(current.registering_site ? [current.registering_site] : []),
  ]);
  const reload = async (position: string | null) => {
    const fresh = await must(
      api.GET("/api/v1/patients/{patient_id}", {
        params: {
          path: { patient_id: current.patient_id },
          header: position ? { "Tsunagu-Min-Position": position } : undefined,
        },
      }),
    );
    setCurrent(fresh);
  };
  return (
    <div className="card-body">
      {!alone && (
        <>
      <p className="card-title">
        {t("consents.patient")} <code className="id">{current.patient_id}</code>
      </p>
      {current.registering_site && (
        <p className="card-sub">{t("consents.registeredBy", { site: siteName(current.registering_site) })}</p>
      )}
      <p>
        <Link to={`/admin/patients/${current.patient_id}`} className="tap">
          {t("consents.open")}
        </Link>
      </p>
        </>
      )}
      {current.consents.length === 0 && <p>{t("patient.noConsent")}</p>}
      <ul className="rows">
        {currentVersions(current.consents).map((c) => (
          <li key={`${c.consent_id}:${c.version}`}>
            <p>
              <span className={`status status-${c.status}`}>{statusInWords(c.status, lang)}</span>{" "}
              <span className="hint">{t("consents.version", { n: c.version })}</span>
            </p>
            <Facts
              rows={[
                [t("consent.sites"), sitesInWords(c.model, siteName, lang)],
                [t("consent.categories"), categoriesInWords(c.categories, lang)],
                [t("consent.period"), periodInWords(c.valid_from, c.valid_until, lang)],
              ]}
            />
            {c.status === "pending" && <Decide patientId={current.patient_id} consent={c} onDone={reload} />}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Decide({ patientId, consent, onDone }: { patientId: string; consent: ConsentSummary; onDone: (position: string | null) => Promise<void> }) {
  const { t, lang } = useI18n();
  const [returning, setReturning] = useState(false);
  const [reason, setReason] = useState("");
  const sending = useSending(lang);
  const path = { patient_id: patientId, consent_id: consent.consent_id };
  const verify = () =>
    sending.send(async () => {
      const { position } = await written(
        api.POST("/api/v1/patients/{patient_id}/consents/{consent_id}/verification", {
          params: { path },
          body: { version: consent.version },
        }),
      );
      await onDone(position);
    });
  const reject = () =>
    sending.send(async () => {
      const { position } = await written(
        api.POST("/api/v1/patients/{patient_id}/consents/{consent_id}/rejection", {
          params: { path },
          body: { version: consent.version, reason },
        }),
      );
      await onDone(position);
    });
  return (
    <div className="decide">
      <p className="hint">{t("consents.checkPaper")}</p>
      <div className="buttons">
        <Button onClick={() => void verify()} disabled={sending.busy}>
          {t("consents.verify")}
        </Button>
        <Button kind="secondary" aria-expanded={returning} onClick={() => setReturning((r) => !r)}>
          {t("consents.return")}
        </Button>
      </div>
      {returning && (
        <div className="form">
          <TextField label={t("consents.reason")} hint={t("consents.reasonHint")} value={reason} onChange={setReason} required error={sending.fieldError("reason")} />
          <Button kind="danger" onClick={() => void reject()} disabled={sending.busy}>
            {t("consents.returnNow")}
          </Button>
        </div>
      )}
      <ProblemNote problem={sending.general} />
    </div>
  );
}
