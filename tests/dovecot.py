"""A real Dovecot (Debian's dovecot-imapd and dovecot-pop3d) on loopback, with a throw-away configuration.

    server = start_dovecot(tmp_dir)   # IMAP, IMAPS, POP3, POP3S on free ports of 127.0.0.1
    server.deliver(raw)               # one mail into the test user's INBOX, as an MDA would
    server.url("imaps")               # imaps://bounces:…@127.0.0.1:PORT/INBOX?cafile=…
    server.new_user()                 # a fresh, empty mailbox for the next test
    server.stop()

Nothing of the system's Dovecot is used: its own base_dir, state, log and passwd-file under the temp dir.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from smtpserver import self_signed_cert

USER = "bounces"
# Characters a URL must percent-encode, so the clients' decoding is exercised by every test (no colon:
# the passwd-file separates its fields with it).
PASSWORD = "p@ss/w rd%é"
PROTOCOLS = ("imap", "imaps", "pop3", "pop3s")

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
instance_name = digest-test-{port_imap}
log_path = {base}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# A refused login answers at once, and refusals do not slow the logins after them (the tests try some).
auth_failure_delay = 0
first_valid_uid = {uid}
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xv%08Xu
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {port_imap}
  }}
  inet_listener imaps {{
    port = {port_imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port_pop3}
  }}
  inet_listener pop3s {{
    port = {port_pop3s}
    ssl = yes
  }}
}}
"""


def dovecot_binary() -> str | None:
    # /usr/sbin is not on every user's PATH.
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_users() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid): Dovecot's own users as root, else ourselves."""
    if os.getuid() == 0:
        internal = pwd.getpwnam("dovecot")
        group = internal.pw_gid
        login = pwd.getpwnam("dovenull").pw_name
        # Dovecot never reads mail as root: the mail belongs to its internal user.
        return internal.pw_name, _group_name(group), login, internal.pw_uid, group
    me = pwd.getpwuid(os.getuid())
    return me.pw_name, _group_name(me.pw_gid), me.pw_name, me.pw_uid, me.pw_gid


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


@dataclass
class Dovecot:
    base: Path
    ports: dict[str, int]
    cafile: Path
    uid: int
    gid: int
    process: subprocess.Popen | None = None
    user: str = USER
    password: str = PASSWORD
    _delivered: int = field(default=0, repr=False)
    _users: int = field(default=0, repr=False)

    @property
    def maildir(self) -> Path:
        """The current user's Maildir on disk (Maildir++: a folder X is the sub-directory .X)."""
        return self.base / "home" / self.user / "Maildir"

    def url(self, protocol: str, folder: str = "INBOX", **query: str) -> str:
        """A mailbox URL for this server: imap and pop3 get ?starttls=1, every one trusts the test CA."""
        options = {"starttls": "1"} if protocol in ("imap", "pop3") else {}
        options |= {"cafile": str(self.cafile)} | query
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        path = f"/{quote(folder)}" if protocol.startswith("imap") else ""
        pairs = "&".join(f"{k}={quote(v, safe='/')}" for k, v in options.items() if v)
        return f"{protocol}://{credentials}@127.0.0.1:{self.ports[protocol]}{path}" + (f"?{pairs}" if pairs else "")

    def new_user(self) -> str:
        """Switch to a new user with an empty INBOX, so tests share nothing."""
        self._users += 1
        self.user = f"{USER}{self._users}"
        _add_user(self.base, self.user, self.uid, self.gid)
        return self.user

    def deliver(self, raw: bytes) -> Path:
        """Put one mail into the user's INBOX: written into tmp/, then renamed into new/, as an MDA does."""
        self._delivered += 1
        name = f"{time.time_ns()}.P{os.getpid()}Q{self._delivered}.digest-test"
        tmp, new = self.maildir / "tmp" / name, self.maildir / "new" / name
        tmp.write_bytes(raw)
        if os.getuid() == 0:
            os.chown(tmp, self.uid, self.gid)
        tmp.rename(new)
        return new

    def folder(self, name: str) -> Path:
        """The on-disk Maildir++ folder of `name` (INBOX is the Maildir itself)."""
        return self.maildir if name == "INBOX" else self.maildir / f".{name}"

    def files(self, name: str = "INBOX") -> list[Path]:
        """The mail files of a folder on disk, new/ and cur/."""
        folder = self.folder(name)
        return sorted(p for sub in ("new", "cur") if (folder / sub).is_dir() for p in (folder / sub).iterdir())

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _add_user(base: Path, user: str, uid: int, gid: int) -> None:
    """A passwd-file line and a home with an empty Maildir, owned by the user Dovecot reads mail as."""
    home = base / "home" / user
    for path in (base / "home", home, home / "Maildir", *(home / "Maildir" / sub for sub in ("new", "cur", "tmp"))):
        path.mkdir(exist_ok=True)
        if os.getuid() == 0:
            os.chown(path, uid, gid)
    # A file per user: Dovecot rereads a changed passwd-file at most once a second, a new file at once.
    (base / "passwd").mkdir(exist_ok=True)
    (base / "passwd" / user).write_text(f"{user}:{{PLAIN}}{PASSWORD}\n")


def _write_config(base: Path, ports: dict[str, int]) -> tuple[Path, int, int]:
    cert, key = self_signed_cert(base)
    internal, group, login, uid, gid = _service_users()
    _add_user(base, USER, uid, gid)
    config = CONFIG.format(
        base=base,
        cert=cert,
        key=key,
        internal_user=internal,
        internal_group=group,
        login_user=login,
        uid=uid,
        gid=gid,
        **{f"port_{name}": port for name, port in ports.items()},
    )
    conf = base / "dovecot.conf"
    conf.write_text(config)
    return conf, uid, gid


def _wait_for(ports: dict[str, int], process: subprocess.Popen, deadline: float) -> None:
    waiting = set(ports.values())
    while waiting and time.monotonic() < deadline and process.poll() is None:
        for port in list(waiting):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                waiting.discard(port)
            except OSError:
                pass
        if waiting:
            time.sleep(0.05)
    if waiting:
        raise RuntimeError(f"Dovecot did not listen on {sorted(waiting)} (exit code {process.poll()})")


def start_dovecot(base: Path, binary: str = "dovecot") -> Dovecot:
    """Dovecot in the foreground (-F) with the configuration written under `base`; stop() ends it."""
    base.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in PROTOCOLS}
    conf, uid, gid = _write_config(base, ports)
    with (base / "stdout.log").open("wb") as output:
        process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=output, stderr=subprocess.STDOUT)
    server = Dovecot(base, ports, base / "cert.pem", uid, gid, process)
    try:
        _wait_for(ports, process, time.monotonic() + 20)
    except RuntimeError as exc:
        server.stop()
        output = (base / "stdout.log").read_text(errors="replace")
        raise RuntimeError(f"{exc}\n{output}\n{server.log()}") from None
    return server
