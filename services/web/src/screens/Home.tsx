import { useSyncExternalStore } from "react";
import { useI18n } from "../i18n/i18n";
import { session } from "../auth/session";
import { Link } from "../app/router";
import { itemsFor } from "../app/nav";
import { Icon } from "../ui/icons";
import { Page } from "../ui/ui";
import { ROLES, word } from "../lib/terms";

/** お知らせ: the notification column arrives with the notification service; until then the
 * home screen says so and leads to the member's own work. */
export function Home() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  if (state.status !== "signed-in") return null;
  const me = state.me;
  const work = itemsFor(me).filter((i) => i.to !== "/" && i.to !== "/settings");
  return (
    <Page title={t("home.title")} lead={t("home.hello", { name: me.name })}>
      <p className="roles">{me.roles.map((r) => word(ROLES, r, lang)).join("・")}</p>
      <section className="panel" aria-labelledby="notices">
        <h2 id="notices">{t("home.notices")}</h2>
        <p className="pending-note">{t("pending.notifications")}</p>
      </section>
      <section aria-labelledby="shortcuts">
        <h2 id="shortcuts">{t("home.shortcuts")}</h2>
        <ul className="tiles">
          {work.map((item) => (
            <li key={item.to}>
              <Link to={item.to} className="tile">
                <Icon name={item.icon} />
                <span>{t(item.label)}</span>
              </Link>
            </li>
          ))}
        </ul>
      </section>
    </Page>
  );
}
