// 監査: the access history, searched by patient, member, kind, outcome and period, a page
// at a time, and exported whole (CSV, NDJSON, FHIR AuditEvents).
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, download, must } from "../../api/client";
import { problemOf, type Problem } from "../../api/problem";
import { usePaged } from "../../lib/load";
import { japanInstant } from "../../lib/dates";
import { RECORD_KINDS, word } from "../../lib/terms";
import { query } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, Page, ProblemNote, SelectField, TextField } from "../../ui/ui";
import { AuditRecordCard, asRecordPage, nextDay } from "./shared";

interface Filters {
  patient_id: string;
  member_id: string;
  kind: string;
  outcome: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { patient_id: "", member_id: "", kind: "", outcome: "", from: "", to: "" };

function params(f: Filters) {
  return {
    patient_id: f.patient_id.trim() || undefined,
    member_id: f.member_id.trim() || undefined,
    kind: f.kind || undefined,
    outcome: f.outcome || undefined,
    from: f.from ? japanInstant(f.from) : undefined,
    to: f.to ? japanInstant(nextDay(f.to)) : undefined,
  };
}

export function Records() {
  const { t, lang } = useI18n();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [exportProblem, setExportProblem] = useState<Problem | null>(null);
  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const list = usePaged(
    async (after) => {
      const page = asRecordPage(
        await must(
          api.GET("/api/v1/audit/records", {
            // Newest first, as a history is read; the export below keeps the log's order.
            params: { query: { ...params(applied), newest_first: true, after: after === null ? undefined : Number(after), limit: 50 } },
          }),
        ),
      );
      return { items: page.records, next: page.next_after == null ? null : String(page.next_after) };
    },
    [applied],
  );
  const search = (e: FormEvent) => {
    e.preventDefault();
    setApplied(draft);
  };
  const exportAs = async (format: "csv" | "ndjson" | "fhir") => {
    setExportProblem(null);
    const ext = format === "fhir" ? "json" : format;
    try {
      await download(`/api/v1/audit/records${query({ ...params(applied), format, limit: 1000 })}`, `access-history.${ext}`);
    } catch (e) {
      setExportProblem(problemOf(e));
    }
  };
  return (
    <Page title={t("records.title")} lead={t("records.lead")}>
      <form className="form panel filters" onSubmit={search} aria-label={t("records.search")}>
        <div className="grid">
          <TextField label={t("audit.patientId")} value={draft.patient_id} onChange={set("patient_id")} autoComplete="off" spellCheck={false} />
          <TextField label={t("audit.memberId")} value={draft.member_id} onChange={set("member_id")} autoComplete="off" spellCheck={false} />
          <SelectField
            label={t("records.kind")}
            value={draft.kind}
            onChange={set("kind")}
            options={[["", t("records.anyKind")], ...Object.keys(RECORD_KINDS).map((k): [string, string] => [k, word(RECORD_KINDS, k, lang)])]}
          />
          <SelectField
            label={t("records.outcome")}
            value={draft.outcome}
            onChange={set("outcome")}
            options={[
              ["", t("records.anyOutcome")],
              ["allowed", t("records.allowed")],
              ["denied", t("records.denied")],
              ["succeeded", t("records.succeeded")],
              ["failed", t("records.failed")],
            ]}
          />
          <TextField label={t("records.from")} type="date" value={draft.from} onChange={set("from")} />
          <TextField label={t("records.to")} type="date" value={draft.to} onChange={set("to")} />
        </div>
        <Button type="submit">{t("records.search")}</Button>
      </form>
      <div className="buttons exports" role="group" aria-label={t("records.export")}>
        <span>{t("records.export")}:</span>
        <Button kind="secondary" onClick={() => void exportAs("csv")}>CSV</Button>
        <Button kind="secondary" onClick={() => void exportAs("ndjson")}>NDJSON</Button>
        <Button kind="secondary" onClick={() => void exportAs("fhir")}>FHIR</Button>
      </div>
      <ProblemNote problem={exportProblem} />
      <PagedList
        list={list}
        label={t("records.title")}
        empty={t("records.empty")}
        keyOf={(r) => String(r.record.seq)}
        render={(r) => <AuditRecordCard view={r} />}
      />
    </Page>
  );
}
