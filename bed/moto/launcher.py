"""Start moto server for the dropbuild test bed.

moto's EKS DescribeCluster invents an endpoint and CA. The bed needs the EKS
code path to reach its real kube-apiserver, so this launcher wraps moto's
Cluster model: a cluster whose name is listed in --cluster describes with the
bed's endpoint and CA. The cluster is created at start-up (and re-created if a
test resets moto), so `aws eks describe-cluster --name <bed cluster>` works
from the first request.
"""

import argparse
import base64
import signal
import sys
import threading

import boto3
from moto.eks import models as eks_models
from moto.s3 import notifications as s3_notifications
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class AtomicDynamoDB:
    """Serialise DynamoDB requests.

    moto serves requests on threads and its DynamoDB backend does not lock, so
    two concurrent conditional writes can both pass their condition. Real
    DynamoDB evaluates a condition and writes atomically; dropbuild's
    forward-only status relies on that, so the bed must too. Other services
    (SQS long polls among them) stay concurrent.
    """

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class BedMotoServer(ThreadedMotoServer):
    """moto on loopback, and on any extra address (the bed node's bridge, for build pods), one app for all."""

    extra_addresses: list[str] = []

    def _server_entry(self) -> None:
        app = AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        for address in self.extra_addresses:
            extra = make_server(address, self._port, app, True, request_handler=MotoRequestHandler)
            threading.Thread(target=extra.serve_forever, daemon=True).start()
        self._server_ready_event.set()
        self._server.serve_forever()


def patch_clusters(name: str, endpoint: str, ca_pem: bytes) -> None:
    original_init = eks_models.Cluster.__init__
    ca_data = base64.b64encode(ca_pem).decode("ascii")

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original_init(self, *args, **kwargs)
        if self.name == name:
            self.endpoint = endpoint
            self.certificate_authority = {"data": ca_data}

    eks_models.Cluster.__init__ = init  # type: ignore[method-assign]


def patch_s3_events() -> None:
    """Put versionId in S3 event records, as S3 does for versioned buckets.

    moto leaves it out of the records it sends to SQS; dropbuild derives a
    build's id from the version, so the bed has to carry it like S3 does.
    """
    original = s3_notifications._get_s3_event

    def get_s3_event(event_name, bucket, key, notification_id):  # type: ignore[no-untyped-def]
        event = original(event_name, bucket, key, notification_id)
        version = getattr(key, "version_id", None)
        if version and version != "null":
            for record in event["Records"]:
                record["s3"]["object"]["versionId"] = version
        return event

    s3_notifications._get_s3_event = get_s3_event


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--cluster-endpoint", required=True)
    parser.add_argument("--cluster-ca-file", required=True)
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("--also-listen", action="append", default=[])
    args = parser.parse_args()

    with open(args.cluster_ca_file, "rb") as handle:
        patch_clusters(args.cluster, args.cluster_endpoint, handle.read())
    patch_s3_events()

    BedMotoServer.extra_addresses = args.also_listen
    server = BedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()

    eks = boto3.client(
        "eks",
        endpoint_url=f"http://127.0.0.1:{args.port}",
        region_name=args.region,
        aws_access_key_id="bed",
        aws_secret_access_key="bed",
    )
    eks.create_cluster(
        name=args.cluster,
        version=args.kubernetes_version,
        roleArn="arn:aws:iam::123456789012:role/dropbuild-bed-cluster",
        resourcesVpcConfig={"subnetIds": []},
    )
    print(f"moto ready on 127.0.0.1:{args.port}", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
