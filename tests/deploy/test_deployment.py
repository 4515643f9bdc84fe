"""The deployment files: deploy/Dockerfile, deploy/compose.yaml and deploy/kubernetes/.

No Docker engine or cluster is needed. The files are parsed, the Kubernetes manifests are validated against the
Kubernetes JSON schemas (kubernetes-validate ships them, so this works offline), and the files are checked against
each other, against the repository (every path they mount exists) and against the platform (every environment
variable they set is one streams/settings.py reads). `docker compose config` and `kubectl kustomize` run when the
tools are installed and are skipped, with the reason, when they are not.
"""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.settings import REPO_ROOT, Settings
from tests.support import tls as tls_support

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
KUSTOMIZATION = K8S / "kustomization.yaml"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
JURISDICTIONS = DEPLOY / "jurisdictions"

CONFIGMAP_LIMIT = 1024 * 1024  # bytes of data one ConfigMap may hold
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
NAMESPACE = "civicflow"
# component -> (probe path, port): what each process serves
COMPONENTS = {"worker": ("/metrics", 6066), "projection": ("/metrics", 6266), "notifier": ("/metrics", 6366),
              "api": ("/open311/v2/discovery.json", 8311)}


# ---- helpers ---------------------------------------------------------------------------------------------------

def platform_env_names() -> set[str]:
    """The environment variables the platform reads: each Settings field's alias, else its name."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(name.upper())
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:  # AliasChoices
            names.update(choice.upper() for choice in getattr(alias, "choices", ()) if isinstance(choice, str))
    return names


def yaml_files() -> list[Path]:
    return sorted(K8S.rglob("*.y*ml")) + [COMPOSE_FILE]


def manifest_files() -> list[Path]:
    return sorted(path for path in K8S.glob("*.y*ml") if path.name != KUSTOMIZATION.name)


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def k8s_objects() -> list[tuple[Path, dict]]:
    return [(path, doc) for path in manifest_files() for doc in documents(path)]


def of_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_objects() if doc["kind"] == kind}


def kustomization() -> dict:
    return yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))


def generators() -> dict[str, list[Path]]:
    """The kustomization's ConfigMap generators: name -> the files it reads."""
    return {gen["name"]: [(K8S / entry.split("=", 1)[-1]).resolve() for entry in gen.get("files", [])]
            for gen in kustomization().get("configMapGenerator", [])}


def generator_keys(files: list[Path]) -> list[str]:
    return [path.name for path in files]


def deployment(component: str) -> dict:
    found = [doc for doc in of_kind("Deployment").values()
             if doc["spec"]["template"]["metadata"]["labels"].get("component") == component]
    assert len(found) == 1, f"one Deployment with component={component}, found {len(found)}"
    return found[0]


def container(doc: dict) -> dict:
    containers = doc["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def port_number(cont: dict, port) -> int:
    """A probe's or Service's port, by number or by the container port's name."""
    if isinstance(port, int):
        return port
    named = {p["name"]: p["containerPort"] for p in cont.get("ports", []) if "name" in p}
    assert port in named, f"port {port!r} is not a named port of {cont['name']}"
    return named[port]


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} with nothing set in the environment: the default (what a fresh checkout gets)."""
    def replace(match: re.Match) -> str:
        if match["op"] in (":-", "-"):
            return match["arg"]
        raise AssertionError(f"{match[0]} needs a variable set: the stack must run with its documented defaults")
    return INTERPOLATION.sub(replace, value)


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def civicflow_services(spec: dict) -> dict[str, dict]:
    return {name: service for name, service in spec["services"].items()
            if "build" in service or str(service.get("image", "")).startswith("civicflow")}


def kafka_services(spec: dict) -> dict[str, dict]:
    return {name: service for name, service in spec["services"].items()
            if str(service.get("image", "")).startswith("apache/kafka")}


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(host source, container target) of a service's bind mounts, short or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            parts = interpolate(volume).split(":")
            if len(parts) >= 2 and parts[0].startswith((".", "/", "~")):
                mounts.append((parts[0], parts[1]))
        elif volume.get("type") == "bind":
            mounts.append((interpolate(volume["source"]), volume["target"]))
    return mounts


def host_path(source: str) -> Path:
    return (DEPLOY / os.path.expanduser(source)).resolve()


def host_path_of(service: dict, container_path: str) -> Path:
    """Where on the host (in the repository) a path inside a service's container comes from."""
    target = PurePosixPath(container_path)
    for source, mount in sorted(bind_mounts(service), key=lambda m: -len(m[1])):
        mount = PurePosixPath(mount)
        if target == mount or mount in target.parents:
            return host_path(source) / target.relative_to(mount)
    raise AssertionError(f"{container_path} is not mounted from the repository")


