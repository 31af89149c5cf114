import type { components } from "../../api/schema.gen";
import { useI18n } from "../../i18n/i18n";
import { dateTime } from "../../lib/dates";
import { PURPOSES, RECORD_KINDS, word } from "../../lib/terms";
import { nameInWords, reasonInWords, roleInWords, whatInWords } from "../../lib/audit";
import { Link } from "../../app/router";

export type RecordView = components["schemas"]["RecordView"];
export type RecordPage = components["schemas"]["RecordPage"];

/** A records query answered as JSON (the default format; CSV, NDJSON and FHIR are exports). */
export function asRecordPage(answer: unknown): RecordPage {
  const page = answer as RecordPage | null;
  if (page && typeof page === "object" && Array.isArray(page.records)) return page;
  return { records: [], next_after: null };
}

const OUTCOMES: Record<string, [string, string]> = {
  allowed: ["許可", "Allowed"],
  denied: ["拒否", "Denied"],
  succeeded: ["成功", "Succeeded"],
  failed: ["失敗", "Failed"],
};

/** One record of the audit log, as an auditor reads it. */
export function AuditRecordCard({ view }: { view: RecordView }) {
  const { t, lang } = useI18n();
  const r = view.record;
  const reason = reasonInWords(r.reason, lang);
  return (
    <div className="card-body audit-record">
      <p className="card-title">
        <span className="tag">{word(RECORD_KINDS, r.kind, lang)}</span>{" "}
        {r.outcome && <span className={`status status-outcome-${r.outcome}`}>{word(OUTCOMES, r.outcome, lang)}</span>}
        {r.break_glass && <span className="status status-break-glass">{t("audit.breakGlass")}</span>}
      </p>
      <dl className="facts compact">
        <div className="fact">
          <dt>{t("audit.at")}</dt>
          <dd>{dateTime(r.at, lang)}</dd>
        </div>
        <div className="fact">
          <dt>{t("audit.who")}</dt>
          <dd>
            {view.member ? nameInWords(view.member, lang) : <code className="id">{r.actor}</code>}
            {r.roles.length > 0 && ` (${r.roles.map((x) => roleInWords(x, lang)).join("・")})`}
          </dd>
        </div>
        {view.site_names && view.site_names.length > 0 && (
          <div className="fact">
            <dt>{t("report.site")}</dt>
            <dd>{view.site_names.map((n) => nameInWords(n, lang)).join("、")}</dd>
          </div>
        )}
        {view.patient_id && (
          <div className="fact">
            <dt>{t("audit.patient")}</dt>
            <dd>
              <Link to={`/audit/patients/${view.patient_id}`}>
                <code className="id">{view.patient_id}</code>
              </Link>
            </dd>
          </div>
        )}
        {r.categories.length > 0 && (
          <div className="fact">
            <dt>{t("audit.what")}</dt>
            <dd>{r.categories.map((c) => whatInWords(c, lang)).join("、")}</dd>
          </div>
        )}
        {r.purpose && (
          <div className="fact">
            <dt>{t("audit.purpose")}</dt>
            <dd>{word(PURPOSES, r.purpose, lang)}</dd>
          </div>
        )}
        {reason && (
          <div className="fact">
            <dt>{t("audit.reason")}</dt>
            <dd>{reason}</dd>
          </div>
        )}
        <div className="fact">
          <dt>{t("audit.seq")}</dt>
          <dd>{r.seq}</dd>
        </div>
      </dl>
    </div>
  );
}

/** The next day of a `YYYY-MM-DD` date (an "until" day is inclusive on screen, exclusive in the API). */
export function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
