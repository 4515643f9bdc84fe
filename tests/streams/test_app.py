"""The app's per-worker directory and table store: two live workers of one app never share a directory, and a
restarted worker gets its own back."""

import subprocess
import sys

from civicflow.streams import app as stream_app
from civicflow.streams.settings import Settings


def test_a_second_live_worker_takes_the_next_directory_and_a_restarted_one_its_own(tmp_path):
    base = tmp_path / "faust" / "civicflow"
    held_by_other = subprocess.Popen(
        [sys.executable, "-c", "import sys, pathlib; from civicflow.streams import app; "
         f"print(app.worker_dir(pathlib.Path({str(base)!r})), flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert held_by_other.stdout.readline().strip() == str(base / "worker-0")
        assert stream_app.worker_dir(base) == base / "worker-1", "worker-0 is held by a live process"
        assert stream_app.worker_dir(base) == base / "worker-1", "one directory per process"
    finally:
        held_by_other.communicate("")
    stream_app._held.pop(base)
    assert stream_app.worker_dir(base) == base / "worker-0", "freed when its process ends, even by SIGKILL"


def test_the_table_store_follows_the_settings():
    assert stream_app.table_store(Settings(table_store="memory")) == ("memory://", {})
    url, options = stream_app.table_store(Settings(table_store="rocksdb"))
    assert url == "rocksdb://" and options["block_cache_size"] < 1 << 30


def test_the_local_store_is_the_default_on_apache_kafka_only():
    assert Settings(broker_kind="embedded").table_store == "memory", "the embedded broker's topics die with it"
    assert Settings(kafka_bootstrap_servers="kafka:9092").table_store == "rocksdb"
    assert Settings(broker_kind="embedded", table_store="rocksdb").table_store == "rocksdb"
