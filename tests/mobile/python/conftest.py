"""Fixtures for the Python bindings' tests: real OpenSSH test hosts, and paaf opened on them
through the bindings with a SecretStore written in Python."""

import os
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

import paaf

REPO = Path(__file__).resolve().parents[3]
SSHD_HOST = REPO / "tests" / "peers" / "sshd-host.sh"
PASSWORD = "paaf-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """One sshd test host (tests/peers/sshd-host.sh): user paaf-test, password login."""

    def __init__(self, root: Path):
        self.dir = root / "host"
        self.dir.mkdir(parents=True)
        (self.dir / "authorized_keys").write_text("")
        (self.dir / "down_secs").write_text("1\n")
        last = ""
        for _ in range(5):
            self.port = free_port()
            run = subprocess.run(
                ["bash", str(SSHD_HOST), "start", str(self.dir), str(self.port)],
                capture_output=True,
                text=True,
            )
            if run.returncode == 0:
                return
            last = run.stderr
        raise RuntimeError(f"could not start an sshd test host: {last}")

    def boot_id(self) -> str:
        return (self.dir / "boot_id").read_text().strip()

    def rekey(self) -> None:
        subprocess.run(["bash", str(SSHD_HOST), "rekey", str(self.dir)], check=True)

    def stop(self) -> None:
        subprocess.run(["bash", str(SSHD_HOST), "stop", str(self.dir)], capture_output=True)


@pytest.fixture(scope="session", autouse=True)
def sshd_setup():
    subprocess.run(["bash", str(SSHD_HOST), "setup"], check=True)


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path)
    yield h
    h.stop()


class MapStore(paaf.SecretStore):
    """The app's keystore, as a phone app would implement it (here: a dict)."""

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def get(self, name):
        with self.lock:
            return self.entries.get(name)

    def set(self, name, value):
        with self.lock:
            self.entries[name] = value

    def delete(self, name):
        with self.lock:
            self.entries.pop(name, None)


def config_text(extra: str = "") -> str:
    return f'operator = "alice"\n{extra}'


def open_paaf(store=None, text=None, device="test-phone"):
    """paaf opened on a fresh config in a temporary 'app sandbox'."""
    sandbox = Path(tempfile.mkdtemp(prefix="paaf-py-"))
    store = store if store is not None else MapStore()
    p = paaf.Paaf.open(
        paaf.ConfigSource.TEXT(toml=text or config_text(), path=str(sandbox / "paaf.toml")),
        store,
        device,
    )
    return p, store, sandbox


def web1(host, password=PASSWORD):
    """The test host as web-1 with password login."""
    return paaf.HostInput(
        name="web-1",
        address="127.0.0.1",
        port=host.port,
        user="paaf-test",
        auth=paaf.AuthInput.PASSWORD(password=paaf.SecretInput.VALUE(password)),
    )


def add_web1(p, host):
    """Adds the host without connecting (the password goes to the app's store); its summary."""
    added = run(p.add_host(web1(host), paaf.HostCheck.NO_CONNECT()))
    assert added.is_added(), added
    return added.host


def trusted(host, store=None):
    """paaf with web-1 added and its host key trusted, as after onboarding."""
    p, store, sandbox = open_paaf(store)
    add_web1(p, host)
    # Quick reboots: the host stays down 1 s; poll it often.
    cfg = sandbox / "paaf.toml"
    cfg.write_text(cfg.read_text() + "[hosts.reboot]\nbackoff_max_secs = 1\n")
    p = paaf.Paaf.open(paaf.ConfigSource.PATH(path=str(cfg)), store, "test-phone")
    key = run(p.probe_host_key("web-1"))
    run(p.trust_host_key("web-1", key.fingerprint))
    return p, store, sandbox


def run(coro):
    import asyncio

    return asyncio.run(coro)


