"""deploy/nginx-hallq.conf made runnable here: a throw-away certificate, and ports of the test's choosing (one
`hallq run` process, or several of one hall behind the same upstream)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.live import ROOT

SITE = ROOT / "deploy" / "nginx-hallq.conf"
#: the upstream's one process as deployed; the test puts one such line per process of its own
DEPLOYED_PROCESS = "    server 127.0.0.1:5000 max_fails=1 fail_timeout=5s;\n"


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and hall.example.cn, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=hall",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:hall.example.cn",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def nginx_conf(folder: Path, upstreams: Sequence[int] = (5000,), http: int = 80, https: int = 443) -> Path:
    """An nginx.conf for `nginx -p folder -c …` that includes the site as deployed, with only the certificate,
    the ports and the upstream's processes (one line each, as deployed) replaced (IPv6 listeners left out: a
    container may have no IPv6)."""
    cert, key = certificate(folder)
    text = SITE.read_text()
    assert DEPLOYED_PROCESS in text, "deploy/nginx-hallq.conf's upstream changed: update tests/nginx.py"
    text = text.replace("/etc/hallq/tls/fullchain.pem", str(cert)).replace("/etc/hallq/tls/privkey.pem", str(key))
    text = text.replace(DEPLOYED_PROCESS, "".join(DEPLOYED_PROCESS.replace(":5000", f":{port}") for port in upstreams))
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http};").replace("listen 443 ssl;",
                                                                          f"listen 127.0.0.1:{https} ssl;")
    (folder / "site.conf").write_text("\n".join(line for line in text.splitlines() if "listen [::]" not in line))
    temp = "\n".join(f"  {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                       "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private folder
    conf = folder / "nginx.conf"
    conf.write_text(f"{user}pid {folder}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
                    f"http {{\n  access_log off;\n{temp}\n  include {folder}/site.conf;\n}}\n")
    return conf
