// The building blocks every screen uses: a page with its heading, fields that show what
// is wrong beside them, problems in plain words, loading and empty states, names with
// their reading.
import {
  useEffect,
  useId,
  useRef,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
} from "react";
import { useI18n } from "../i18n/i18n";
import { explain, type Problem } from "../api/problem";

/** A screen: its heading takes the focus when it opens (screen readers announce it), and
 * the window's title follows. */
export function Page({
  title,
  kicker,
  lead,
  actions,
  children,
}: {
  title: string;
  /** A small line above the heading: the reading of a name shown as the heading. */
  kicker?: string | undefined;
  lead?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} | つなぐ`;
    heading.current?.focus();
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <div>
          {kicker && <p className="kicker">{kicker}</p>}
          <h1 id="page-title" tabIndex={-1} ref={heading}>
            {title}
          </h1>
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </header>
      {lead && <p className="lead">{lead}</p>}
      {children}
    </section>
  );
}

export function Button({ kind = "primary", className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { kind?: "primary" | "secondary" | "danger" | "quiet" }) {
  return <button type="button" className={`button button-${kind}${className ? ` ${className}` : ""}`} {...rest} />;
}

interface FieldProps {
  label: string;
  hint?: string;
  error?: string | undefined;
  required?: boolean;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}

/** A labelled field with its hint and, when the service refused it, what is wrong. */
export function Field({ label, hint, error, required, children }: FieldProps) {
  const { t } = useI18n();
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " field-invalid" : ""}`}>
      <label htmlFor={id}>
        {label}
        {/* Said by the input's own `required` to assistive technology. */}
        {required && (
          <span className="required" aria-hidden="true">
            {" "}
            {t("field.required")}
          </span>
        )}
      </label>
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {children({ id, describedBy, invalid: Boolean(error) })}
      {error && (
        <p className="field-error" id={errorId}>
          <span aria-hidden="true">⚠ </span>
          {error}
        </p>
      )}
    </div>
  );
}

/** A group of check boxes or radio buttons under one question, with what is wrong below. */
export function Choices({ legend, error, required, children }: { legend: string; error?: string | undefined; required?: boolean; children: ReactNode }) {
  const { t } = useI18n();
  const id = useId();
  return (
    <fieldset className={`field checks${error ? " field-invalid" : ""}`} aria-describedby={error ? `${id}-error` : undefined}>
      <legend>
        {legend}
        {required && (
          <span className="required" aria-hidden="true">
            {" "}
            {t("field.required")}
          </span>
        )}
      </legend>
      {children}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          <span aria-hidden="true">⚠ </span>
          {error}
        </p>
      )}
    </fieldset>
  );
}

type TextProps = Omit<InputHTMLAttributes<HTMLInputElement>, "onChange"> & {
  label: string;
  hint?: string;
  error?: string | undefined;
  value: string;
  onChange: (value: string) => void;
};

export function TextField({ label, hint, error, value, onChange, required, ...rest }: TextProps) {
  return (
    <Field label={label} hint={hint} error={error} required={required}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          required={required}
          {...rest}
        />
      )}
    </Field>
  );
}

type SelectProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "onChange"> & {
  label: string;
  hint?: string;
  error?: string | undefined;
  value: string;
  onChange: (value: string) => void;
  options: [value: string, label: string][];
};

export function SelectField({ label, hint, error, value, onChange, options, required, ...rest }: SelectProps) {
  return (
    <Field label={label} hint={hint} error={error} required={required}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          required={required}
          {...rest}
        >
          {options.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A problem the service answered, in plain words, announced to screen readers. */
export function ProblemNote({ problem, children }: { problem: Problem | null | undefined; children?: ReactNode }) {
  const { lang, t } = useI18n();
  if (!problem) return null;
  // Said in the reader's language only: the service's English words help nobody reading
  // Japanese (the request id in the problem is what whoever helps looks up).
  const words = explain(problem.detail, problem, lang);
  return (
    <div className={`note note-${problem.status === 403 ? "refusal" : "problem"}`} role="alert">
      <p className="note-title">{problem.status === 403 ? t("problem.refused") : t("problem.title")}</p>
      <p>{words}</p>
      {children}
    </div>
  );
}

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t("loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** A name with its reading above it, as Japanese forms show it (フリガナ). */
export function PersonName({ name, kana, big }: { name: string; kana?: string | null; big?: boolean }) {
  return (
    <span className={`person${big ? " person-big" : ""}`}>
      {kana && <span className="kana">{kana}</span>}
      <span className="name">{name}</span>
    </span>
  );
}

/** A description list of label → value rows. */
export function Facts({ rows }: { rows: [label: string, value: ReactNode][] }) {
  return (
    <dl className="facts">
      {rows.map(([label, value]) => (
        <div key={label} className="fact">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