def flag(service: dict, name: str) -> str:
    for arg in service.get("command", []):
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"no --{name} in {service.get('command')}")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def copy_sources() -> list[str]:
    sources = []
    for instruction, args in dockerfile_instructions():
        if instruction not in ("COPY", "ADD"):
            continue
        words = [word for word in args.split() if not word.startswith("--")]
        if any(word.startswith("--from") for word in args.split()):
            continue
        sources.extend(words[:-1])
    return sources


def project_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


# ---- every file parses -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_yaml_parses(path):
    docs = documents(path)
    assert docs, f"{path} holds no document"
    assert all(isinstance(doc, dict) for doc in docs)


# ---- Kubernetes ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["oldest supported (1.29)", "newest known"])
def test_kubernetes_manifests_match_the_kubernetes_schemas(which):
    import kubernetes_validate

    version = "1.29.0" if which.startswith("oldest") else kubernetes_validate.latest_version() + ".0"
    problems = []
    for path, doc in k8s_objects():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            place = "/".join(map(str, error.absolute_path))
            problems.append(f"{path.name}: {doc['kind']}/{doc['metadata']['name']}: {place}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            problems.append(f"{path.name}: {error.message}")
    assert not problems, "\n".join(problems)


def test_the_schema_validator_rejects_a_broken_manifest():
    """The validator runs offline and is strict: a misspelt field and a wrong type are both refused."""
    import kubernetes_validate

    kubernetes_validate.validate(deployment("api"), "1.29.0", strict=True)
    broken = deployment("api")
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.29.0", strict=True)
    misspelt = deployment("api")
    misspelt["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, "1.29.0", strict=True)


def test_kustomization_lists_every_manifest_and_existing_files():
    spec = kustomization()
    assert spec["namespace"] == NAMESPACE
    resources = [K8S / name for name in spec["resources"]]
    missing = [str(path) for path in resources if not path.exists()]
    assert not missing, f"listed but missing: {missing}"
    assert sorted(resources) == manifest_files(), "every manifest in deploy/kubernetes is listed, once"
    for name, files in generators().items():
        assert files, f"generator {name} reads no file"
        assert all(path.is_file() for path in files), f"generator {name}: missing {[str(p) for p in files]}"
    assert of_kind("Namespace") == {NAMESPACE: of_kind("Namespace")[NAMESPACE]}


def test_the_image_is_the_project_version_everywhere():
    version = project_version()
    images = kustomization()["images"]
    assert [(image["name"], image["newTag"]) for image in images] == [("civicflow", version)]
    for component in COMPONENTS:
        assert container(deployment(component))["image"] == f"civicflow:{version}"
    for service in civicflow_services(compose()).values():
        assert service["image"] == f"civicflow:{version}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployment_labels_probes_and_metrics_annotations(component):
    path, port = COMPONENTS[component]
    doc = deployment(component)
    labels = {"app": "civicflow", "component": component}
    template = doc["spec"]["template"]
    assert doc["metadata"]["labels"] == labels
    assert doc["spec"]["selector"]["matchLabels"] == labels
    assert template["metadata"]["labels"] == labels
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port),
                                                   "prometheus.io/path": "/metrics"}
    cont = container(doc)
    assert cont["args"] == ["civicflow", component]
    assert port in [p["containerPort"] for p in cont["ports"]]
    for probe in ("readinessProbe", "livenessProbe"):
        get = cont[probe]["httpGet"]
        assert (get["path"], port_number(cont, get["port"])) == (path, port), probe
    assert cont["resources"]["requests"]["memory"] and cont["resources"]["limits"]["memory"]
    assert template["spec"]["terminationGracePeriodSeconds"] >= 30
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True


