import { useState, type FormEvent } from "react";
import { useI18n } from "../i18n/i18n";
import { session } from "../auth/session";
import { explainFields, type Problem } from "../api/problem";
import { emptyOnes, type FieldMessages } from "../lib/forms";
import { Button, Page, ProblemNote, TextField } from "../ui/ui";
import { LanguageSwitch } from "./LanguageSwitch";

export function SignIn({ why }: { why: "start" | "signed-out" | "ended" }) {
  const { t, lang } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [missing, setMissing] = useState<FieldMessages>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // What is missing is said for each field at once, before asking the service.
    const faults = emptyOnes(
      [
        ["username", username, t("signin.username")],
        ["password", password, t("signin.password")],
        ["code", code, t("signin.code")],
      ],
      (label) => t("form.missing", { field: label }),
    );
    if (code.trim() && !/^[0-9]{6}$/.test(code.trim())) faults["code"] = t("signin.codeDigits");
    setMissing(faults);
    if (Object.keys(faults).length > 0) {
      setProblem(null);
      return;
    }
    setBusy(true);
    setProblem(null);
    // What was typed stays in the form whatever the answer.
    const refused = await session.signIn(username.trim(), password, code.trim());
    setBusy(false);
    setProblem(refused);
  };
  const fields: FieldMessages = { ...(problem ? explainFields(problem, lang).fields : {}), ...missing };

  return (
    <Page title={t("signin.title")} actions={<LanguageSwitch />}>
      {why === "ended" && (
        <p className="note note-info" role="status">
          {t("signin.ended")}
        </p>
      )}
      {why === "signed-out" && (
        <p className="note note-info" role="status">
          {t("signin.signedOut")}
        </p>
      )}
      <form className="form narrow" onSubmit={submit} noValidate>
        <TextField
          label={t("signin.username")}
          value={username}
          onChange={setUsername}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          error={fields["username"]}
        />
        <TextField
          label={t("signin.password")}
          type="password"
          value={password}
          onChange={setPassword}
          autoComplete="current-password"
          required
          error={fields["password"]}
        />
        <TextField
          label={t("signin.code")}
          hint={t("signin.codeHint")}
          value={code}
          onChange={setCode}
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          pattern="[0-9]{6}"
          required
          error={fields["code"]}
        />
        <ProblemNote problem={problem && Object.keys(fields).length === 0 ? problem : null}>
          {problem?.status === 401 && <p>{t("signin.codeOnce")}</p>}
        </ProblemNote>
        <Button type="submit" disabled={busy} className="wide">
          {busy ? t("signin.busy") : t("signin.submit")}
        </Button>
      </form>
      <p className="hint">{t("signin.newHere")}</p>
    </Page>
  );
}
