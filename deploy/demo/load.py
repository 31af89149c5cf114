"""The body of deploy/demo/load: load a demo region through the gateway's HTTP API.

Run by deploy/demo/load (which finds the gateway and checks the tools), not by hand:

    python3 load.py REGION_JSON ACCOUNTS_JSON [PATIENTS_JSON]
                                   (env: TSUNAGU_GATEWAY_URL, TSUNAGU_BOOTSTRAP_TOKEN)

What it loads, parents first:
  municipalities, their areas and municipality groups  POST; HTTP 409 means "already there"
  organisations                                        looked up by name and home municipality
  sites                                                looked up by organisation and name
  member accounts                                      invited, activated, second factor enrolled
  patients, their care teams and consents              as the demo members who would do it:
                                                       registered by a care manager (or a support
                                                       centre), the team built, the signed form
                                                       recorded by the receiving site, verified
                                                       by the secretariat

Every account made is written at once to ACCOUNTS_JSON (a JSON array, mode 600) with its
username, password and TOTP secret, so that scripts can sign in. On the next run an account
found there that still signs in is kept as it is; one whose username is taken but whose
credentials are not there (or no longer work) is reported and skipped, never made twice.

Patients get their ids from the service, so each one registered is written at once to
PATIENTS_JSON (mode 600) with its consents' ids. On the next run a patient found there is
completed rather than registered again: missing seats added, consents recorded or verified
where they are not yet.

HTTP goes through curl: the bootstrap token travels in a header file and request bodies on
stdin, never on a command line where ps would show them.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import subprocess
import sys
import tempfile
import time
import unicodedata

PROFESSIONS = [
    "physician", "dentist", "pharmacist", "nurse", "public_health_nurse", "dental_hygienist",
    "physical_therapist", "occupational_therapist", "speech_therapist", "dietitian",
    "care_manager", "chief_care_manager", "care_worker", "medical_social_worker",
    "social_worker", "municipal_staff", "clerical_staff", "emergency_services", "police",
    "other",
]
ROLES = [
    "operator", "municipal_secretariat", "coordination_centre_staff",
    "community_support_centre_staff", "site_admin", "professional", "auditor",
]
# Machine clients hold this role; the identity service refuses to invite it.
NOT_INVITABLE = ["integrator"]

TOTP_STEP = 30
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


class Failed(Exception):
    """An unexpected answer: the message says which request and what came back."""


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def name_key(name):
    """A name as the identity service stores it (NFKC, whitespace collapsed): what to match on."""
    return " ".join(unicodedata.normalize("NFKC", name).split())


# --- TOTP (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) --------------------------------

def totp(secret_b32, step):
    s = secret_b32.strip().replace(" ", "").upper()
    key = base64.b32decode(s + "=" * (-len(s) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_step():
    return int(time.time()) // TOTP_STEP


# --- HTTP --------------------------------------------------------------------------------

class Gateway:
    def __init__(self, url, token, tmp):
        self.url = url.rstrip("/")
        self.tmp = tmp
        self.operator_auth = self._header_file("operator", token)

    def _header_file(self, name, token):
        path = os.path.join(self.tmp, f"auth-{name}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"Authorization: Bearer {token}\n")
        return path

    def call(self, method, path, body=None, auth="operator"):
        """Returns (HTTP status, parsed JSON or None, raw text). Status 0: no answer."""
        response = os.path.join(self.tmp, "response")
        cmd = ["curl", "-sS", "-o", response, "-w", "%{http_code}", "--max-time", "30",
               "-X", method, "-H", "Accept: application/json"]
        if auth == "operator":
            cmd += ["-H", "@" + self.operator_auth]
        elif auth is not None:
            cmd += ["-H", "@" + self._header_file("member", auth)]
        data = None
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            data = compact(body).encode("utf-8")
        if os.path.exists(response):
            os.unlink(response)
        run = subprocess.run(cmd + [self.url + path], input=data, capture_output=True)
        try:
            status = int(run.stdout.decode().strip() or "0")
        except ValueError:
            status = 0
        raw = ""
        if os.path.exists(response):
            with open(response, encoding="utf-8", errors="replace") as f:
                raw = f.read()
        if status == 0 and run.stderr:
            raw = run.stderr.decode("utf-8", "replace").strip()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, raw

    def upload(self, label, file, auth):
        """Sends a file's bytes to the file store as `auth`; answers its SHA-256."""
        response = os.path.join(self.tmp, "response")
        if os.path.exists(response):
            os.unlink(response)
        cmd = ["curl", "-sS", "-o", response, "-w", "%{http_code}", "--max-time", "60",
               "-X", "POST", "-H", "@" + self._header_file("member", auth),
               "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file,
               self.url + "/api/v1/files"]
        run = subprocess.run(cmd, capture_output=True)
        status = int(run.stdout.decode().strip() or "0") if run.stdout.strip().isdigit() else 0
        raw = ""
        if os.path.exists(response):
            with open(response, encoding="utf-8", errors="replace") as f:
                raw = f.read()
        if status != 201:
            raise self.failed(label, "POST", "/api/v1/files", status, None,
                              raw or run.stderr.decode("utf-8", "replace").strip())
        return json.loads(raw)["sha256"]

    def failed(self, label, method, path, status, body, raw):
        """The error for an unexpected answer; secrets in the request are masked."""
        shown = dict(body) if isinstance(body, dict) else body
        if isinstance(shown, dict):
            for k in ("password", "activation_token", "enrolment_token", "code"):
                if k in shown:
                    shown[k] = "***"
        lines = [f"{label}: FAILED (HTTP {status or 'no answer'} from {method} {self.url}{path})"]
        if shown is not None:
            lines.append(f"  request:  {compact(shown)}")
        lines.append(f"  response: {raw}")
        return Failed("\n".join(lines))

    def expect(self, label, method, path, body, ok, auth="operator"):
        status, parsed, raw = self.call(method, path, body, auth)
        if status not in ok:
            raise self.failed(label, method, path, status, body, raw)
        return status, parsed

    def pages(self, label, path):
        """Every item of a paged list (key paging with next_after)."""
        items, after = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page_path = path + f"{sep}limit=200" + (f"&after={after}" if after else "")
            _, page = self.expect(label, "GET", page_path, None, {200})
            items += page.get("items", [])
            after = page.get("next_after")
            if not after:
                return items


