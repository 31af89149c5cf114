// A patient's access report: every access to their data — when, who, from which site, what,
// and why it was allowed or refused — to hand to the patient, printable.
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { useLoad } from "../../lib/load";
import { calendarDate, dateTime, japanInstant } from "../../lib/dates";
import { nameInWords, roleInWords, whatInWords, whyInWords } from "../../lib/audit";
import { Link, navigate, query, useLocation } from "../../app/router";
import { Button, Facts, Loading, Page, ProblemNote, TextField } from "../../ui/ui";
import { nextDay } from "./shared";

/** A patient id as the platform gives them (a UUID). */
export function isPatientId(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text.trim());
}

export function PatientReportSearch() {
  const { t } = useI18n();
  const [patient, setPatient] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [fault, setFault] = useState<string | undefined>();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const id = patient.trim().toLowerCase();
    // A patient id has one shape; a name typed here would otherwise find "no accesses".
    const wrong = !id ? t("report.patientMissing") : !isPatientId(id) ? t("report.patientNotId") : undefined;
    setFault(wrong);
    if (!wrong) navigate(`/audit/patients/${encodeURIComponent(id)}${query({ from, to })}`);
  };
  return (
    <Page title={t("report.title")} lead={t("report.lead")}>
      <form className="form panel narrow" onSubmit={submit} noValidate>
        <TextField
          label={t("audit.patientId")}
          hint={t("report.patientHint")}
          value={patient}
          onChange={setPatient}
          required
          autoComplete="off"
          spellCheck={false}
          error={fault}
        />
        <TextField label={t("records.from")} type="date" value={from} onChange={setFrom} />
        <TextField label={t("records.to")} type="date" value={to} onChange={setTo} />
        <Button type="submit">{t("report.open")}</Button>
      </form>
    </Page>
  );
}

export function PatientReport({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params["id"] ?? "";
  const { query: q } = useLocation();
  const from = q.get("from") ?? "";
  const to = q.get("to") ?? "";
  const report = useLoad(
    () =>
      must(
        api.GET("/api/v1/audit/patients/{patient_id}/report", {
          params: {
            path: { patient_id: id },
            query: { from: from ? japanInstant(from) : undefined, to: to ? japanInstant(nextDay(to)) : undefined },
          },
        }),
      ),
    [id, from, to],
  );
  // Asked as JSON (the default format); the CSV and HTML renderings are other answers.
  const r = typeof report.data === "object" ? report.data : undefined;
  const period =
    from || to
      ? `${from ? calendarDate(from, lang) : t("report.beginning")} 〜 ${to ? calendarDate(to, lang) : t("report.now")}`
      : t("report.allTime");
  return (
    <Page
      title={t("report.title")}
      actions={
        r && (
          <Button kind="secondary" onClick={() => window.print()}>
            {t("report.print")}
          </Button>
        )
      }
    >
      <p className="no-print">
        <Link to="/audit/patients">{t("report.another")}</Link>
      </p>
      {report.loading && <Loading />}
      <ProblemNote problem={report.problem} />
      {r && (
        <>
          <Facts
            rows={[
              [t("audit.patientId"), <code className="id" key="id">{r.patient_id}</code>],
              [t("report.period"), period],
              [t("report.accesses"), String(r.lines.length)],
              [t("report.denied"), String(r.denied)],
              [t("report.breakGlassUses"), String(r.break_glass_uses)],
              [t("report.logSize"), String(r.log_size)],
            ]}
          />
          {!r.complete && (
            <p className="note note-info" role="status">
              {t("report.incomplete")}
            </p>
          )}
          {r.lines.length === 0 ? (
            <p className="empty">{t("report.empty")}</p>
          ) : (
            <div className="table-wrap" tabIndex={0} role="region" aria-label={t("report.caption", { id: r.patient_id })}>
              <table className="report">
                <caption className="visually-hidden">{t("report.caption", { id: r.patient_id })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("audit.at")}</th>
                    <th scope="col">{t("audit.who")}</th>
                    <th scope="col">{t("report.site")}</th>
                    <th scope="col">{t("audit.what")}</th>
                    <th scope="col">{t("records.outcome")}</th>
                    <th scope="col">{t("audit.reason")}</th>
                  </tr>
                </thead>
                <tbody>
                  {r.lines.map((line) => (
                    <tr key={line.seq} className={line.break_glass ? "row-break-glass" : undefined}>
                      <td className="nowrap" data-label={t("audit.at")}>{dateTime(line.at, lang)}</td>
                      <td data-label={t("audit.who")}>
                        {nameInWords(line.member, lang)}
                        <br />
                        {line.roles.map((x) => roleInWords(x, lang)).join("・")}
                      </td>
                      <td data-label={t("report.site")}>{line.site_names.map((n) => nameInWords(n, lang)).join("、") || "—"}</td>
                      <td data-label={t("audit.what")}>{[...new Set(line.what.map((w) => whatInWords(w, lang)))].join("、")}</td>
                      <td data-label={t("records.outcome")}>
                        {line.outcome === "denied" ? t("records.denied") : line.outcome === "allowed" ? t("records.allowed") : (line.outcome ?? "—")}
                        {line.break_glass && ` (${t("audit.breakGlass")})`}
                      </td>
                      <td data-label={t("audit.reason")}>{whyInWords(line.why, lang)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Page>
  );
}
