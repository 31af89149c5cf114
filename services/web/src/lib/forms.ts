// Sending a form: the answer's problem is kept beside the form (which keeps everything the
// person typed), fields at fault get their own message, the rest shows above the button.
import { useState } from "react";
import { explainFields, problemOf, type Problem } from "../api/problem";
import type { Lang } from "./terms";

export interface Sending {
  busy: boolean;
  problem: Problem | null;
  fieldError: (pointer: string) => string | undefined;
  /** The problem, unless every part of it is already shown beside a field. */
  general: Problem | null;
  send: <T>(work: () => Promise<T>) => Promise<T | undefined>;
  clear: () => void;
}

export function useSending(lang: Lang): Sending {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const explained = problem ? explainFields(problem, lang) : null;
  return {
    busy,
    problem,
    fieldError: (pointer) => explained?.fields[pointer.replace(/^\//, "")],
    general: explained && explained.general !== null ? problem : null,
    clear: () => setProblem(null),
    async send(work) {
      setBusy(true);
      setProblem(null);
      try {
        return await work();
      } catch (e) {
        setProblem(problemOf(e));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
  };
}
