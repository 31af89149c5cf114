// 緊急アクセス: every opening of a patient without consent (with its reason) and every access
// it allowed, oldest first, a page at a time.
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { usePaged } from "../../lib/load";
import { PagedList } from "../../ui/list";
import { Page } from "../../ui/ui";
import { AuditRecordCard } from "./shared";

export function BreakGlass() {
  const { t } = useI18n();
  const list = usePaged(async (after) => {
    const page = await must(
      api.GET("/api/v1/break-glass-alerts", { params: { query: { after: after === null ? undefined : Number(after), limit: 50 } } }),
    );
    return { items: page.records, next: page.next_after == null ? null : String(page.next_after) };
  }, []);
  return (
    <Page title={t("breakGlass.title")} lead={t("breakGlass.lead")}>
      <PagedList
        list={list}
        label={t("breakGlass.title")}
        empty={t("breakGlass.empty")}
        keyOf={(r) => String(r.record.seq)}
        render={(r) => <AuditRecordCard view={r} />}
      />
    </Page>
  );
}
