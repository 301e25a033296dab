#!/usr/bin/python3
"""A non-.NET client against `fasternet serve`: REST (requests) and gRPC (grpcio, stubs generated from the
committed KServe proto with grpc_tools), results checked against the library (`fasternet run` on the same
input and the same seeded T0 weights). Debian's python3-requests, python3-numpy, python3-grpcio and
python3-grpc-tools; `./build.sh serving-client-check` installs them and runs this.

    client_check.py CLI   (CLI: the built fasternet command)
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import grpc
import numpy as np
import requests
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTOS = os.path.join(ROOT, "managed", "FasterNet.Server", "Protos")
checks = []


def check(name, condition, detail=""):
    checks.append(condition)
    print(f"{'ok  ' if condition else 'FAIL'} {name}{'' if condition else ': ' + detail}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(cli, work):
    # gRPC stubs from the server's own proto file.
    if protoc.main(["protoc", f"-I{PROTOS}", f"--python_out={work}", f"--grpc_python_out={work}",
                    os.path.join(PROTOS, "grpc_predict_v2.proto")]) != 0:
        raise SystemExit("grpc_tools.protoc failed on grpc_predict_v2.proto")
    sys.path.insert(0, work)
    import grpc_predict_v2_pb2 as pb
    import grpc_predict_v2_pb2_grpc as pb_grpc

    # The library's own answer for a batch of two 96x96 images.
    x = np.random.default_rng(0).uniform(-2, 2, (2, 3, 96, 96)).astype(np.float32)
    np.save(os.path.join(work, "input.npy"), x)
    subprocess.run([cli, "run", "--model", "t0", "-i", os.path.join(work, "input.npy"),
                    "-o", os.path.join(work, "expected.npy")], check=True, stdout=subprocess.DEVNULL)
    expected = np.load(os.path.join(work, "expected.npy"))

    http_port, grpc_port = free_port(), free_port()
    server = subprocess.Popen([cli, "serve", "--model", "t0", "--http-port", str(http_port), "--grpc-port", str(grpc_port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        for _ in range(600):
            try:
                if requests.get(f"{base}/v2/health/ready", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or too busy loading to answer
                pass
            if server.poll() is not None:
                raise SystemExit(f"the server exited early:\n{server.stdout.read()}")
            time.sleep(0.2)
        check("REST ready", requests.get(f"{base}/v2/health/ready").status_code == 200)
        meta = requests.get(f"{base}/v2/models/t0").json()
        check("REST model metadata names input and logits",
              [t["name"] for t in meta["inputs"]][0] == "input" and meta["outputs"][0]["name"] == "logits", json.dumps(meta))

        body = {"id": "json-1", "inputs": [{"name": "input", "datatype": "FP32", "shape": list(x.shape),
                                            "data": x.ravel().tolist()}]}
        r = requests.post(f"{base}/v2/models/t0/infer", json=body)
        out = r.json()["outputs"][0]
        got = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
        check("REST JSON logits equal the library's", r.status_code == 200 and np.array_equal(got, expected),
              f"status {r.status_code}, max difference {np.abs(got - expected).max() if got.shape == expected.shape else got.shape}")
        check("REST JSON echoes the request id", r.json().get("id") == "json-1")

        header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": list(x.shape),
                                         "parameters": {"binary_data_size": x.nbytes}}],
                             "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}).encode()
        r = requests.post(f"{base}/v2/models/t0/infer", data=header + x.tobytes(),
                          headers={"Inference-Header-Content-Length": str(len(header)),
                                   "Content-Type": "application/octet-stream"})
        length = int(r.headers["Inference-Header-Content-Length"])
        got = np.frombuffer(r.content[length:], dtype="<f4").reshape(expected.shape)
        check("REST binary tensor logits equal the library's", r.status_code == 200 and np.array_equal(got, expected))

        r = requests.post(f"{base}/v2/models/t0/infer", json={"inputs": [{"name": "input", "datatype": "FP32",
                                                                          "shape": [1, 3, 2], "data": [1, 2, 3]}]})
        check("REST bad shape is a 400 with an error message", r.status_code == 400 and "error" in r.json(), r.text)

        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            stub = pb_grpc.GRPCInferenceServiceStub(channel)
            check("gRPC ServerReady", stub.ServerReady(pb.ServerReadyRequest()).ready)
            meta = stub.ModelMetadata(pb.ModelMetadataRequest(name="t0"))
            check("gRPC model metadata", meta.name == "t0" and meta.outputs[0].name == "logits")
            request = pb.ModelInferRequest(model_name="t0", id="grpc-1")
            request.inputs.add(name="input", datatype="FP32", shape=list(x.shape))
            request.raw_input_contents.append(x.tobytes())
            response = stub.ModelInfer(request)
            got = np.frombuffer(response.raw_output_contents[0], dtype="<f4").reshape(tuple(response.outputs[0].shape))
            check("gRPC raw logits equal the library's", np.array_equal(got, expected) and response.id == "grpc-1")
            try:
                stub.ModelInfer(pb.ModelInferRequest(model_name="nope"))
                check("gRPC unknown model is NOT_FOUND", False, "no error")
            except grpc.RpcError as e:
                check("gRPC unknown model is NOT_FOUND", e.code() == grpc.StatusCode.NOT_FOUND, str(e.code()))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            code = None
    check("SIGTERM: the server exits 0", code == 0, f"exit code {code}")
    print(f"client check: {sum(checks)} of {len(checks)} checks passed")
    return 0 if all(checks) else 1


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as work:
        sys.exit(main(sys.argv[1], work))
