import { lazy, Suspense, useEffect, useState, useSyncExternalStore, type ComponentType } from "react";
import { I18nProvider, useI18n } from "../i18n/i18n";
import { session, type Me } from "../auth/session";
import { Link, match, useLocation } from "./router";
import { currentItem, itemsFor, primaryFor } from "./nav";
import { Icon } from "../ui/icons";
import { Loading } from "../ui/ui";
import { SignIn } from "../screens/SignIn";
import { Home } from "../screens/Home";

type Screen = ComponentType<{ params: Record<string, string> }>;

function screen<M>(load: () => Promise<M>, pick: (m: M) => Screen): Screen {
  return lazy(() => load().then((m) => ({ default: pick(m) })));
}

// The first screen (sign-in, home) is in the first bundle; every other screen loads when
// first opened, so a phone on a weak signal starts fast.
const Activate = screen(() => import("../screens/Activate"), (m) => m.Activate);
const ROUTES: [string, Screen][] = [
  ["/", Home],
  ["/patients", screen(() => import("../screens/patients/MyPatients"), (m) => m.MyPatients)],
  ["/patients/new", screen(() => import("../screens/patients/Register"), (m) => m.NewPatient)],
  ["/patients/:id", screen(() => import("../screens/patients/PatientPage"), (m) => m.PatientPage)],
  ["/boards", screen(() => import("../screens/boards/Boards"), (m) => m.Boards)],
  ["/boards/:id", screen(() => import("../screens/boards/BoardPage"), (m) => m.BoardPage)],
  ["/broadcasts", screen(() => import("../screens/boards/Broadcasts"), (m) => m.Broadcasts)],
  ["/consultations", screen(() => import("../screens/boards/Consultations"), (m) => m.Consultations)],
  ["/consultations/:id", screen(() => import("../screens/boards/Consultations"), (m) => m.ConsultationPage)],
  ["/directory", screen(() => import("../screens/directory/Directory"), (m) => m.Directory)],
  ["/calendar", screen(() => import("../screens/Pending"), (m) => m.Calendar)],
  ["/admin/organisations", screen(() => import("../screens/admin/Organisations"), (m) => m.Organisations)],
  ["/admin/organisations/:id", screen(() => import("../screens/admin/Organisations"), (m) => m.Organisation)],
  ["/admin/sites/:id", screen(() => import("../screens/admin/Organisations"), (m) => m.Site)],
  ["/admin/members", screen(() => import("../screens/admin/Members"), (m) => m.Members)],
  ["/admin/members/:id", screen(() => import("../screens/admin/Member"), (m) => m.Member)],
  ["/admin/consents", screen(() => import("../screens/admin/Consents"), (m) => m.Consents)],
  ["/admin/patients/new", screen(() => import("../screens/patients/Register"), (m) => m.NewPatient)],
  ["/admin/patients/:id", screen(() => import("../screens/admin/Patient"), (m) => m.PatientRegistration)],
  ["/audit/records", screen(() => import("../screens/audit/Records"), (m) => m.Records)],
  ["/audit/patients", screen(() => import("../screens/audit/PatientReport"), (m) => m.PatientReportSearch)],
  ["/audit/patients/:id", screen(() => import("../screens/audit/PatientReport"), (m) => m.PatientReport)],
  ["/audit/verification", screen(() => import("../screens/audit/Verification"), (m) => m.Verification)],
  ["/audit/break-glass", screen(() => import("../screens/audit/BreakGlass"), (m) => m.BreakGlass)],
  ["/settings", screen(() => import("../screens/Settings"), (m) => m.Settings)],
];
const NotFound = screen(() => import("../screens/Pending"), (m) => m.NotFound);

export function App() {
  return (
    <I18nProvider>
      <Root />
    </I18nProvider>
  );
}

/** The name and mark above the signed-out screens. */
function SoloBrand() {
  const { t } = useI18n();
  return (
    <div className="solo-brand">
      <img src="/icons/icon.svg" alt="" width={56} height={56} />
      <span>
        <span className="solo-name">{t("app.name")}</span>
        <span className="solo-tagline">{t("app.tagline")}</span>
      </span>
    </div>
  );
}

function Root() {
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const { path } = useLocation();
  const { t } = useI18n();
  useEffect(() => {
    void session.restore();
    return session.watch();
  }, []);
  if (path === "/activate") {
    return (
      <Suspense fallback={<Loading />}>
        <main id="main" className="solo">
          <SoloBrand />
          <Activate params={{}} />
        </main>
      </Suspense>
    );
  }
  if (state.status === "restoring") {
    return (
      <main id="main" className="solo">
        <Loading label={t("session.restoring")} />
      </main>
    );
  }
  if (state.status === "signed-out") {
    return (
      <main id="main" className="solo">
        <SoloBrand />
        <SignIn why={state.why} />
      </main>
    );
  }
  return <Shell me={state.me} path={path} />;
}

function Shell({ me, path }: { me: Me; path: string }) {
  const { t, lang, setLang } = useI18n();
  const [menu, setMenu] = useState(false);
  useEffect(() => setMenu(false), [path]);
  let Found: Screen = NotFound;
  let params: Record<string, string> = {};
  for (const [pattern, component] of ROUTES) {
    const hit = match(pattern, path);
    if (hit) {
      Found = component;
      params = hit;
      break;
    }
  }
  const here = currentItem(path);
  const all = itemsFor(me);
  const primary = primaryFor(me);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t("skip")}
      </a>
      <header className="top">
        <Link to="/" className="brand">
          {t("app.name")}
        </Link>
        <span className="who">
          <span className="who-name">{me.name}</span>
        </span>
        <button
          type="button"
          className="lang"
          lang={lang === "ja" ? "en" : "ja"}
          onClick={() => setLang(lang === "ja" ? "en" : "ja")}
        >
          {lang === "ja" ? "English" : "日本語"}
        </button>
      </header>
      <nav className={`side${menu ? " side-open" : ""}`} aria-label={t("nav.label")} id="menu">
        <ul>
          {all.map((item) => (
            <li key={item.to}>
              <Link to={item.to} aria-current={here === item.to ? "page" : undefined}>
                <Icon name={item.icon} />
                {t(item.label)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Found params={params} />
        </Suspense>
      </main>
      <nav className="bottom" aria-label={t("nav.bottom")}>
        <ul>
          {primary.map((item) => (
            <li key={item.to}>
              <Link to={item.to} aria-current={here === item.to ? "page" : undefined}>
                <Icon name={item.icon} />
                <span>{t(item.short)}</span>
              </Link>
            </li>
          ))}
          <li>
            <button type="button" aria-expanded={menu} aria-controls="menu" onClick={() => setMenu((m) => !m)}>
              <Icon name="menu" />
              <span>{t("nav.menu")}</span>
            </button>
          </li>
        </ul>
      </nav>
    </div>
  );
}
