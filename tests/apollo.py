"""Apollo Gateway (Node) over the demo shops, for the tests and the benchmark.

``install_tools`` installs tests/composition's npm packages into .cache/composition.
"""

import subprocess
import time
from pathlib import Path

from tests.federated_fk.test_composition import install_tools
from tests.servers import free_port


class ApolloGateway:
    """``node gateway.mjs`` over the demo shops, stopped by its PID."""

    def __init__(self, shops, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        subgraphs = [f"shop_a={shops.url}/subgraph/", f"shop_b={shops.env['SHOP_B_URL']}"]
        self.process = subprocess.Popen(
            ["node", "gateway.mjs", str(self.port), shops.token, *subgraphs],
            cwd=install_tools(),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 60) -> "ApolloGateway":
        deadline = time.monotonic() + timeout
        while "ready" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