# --- accounts file -----------------------------------------------------------------------

def read_accounts(path):
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            accounts = json.load(f)
        if not isinstance(accounts, list) or not all(
                isinstance(a, dict) and isinstance(a.get("username"), str) for a in accounts):
            raise ValueError("not a JSON array of accounts")
    except ValueError as e:
        raise Failed(f"cannot read {path}: {e}\n"
                     "  fix or move it away (its passwords are not recoverable otherwise)")
    return accounts


def write_accounts(path, accounts):
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(accounts, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# --- the loader --------------------------------------------------------------------------

class Loader:
    def __init__(self, gw, region, accounts_path):
        self.gw = gw
        self.region = region
        self.accounts_path = accounts_path
        self.created = 0
        self.existing = 0
        self.municipality_names = {m["code"]: m["name"] for m in region.get("municipalities", [])}
        self.sites = {}  # site key -> (site_id, name)
        self.last_step = {}  # username -> the last TOTP step used (each is used once)
        self.tokens = {}  # username -> access token kept from the sign-in check
        self.save_accounts = lambda: None

    def done(self, label, created):
        if created:
            self.created += 1
            print(f"{label}: created", flush=True)
        else:
            self.existing += 1
            print(f"{label}: already there", flush=True)

    # municipalities, areas, groups: the service answers 409 for what it already has.
    def post_or_conflict(self, label, path, body):
        status, _ = self.gw.expect(label, "POST", path, body, {200, 201, 409})
        self.done(label, status != 409)

    def load_region(self):
        for m in self.region.get("municipalities", []):
            self.post_or_conflict(f"municipality {m['code']} {m['name']}", "/api/v1/municipalities",
                                  {k: m[k] for k in ("code", "name", "name_kana")})
            for a in m.get("areas", []):
                self.post_or_conflict(f"area {m['code']}/{a['area_id']} {a['name']}",
                                      f"/api/v1/municipalities/{m['code']}/areas", a)
        for g in self.region.get("groups", []):
            self.post_or_conflict(f"group {g['group_id']} {g['name']}",
                                  "/api/v1/municipality-groups", g)

    # organisations and sites: ids are chosen by the service, so look them up by name.
    def load_organisations(self):
        orgs = self.region.get("organisations", [])
        if not orgs:
            return
        known = {}
        for o in self.gw.pages("organisations", "/api/v1/organisations"):
            known.setdefault((name_key(o["name"]), o["home_municipality"]["code"]),
                             o["organisation_id"])
        known_sites = {}
        for s in self.gw.pages("sites", "/api/v1/sites"):
            known_sites.setdefault((s["organisation"]["organisation_id"], name_key(s["name"])),
                                   s["site_id"])
        for o in orgs:
            label = f"organisation {o['name']} ({self.municipality_names.get(o['home_municipality'], o['home_municipality'])})"
            org_id = known.get((name_key(o["name"]), o["home_municipality"]))
            if org_id is None:
                body = {k: v for k, v in o.items() if k not in ("key", "sites")}
                _, answer = self.gw.expect(label, "POST", "/api/v1/organisations", body, {201})
                org_id = answer["organisation_id"]
                self.done(label, True)
            else:
                self.done(label, False)
            for s in o.get("sites", []):
                label = f"site {s['name']}"
                site_id = known_sites.get((org_id, name_key(s["name"])))
                if site_id is None:
                    body = {k: v for k, v in s.items() if k != "key"}
                    # A site is in its organisation's municipality unless the file says otherwise.
                    body.setdefault("home_municipality", o["home_municipality"])
                    _, answer = self.gw.expect(label, "POST",
                                               f"/api/v1/organisations/{org_id}/sites", body, {201})
                    self.done(label, True)
                    site_id = answer["site_id"]
                else:
                    self.done(label, False)
                if s.get("key"):
                    self.sites[s["key"]] = (site_id, s["name"])

    # --- members ---

    def step_floor(self, account, tried=()):
        """The last TOTP step known used for `account` (this run, or saved by an earlier
        one), or None: only a later step's code can sign it in."""
        steps = list(tried)
        if account["username"] in self.last_step:
            steps.append(self.last_step[account["username"]])
        saved = account.get("totp_last_step")
        if isinstance(saved, int):
            steps.append(saved)
        return max(steps) if steps else None

    def used_step(self, account, step):
        """Remembers that `step` was used (kept in the accounts file as totp_last_step)."""
        last = self.step_floor(account)
        if last is None or step > last:
            self.last_step[account["username"]] = step
            account["totp_last_step"] = step

    def sign_in(self, account, step, keep=False):
        """One sign-in with the code of `step`: 'ok', 'refused' or 'locked'. Signs out again,
        unless `keep`: then the access token is kept for loading the patients."""
        label = f"account {account['username']}"
        try:
            code = totp(str(account.get("totp_secret", "")), step)
        except ValueError:  # not base32 (binascii.Error is a ValueError): it cannot sign in
            return "refused"
        body = {"username": account["username"], "password": str(account.get("password", "")),
                "code": code}
        status, answer, raw = self.gw.call("POST", "/api/v1/sessions", body, auth=None)
        if status == 401:
            return "refused"
        if status == 429:
            return "locked"
        if status != 201:
            raise self.gw.failed(label + " (sign-in check)", "POST", "/api/v1/sessions",
                                 status, body, raw)
        self.used_step(account, step)
        if keep:
            self.tokens[account["username"]] = answer["access_token"]
        else:
            self.gw.expect(label + " (sign-out after the check)", "DELETE",
                           "/api/v1/sessions/current", None, {200, 204},
                           auth=answer["access_token"])
        return "ok"

    def check_saved(self, saved, keep=()):
        """Which saved accounts still sign in. Each code works once (a step at or before the
        last one used is refused), so each account tries a step after the last one it is
        known to have used (the file keeps it), waiting for one if need be; a refusal is
        retried with a later step, at most three tries in all (the lock-out comes after
        five failures, and 20 failures from one address slow it down), and the wait for a
        fresh step is shared by all accounts."""
        result, tried = {}, {}
        pending = list(saved)
        for attempt in range(3):
            if not pending:
                break
            floors = [self.step_floor(a, tried.get(a["username"], [])) for a in pending]
            latest = max((f for f in floors if f is not None), default=None)
            if attempt > 0 and latest is not None and latest >= current_step():
                # No step open now is later than the last one used: wait for the next one
                # (once, for all).
                while current_step() <= latest:
                    time.sleep(TOTP_STEP - time.time() % TOTP_STEP + 0.2)
            still = []
            for a in pending:
                now = current_step()
                # The previous step first (the service accepts one step of drift), so that
                # whoever reads demo-accounts.json next can sign in at once with the current one.
                done = tried.setdefault(a["username"], [])
                floor = self.step_floor(a, done)
                step = next((s for s in (now - 1, now) if floor is None or s > floor), None)
                if step is None:
                    still.append(a)
                    continue
                done.append(step)
                outcome = self.sign_in(a, step, keep=a["username"] in keep)
                if outcome == "refused":
                    still.append(a)
                else:
                    result[a["username"]] = outcome
            pending = still
        for a in pending:
            result[a["username"]] = "refused"
        return result

    def enrol(self, label, enrolment_token, secret):
        """Confirms the second factor; answers the step whose code was used."""
        path = "/api/v1/activation/second-factor"
        now = current_step()
        for step in (now - 1, now, now + 1):
            body = {"enrolment_token": enrolment_token, "code": totp(secret, step)}
            status, _, raw = self.gw.call("POST", path, body, auth=None)
            if 200 <= status < 300:
                return step
            # A wrong code (the clock moved on) leaves the token usable: try the next step.
            if status != 422 or '"/code"' not in raw:
                raise self.gw.failed(label, "POST", path, status, body, raw)
        raise self.gw.failed(label, "POST", path, status, body, raw)

    def create_account(self, spec):
        """Invite, activate and enrol: the account's record, or None if the username is taken."""
        username = spec["username"]
        label = f"account {username}"
        sites = [self.sites[k] for k in spec.get("sites", [])]
        invitation = {
            "name": spec["name"], "name_kana": spec["name_kana"],
            "profession": spec["profession"], "roles": spec["roles"],
            "sites": [site_id for site_id, _ in sites], "municipality": spec["municipality"],
        }
        _, invited = self.gw.expect(label + " (invitation)", "POST", "/api/v1/invitations",
                                    invitation, {201})
        member_id = invited["member_id"]
        # 16 letters and digits (~95 bits): nothing a shell or a URL would trip over.
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
        activation = {"activation_token": invited["activation_token"], "username": username,
                      "password": password}
        status, answer, raw = self.gw.call("POST", "/api/v1/activation", activation, auth=None)
        if status == 409 and "username-taken" in raw:
            # Withdraw the invitation just made, so that no half-made member is left behind.
            self.gw.expect(label + " (withdrawing the invitation)", "POST",
                           f"/api/v1/members/{member_id}/deactivation",
                           {"reason": "demo loader: username already taken"}, {200})
            return None
        if status != 200:
            raise self.gw.failed(label + " (activation)", "POST", "/api/v1/activation",
                                 status, activation, raw)
        enrolled_at = self.enrol(label + " (second factor)", answer["enrolment_token"],
                                 answer["secret"])
        self.last_step[username] = enrolled_at
        return {
            "totp_last_step": enrolled_at,
            "username": username,
            "password": password,
            "totp_secret": answer["secret"],
            "member_id": member_id,
            "name": spec["name"],
            "name_kana": spec["name_kana"],
            "role": spec["roles"][0],
            "roles": spec["roles"],
            "profession": spec["profession"],
            "sites": [{"site_id": site_id, "name": name} for site_id, name in sites],
            "municipality": spec["municipality"],
            "municipality_name": self.municipality_names.get(spec["municipality"], ""),
        }

    def load_members(self):
        specs = self.region.get("members", [])
        if not specs:
            return []
        for spec in specs:
            for k in spec.get("sites", []):
                if k not in self.sites:
                    raise Failed(f"account {spec['username']}: no site with key {k!r} in the region file")
        saved = read_accounts(self.accounts_path)
        file_missing = saved is None
        saved = saved or []
        by_name = {a["username"]: a for a in saved}
        wanted = {s["username"] for s in specs}
        checks = self.check_saved([by_name[s["username"]] for s in specs
                                   if s["username"] in by_name],
                                  keep=patient_members(self.region))
        # Accounts the file holds that the region file no longer names stay as they are.
        kept_others = [a for a in saved if a["username"] not in wanted]
        records = {}
        taken = []

        def save():
            ordered = [records[s["username"]] for s in specs if s["username"] in records]
            write_accounts(self.accounts_path, ordered + kept_others)

        self.save_accounts = save

        for spec in specs:
            username = spec["username"]
            label = f"account {username} ({spec['profession']}; {', '.join(spec['roles'])})"
            check = checks.get(username)
            if check == "ok":
                records[username] = by_name[username]
                self.done(label, False)
                continue
            if check == "locked":
                records[username] = by_name[username]
                self.existing += 1
                print(f"{label}: already there (locked out after failed sign-ins for now; kept)",
                      flush=True)
                continue
            record = self.create_account(spec)
            if record is None:
                taken.append(username)
                why = ("its saved credentials no longer sign in"
                       if check == "refused" else
                       f"{os.path.basename(self.accounts_path)} is missing" if file_missing else
                       f"{os.path.basename(self.accounts_path)} does not have it")
                print(f"{label}: SKIPPED: the username is taken and {why} "
                      "(the invitation just made was withdrawn)", flush=True)
                if check == "refused":
                    save()  # drops the record that no longer works
                continue
            records[username] = record
            save()
            if check == "refused":
                print(f"{label}: created again (its saved credentials no longer signed in)",
                      flush=True)
                self.created += 1
            else:
                self.done(label, True)
        save()
        for role in NOT_INVITABLE:
            print(f"role {role}: skipped (a machine client, not an invited member)", flush=True)
        if taken:
            print(f"note: {len(taken)} demo username(s) are taken by accounts whose credentials "
                  f"are not in {self.accounts_path}; for a fresh demo region run "
                  "deploy/down --purge, then deploy/up", flush=True)
        return [records[s["username"]] for s in specs if s["username"] in records]


# --- patients ------------------------------------------------------------------------------

PATIENT_FIELDS = ("name", "name_kana", "date_of_birth", "sex", "address", "insurer_number",
                  "insured_number", "care_level", "home_municipality")


def today_in_japan():
    """The services' today (consent forms are signed and valid from it)."""
    return (datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(hours=9)).date().isoformat()


def read_patients(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            patients = json.load(f)
        if not isinstance(patients, list) or not all(
                isinstance(p, dict) and isinstance(p.get("key"), str)
                and isinstance(p.get("patient_id"), str) for p in patients):
            raise ValueError("not a JSON array of patients")
    except ValueError as e:
        raise Failed(f"cannot read {path}: {e}\n"
                     "  fix or move it away (the patients' ids are not recoverable otherwise)")
    return {p["key"]: p for p in patients}


def write_patients(path, patients):
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(list(patients.values()), f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def patient_members(region):
    """The demo members who load the patients (and so sign in for it)."""
    names = set()
    for spec in region.get("patients", []):
        names |= {spec["registered_by"], spec["secretariat"]}
        names |= {c["recorded_by"] for c in spec.get("consents", [])}
    return names


class Sessions:
    """Access tokens of the demo members who load the patients: the ones kept from the
    sign-in check, or a sign-in when first needed. Every TOTP step is used once per account,
    so a sign-in takes a step after the last one used (waiting for it if need be), and
    gives up after two refusals (five lock the account)."""

    def __init__(self, loader, accounts):
        self.loader = loader
        self.gw = loader.gw
        self.by_name = {a["username"]: a for a in accounts}
        self.tokens = dict(loader.tokens)

    def has(self, username):
        return username in self.by_name

    def member_id(self, username):
        return self.by_name[username]["member_id"]

    def token(self, username):
        if username in self.tokens:
            return self.tokens[username]
        account = self.by_name[username]
        label = f"account {username} (signing in to load the demo patients)"
        status, body, raw = 0, None, ""
        for _ in range(2):
            floor = self.loader.step_floor(account)
            while floor is not None and current_step() <= floor:
                time.sleep(TOTP_STEP - time.time() % TOTP_STEP + 0.2)
            now = current_step()
            step = now - 1 if floor is None or now - 1 > floor else now
            body = {"username": username, "password": account["password"],
                    "code": totp(account["totp_secret"], step)}
            status, answer, raw = self.gw.call("POST", "/api/v1/sessions", body, auth=None)
            if status == 429:
                # Too many failed sign-ins from this address (someone else's, or a quick
                # re-run): wait as long as the gateway says, once.
                said = re.search(r"(\d+) seconds", str((answer or {}).get("detail", "")))
                wait = int(said.group(1)) if said else 60
                print(f"{label}: the gateway asks to wait {wait} s; waiting", flush=True)
                time.sleep(min(wait, 330) + 1)
                continue
            self.loader.used_step(account, step)
            if status == 201:
                self.tokens[username] = answer["access_token"]
                return self.tokens[username]
            if status != 401:
                break
        raise self.gw.failed(label, "POST", "/api/v1/sessions", status, body, raw)

    def sign_out_all(self):
        for token in self.tokens.values():
            self.gw.call("DELETE", "/api/v1/sessions/current", None, auth=token)
        self.tokens = {}
        self.loader.tokens = {}


class PatientLoader:
    """Patients as the people who would do it in the field: a care manager (or a community
    support centre) registers the patient and builds the team, the site that receives the
    signed form records it, the secretariat of the patient's municipality verifies it."""

    def __init__(self, loader, sessions, path):
        self.loader = loader
        self.gw = loader.gw
        self.sessions = sessions
        self.path = path
        self.saved = {}

    def site(self, key):
        if key not in self.loader.sites:
            raise Failed(f"no site with key {key!r} in the region file")
        return self.loader.sites[key][0]

    def expect(self, label, username, method, path, body, ok):
        return self.gw.expect(label, method, path, body, ok, auth=self.sessions.token(username))

    def save(self):
        write_patients(self.path, self.saved)

    def model(self, spec):
        kind = spec["model"]
        if kind == "all_participating_sites":
            return {"model": kind, "excluded": [self.site(k) for k in spec.get("excluded", [])]}
        if kind == "listed_sites":
            return {"model": kind, "sites": [self.site(k) for k in spec["sites"]]}
        return {"model": kind, "site": self.site(spec["site"])}

    def load(self):
        specs = self.loader.region.get("patients", [])
        if not specs:
            return []
        self.saved = read_patients(self.path)
        done = []
        for spec in specs:
            needed = {spec["registered_by"], spec["secretariat"]}
            needed |= {s["member"] for s in spec.get("team", []) if s.get("member")}
            needed |= {c["recorded_by"] for c in spec.get("consents", [])}
            needed |= {post["by"] for post in spec.get("posts", [])}
            missing = sorted(u for u in needed if not self.sessions.has(u))
            if missing:
                print(f"patient {spec['name']}: SKIPPED: no credentials for "
                      f"{', '.join(missing)}", flush=True)
                continue
            done.append(self.load_one(spec))
        return done

    def load_one(self, spec):
        label = f"patient {spec['name']}"
        record = self.saved.get(spec["key"])
        view = None
        if record is not None:
            path = f"/api/v1/patients/{record['patient_id']}"
            status, view, raw = self.gw.call("GET", path, None,
                                             auth=self.sessions.token(spec["secretariat"]))
            if status == 200:
                self.loader.done(label, False)
            elif status in (403, 404):
                print(f"{label}: {os.path.basename(self.path)} names {record['patient_id']}, "
                      "which the platform does not know; registering again", flush=True)
                record, view = None, None
            else:
                raise self.gw.failed(label, "GET", path, status, None, raw)
        if record is None:
            body = {k: spec[k] for k in PATIENT_FIELDS if k in spec}
            if spec.get("registering_site"):
                body["registering_site"] = self.site(spec["registering_site"])
            _, answer = self.expect(label, spec["registered_by"], "POST", "/api/v1/patients",
                                    body, {201})
            record = {"key": spec["key"], "patient_id": answer["patient_id"],
                      "name": spec["name"], "home_municipality": spec["home_municipality"],
                      "consents": {}}
            self.saved[spec["key"]] = record
            self.save()
            self.loader.done(label, True)
            if answer.get("possible_duplicates"):
                print(f"{label}: note: the same reading and date of birth are registered as "
                      f"{', '.join(answer['possible_duplicates'])}", flush=True)
            view = {"team": [], "consents": [], "contact_24h": None}
        patient = record["patient_id"]
        record["name"] = spec["name"]
        record["team"] = self.load_team(spec, patient, view)
        record["consents"] = self.load_consents(spec, record, view)
        self.load_posts(spec, patient)
        self.save()
        return record

    def load_posts(self, spec, patient):
        """The team's timeline: each post once (a post whose text is already there is kept)."""
        posts = spec.get("posts", [])
        if not posts:
            return
        path = f"/api/v1/patients/{patient}/posts"
        _, page = self.expect("  timeline", posts[0]["by"], "GET", path + "?limit=200", None, {200})
        present = {p.get("text") for p in page.get("items", [])}
        for post in posts:
            label = f"  post by {post['by']}"
            if post["text"] in present:
                self.loader.done(label, False)
                continue
            body = {k: post[k] for k in ("text", "urgent", "reply_requested", "category") if k in post}
            if post.get("photo"):
                photo = os.path.join(os.path.dirname(os.path.abspath(__file__)), post["photo"])
                body["attachments"] = [self.gw.upload(f"  photo {post['photo']}", photo,
                                                      self.sessions.token(post["by"]))]
            self.expect(label, post["by"], "POST", path, body, {201})
            self.loader.done(label, True)

    def load_team(self, spec, patient, view):
        held = {(s["site"], s.get("member"), s["part"]) for s in view.get("team") or []}
        team = []
        for seat in spec.get("team", []):
            site = self.site(seat["site"])
            member = self.sessions.member_id(seat["member"]) if seat.get("member") else None
            who = seat["site"] + (f" ({seat['member']})" if seat.get("member") else "")
            label = f"  seat {who} as {seat['part']}"
            if (site, member, seat["part"]) in held:
                self.loader.done(label, False)
            else:
                self.expect(label, spec["registered_by"], "POST",
                            f"/api/v1/patients/{patient}/team",
                            {"site": site, "member": member, "part": seat["part"]}, {201})
                self.loader.done(label, True)
            team.append({"site": self.loader.sites[seat["site"]][1], "site_id": site,
                         "member": seat.get("member"), "part": seat["part"]})
        contact = spec.get("contact_24h")
        if contact:
            body = dict(contact)
            if body.get("site"):
                body["site"] = self.site(body["site"])
            current = view.get("contact_24h") or {}
            label = "  24-hour contact"
            if all(current.get(k) == v for k, v in body.items()):
                self.loader.done(label, False)
            else:
                self.expect(label, spec["registered_by"], "PUT",
                            f"/api/v1/patients/{patient}/contact-24h", body, {200})
                self.loader.done(label, True)
        return team

    def load_consents(self, spec, record, view):
        patient = record["patient_id"]
        versions = {}
        for c in view.get("consents") or []:
            versions.setdefault(c["consent_id"], []).append(c)
        ids = dict(record.get("consents") or {})
        today = today_in_japan()
        for c in spec.get("consents", []):
            label = f"  consent {c['key']} ({c['model']['model']})"
            consent = ids.get(c["key"])
            known = versions.get(consent, []) if consent else []
            if not known:
                form = {"model": self.model(c["model"]), "categories": c["categories"],
                        "valid_from": c.get("valid_from", today), "form": c.get("form", "written"),
                        "given_by": c.get("given_by", {"by": "patient"}),
                        "signed_on": c.get("signed_on", today),
                        "received_at_site": self.site(c["received_at_site"]),
                        "family_information": c.get("family_information", False)}
                _, answer = self.expect(label + " (recorded)", c["recorded_by"], "POST",
                                        f"/api/v1/patients/{patient}/consents", form, {201})
                consent = answer["consent_id"]
                ids[c["key"]] = consent
                record["consents"] = ids
                self.save()
                known = [{"version": 1, "status": "pending"}]
                self.loader.done(label + " (recorded)", True)
            pending = [v for v in known if v["status"] == "pending"]
            if pending:
                self.expect(label + " (verified)", spec["secretariat"], "POST",
                            f"/api/v1/patients/{patient}/consents/{consent}/verification",
                            {"version": pending[0]["version"]}, {201})
                self.loader.done(label + " (verified)", True)
            elif any(v["status"] == "active" for v in known):
                self.loader.done(label, False)
            else:
                statuses = ", ".join(sorted({v["status"] for v in known}))
                self.loader.existing += 1
                print(f"{label}: {statuses} on the platform (kept as it is)", flush=True)
        return ids


class BoardLoader:
    """Boards as the secretariat opens them, each notice posted by who would write it, the
    emergency notice pinned by the secretariat. A board whose name is there, and a post
    whose text is there, are kept."""

    def __init__(self, loader, sessions):
        self.loader = loader
        self.gw = loader.gw
        self.sessions = sessions

    def expect(self, label, username, method, path, body, ok):
        return self.gw.expect(label, method, path, body, ok, auth=self.sessions.token(username))

    def load(self):
        done = []
        for spec in self.loader.region.get("boards", []):
            needed = {spec["opened_by"]} | {p["by"] for p in spec.get("posts", [])}
            missing = sorted(u for u in needed if not self.sessions.has(u))
            if missing:
                print(f"board {spec['name']}: SKIPPED: no credentials for {', '.join(missing)}",
                      flush=True)
                continue
            done.append(self.load_one(spec))
        return done

    def load_one(self, spec):
        by = spec["opened_by"]
        label = f"board {spec['name']}"
        _, page = self.expect(label, by, "GET", "/api/v1/boards?limit=200", None, {200})
        board_id = next((b["board_id"] for b in page.get("items", [])
                         if b["name"] == spec["name"]), None)
        if board_id is None:
            body = {k: spec[k] for k in ("name", "description", "municipality", "professions",
                                         "fire_and_police") if k in spec}
            _, opened = self.expect(label, by, "POST", "/api/v1/boards", body, {201})
            board_id = opened["board_id"]
            self.loader.done(label, True)
        else:
            self.loader.done(label, False)
        path = f"/api/v1/boards/{board_id}/posts"
        _, page = self.expect(f"  {label}", by, "GET", path + "?limit=200", None, {200})
        present = {p["text"]: p for p in page.get("items", [])}
        for post in spec.get("posts", []):
            post_label = f"  notice by {post['by']}"
            if post["text"] in present:
                post_id = present[post["text"]]["post_id"]
                pinned = present[post["text"]]["pinned"]
                self.loader.done(post_label, False)
            else:
                body = {k: post[k] for k in ("text", "kind") if k in post}
                _, posted = self.expect(post_label, post["by"], "POST", path, body, {201})
                post_id, pinned = posted["post_id"], False
                self.loader.done(post_label, True)
            if post.get("pinned") and not pinned:
                self.expect(f"  pinned by {by}", by, "POST", f"{path}/{post_id}/pin",
                            {"pinned": True}, {200})
        return spec["name"]


class BroadcastLoader:
    """Broadcasts as the field sends them: the coordination centre's own, published at once,
    and a site's, waiting for the centre's review. One whose title is there is kept."""

    def __init__(self, loader, sessions):
        self.loader = loader
        self.gw = loader.gw
        self.sessions = sessions

    def load(self):
        done = []
        for spec in self.loader.region.get("broadcasts", []):
            by = spec["by"]
            if not self.sessions.has(by):
                print(f"broadcast {spec['title']}: SKIPPED: no credentials for {by}", flush=True)
                continue
            token = self.sessions.token(by)
            label = f"broadcast {spec['title']}"
            seen = set()
            for path in ("/api/v1/broadcasts?limit=200", "/api/v1/broadcasts/submissions?limit=200"):
                status, page, _ = self.gw.call("GET", path, None, auth=token)
                if status == 200:
                    seen |= {b["title"] for b in page.get("items", [])}
            if spec["title"] in seen:
                self.loader.done(label, False)
            else:
                body = {k: spec[k] for k in ("municipality", "title", "text", "professions")
                        if k in spec}
                self.gw.expect(label, "POST", "/api/v1/broadcasts", body, {201}, auth=token)
                self.loader.done(label, True)
            done.append(spec["title"])
        return done


class AvailabilityLoader:
    """What the demo sites can take now, each said by its own staff: a site that already said
    something is kept as it is."""

    def __init__(self, loader, sessions):
        self.loader = loader
        self.gw = loader.gw
        self.sessions = sessions

    def load(self):
        done = []
        for spec in self.loader.region.get("availability", []):
            by = spec["by"]
            label = f"availability of {spec['site']}"
            if not self.sessions.has(by):
                print(f"{label}: SKIPPED: no credentials for {by}", flush=True)
                continue
            if spec["site"] not in self.loader.sites:
                raise Failed(f"no site with key {spec['site']!r} in the region file")
            site = self.loader.sites[spec["site"]][0]
            token = self.sessions.token(by)
            path = f"/api/v1/sites/{site}/availability"
            _, history = self.gw.expect(label, "GET", path, None, {200}, auth=token)
            if history.get("current"):
                self.loader.done(label, False)
            else:
                self.gw.expect(label, "PUT", path, spec["status"], {200}, auth=token)
                self.loader.done(label, True)
            done.append(spec["site"])
        return done


class ConsultationLoader:
    """Consultations as a member asks the coordination centre: one whose subject the asker
    already has is kept."""

    def __init__(self, loader, sessions):
        self.loader = loader
        self.gw = loader.gw
        self.sessions = sessions

    def load(self):
        done = []
        for spec in self.loader.region.get("consultations", []):
            by = spec["by"]
            if not self.sessions.has(by):
                print(f"consultation {spec['subject']}: SKIPPED: no credentials for {by}", flush=True)
                continue
            token = self.sessions.token(by)
            label = f"consultation {spec['subject']}"
            _, page = self.gw.expect(label, "GET", "/api/v1/consultations?limit=200", None, {200},
                                     auth=token)
            if any(c["subject"] == spec["subject"] for c in page.get("items", [])):
                self.loader.done(label, False)
            else:
                body = {"subject": spec["subject"], "text": spec["text"]}
                self.gw.expect(label, "POST", "/api/v1/consultations", body, {201}, auth=token)
                self.loader.done(label, True)
            done.append(spec["subject"])
        return done


def print_patients(patients, region, path):
    if not patients:
        return
    names = {m["code"]: m["name"] for m in region.get("municipalities", [])}
    specs = {p["key"]: p for p in region.get("patients", [])}

    def consent_text(consents):
        by_site = [c for c in consents if c["model"]["model"] == "site_by_site"]
        parts = []
        for c in consents:
            m = c["model"]
            if m["model"] == "all_participating_sites":
                excluded = ", ".join(site_name(region, k) for k in m.get("excluded", []))
                parts.append("一括同意" + (f" except {excluded}" if excluded else ""))
            elif m["model"] == "listed_sites":
                parts.append(f"listed sites ({len(m['sites'])})")
        if by_site:
            parts.append("site by site: " + ", ".join(site_name(region, c["model"]["site"])
                                                      for c in by_site))
        return "; ".join(parts)

    print()
    print(f"demo patients ({len(patients)}; also in {path}):")
    for p in patients:
        spec = specs.get(p["key"], {})
        homes = [spec.get("home_municipality", "")]
        homes += [site_municipality(region, s["site"]) for s in spec.get("team", [])]
        municipalities = sorted({names.get(m, m) for m in homes if m})
        print(f"  {p['name']}  {p['patient_id']}")
        print(f"    home {names.get(p['home_municipality'], p['home_municipality'])}; "
              f"team in {', '.join(municipalities)}")
        print(f"    consent: {consent_text(spec.get('consents', []))}")
        print(f"    team: {', '.join(s['site'] + ' (' + s['part'] + ')' for s in p.get('team', []))}")
    print("  read: GET /api/v1/patients/{id} (registration), "
          "GET /api/v1/patients/{id}/record?categories=care_records&purpose=care (clinical)")


def site_name(region, key):
    for o in region.get("organisations", []):
        for s in o.get("sites", []):
            if s.get("key") == key:
                return s["name"]
    return key


def site_municipality(region, key):
    for o in region.get("organisations", []):
        for s in o.get("sites", []):
            if s.get("key") == key:
                return s.get("home_municipality", o["home_municipality"])
    return ""


def coverage(region):
    specs = region.get("members", [])
    professions = {s["profession"] for s in specs}
    roles = {r for s in specs for r in s["roles"]}
    missing = [p for p in PROFESSIONS if p not in professions] + [r for r in ROLES if r not in roles]
    return missing


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def site_summary(sites):
    if not sites:
        return "-"
    more = f" (+{len(sites) - 1})" if len(sites) > 1 else ""
    return sites[0].get("name", sites[0].get("site_id", "")) + more


def print_table(accounts, path):
    if not accounts:
        return
    head = ["username", "password", "TOTP secret", "roles", "profession", "municipality", "sites"]
    rows = [[a["username"], a["password"], a["totp_secret"], ",".join(a.get("roles", [a.get("role", "")])),
             a.get("profession", ""), a.get("municipality_name") or a.get("municipality", ""),
             site_summary(a.get("sites", []))]
            for a in accounts]
    widths = [max(width(r[i]) for r in rows + [head]) for i in range(len(head) - 1)]
    print()
    print(f"demo accounts ({len(accounts)}; also in {path}):")
    for r in [head] + rows:
        cells = [c + " " * (w - width(c)) for c, w in zip(r, widths)] + [r[-1]]
        print("  " + "  ".join(cells).rstrip())
    print("  sign in: POST /api/v1/sessions {username, password, code}; "
          "code = TOTP (SHA1, 30 s, 6 digits) of the secret")


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: load.py REGION_JSON ACCOUNTS_JSON [PATIENTS_JSON]", file=sys.stderr)
        return 2
    region_path, accounts_path = sys.argv[1], sys.argv[2]
    patients_path = sys.argv[3] if len(sys.argv) == 4 else os.path.join(
        os.path.dirname(os.path.abspath(accounts_path)), "demo-patients.json")
    url = os.environ.get("TSUNAGU_GATEWAY_URL", "")
    token = os.environ.get("TSUNAGU_BOOTSTRAP_TOKEN", "")
    if not url or not token:
        print("deploy/demo/load: TSUNAGU_GATEWAY_URL and TSUNAGU_BOOTSTRAP_TOKEN must be set",
              file=sys.stderr)
        return 2
    with open(region_path, encoding="utf-8") as f:
        region = json.load(f)
    missing = coverage(region)
    if missing and region.get("members"):
        print(f"note: no demo member holds {', '.join(missing)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tsunagu-demo-") as tmp:
        os.chmod(tmp, 0o700)
        loader = Loader(Gateway(url, token, tmp), region, accounts_path)
        sessions = None
        try:
            loader.load_region()
            loader.load_organisations()
            accounts = loader.load_members()
            sessions = Sessions(loader, accounts)
            patients = PatientLoader(loader, sessions, patients_path).load()
            boards = BoardLoader(loader, sessions).load()
            broadcasts = BroadcastLoader(loader, sessions).load()
            consultations = ConsultationLoader(loader, sessions).load()
            availability = AvailabilityLoader(loader, sessions).load()
        except Failed as e:
            print(e, file=sys.stderr)
            return 1
        finally:
            if sessions is None:
                for kept in loader.tokens.values():
                    loader.gw.call("DELETE", "/api/v1/sessions/current", None, auth=kept)
            else:
                sessions.sign_out_all()
            # The last TOTP step each account used, so that the next run starts after it.
            loader.save_accounts()
    print(f"demo region loaded: {loader.created} created, {loader.existing} already there")
    print_table(accounts, accounts_path)
    print_patients(patients, region, patients_path)
    if boards:
        print(f"boards: {'、'.join(boards)}")
    if broadcasts:
        print(f"broadcasts: {'、'.join(broadcasts)}")
    if consultations:
        print(f"consultations: {'、'.join(consultations)}")
    if availability:
        names = [site_name(region, key) for key in availability]
        print(f"sites that said what they can take now (事業所をさがす): {'、'.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