PROMETHEUS = REPO / "tests" / "peers" / "prometheus.sh"
UNLEASH = REPO / "tests" / "peers" / "unleash.sh"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Real Prometheus, node exporter and Alertmanager (tests/peers/prometheus.sh)."""
    subprocess.run(["bash", str(PROMETHEUS), "setup"], check=True)
    d = tmp_path_factory.mktemp("prometheus") / "peer"
    ports = [free_port(), free_port(), free_port()]
    subprocess.run(["bash", str(PROMETHEUS), "start", str(d), *map(str, ports)], check=True)
    yield {"prometheus": f"http://127.0.0.1:{ports[0]}", "alertmanager": f"http://127.0.0.1:{ports[2]}"}
    subprocess.run(["bash", str(PROMETHEUS), "stop", str(d)], capture_output=True)


@pytest.fixture(scope="module")
def unleash(tmp_path_factory):
    """A real Unleash over its own PostgreSQL (tests/peers/unleash.sh), with flag
    new-checkout on in production and development."""
    import json
    import urllib.request

    subprocess.run(["bash", str(UNLEASH), "setup"], check=True)
    d = tmp_path_factory.mktemp("unleash") / "peer"
    port = free_port()
    subprocess.run(["bash", str(UNLEASH), "start", str(d), str(port), str(os.getpid())], check=True)
    url = f"http://127.0.0.1:{port}"
    token = (d / "admin-token").read_text().strip()

    def post(path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            url + path,
            data=data,
            method="POST",
            headers={"Authorization": token, "Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=30).read()

    post("/api/admin/projects/default/features", {"name": "new-checkout", "type": "kill-switch"})
    for env in ("production", "development"):
        post(f"/api/admin/projects/default/features/new-checkout/environments/{env}/on")
    yield {"url": url, "token": token}
    subprocess.run(["bash", str(UNLEASH), "stop", str(d)], capture_output=True)


def open_on_unleash(unleash):
    """paaf whose one flag service, `prod`, is the Unleash fixture; its token in the store."""
    store = MapStore()
    store.entries["unleash-prod"] = unleash["token"]
    text = (
        'operator = "alice"\n[[flags]]\nname = "prod"\ntype = "unleash"\n'
        f'url = "{unleash["url"]}"\ntoken = "keyring:unleash-prod"\n'
    )
    p, _, _ = open_paaf(store, text)
    return p


MOTO = REPO / "tests" / "peers" / "moto.sh"


class Moto:
    """A real moto_server (tests/peers/moto.sh): an in-memory AWS that accepts any credentials
    and routes an EC2 request by the region in its SigV4 credential scope."""

    def __init__(self, url: str):
        self.url = url

    def launch(self, region: str, name: str) -> str:
        """Starts one instance tagged Name=`name` (RunInstances); its id."""
        import re
        import urllib.parse
        import urllib.request

        body = urllib.parse.urlencode(
            {
                "Action": "RunInstances",
                "Version": "2016-11-15",
                "ImageId": "ami-12c6146b",
                "InstanceType": "t3.micro",
                "MinCount": "1",
                "MaxCount": "1",
                "TagSpecification.1.ResourceType": "instance",
                "TagSpecification.1.Tag.1.Key": "Name",
                "TagSpecification.1.Tag.1.Value": name,
            }
        ).encode()
        scope = f"AKIDEXAMPLE/20260101/{region}/ec2/aws4_request"
        req = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
            },
        )
        xml = urllib.request.urlopen(req, timeout=30).read().decode()
        return re.search(r"<instanceId>([^<]+)</instanceId>", xml).group(1)


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    subprocess.run(["bash", str(MOTO), "setup"], check=True)
    d = tmp_path_factory.mktemp("moto") / "peer"
    last = ""
    for _ in range(3):
        port = free_port()
        started = subprocess.run(
            ["bash", str(MOTO), "start", str(d), str(port), str(os.getpid())], capture_output=True, text=True
        )
        if started.returncode == 0:
            break
        last = started.stderr
    else:
        raise RuntimeError(f"could not start moto: {last}")
    yield Moto(f"http://127.0.0.1:{port}/")
    subprocess.run(["bash", str(MOTO), "stop", str(d)], capture_output=True)