def test_replicas():
    assert deployment("worker")["spec"]["replicas"] >= 2
    assert deployment("api")["spec"]["replicas"] == 2
    assert deployment("projection")["spec"]["replicas"] == 1
    assert deployment("notifier")["spec"]["replicas"] == 1


def test_worker_is_tuned_for_apache_kafka():
    env = {item["name"]: item.get("value") for item in container(deployment("worker")).get("env", [])}
    assert env["CIVICFLOW_FETCH_MAX_WAIT_MS"] == "100"
    assert float(env["CIVICFLOW_SESSION_TIMEOUT_S"]) >= 10
    config = of_kind("ConfigMap")["civicflow-config"]["data"]
    assert config["CIVICFLOW_REPLICATION_FACTOR"] == "3"
    assert config["CIVICFLOW_WEB_HOST"] == "0.0.0.0"
    assert len(config["KAFKA_BOOTSTRAP_SERVERS"].split(",")) >= 3


def test_api_service_sends_port_80_to_the_api():
    services = of_kind("Service")
    assert list(services) == ["civicflow-api"]
    service = services["civicflow-api"]
    api = deployment("api")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == api["spec"]["template"]["metadata"]["labels"]
    [port] = service["spec"]["ports"]
    assert port["port"] == 80
    assert port_number(container(api), port["targetPort"]) == 8311
    env = {item["name"]: item.get("value") for item in container(api)["env"]}
    assert env["CIVICFLOW_API_HOST"] == "0.0.0.0"


def test_kubernetes_sets_only_variables_the_platform_reads():
    known = platform_env_names()
    used = set(of_kind("ConfigMap")["civicflow-config"]["data"])
    for component in COMPONENTS:
        used.update(item["name"] for item in container(deployment(component)).get("env", []))
    assert used - known == set(), f"not read by the platform (streams/settings.py): {sorted(used - known)}"


def test_kubernetes_references_resolve():
    """Every ConfigMap, Secret and claim a Deployment names exists (in the manifests or a generator)."""
    configmaps = set(of_kind("ConfigMap")) | set(generators())
    secrets = {name: doc["stringData"] for name, doc in of_kind("Secret").items()}
    claims = set(of_kind("PersistentVolumeClaim"))
    for component in COMPONENTS:
        pod = deployment(component)["spec"]["template"]["spec"]
        cont = container(deployment(component))
        for source in cont.get("envFrom", []):
            assert source["configMapRef"]["name"] in configmaps
        for item in cont.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["key"] in secrets[ref["name"]], f"{component}: {ref}"
        mounted = {mount["name"] for mount in cont["volumeMounts"]}
        for volume in pod["volumes"]:
            assert volume["name"] in mounted, f"{component}: volume {volume['name']} is never mounted"
            for source in volume.get("projected", {}).get("sources", []):
                assert source["configMap"]["name"] in configmaps
            if "secret" in volume:
                keys = secrets[volume["secret"]["secretName"]]
                assert all(item["key"] in keys for item in volume["secret"].get("items", []))
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims


