// What each person finds in the navigation, by their roles. The API decides what they may
// do; this only spares them doors they cannot open.
import type { MessageKey } from "../i18n/messages";
import type { Me } from "../auth/session";
import type { IconName } from "../ui/icons";

export interface NavItem {
  to: string;
  label: MessageKey;
  short: MessageKey;
  icon: IconName;
  /** Shown when the member holds one of these roles (none: everyone). */
  roles?: string[];
  section: "care" | "secretariat" | "audit" | "me";
}

const CARE = ["professional", "site_admin", "coordination_centre_staff", "community_support_centre_staff"];

export const NAV: NavItem[] = [
  { to: "/", label: "nav.home", short: "nav.home.short", icon: "bell", section: "care" },
  { to: "/patients", label: "nav.patients", short: "nav.patients.short", icon: "people", roles: CARE, section: "care" },
  { to: "/boards", label: "nav.boards", short: "nav.boards.short", icon: "board", roles: [...CARE, "municipal_secretariat", "operator"], section: "care" },
  { to: "/broadcasts", label: "nav.broadcasts", short: "nav.broadcasts.short", icon: "megaphone", roles: [...CARE, "municipal_secretariat", "operator", "broadcast_recipient"], section: "care" },
  { to: "/consultations", label: "nav.consultations", short: "nav.consultations.short", icon: "chat", roles: [...CARE, "municipal_secretariat"], section: "care" },
  { to: "/directory", label: "nav.directory", short: "nav.directory.short", icon: "search", roles: [...CARE, "municipal_secretariat", "operator"], section: "care" },
  { to: "/calendar", label: "nav.calendar", short: "nav.calendar.short", icon: "calendar", roles: CARE, section: "care" },
  { to: "/admin/organisations", label: "nav.organisations", short: "nav.organisations.short", icon: "building", roles: ["municipal_secretariat", "operator"], section: "secretariat" },
  { to: "/admin/members", label: "nav.members", short: "nav.members.short", icon: "card", roles: ["municipal_secretariat", "operator"], section: "secretariat" },
  { to: "/admin/consents", label: "nav.consents", short: "nav.consents.short", icon: "pen", roles: ["municipal_secretariat", "operator"], section: "secretariat" },
  { to: "/audit/records", label: "nav.records", short: "nav.records.short", icon: "list", roles: ["auditor", "municipal_secretariat", "site_admin"], section: "audit" },
  { to: "/audit/patients", label: "nav.report", short: "nav.report.short", icon: "report", roles: ["auditor", "municipal_secretariat"], section: "audit" },
  { to: "/audit/verification", label: "nav.verification", short: "nav.verification.short", icon: "chain", roles: ["auditor"], section: "audit" },
  { to: "/audit/break-glass", label: "nav.breakGlass", short: "nav.breakGlass.short", icon: "alert", roles: ["auditor", "coordination_centre_staff"], section: "audit" },
  { to: "/settings", label: "nav.settings", short: "nav.settings.short", icon: "gear", section: "me" },
];

export function itemsFor(me: Me): NavItem[] {
  return NAV.filter((item) => !item.roles || item.roles.some((r) => me.roles.includes(r)));
}

/** The four destinations of the phone's bottom bar: the member's own work first. */
export function primaryFor(me: Me): NavItem[] {
  const items = itemsFor(me);
  const care = me.roles.some((r) => CARE.includes(r));
  const order = care ? ["care", "secretariat", "audit", "me"] : ["secretariat", "audit", "care", "me"];
  const ranked = [...items].sort((a, b) => order.indexOf(a.section) - order.indexOf(b.section));
  const home = ranked.find((i) => i.to === "/");
  const rest = ranked.filter((i) => i.to !== "/" && i.section !== "me");
  return [home, ...rest].filter((i): i is NavItem => Boolean(i)).slice(0, 4);
}

/** The navigation item a path belongs to (the longest prefix). */
export function currentItem(path: string): string {
  const hits = NAV.filter((i) => (i.to === "/" ? path === "/" : path === i.to || path.startsWith(i.to + "/")));
  return hits.sort((a, b) => b.to.length - a.to.length)[0]?.to ?? "";
}
