import { useI18n } from "../i18n/i18n";

export function LanguageSwitch() {
  const { lang, setLang } = useI18n();
  return (
    <button type="button" className="lang" lang={lang === "ja" ? "en" : "ja"} onClick={() => setLang(lang === "ja" ? "en" : "ja")}>
      {lang === "ja" ? "English" : "日本語"}
    </button>
  );
}
