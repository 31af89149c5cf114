// 患者: the patients whose care team I am on. A name shows when the consent lets me see
// it; otherwise the list says why, in words.
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { explain } from "../../api/problem";
import { usePaged } from "../../lib/load";
import { dateOfBirth } from "../../lib/dates";
import { TEAM_PARTS, word } from "../../lib/terms";
import { Link, navigate } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, Page, PersonName } from "../../ui/ui";
import { RecordSearch } from "./RecordSearch";

export function MyPatients() {
  const { t, lang } = useI18n();
  const list = usePaged(async (after) => {
    const page = await must(
      api.GET("/api/v1/me/patients", { params: { query: { after: after ?? undefined, limit: 30 } } }),
    );
    return { items: page.items, next: page.next_after ?? null };
  }, []);
  return (
    <Page
      title={t("patients.title")}
      lead={t("patients.lead")}
      actions={<Button kind="secondary" onClick={() => navigate("/patients/new")}>{t("register.title")}</Button>}
    >
      <RecordSearch />
      <PagedList
        list={list}
        label={t("patients.title")}
        empty={t("patients.empty")}
        keyOf={(p) => p.patient_id}
        render={(p) => (
          <Link to={`/patients/${p.patient_id}`} className="card-link">
            {p.personal ? (
              <>
                <PersonName name={p.personal.name} kana={p.personal.name_kana} />
                <span className="card-sub">{dateOfBirth(p.personal.date_of_birth, lang)}</span>
              </>
            ) : (
              <>
                <span className="name">{t("patients.withheld")}</span>
                <span className="card-sub">
                  {explain(p.withheld, { type: "access-denied", title: "", status: 403 }, lang)}
                </span>
              </>
            )}
            <span className="tags">
              {p.parts.map((part) => (
                <span key={part} className="tag">
                  {word(TEAM_PARTS, part, lang)}
                </span>
              ))}
              {p.care_ended_at && <span className="tag tag-muted">{t("patients.careEnded")}</span>}
            </span>
          </Link>
        )}
      />
    </Page>
  );
}
