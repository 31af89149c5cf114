// 記録を検索: the posts of my patients' timelines holding a word (褥瘡 is found; kana width
// and Latin case do not matter), newest first, each with whose it is, by name. Only what
// the consent opens to me shows, and every patient shown is recorded as read.
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { usePaged } from "../../lib/load";
import { dateTime } from "../../lib/dates";
import { CATEGORIES, PROFESSIONS, word } from "../../lib/terms";
import { Link } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, TextField } from "../../ui/ui";

export function RecordSearch() {
  const { t } = useI18n();
  const [typed, setTyped] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed.trim()) setAsked(typed.trim());
  };
  return (
    <section className="panel" aria-label={t("search.title")}>
      <form className="search-form" role="search" onSubmit={submit} noValidate>
        <TextField label={t("search.label")} hint={t("search.hint")} value={typed} onChange={setTyped} type="search" enterKeyHint="search" />
        <Button type="submit" disabled={typed.trim() === ""}>
          {t("search.go")}
        </Button>
      </form>
      {asked && <Results q={asked} />}
    </section>
  );
}

function Results({ q }: { q: string }) {
  const { t, lang } = useI18n();
  const list = usePaged(async (after) => {
    const page = await must(
      api.GET("/api/v1/posts/search", { params: { query: { q, after: after ?? undefined, limit: 20 } } }),
    );
    return { items: page.items, next: page.next_after ?? null };
  }, [q]);
  return (
    <PagedList
      list={list}
      label={t("search.results", { q })}
      empty={t("search.none", { q })}
      keyOf={(hit) => hit.post_id}
      render={(hit) => {
        const profession = hit.author.profession ? word(PROFESSIONS, hit.author.profession, lang) : null;
        return (
          <Link to={`/patients/${hit.patient_id}`} className="card-link">
            <span className="name">{hit.patient_name ?? t("search.nameErased")}</span>
            <span className="post-text">{hit.text}</span>
            <span className="card-sub">
              {hit.author.name}
              {profession && `（${profession}）`}
              {hit.author.site_name && `・${hit.author.site_name}`}　{dateTime(hit.posted_at, lang)}
            </span>
            <span className="tags">
              {hit.urgent && <span className="tag tag-urgent">{t("timeline.urgent")}</span>}
              <span className="tag">{word(CATEGORIES, hit.category, lang)}</span>
            </span>
          </Link>
        );
      }}
    />
  );
}
