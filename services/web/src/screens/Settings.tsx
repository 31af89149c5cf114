// 設定: language, the second factor, signing out here or everywhere.
import { useState, useSyncExternalStore } from "react";
import { useI18n } from "../i18n/i18n";
import { api, must } from "../api/client";
import { session } from "../auth/session";
import { useSending } from "../lib/forms";
import { PROFESSIONS, ROLES, word } from "../lib/terms";
import { Button, Facts, Page, PersonName, ProblemNote } from "../ui/ui";

export function Settings() {
  const { t, lang, setLang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const [confirming, setConfirming] = useState(false);
  const sending = useSending(lang);
  if (state.status !== "signed-in") return null;
  const me = state.me;
  const everywhere = async () => {
    const done = await sending.send(() => must(api.DELETE("/api/v1/me/sessions", {})));
    if (done) session.end("signed-out");
  };
  return (
    <Page title={t("settings.title")}>
      <section className="panel" aria-labelledby="me">
        <h2 id="me">{t("settings.me")}</h2>
        <PersonName name={me.name} kana={me.name_kana} big />
        <Facts
          rows={[
            [t("members.profession"), word(PROFESSIONS, me.profession, lang)],
            [t("members.roles"), me.roles.map((r) => word(ROLES, r, lang)).join("・")],
          ]}
        />
      </section>

      <section className="panel" aria-labelledby="language">
        <h2 id="language">{t("settings.language")}</h2>
        <div className="segmented" role="group" aria-labelledby="language">
          <Button kind={lang === "ja" ? "primary" : "secondary"} aria-pressed={lang === "ja"} lang="ja" onClick={() => setLang("ja")}>
            日本語
          </Button>
          <Button kind={lang === "en" ? "primary" : "secondary"} aria-pressed={lang === "en"} lang="en" onClick={() => setLang("en")}>
            English
          </Button>
        </div>
      </section>

      <section className="panel" aria-labelledby="second-factor">
        <h2 id="second-factor">{t("settings.secondFactor")}</h2>
        <p>{t("settings.secondFactorOn")}</p>
        <p className="hint">{t("settings.secondFactorNewPhone")}</p>
      </section>

      <section className="panel" aria-labelledby="sign-out">
        <h2 id="sign-out">{t("settings.signOut")}</h2>
        <div className="buttons">
          <Button kind="secondary" onClick={() => void session.signOut()}>
            {t("settings.signOutHere")}
          </Button>
          <Button kind="danger" aria-expanded={confirming} onClick={() => setConfirming((c) => !c)}>
            {t("settings.signOutEverywhere")}
          </Button>
        </div>
        {confirming && (
          <div className="note note-info" role="status">
            <p>{t("settings.everywhereExplain")}</p>
            <Button kind="danger" disabled={sending.busy} onClick={() => void everywhere()}>
              {t("settings.everywhereConfirm")}
            </Button>
          </div>
        )}
        <ProblemNote problem={sending.general} />
      </section>
    </Page>
  );
}
