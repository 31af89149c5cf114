// 改ざん検証: walk the whole log and its signed checkpoints in the background, and show what
// the walk found — intact, or the first record altered, deleted, inserted or reordered.
import { useEffect, useState } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { problemOf, type Problem } from "../../api/problem";
import type { components } from "../../api/schema.gen";
import { dateTime } from "../../lib/dates";
import { Button, Facts, Loading, Page, ProblemNote } from "../../ui/ui";

type Run = components["schemas"]["VerificationRun"];

const POLL_MS = 1500;

export function Verification() {
  const { t, lang } = useI18n();
  const [run, setRun] = useState<Run | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [loading, setLoading] = useState(true);
  const fetchRun = async (runId?: string) => {
    try {
      const found = await must(api.GET("/api/v1/audit/verification", { params: { query: { run_id: runId } } }));
      setRun(found);
      setProblem(null);
    } catch (e) {
      const p = problemOf(e);
      if (p.status !== 404) setProblem(p);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void fetchRun();
  }, []);
  // While a walk runs, ask again until it has finished.
  useEffect(() => {
    if (run?.state !== "running") return;
    const timer = setTimeout(() => void fetchRun(run.run_id), POLL_MS);
    return () => clearTimeout(timer);
  }, [run]);
  const start = async () => {
    setProblem(null);
    try {
      setRun(await must(api.POST("/api/v1/audit/verification")));
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  const report = run?.report;
  return (
    <Page
      title={t("verify.title")}
      lead={t("verify.lead")}
      actions={
        <Button onClick={() => void start()} disabled={run?.state === "running"}>
          {t("verify.start")}
        </Button>
      }
    >
      {loading && <Loading />}
      <ProblemNote problem={problem} />
      {!loading && !run && !problem && <p className="empty">{t("verify.none")}</p>}
      {run && (
        <section className="panel" aria-labelledby="run" aria-live="polite">
          <h2 id="run">{t("verify.run")}</h2>
          <Facts
            rows={[
              [t("verify.startedAt"), dateTime(run.started_at, lang)],
              [t("verify.size"), String(run.tree_size)],
              [t("verify.state"), t(run.state === "running" ? "verify.running" : run.state === "finished" ? "verify.finished" : "verify.abandoned")],
              ...(run.finished_at ? ([[t("verify.finishedAt"), dateTime(run.finished_at, lang)]] as [string, string][]) : []),
            ]}
          />
          {run.state === "running" && <Loading label={t("verify.walking")} />}
          {report && report.intact && (
            <p className="result result-ok" role="status">
              <span aria-hidden="true">✓ </span>
              {t("verify.intact", { records: report.records, checkpoints: report.checkpoints })}
            </p>
          )}
          {report && !report.intact && (
            <div className="result result-bad" role="alert">
              <p>
                <span aria-hidden="true">✗ </span>
                {t("verify.broken", { n: report.problems.length })}
              </p>
              {report.first && (
                <p>
                  {t("verify.first")}: <span lang="en">{report.first.detail ?? report.first.title}</span>
                </p>
              )}
            </div>
          )}
          {report && (
            <details>
              <summary>{t("verify.hashes")}</summary>
              <Facts
                rows={[
                  [t("verify.chainHead"), <code className="hash" key="h">{report.chain_head}</code>],
                  [t("verify.root"), <code className="hash" key="r">{report.root}</code>],
                ]}
              />
            </details>
          )}
        </section>
      )}
    </Page>
  );
}
