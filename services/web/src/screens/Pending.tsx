// Screens whose service is still being built: the navigation is in place, and the screen
// says honestly what is coming. No made-up content.
import { useI18n } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import { Link } from "../app/router";
import { Page } from "../ui/ui";

function Coming({ title, what }: { title: MessageKey; what: MessageKey }) {
  const { t } = useI18n();
  return (
    <Page title={t(title)}>
      <div className="panel pending">
        <p className="pending-badge">{t("pending.badge")}</p>
        <p>{t(what)}</p>
      </div>
    </Page>
  );
}

export const Calendar = () => <Coming title="nav.calendar" what="pending.calendar" />;

export function NotFound() {
  const { t } = useI18n();
  return (
    <Page title={t("notFound.title")}>
      <p>{t("notFound.body")}</p>
      <Link to="/">{t("notFound.home")}</Link>
    </Page>
  );
}
