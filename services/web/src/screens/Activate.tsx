// Joining: the invitation's link (…/activate?token=…) → a username and password → the
// second factor (scan the QR code with an authenticator app) → its first code.
import { useState, type FormEvent } from "react";
import { QrCode } from "../ui/qr";
import { useI18n } from "../i18n/i18n";
import { raw } from "../auth/session";
import { explainFields, offline, type Problem } from "../api/problem";
import type { components } from "../api/schema.gen";
import { navigate, useLocation } from "../app/router";
import { Button, Page, ProblemNote, TextField } from "../ui/ui";
import { LanguageSwitch } from "./LanguageSwitch";

type Enrolment = components["schemas"]["SecondFactorEnrolment"];

function asProblem(error: unknown, status: number): Problem {
  return (error as Problem | undefined) ?? { type: "about:blank", title: "error", status };
}

export function Activate() {
  const { t } = useI18n();
  const { query } = useLocation();
  const token = query.get("token") ?? "";
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [done, setDone] = useState(false);
  if (!token) {
    return (
      <Page title={t("activate.title")} actions={<LanguageSwitch />}>
        <p className="note note-problem" role="alert">
          {t("activate.noToken")}
        </p>
      </Page>
    );
  }
  return (
    <Page title={t("activate.title")} actions={<LanguageSwitch />}>
      <ol className="steps" aria-label={t("activate.steps")}>
        <li aria-current={!enrolment ? "step" : undefined}>{t("activate.step1")}</li>
        <li aria-current={enrolment && !done ? "step" : undefined}>{t("activate.step2")}</li>
        <li aria-current={done ? "step" : undefined}>{t("activate.step3")}</li>
      </ol>
      {!enrolment && <Account token={token} onDone={setEnrolment} />}
      {enrolment && !done && <SecondFactor enrolment={enrolment} onDone={() => setDone(true)} />}
      {done && (
        <div className="note note-success" role="status">
          <p>{t("activate.finished")}</p>
          <Button onClick={() => navigate("/", { replace: true })}>{t("activate.toSignIn")}</Button>
        </div>
      )}
    </Page>
  );
}

function Account({ token, onDone }: { token: string; onDone: (e: Enrolment) => void }) {
  const { t, lang } = useI18n();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setMismatch(password !== again);
    if (password !== again) return;
    setBusy(true);
    setProblem(null);
    const answer = await raw
      .POST("/api/v1/activation", { body: { activation_token: token, username: username.trim(), password } })
      .catch(() => null);
    setBusy(false);
    if (!answer) return setProblem(offline().problem);
    if (answer.data) onDone(answer.data);
    else setProblem(asProblem(answer.error, answer.response.status));
  };
  const { fields } = problem ? explainFields(problem, lang) : { fields: {} as Record<string, string> };
  return (
    <form className="form narrow" onSubmit={submit} noValidate>
      <TextField
        label={t("activate.username")}
        hint={t("activate.usernameHint")}
        value={username}
        onChange={setUsername}
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        error={fields["username"]}
      />
      <TextField
        label={t("activate.password")}
        hint={t("activate.passwordHint")}
        type="password"
        value={password}
        onChange={setPassword}
        autoComplete="new-password"
        minLength={12}
        required
        error={fields["password"]}
      />
      <TextField
        label={t("activate.again")}
        type="password"
        value={again}
        onChange={setAgain}
        autoComplete="new-password"
        required
        error={mismatch ? t("activate.mismatch") : undefined}
      />
      <ProblemNote problem={problem && !fields["username"] && !fields["password"] ? problem : null} />
      <Button type="submit" disabled={busy} className="wide">
        {t("activate.next")}
      </Button>
    </form>
  );
}

function SecondFactor({ enrolment, onDone }: { enrolment: Enrolment; onDone: () => void }) {
  const { t, lang } = useI18n();
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    const answer = await raw
      .POST("/api/v1/activation/second-factor", {
        body: { enrolment_token: enrolment.enrolment_token, code: code.trim() },
      })
      .catch(() => null);
    setBusy(false);
    if (!answer) return setProblem(offline().problem);
    if (answer.response.ok) onDone();
    else setProblem(asProblem(answer.error, answer.response.status));
  };
  const { fields } = problem ? explainFields(problem, lang) : { fields: {} as Record<string, string> };
  const grouped = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
  return (
    <form className="form narrow" onSubmit={submit} noValidate>
      <p>{t("activate.scan")}</p>
      <div className="qr-box">
        <QrCode text={enrolment.otpauth_uri} label={t("activate.qrLabel")} />
      </div>
      <p className="hint">
        {t("activate.typeInstead")} <code className="secret">{grouped}</code>
      </p>
      <TextField
        label={t("activate.firstCode")}
        hint={t("signin.codeHint")}
        value={code}
        onChange={setCode}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={6}
        required
        error={fields["code"]}
      />
      <ProblemNote problem={problem && !fields["code"] ? problem : null} />
      <Button type="submit" disabled={busy} className="wide">
        {t("activate.confirm")}
      </Button>
    </form>
  );
}
