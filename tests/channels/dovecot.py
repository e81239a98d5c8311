"""A private Dovecot for the IMAP tests and the email benchmark: plaintext IMAP on 127.0.0.1, one
user, Maildir storage, in a directory of its own that is removed afterwards.

Plain Python (no pytest): ``benchmarks/email_ingest.py`` starts one too.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


class DovecotError(RuntimeError):
    """Dovecot is not installed or did not start (the message carries its log's tail)."""


@dataclass
class Imap:
    port: int
    user: str
    password: str

    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(self.user, self.password)
        return client


def dovecot_installed() -> bool:
    return os.access(DOVECOT, os.X_OK)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_CONFIG = """
base_dir = {base}/run
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
default_internal_user = dovecot
default_login_user = dovenull
"""


@contextmanager
def dovecot_running(*, password: str, prefix: str = "regdesk-dovecot-") -> Iterator[Imap]:
    """Start Dovecot with one user ``support``; stopped and its files removed on exit."""
    if not dovecot_installed():
        raise DovecotError(f"Dovecot is not installed ({DOVECOT})")
    port = _free_port()
    # Dovecot's unprivileged processes must reach these files: not a private temp dir
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(base, 0o755)
    (base / "run").mkdir()
    (base / "mail").mkdir()
    os.chmod(base / "mail", 0o777)
    (base / "users").write_text(f"support:{{PLAIN}}{password}::::::\n")
    config = base / "dovecot.conf"
    config.write_text(_CONFIG.format(base=base, port=port))
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    server = Imap(port, "support", password)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.client().logout()
                break
            except OSError as exc:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = base / "dovecot.log"
                    tail = log.read_text()[-2000:] if log.exists() else ""
                    raise DovecotError(f"Dovecot did not start: {tail}") from exc
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