def test_secrets_are_marked_placeholders_in_the_right_format():
    from civicflow.services.api.keys import KeysFile

    secrets = of_kind("Secret")
    assert set(secrets) == {"civicflow-database", "civicflow-api-keys", "civicflow-kafka"}
    for name, doc in secrets.items():
        assert "data" not in doc, f"{name}: placeholders go in stringData, readable"
        for key, value in doc["stringData"].items():
            assert "CHANGE-ME" in value, f"{name}.{key} is not marked as a placeholder"
    assert secrets["civicflow-database"]["stringData"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    keys = KeysFile.model_validate(yaml.safe_load(secrets["civicflow-api-keys"]["stringData"]["keys.yaml"]))
    assert keys.keys
    api = deployment("api")
    env = {item["name"]: item.get("value") for item in container(api)["env"]}
    mount = next(m for m in container(api)["volumeMounts"] if m["name"] == "api-keys")
    assert env["CIVICFLOW_API_KEYS"] == f"{mount['mountPath']}/keys.yaml"


def _kafka_files_of(component: str) -> dict[str, str]:
    """Where the component's pod finds each key of the civicflow-kafka Secret: {key: path in the container}."""
    pod = deployment(component)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "civicflow-kafka"]
    [mount] = [m for m in container(deployment(component))["volumeMounts"] if m["name"] == volume["name"]]
    return {item["key"]: f"{mount['mountPath']}/{item['path']}" for item in volume["secret"]["items"]}


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_every_process_connects_to_kafka_with_sasl_ssl_from_the_mounted_secret(component):
    config = of_kind("ConfigMap")["civicflow-config"]["data"]
    assert config["CIVICFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["CIVICFLOW_KAFKA_SASL_MECHANISM"].startswith("SCRAM-SHA-")
    files = _kafka_files_of(component)
    assert files["password"] == config["CIVICFLOW_KAFKA_SASL_PASSWORD_FILE"]
    assert files["ca.pem"] == config["CIVICFLOW_KAFKA_SSL_CA_FILE"]
    assert "CIVICFLOW_KAFKA_SASL_PASSWORD" not in config, "the password only ever comes from the Secret"


def test_the_kubernetes_kafka_settings_make_a_working_client_security(tmp_path):
    """The ConfigMap's variables, with the Secret's files where the pods mount them (real values in place of the
    placeholders), pass the checks every process makes at start."""
    config = of_kind("ConfigMap")["civicflow-config"]["data"]
    ca = tls_support.CertificateAuthority(tmp_path / "ca")
    moved = {path: tmp_path / path.lstrip("/") for path in _kafka_files_of("worker").values()}
    for path in moved.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    moved[config["CIVICFLOW_KAFKA_SSL_CA_FILE"]].write_bytes(ca.cert.read_bytes())
    moved[config["CIVICFLOW_KAFKA_SASL_PASSWORD_FILE"]].write_text("a-real-password\n")
    env = {name: str(moved.get(value, value)) for name, value in config.items() if name.startswith("CIVICFLOW_KAFKA")}
    security = kafka_security.from_settings(Settings(**env))
    assert security.protocol == "SASL_SSL" and security.password == "a-real-password"
    assert security.principal == f"User:{config['CIVICFLOW_KAFKA_SASL_USERNAME']}"


# ---- the jurisdiction ConfigMaps -------------------------------------------------------------------------------

def jurisdiction_files() -> list[Path]:
    return sorted(path.resolve() for path in JURISDICTIONS.rglob("*") if path.is_file())


def test_every_jurisdiction_file_is_in_exactly_one_configmap():
    generated = [path for files in generators().values() for path in files]
    missing = sorted(set(jurisdiction_files()) - set(generated))
    assert not missing, f"not in any configMapGenerator: {[str(p.relative_to(REPO_ROOT)) for p in missing]}"
    assert len(generated) == len(set(generated)), "a file is in two ConfigMaps"


@pytest.mark.parametrize("name", sorted(generators()))
def test_each_configmap_fits_the_1_mib_limit(name):
    files = generators()[name]
    keys = generator_keys(files)
    assert all(CONFIGMAP_KEY.match(key) for key in keys), keys
    assert len(keys) == len(set(keys)), f"{name}: two files with one key"
    size = sum(path.stat().st_size + len(key) for path, key in zip(files, keys))
    assert size < CONFIGMAP_LIMIT - 16 * 1024, f"{name}: {size} bytes of data, the limit is {CONFIGMAP_LIMIT}"


def projected_layout(component: str) -> tuple[str, dict[str, Path]]:
    """Where a Deployment mounts the jurisdiction volume and what lands there: relative path -> source file."""
    doc = deployment(component)
    volume = next(v for v in doc["spec"]["template"]["spec"]["volumes"] if v["name"] == "jurisdictions")
    mount = next(m for m in container(doc)["volumeMounts"] if m["name"] == "jurisdictions")
    files = generators()
    layout = {}
    for source in volume["projected"]["sources"]:
        by_key = dict(zip(generator_keys(files[source["configMap"]["name"]]), files[source["configMap"]["name"]]))
        items = source["configMap"].get("items") or [{"key": key, "path": key} for key in by_key]
        for item in items:
            assert item["key"] in by_key, f"{component}: no key {item['key']} in {source['configMap']['name']}"
            assert item["path"] not in layout, f"{component}: {item['path']} projected twice"
            layout[item["path"]] = by_key[item["key"]]
    return mount["mountPath"], layout


@pytest.mark.parametrize("component", COMPONENTS)
def test_the_projected_jurisdiction_is_the_whole_directory(component):
    mount_path, layout = projected_layout(component)
    jurisdictions_dir = of_kind("ConfigMap")["civicflow-config"]["data"]["CIVICFLOW_JURISDICTIONS_DIR"]
    directory = JURISDICTIONS / PurePosixPath(mount_path).name
    assert PurePosixPath(mount_path).parent == PurePosixPath(jurisdictions_dir)
    expected = {str(path.relative_to(directory.resolve())): path for path in jurisdiction_files()
                if directory.resolve() in path.parents}
    assert layout == expected


def test_the_platform_loads_the_jurisdiction_as_kubernetes_mounts_it(tmp_path):
    """The projected volume rebuilt as the kubelet writes it (files behind ..data symlinks) loads."""
    from civicflow.streams.jurisdiction import loader

    mount_path, layout = projected_layout("worker")
    root = tmp_path / "jurisdictions"
    volume = root / PurePosixPath(mount_path).name
    payload = volume / "..2025_01_01_00_00_00.000000001"
    for relative, source in layout.items():
        (payload / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, payload / relative)
    (volume / "..data").symlink_to(payload.name)
    for entry in {PurePosixPath(relative).parts[0] for relative in layout}:
        (volume / entry).symlink_to(f"..data/{entry}")
    assert list(loader.load_jurisdictions(root)) == [PurePosixPath(mount_path).name]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed: kustomize rendering not checked")
def test_kustomize_renders_a_consistent_set():
    result = subprocess.run(["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(K8S)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    kinds = {}
    for doc in rendered:
        kinds.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, doc["metadata"]["name"]
    for name, configmap in kinds["ConfigMap"].items():
        size = sum(len(key) + len(value.encode("utf-8")) for key, value in configmap.get("data", {}).items())
        assert size < CONFIGMAP_LIMIT, f"{name}: {size} bytes"
    for deployment_ in kinds["Deployment"].values():
        pod = deployment_["spec"]["template"]["spec"]
        for volume in pod["volumes"]:
            for source in volume.get("projected", {}).get("sources", []):
                assert source["configMap"]["name"] in kinds["ConfigMap"], "generated names are rewritten"
        assert pod["containers"][0]["image"] == f"civicflow:{project_version()}"
    # a generated name carries the content hash: a change of the jurisdiction rolls the pods
    assert all(re.match(r"^civicflow-(jurisdiction|boundary)-.+-[a-z0-9]{10}$", name)
               for name in kinds["ConfigMap"] if name != "civicflow-config")


# ---- Docker Compose --------------------------------------------------------------------------------------------

def test_compose_has_every_service():
    spec = compose()
    services = spec["services"]
    for name in ("postgres", "worker", "projection", "api", "notifier", "prometheus", "alertmanager", "grafana"):
        assert name in services, name
    assert len(kafka_services(spec)) == 3
    assert str(services["postgres"]["image"]).startswith("postgres:15")
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert set(civicflow_services(spec)) == {"worker", "projection", "api", "notifier"}


def test_compose_kafka_is_a_three_node_kraft_cluster():
    nodes = kafka_services(compose())
    envs = {name: env_of(service) for name, service in nodes.items()}
    ids = {name: env["KAFKA_NODE_ID"] for name, env in envs.items()}
    assert len(set(ids.values())) == 3
    assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
    advertised = set()
    for name, env in envs.items():
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        voters = set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
        assert {f"{ids[node]}@{node}:9093" for node in nodes} == voters
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert f"PLAINTEXT://{name}:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        advertised.update(env["KAFKA_ADVERTISED_LISTENERS"].split(","))
        assert nodes[name]["healthcheck"]["test"]
        assert any(str(volume).endswith(":/var/lib/kafka/data") for volume in nodes[name]["volumes"])
    assert len(advertised) == 6, "each node advertises its own addresses"


def test_compose_workers_use_the_whole_cluster():
    spec = compose()
    brokers = {f"{name}:9092" for name in kafka_services(spec)}
    worker = spec["services"]["worker"]
    env = env_of(worker)
    assert set(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == brokers
    assert env["CIVICFLOW_REPLICATION_FACTOR"] == "3"
    assert env["CIVICFLOW_WEB_HOST"] == "0.0.0.0"
    assert env["CIVICFLOW_FETCH_MAX_WAIT_MS"] == "100"
    assert env["CIVICFLOW_SESSION_TIMEOUT_S"] == "10"
    assert "container_name" not in worker and "ports" not in worker, "replicas cannot share a name or host port"
    for name, service in civicflow_services(spec).items():
        assert set(env_of(service)["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == brokers, name
        assert env_of(service)["CIVICFLOW_WEB_HOST"] == "0.0.0.0", name
    for name in ("projection", "api"):
        url = env_of(spec["services"][name])["DATABASE_URL"]
        assert re.match(r"^postgresql\+psycopg://[^@]+@postgres:5432/", url), url


def test_compose_api_publishes_its_port_and_reads_mounted_keys():
    spec = compose()
    api = spec["services"]["api"]
    env = env_of(api)
    assert env["CIVICFLOW_API_HOST"] == "0.0.0.0"
    assert any(interpolate(str(port)).endswith(":8311") for port in api["ports"])
    secret = PurePosixPath(env["CIVICFLOW_API_KEYS"])
    assert secret.parent == PurePosixPath("/run/secrets") and secret.name in api["secrets"]
    assert host_path(interpolate(spec["secrets"][secret.name]["file"])).is_file()


def test_compose_notifier_writes_to_a_volume():
    notifier = compose()["services"]["notifier"]
    outbox = PurePosixPath(env_of(notifier)["CIVICFLOW_NOTIFICATIONS_FILE"])
    targets = [PurePosixPath(str(volume).split(":")[1]) for volume in notifier["volumes"]]
    assert any(target in outbox.parents for target in targets)


def test_compose_sets_only_variables_the_platform_reads():
    known = platform_env_names()
    for name, service in civicflow_services(compose()).items():
        unknown = set(env_of(service)) - known
        assert not unknown, f"{name}: not read by the platform (streams/settings.py): {sorted(unknown)}"


def test_compose_mounts_only_paths_that_exist():
    spec = compose()
    missing = []
    for name, service in spec["services"].items():
        for source, _ in bind_mounts(service):
            path = host_path(source)
            if not path.exists() or REPO_ROOT not in path.parents:
                missing.append(f"{name}: {source}")
        if "build" in service:
            context = host_path(service["build"]["context"])
            if not (context / service["build"]["dockerfile"]).is_file():
                missing.append(f"{name}: build {service['build']}")
    for kind in ("secrets", "configs"):
        for name, item in (spec.get(kind) or {}).items():
            if "file" in item and not host_path(interpolate(item["file"])).exists():
                missing.append(f"{kind}.{name}: {item['file']}")
    assert not missing, missing


def test_compose_kafka_security_defaults_to_plaintext_and_every_process_has_the_secrets(monkeypatch):
    """With nothing set the stack's own PLAINTEXT cluster is used (empty values are unset); every civicflow process
    mounts the Kafka and registry secrets, which a secured cluster's settings name under /run/secrets."""
    spec = compose()
    for name, service in civicflow_services(spec).items():
        env = env_of(service)
        assert env["CIVICFLOW_KAFKA_SECURITY_PROTOCOL"] == "PLAINTEXT", name
        with monkeypatch.context() as environment:  # read as each process reads it: from its environment
            for variable, value in env.items():
                environment.setenv(variable, value)
            assert kafka_security.from_settings(Settings()) == kafka_security.PLAINTEXT, name
        assert {"kafka_password", "kafka_ca", "schema_registry_user_info"} <= set(service["secrets"]), name
    assert {"kafka_password", "kafka_ca", "schema_registry_user_info"} <= set(spec["secrets"])


def test_compose_dependencies_and_healthchecks():
    services = compose()["services"]
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target in depends:
            assert target in services, f"{name} depends on unknown {target}"
            if isinstance(depends, dict) and depends[target].get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}, which has no healthcheck"
    for name in ("postgres", "worker", "projection", "api", "notifier"):
        assert "healthcheck" in services[name], name
    for name in ("worker", "projection", "api", "notifier"):
        port = COMPONENTS[name][1]
        assert f":{port}/" in " ".join(services[name]["healthcheck"]["test"]), name


def test_compose_monitoring_configuration_fits_the_stack():
    """Prometheus' rule files and targets, Alertmanager's config and Grafana's provisioning, as the containers see
    them, resolve to files in the repository and to services of the stack."""
    services = compose()["services"]
    prometheus = services["prometheus"]
    config_path = flag(prometheus, "config.file")
    config = yaml.safe_load(host_path_of(prometheus, config_path).read_text(encoding="utf-8"))
    for pattern in config.get("rule_files", []):
        inside = PurePosixPath(config_path).parent / pattern
        host = host_path_of(prometheus, str(inside))
        assert list(host.parent.glob(host.name)), f"rule file {pattern} matches nothing"
    hosts = set(services) | {"localhost", "127.0.0.1"}
    for manager in config.get("alerting", {}).get("alertmanagers", []):
        for static in manager.get("static_configs", []):
            assert all(target.split(":")[0] in services for target in static["targets"])
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            assert all(target.split(":")[0] in hosts for target in static["targets"]), job["job_name"]
        for dns in job.get("dns_sd_configs", []):
            assert all(name in services for name in dns["names"]), job["job_name"]
    alertmanager = services["alertmanager"]
    assert host_path_of(alertmanager, flag(alertmanager, "config.file")).is_file()
    grafana = services["grafana"]
    provisioning = host_path_of(grafana, "/etc/grafana/provisioning")
    providers = [provider for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
                 for provider in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("providers", [])]
    assert providers, "no dashboard provider in grafana/provisioning/dashboards"
    for provider in providers:
        dashboards = host_path_of(grafana, provider["options"]["path"])
        assert list(dashboards.glob("*.json")), f"no dashboard in {dashboards}"
    sources = [source for path in sorted((provisioning / "datasources").glob("*.y*ml"))
               for source in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("datasources", [])]
    assert sources, "no data source in grafana/provisioning/datasources"
    for source in sources:
        host = re.match(r"^https?://([^:/]+)", source["url"])[1]
        assert host in services, f"data source {source.get('name')}: {source['url']}"


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _compose_plugin(), reason="the docker compose plugin is not installed (not packaged by Debian)")
def test_docker_compose_config_accepts_the_file():
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120, env=_compose_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian: apt-get install --no-install-recommends docker-compose) is not "
                    "installed")
def test_docker_compose_v1_accepts_the_file():
    """Debian's docker-compose 1.29 checks the file against its copy of the Compose schema. It predates the
    top-level `name` (given on its command line instead), so that line is left out."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    project = compose()["name"]
    without_name = re.sub(r"(?m)^name:.*\n", "", text)
    result = subprocess.run(["docker-compose", "--project-name", project, "-f", "-", "config", "--quiet"],
                            cwd=DEPLOY, input=without_name, capture_output=True, text=True, timeout=120,
                            env=_compose_env())
    assert result.returncode == 0, result.stderr


def _compose_env() -> dict[str, str]:
    """The environment without the variables the file interpolates: the documented defaults are what is checked."""
    names = set(INTERPOLATION.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    names = {name for name, _, _ in names}
    return {key: value for key, value in os.environ.items() if key not in names and not key.startswith("COMPOSE_")}


# ---- the image -------------------------------------------------------------------------------------------------

def test_dockerfile_copies_paths_that_exist():
    sources = copy_sources()
    assert sources
    missing = [source for source in sources if not (REPO_ROOT / source).exists()]
    assert not missing, missing


def test_dockerfile_copies_every_file_the_wheel_ships_into_its_build_stage():
    from civicflow.streams import resources

    needed = [REPO_ROOT / folder for folder in resources.LAYOUT.values()] + [
        REPO_ROOT / name for name in ("streams", "services", "civicflow", "pyproject.toml", "setup.py", "MANIFEST.in")]
    copied = {(REPO_ROOT / source).resolve() for source in copy_sources()}
    for path in needed:
        path = Path(path).resolve()
        assert path in copied or copied & set(path.parents), f"{path.relative_to(REPO_ROOT)} is not in the build"


def test_dockerignore_lets_every_copied_path_into_the_context():
    lines = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "*", "an allow-list: everything else (.venv, .civicflow, .git) stays out of the context"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    for source in copy_sources():
        path = PurePosixPath(source)
        assert source in allowed or any(str(parent) in allowed for parent in path.parents), source


def test_dockerfile_image_shape():
    instructions = dockerfile_instructions()
    first = {}
    for instruction, args in instructions:
        first.setdefault(instruction, []).append(args)
    assert first["FROM"] == ["python:3.11-slim AS build", "python:3.11-slim"]
    user = first["USER"][-1].split(":")[0]
    assert user not in ("root", "0")
    exposed = {int(port) for args in first["EXPOSE"] for port in args.split()}
    assert exposed >= {port for _, port in COMPONENTS.values()}
    assert yaml.safe_load(first["CMD"][-1]) == ["civicflow", "worker"]
    env_names = {pair.split("=", 1)[0] for args in first["ENV"] for pair in args.split() if "=" in pair}
    civicflow = {name for name in env_names if not name.startswith(("PYTHON", "PIP_"))}
    assert civicflow <= platform_env_names(), sorted(civicflow - platform_env_names())
    assert any("pip wheel" in args for args in first["RUN"]) and \
        any("pip install /wheels/civicflow-" in args for args in first["RUN"]), \
        "the built wheel installed: its package data holds the schemas and defaults, no checkout is read"
    assert not any(" -e " in args for args in first["RUN"])
