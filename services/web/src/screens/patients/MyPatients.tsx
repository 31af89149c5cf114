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
import { Button, Page, PersonName, TextField } from "../../ui/ui";
import { nameMatches } from "../../lib/people";
import { useEffect, useState } from "react";
import { RecordSearch } from "./RecordSearch";

export function MyPatients() {
  const { t, lang } = useI18n();
  const [typed, setTyped] = useState("");
  const list = usePaged(async (after) => {
    const page = await must(
      api.GET("/api/v1/me/patients", { params: { query: { after: after ?? undefined, limit: 30 } } }),
    );
    return { items: page.items, next: page.next_after ?? null };
  }, []);
  // A team's patients are tens, not thousands: while a name is typed every page is loaded
  // and the list is narrowed here (names are sealed; the service cannot search them).
  const { hasMore, loading, more } = list;
  useEffect(() => {
    if (typed.trim() && hasMore && !loading) more();
  }, [typed, hasMore, loading, more]);
  const shown = typed.trim()
    ? { ...list, items: list.items.filter((p) => p.personal && nameMatches(typed, p.personal.name, p.personal.name_kana)) }
    : list;
  return (
    <Page
      title={t("patients.title")}
      lead={t("patients.lead")}
      actions={<Button kind="secondary" onClick={() => navigate("/patients/new")}>{t("register.title")}</Button>}
    >
      <RecordSearch />
      <TextField
        label={t("patients.find")}
        hint={t("patients.findHint")}
        type="search"
        value={typed}
        onChange={setTyped}
        autoComplete="off"
      />
      <PagedList
        list={shown}
        label={t("patients.title")}
        empty={typed.trim() ? t("patients.noneFound") : t("patients.empty")}
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
