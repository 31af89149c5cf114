// Sending a form: the answer's problem is kept beside the form (which keeps everything the
// person typed), fields at fault get their own message, the rest shows above the button.
// What the form can tell before sending (a required field left empty, a date that is not
// one) is said for every field at once, rather than one field per round trip.
import { useState } from "react";
import { explainFields, problemOf, type Problem } from "../api/problem";
import type { Lang } from "./terms";

/** Messages for fields at fault, by JSON pointer (`/name`, `/model/sites`). */
export type FieldMessages = Record<string, string>;

export interface Sending {
  busy: boolean;
  problem: Problem | null;
  fieldError: (pointer: string) => string | undefined;
  /** The problem, unless every part of it is already shown beside a field. */
  general: Problem | null;
  send: <T>(work: () => Promise<T>) => Promise<T | undefined>;
  /** Send only when `checked` names no field at fault; else show each message beside its field. */
  sendChecked: <T>(checked: FieldMessages, work: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
}

export function useSending(lang: Lang): Sending {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [local, setLocal] = useState<FieldMessages>({});
  const explained = problem ? explainFields(problem, lang) : null;
  const send = async <T,>(work: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setProblem(null);
    setLocal({});
    try {
      return await work();
    } catch (e) {
      setProblem(problemOf(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return {
    busy,
    problem,
    fieldError: (pointer) => {
      const key = pointer.replace(/^\//, "");
      return local[key] ?? explained?.fields[key];
    },
    general: explained && explained.general !== null ? problem : null,
    clear: () => {
      setProblem(null);
      setLocal({});
    },
    send,
    async sendChecked(checked, work) {
      const faults = Object.entries(checked);
      if (faults.length > 0) {
        setProblem(null);
        setLocal(Object.fromEntries(faults.map(([k, v]) => [k.replace(/^\//, ""), v])));
        return undefined;
      }
      return send(work);
    },
  };
}

/** The required fields left empty, each with the message `say(label)` gives. */
export function emptyOnes(fields: [pointer: string, value: string, label: string][], say: (label: string) => string): FieldMessages {
  const out: FieldMessages = {};
  for (const [pointer, value, label] of fields) if (!value.trim()) out[pointer] = say(label);
  return out;
}
